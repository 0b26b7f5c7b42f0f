package dev.twine.mail.imap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.mail.maildir.MailFixture;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * CONDSTORE and QRESYNC (RFC 7162) as Python's imaplib sends them in raw commands, against Twine
 * and against Dovecot on a copy of the same Maildir: the answers, with UIDs named by Message-ID
 * and mod-sequences by their order, must be the same.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class CondStoreInteropTest {
    @TempDir
    Path tmp;

    /** Prints what the server said, normalised: UIDs as Message-IDs, mod-sequences as "m". */
    private static final String SEQUENCE = """
            import imaplib, re, sys
            port = int(sys.argv[1])
            def norm(s):
                s = s.decode() if isinstance(s, bytes) else s
                s = re.sub(r'MODSEQ \\((\\d+)\\)', 'MODSEQ (m)', s)
                s = re.sub(r'\\(MODSEQ \\d+\\)', '(MODSEQ m)', s)
                def uids(m):
                    out = []
                    for part in m.group(2).split(','):
                        a, _, b = part.partition(':')
                        out += range(int(a), int(b or a) + 1)
                    return m.group(1) + ' '.join(sorted(ids.get(u, '?') for u in out))
                s = re.sub(r'(VANISHED (?:\\(EARLIER\\) )?|MODIFIED )([\\d:,]+)', uids, s)
                s = re.sub(r'UID (\\d+)', lambda m: 'UID ' + ids.get(int(m.group(1)), '?'), s)
                s = re.sub(r'FLAGS \\(([^)]*)\\)', lambda m: 'FLAGS (' + ' '.join(sorted(
                    f for f in m.group(1).split() if f != '\\\\Recent')) + ')', s)
                # item order is free (RFC 9051 §7.5.2): MODSEQ last
                s = re.sub(r'MODSEQ \\(m\\) (FLAGS \\([^)]*\\))', r'\\1 MODSEQ (m)', s)
                return re.sub(r'^\\d+ \\(', '(', s)
            def run(M, name, *args):
                typ, data = M._simple_command(name, *args)
                for key in ('FETCH', 'VANISHED', 'SEARCH', 'ESEARCH'):
                    for d in M.untagged_responses.pop(key, []):
                        if d is not None:
                            print(name, key, norm(d if key != 'FETCH' else d))
                # the tagged reply's text is free: its status and response code count
                code = re.match(r'(\\[[^]]*\\])?', norm(data[-1] if data else b'')).group(0)
                print(name, typ, re.sub(r'HIGHESTMODSEQ \\d+', 'HIGHESTMODSEQ m', code))
            M = imaplib.IMAP4('127.0.0.1', port)
            M.login('alice', 'secret')
            M._simple_command('ENABLE', 'QRESYNC')
            M.select('INBOX')
            validity = int(M.untagged_responses['UIDVALIDITY'][0])
            h0 = int(re.search(rb'HIGHESTMODSEQ (\\d+)', b' '.join(M.untagged_responses.get('OK', []))).group(1))
            typ, data = M.uid('FETCH', '1:*', '(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])')
            ids = {}
            for d in data:
                if isinstance(d, tuple):
                    uid = int(re.search(rb'UID (\\d+)', d[0]).group(1))
                    ids[uid] = re.search(rb'<(\\d+)@', d[1]).group(1).decode()
            by = {v: k for k, v in ids.items()}
            M.untagged_responses.clear()
            run(M, 'UID', 'STORE', str(by['1']), '+FLAGS', '(\\\\Seen)')
            run(M, 'UID', 'STORE', str(by['2']), '+FLAGS', '(\\\\Flagged)')
            run(M, 'UID', 'STORE', str(by['3']), '+FLAGS.SILENT', '(\\\\Deleted)')
            run(M, 'UID', 'EXPUNGE', str(by['3']))
            run(M, 'UID', 'STORE', str(by['1']) + ',' + str(by['4']), '(UNCHANGEDSINCE %d)' % h0, '+FLAGS', '(\\\\Answered)')
            run(M, 'UID', 'FETCH', '1:*', '(FLAGS)', '(CHANGEDSINCE %d)' % h0)
            run(M, 'UID', 'SEARCH', 'MODSEQ', str(h0 + 1))
            M.logout()
            M = imaplib.IMAP4('127.0.0.1', port)
            M.login('alice', 'secret')
            M._simple_command('ENABLE', 'QRESYNC')
            run(M, 'SELECT', 'INBOX', '(QRESYNC (%d %d))' % (validity, h0))
            M.state = 'SELECTED'
            run(M, 'UID', 'FETCH', '1:*', '(FLAGS)', '(CHANGEDSINCE %d VANISHED)' % h0)
            M.logout()
            """;

    @Test
    void pythonImaplibGetsTheSameAnswersFromTwineAndDovecot() throws Exception {
        Path dovecot = MailFixture.peer("/usr/sbin/dovecot", "dovecot-imapd");
        MailFixture f = MailFixture.create(tmp.resolve("twine"));
        for (int i = 1; i <= 5; i++) {
            f.deliver("alice", "Message-ID: <" + i + "@example.org>\r\nSubject: m" + i + "\r\n\r\nbody " + i + "\r\n");
        }
        Path copy = tmp.resolve("dovecot-mail/alice");
        Files.createDirectories(copy.getParent());
        copyTree(f.maildir.inbox("alice"), copy);

        ImapServer imap = ImapServer.builder().store(f.maildir).portal(f.portal).listen("tcp:0:interface=127.0.0.1").build();
        imap.start();
        String twine;
        try {
            twine = MailFixture.python(60, SEQUENCE, Integer.toString(imap.bindings().get(0).port()));
        } finally {
            imap.close();
        }
        String theirs = withDovecot(dovecot, copy.getParent(), port -> MailFixture.python(60, SEQUENCE, Integer.toString(port)));
        assertTrue(twine.contains("MODIFIED 1"), twine);
        assertTrue(twine.contains("VANISHED (EARLIER) 3"), twine);
        assertEquals(theirs, twine);
    }

    private interface Client {
        String run(int port) throws Exception;
    }

    /** Runs Dovecot unprivileged on a free loopback port over {@code mail}, stopping it by its PID afterwards. */
    private String withDovecot(Path dovecot, Path mail, Client client) throws Exception {
        Path work = tmp.resolve("dovecot");
        Files.createDirectories(work.resolve("run"));
        Files.createDirectories(work.resolve("state"));
        boolean root = "root".equals(System.getProperty("user.name"));
        String uid = root ? id("-u", "nobody") : id("-u");
        String gid = root ? id("-g", "nobody") : id("-g");
        try (Stream<Path> all = Files.walk(tmp)) {
            for (Path p : all.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
                if (root && p.startsWith(mail)) {
                    MailFixture.run(10, List.of("chown", "nobody:", p.toString()), Map.of(), null);
                }
            }
        }
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path users = work.resolve("users");
        Files.writeString(users, "alice:{PLAIN}secret\n");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String user = System.getProperty("user.name");
        Path conf = work.resolve("dovecot.conf");
        Files.writeString(conf, """
                base_dir = %1$s/run
                state_dir = %1$s/state
                log_path = %1$s/dovecot.log
                protocols = imap
                listen = 127.0.0.1
                ssl = no
                disable_plaintext_auth = no
                auth_mechanisms = plain
                first_valid_uid = 1
                default_internal_user = %2$s
                default_login_user = %3$s
                passdb {
                  driver = passwd-file
                  args = %4$s
                }
                userdb {
                  driver = static
                  args = uid=%5$s gid=%6$s home=%7$s/%%u
                }
                mail_location = maildir:%7$s/%%u
                service imap-login {
                  inet_listener imap {
                    address = 127.0.0.1
                    port = %8$d
                  }
                  inet_listener imaps {
                    port = 0
                  }
                  chroot =
                }
                service anvil {
                  chroot =
                }
                """.formatted(work, root ? "dovecot" : user, root ? "dovenull" : user, users, uid, gid, mail, port));
        Process p = new ProcessBuilder(dovecot.toString(), "-F", "-c", conf.toString())
                .redirectErrorStream(true).redirectOutput(work.resolve("stdout.log").toFile()).start();
        try {
            awaitPort(port, p, work);
            return client.run(port);
        } finally {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    private static void awaitPort(int port, Process p, Path work) throws Exception {
        for (int i = 0; i < 200; i++) {
            if (!p.isAlive()) {
                throw new IOException("dovecot exited: " + Files.readString(work.resolve("stdout.log")));
            }
            try {
                new Socket(java.net.InetAddress.getLoopbackAddress(), port).close();
                return;
            } catch (IOException notYet) {
                TimeUnit.MILLISECONDS.sleep(50); // a third-party process: nothing to wait on but its port
            }
        }
        throw new IOException("dovecot does not listen on " + port);
    }

    private static String id(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("id"));
        cmd.addAll(List.of(args));
        return MailFixture.run(10, cmd, Map.of(), null).stdout().strip();
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else if (!p.getFileName().toString().startsWith("twine-")) {
                    Files.copy(p, t);
                }
            }
        }
    }
}
