package dev.twine.mail.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.twine.core.Tls;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interop over loopback with clients nobody here wrote: swaks, curl, Python's smtplib, and
 * Postfix's smtp-sink as a relay next hop; every stored message is read back with Python's
 * {@code mailbox.Maildir}. A missing peer fails the test when {@code CI=true}, else skips it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SmtpInteropTest {
    private static final String PYTHON = "/usr/bin/python3";

    /** Finds a message in a Maildir with Python's mailbox module and checks it byte for byte. */
    private static final String CHECK = """
            import email, email.policy, mailbox, sys
            md = mailbox.Maildir(sys.argv[1], factory=None, create=False)
            want = open(sys.argv[3], 'rb').read()
            keys = list(md.iterkeys())
            for key in keys:
                data = md.get_bytes(key)
                if sys.argv[2] == 'exact':
                    if not data.endswith(want):
                        continue
                    trace = data[:len(data) - len(want)].decode('utf-8')
                    # what Twine put before the client's bytes: only its Return-Path and Received fields
                    fields = [l for l in trace.split('\\r\\n') if l and not l.startswith('\\t')]
                    if fields and fields[0].startswith('Return-Path: <') and all(f.startswith(('Return-Path:', 'Received:')) for f in fields):
                        print('OK exact', key)
                        sys.exit(0)
                else:
                    msg = email.message_from_bytes(data, policy=email.policy.default)
                    for part in msg.iter_attachments():
                        if part.get_content() == want:
                            print('OK attachment', key, part.get_filename())
                            sys.exit(0)
            print('no matching message among', len(keys), keys)
            sys.exit(1)
            """;

    @TempDir
    static Path shared;

    static Path cert;
    static Path key;

    @TempDir
    Path dir;

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeAll
    static void makeCertificate() throws Exception {
        Path[] ck = SmtpTestSupport.certificate(shared);
        cert = ck[0];
        key = ck[1];
        Files.writeString(shared.resolve("check.py"), CHECK);
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose.reversed()) {
            c.close();
        }
    }

    private int start(SmtpServer.Role role, RelayQueue relay) throws Exception {
        MailDelivery<?> local = SmtpTestSupport.local(dir).build();
        SmtpServer s = SmtpTestSupport.server(dir, relay == null ? local : MailDelivery.byDomain(List.of(SmtpTestSupport.DOMAIN), local, relay))
                .role(role).tls(Tls.server(cert, key)).listen("tcp:0:interface=127.0.0.1").build();
        s.start();
        toClose.add(s);
        return s.port();
    }

    static void requirePeer(Path program) {
        if (Files.isExecutable(program)) {
            return;
        }
        if ("true".equals(System.getenv("CI"))) {
            fail(program + " is missing: install the packages in ci/peers/mail-smtp.txt");
        }
        assumeTrue(false, program + " is not installed; skipping");
    }

    record Result(int exit, String output) {}

    static Result run(List<String> command, Map<String, String> env, Duration timeout) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        byte[][] out = new byte[1][];
        Thread reader = Thread.ofVirtual().start(() -> {
            try {
                out[0] = p.getInputStream().readAllBytes();
            } catch (IOException e) {
                out[0] = e.toString().getBytes(StandardCharsets.UTF_8);
            }
        });
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
            fail(command.get(0) + " did not finish within " + timeout);
        }
        reader.join(5000);
        return new Result(p.exitValue(), out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8));
    }

    private void assertStored(String user, String mode, Path expected) throws Exception {
        Path maildir = dir.resolve("maildir").resolve(user);
        Result r = run(List.of(PYTHON, shared.resolve("check.py").toString(), maildir.toString(), mode, expected.toString()),
                Map.of(), Duration.ofSeconds(30));
        assertEquals(0, r.exit(), "mailbox.Maildir check: " + r.output());
    }

    private Path message(String name, String subject, String extraBody) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: " + subject
                // submission adds Date and Message-ID when missing: give both, so the bytes stay the client's
                + "\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <" + name + "@example.test>"
                + "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                + "Grüße aus Twine\r\n.a line that starts with a dot\r\n..two dots\r\n" + extraBody + "last line\r\n", StandardCharsets.UTF_8);
        return f;
    }

    @Test
    void swaksSendsAnAttachmentAndARawMessageThroughStartTlsAndAuth() throws Exception {
        requirePeer(Path.of("/usr/bin/swaks"));
        requirePeer(Path.of(PYTHON));
        int port = start(SmtpServer.Role.SUBMISSION, null);
        byte[] blob = new byte[10_000];
        new java.util.Random(42).nextBytes(blob);
        Path attachment = dir.resolve("blob.bin");
        Files.write(attachment, blob);
        List<String> common = List.of("/usr/bin/swaks", "--server", "127.0.0.1:" + port, "--tls", "--auth", "PLAIN",
                "--auth-user", "alice", "--auth-password", "secret", "--from", "alice@example.test", "--to", "bob@example.test",
                "--timeout", "20");
        List<String> withAttachment = new ArrayList<>(common);
        withAttachment.addAll(List.of("--header", "Subject: swaks attachment", "--attach-type", "application/octet-stream",
                "--attach", "@" + attachment));
        Result r = run(withAttachment, Map.of(), Duration.ofSeconds(60));
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("<~  235 2.7.0") && r.output().contains("STARTTLS"), r.output());
        assertStored("bob", "attachment", attachment);

        Path raw = message("swaks.eml", "swaks raw", "");
        List<String> withData = new ArrayList<>(common);
        withData.addAll(List.of("--data", "@" + raw));
        r = run(withData, Map.of(), Duration.ofSeconds(60));
        assertEquals(0, r.exit(), r.output());
        // swaks ends the DATA it sends with one more CRLF (its transcript shows the empty line)
        Path sent = dir.resolve("swaks-sent.eml");
        Files.write(sent, SmtpSession.concat(Files.readAllBytes(raw), "\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertStored("bob", "exact", sent);
    }

    @Test
    void curlSendsToTheMxPortAndTheMessageIsStoredByteForByte() throws Exception {
        requirePeer(Path.of("/usr/bin/curl"));
        requirePeer(Path.of(PYTHON));
        int port = start(SmtpServer.Role.MX, null);
        Path raw = message("curl.eml", "curl", "");
        Result r = run(List.of("/usr/bin/curl", "-sS", "--max-time", "30", "smtp://127.0.0.1:" + port + "/client.test",
                "--mail-from", "sender@remote.example", "--mail-rcpt", "alice@example.test", "--upload-file", raw.toString()),
                Map.of(), Duration.ofSeconds(60));
        assertEquals(0, r.exit(), r.output());
        assertStored("alice", "exact", raw);
        // an unknown user is refused at RCPT: curl reports the 550
        r = run(List.of("/usr/bin/curl", "-sS", "--max-time", "30", "smtp://127.0.0.1:" + port + "/client.test",
                "--mail-from", "sender@remote.example", "--mail-rcpt", "nobody@example.test", "--upload-file", raw.toString()),
                Map.of(), Duration.ofSeconds(60));
        assertTrue(r.exit() != 0 && r.output().contains("550"), r.output());
    }

    @Test
    void swaksWaitsForTheWholeGreetingOfThePregreetTestAndAClientThatDoesNotIsRefused() throws Exception {
        requirePeer(Path.of("/usr/bin/swaks"));
        requirePeer(Path.of(PYTHON));
        SmtpServer s = SmtpTestSupport.server(dir).greetDelay(Duration.ofSeconds(1)).listen("tcp:0:interface=127.0.0.1").build();
        s.start();
        toClose.add(s);
        // a client that does not wait for the reply's last line, as spam software does not
        String script = """
                import socket, sys
                c = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=20)
                first = c.recv(100)
                c.sendall(b'EHLO early.example\\r\\n')
                rest = b''
                while True:
                    b = c.recv(100)
                    if not b:
                        break
                    rest += b
                print(first.decode(), rest.decode())
                """;
        Path py = dir.resolve("early.py");
        Files.writeString(py, script);
        Result r = run(List.of(PYTHON, py.toString(), String.valueOf(s.port())), Map.of(), Duration.ofSeconds(60));
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("554 5.5.1") && !r.output().contains("220 example.test"), r.output());
        // then one that waits, as every real client does: it passes
        r = run(List.of("/usr/bin/swaks", "--server", "127.0.0.1:" + s.port(), "--from", "sender@remote.example",
                "--to", "alice@example.test", "--timeout", "20"), Map.of(), Duration.ofSeconds(60));
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("<-  220-example.test") && r.output().contains("<-  220 example.test"), r.output());
        // and having passed, it is greeted at once for a day
        r = run(List.of("/usr/bin/swaks", "--server", "127.0.0.1:" + s.port(), "--from", "sender@remote.example",
                "--to", "alice@example.test", "--timeout", "20"), Map.of(), Duration.ofSeconds(60));
        assertEquals(0, r.exit(), r.output());
        assertTrue(!r.output().contains("<-  220-") && r.output().contains("<-  220 example.test"), r.output());
        assertEquals(2, SmtpTestSupport.delivered(dir, "alice").size());
    }

    @Test
    void perlNetSmtpSendsInBdatChunksAndAFailedChunkGetsItsOwnReply() throws Exception {
        requirePeer(Path.of("/usr/bin/perl"));
        requirePeer(Path.of(PYTHON));
        int port = start(SmtpServer.Role.MX, null);
        Path raw = message("bdat.eml", "Net::SMTP BDAT", "");
        // Net::SMTP (libnet, in Debian's perl) has bdat and bdatlast: three chunks, one of them empty.
        // It turns them on only with BODY=BINARYMIME, which Twine does not offer, so the script sets
        // the flag that MAIL would have set; the BDAT framing and replies are Net::SMTP's own.
        String script = """
                use strict; use Net::SMTP;
                my ($port, $file) = @ARGV;
                open(my $fh, '<:raw', $file) or die; local $/; my $msg = <$fh>;
                my $s = Net::SMTP->new('127.0.0.1', Port => $port, Hello => 'perl.test', Timeout => 20) or die "connect";
                die "no CHUNKING" unless defined $s->supports('CHUNKING');
                $s->mail('sender@remote.example') or die 'MAIL ' . $s->message;
                $s->to('bob@example.test') or die 'RCPT ' . $s->message;
                ${*$s}{'net_smtp_chunking'} = 1;
                my $half = int(length($msg) / 2);
                $s->bdat(substr($msg, 0, $half)) or die 'BDAT ' . $s->code;
                $s->bdat(substr($msg, $half)) or die 'BDAT ' . $s->code;
                $s->bdatlast('') or die 'BDAT LAST ' . $s->code;
                print 'sent ', $s->code, "\\n";
                $s->mail('sender@remote.example') or die 'MAIL ' . $s->message;
                $s->to('bob@example.test') or die 'RCPT ' . $s->message;
                ${*$s}{'net_smtp_chunking'} = 1;
                print 'refused ', $s->code, ' ', $s->message if !$s->bdatlast("Subject: bare\\n\\nLF\\r\\n");
                $s->quit;
                """;
        Path pl = dir.resolve("bdat.pl");
        Files.writeString(pl, script);
        Result r = run(List.of("/usr/bin/perl", pl.toString(), String.valueOf(port), raw.toString()), Map.of(), Duration.ofSeconds(60));
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("sent 250") && r.output().contains("refused 550 5.5.2 Bare LF"), r.output());
        assertEquals(1, SmtpTestSupport.delivered(dir, "bob").size(), "the refused message is not stored");
        assertStored("bob", "exact", raw);
    }

    @Test
    void pythonSmtplibSubmitsWithStartTlsAndLogin() throws Exception {
        requirePeer(Path.of(PYTHON));
        int port = start(SmtpServer.Role.SUBMISSION, null);
        Path raw = message("python.eml", "smtplib", "x".repeat(990) + "\r\n");
        String script = """
                import smtplib, ssl, sys
                ctx = ssl.create_default_context(cafile=sys.argv[2])
                with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=20) as s:
                    s.ehlo('python.test')
                    s.starttls(context=ctx)
                    s.ehlo('python.test')
                    s.login('alice', 'secret')
                    refused = s.sendmail('alice@example.test', ['bob@example.test'], open(sys.argv[3], 'rb').read(),
                                         mail_options=['BODY=8BITMIME'])
                    assert refused == {}, refused
                print('sent')
                """;
        Path py = dir.resolve("send.py");
        Files.writeString(py, script);
        Result r = run(List.of(PYTHON, py.toString(), String.valueOf(port), cert.toString(), raw.toString()), Map.of(), Duration.ofSeconds(60));
        assertEquals(0, r.exit(), r.output());
        assertStored("bob", "exact", raw);
    }

    @Test
    void theRelayQueueDeliversToPostfixSmtpSink() throws Exception {
        Path root = Optional.ofNullable(System.getenv("TWINE_POSTFIX_ROOT")).map(Path::of).orElse(Path.of("/"));
        Path sink = root.resolve("usr/sbin/smtp-sink");
        requirePeer(sink);
        // smtp-sink drops privileges to nobody when run as root: its dump directory must be
        // reachable by that user, which a JUnit temp dir (mode 700) is not
        Path dump = Files.createTempDirectory("twine-smtp-sink");
        Files.setPosixFilePermissions(dump, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        toClose.add(() -> {
            try (Stream<Path> s = Files.list(dump)) {
                for (Path f : s.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dump);
        });
        int sinkPort;
        try (ServerSocket ss = new ServerSocket(0)) {
            sinkPort = ss.getLocalPort();
        }
        List<String> cmd = new ArrayList<>(List.of(sink.toString()));
        if ("root".equals(System.getProperty("user.name"))) {
            cmd.addAll(List.of("-u", "nobody"));
        }
        cmd.addAll(List.of("-d", dump + "/m.", "127.0.0.1:" + sinkPort, "16"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("sink.log").toFile());
        pb.environment().put("LD_LIBRARY_PATH", root.resolve("usr/lib/postfix").toString());
        Process p = pb.start();
        toClose.add(() -> {
            p.destroy();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        });
        awaitPort(sinkPort, p);
        RelayQueue q = RelayQueue.builder().directory(dir.resolve("queue")).heloName("example.test")
                .resolver(MxResolver.fixed("127.0.0.1:" + sinkPort)).timeout(Duration.ofSeconds(10)).build();
        q.start();
        toClose.add(q);
        int port = start(SmtpServer.Role.SUBMISSION, q);
        try (SmtpClient c = SmtpClient.connect("127.0.0.1:" + port, Duration.ofSeconds(10))) {
            c.ehlo("mua.test");
            c.startTls(Tls.client(cert));
            c.auth("alice", "secret");
            c.send("alice@example.test", List.of("someone@far.example"),
                    "Subject: to the sink\r\n\r\nhello sink\r\n".getBytes(StandardCharsets.US_ASCII));
            c.quit();
        }
        String got = null;
        for (int i = 0; i < 300 && got == null; i++) {
            try (Stream<Path> s = Files.list(dump)) {
                for (Path f : s.toList()) {
                    String text = Files.readString(f, StandardCharsets.ISO_8859_1);
                    if (text.contains("Subject: to the sink")) {
                        got = text;
                    }
                }
            }
            if (got == null) {
                Thread.sleep(50);
            }
        }
        assertTrue(got != null, "smtp-sink received nothing; log: " + Files.readString(dir.resolve("sink.log")));
        assertTrue(got.contains("X-Rcpt-Args: <someone@far.example>"), got);
        assertTrue(got.contains("X-Mail-Args: <alice@example.test>"), got);
        for (int i = 0; i < 100 && q.size() > 0; i++) {
            Thread.sleep(20);
        }
        assertEquals(0, q.size(), "delivered and removed from the queue");
    }

    private static void awaitPort(int port, Process p) throws Exception {
        for (int i = 0; i < 200; i++) {
            if (!p.isAlive()) {
                fail("the peer exited with " + p.exitValue());
            }
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                Thread.sleep(25);
            }
        }
        fail("nothing listens on port " + port);
    }
}
