package dev.twine.mail.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Binding;
import dev.twine.core.Service;
import dev.twine.core.spi.ServicePlugin;
import dev.twine.mail.internal.MailPlugin;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code twine mail} as the launcher drives it: options in, a service group out. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MailPluginTest {
    @TempDir
    Path dir;

    private final MailPlugin plugin = new MailPlugin();

    private ServicePlugin.Arguments args(String... kv) {
        return arguments(plugin, kv);
    }

    /** Parses like the launcher: given values, else the option's default. */
    static ServicePlugin.Arguments arguments(ServicePlugin plugin, String... kv) {
        Map<String, List<String>> given = new HashMap<>();
        List<String> flags = new ArrayList<>();
        for (int i = 0; i < kv.length; i++) {
            String name = kv[i];
            // a flag is an option without a value label
            if (plugin.options().stream().anyMatch(o -> o.name().equals(name) && o.label() == null)) {
                flags.add(kv[i]);
            } else {
                given.computeIfAbsent(kv[i], k -> new ArrayList<>()).add(kv[++i]);
            }
        }
        return new ServicePlugin.Arguments() {
            @Override
            public List<String> values(String option) {
                if (given.containsKey(option)) {
                    return given.get(option);
                }
                return plugin.options().stream().filter(o -> o.name().equals(option) && o.defaultValue() != null)
                        .map(o -> List.of(o.defaultValue())).findFirst().orElse(List.of());
            }

            @Override
            public Optional<String> value(String option) {
                return values(option).stream().findFirst();
            }

            @Override
            public boolean flag(String option) {
                return flags.contains(option);
            }
        };
    }

    @Test
    void mailCommandServesSmtpAndSubmissionOverOneMaildir() throws Exception {
        SmtpTestSupport.users(dir);
        try (Service s = plugin.create(args("--domain", "Example.Test", "--users", dir.resolve("users").toString(),
                "--maildir", dir.resolve("maildir").toString(), "--smtp", "tcp:0:interface=127.0.0.1",
                "--submission", "tcp:0:interface=127.0.0.1", "--allow-plain-auth"))) {
            s.start();
            List<Binding> b = s.bindings();
            assertEquals(List.of("smtp", "submission"), b.stream().map(Binding::service).toList());
            try (SmtpClient c = SmtpClient.connect("127.0.0.1:" + b.get(0).port(), Duration.ofSeconds(10))) {
                c.ehlo("t");
                c.send("x@remote.example", List.of("alice@example.test"), "Subject: a\r\n\r\nb\r\n".getBytes(StandardCharsets.US_ASCII));
                c.quit();
            }
            try (SmtpClient c = SmtpClient.connect("127.0.0.1:" + b.get(1).port(), Duration.ofSeconds(10))) {
                c.ehlo("t");
                c.auth("bob", "hunter2");
                c.send("bob@example.test", List.of("alice@example.test"), "Subject: c\r\n\r\nd\r\n".getBytes(StandardCharsets.US_ASCII));
                c.quit();
            }
            assertEquals(2, SmtpTestSupport.delivered(dir, "alice").size());
            assertTrue(Files.isDirectory(dir.resolve("maildir-queue")), "default queue beside the maildir");
        }
    }

    @Test
    void localDeliveryRunsTheUsersActiveSieveScriptAndManageSieveListens() throws Exception {
        SmtpTestSupport.users(dir);
        Path home = Files.createDirectories(dir.resolve("maildir/alice/sieve"));
        Files.writeString(home.resolve("lists.sieve"), "require [\"fileinto\", \"mailbox\"]; fileinto :create \"Lists\";\n");
        Files.createSymbolicLink(dir.resolve("maildir/alice/.dovecot.sieve"), Path.of("sieve/lists.sieve"));
        try (Service s = plugin.create(args("--domain", "example.test", "--users", dir.resolve("users").toString(),
                "--maildir", dir.resolve("maildir").toString(), "--smtp", "tcp:0:interface=127.0.0.1",
                "--submission", "tcp:0:interface=127.0.0.1", "--managesieve", "tcp:0:interface=127.0.0.1"))) {
            s.start();
            List<Binding> b = s.bindings();
            assertEquals(List.of("smtp", "submission", "managesieve"), b.stream().map(Binding::service).toList());
            try (SmtpClient c = SmtpClient.connect("127.0.0.1:" + b.get(0).port(), Duration.ofSeconds(10))) {
                c.ehlo("t");
                c.send("x@remote.example", List.of("alice@example.test"), "Subject: a\r\n\r\nb\r\n".getBytes(StandardCharsets.US_ASCII));
                c.quit();
            }
            try (var files = Files.list(dir.resolve("maildir/alice/.Lists/new"))) {
                assertEquals(1, files.count(), "filed by alice's script");
            }
            assertEquals(0, SmtpTestSupport.delivered(dir, "alice").size());
            try (java.net.Socket sock = new java.net.Socket("127.0.0.1", b.get(2).port())) {
                sock.setSoTimeout(10_000);
                var in = new java.io.BufferedReader(new java.io.InputStreamReader(sock.getInputStream(), StandardCharsets.US_ASCII));
                assertEquals("\"IMPLEMENTATION\" \"Twine\"", in.readLine(), "the ManageSieve greeting");
            }
        }
    }

    @Test
    void mailCommandAlsoServesTheSameMaildirOverImapAndPop3() throws Exception {
        SmtpTestSupport.users(dir);
        try (Service s = plugin.create(args("--domain", "example.test", "--users", dir.resolve("users").toString(),
                "--maildir", dir.resolve("maildir").toString(), "--smtp", "tcp:0:interface=127.0.0.1",
                "--submission", "tcp:0:interface=127.0.0.1", "--imap", "tcp:0:interface=127.0.0.1",
                "--pop3", "tcp:0:interface=127.0.0.1", "--allow-plain-auth"))) {
            s.start();
            List<Binding> b = s.bindings();
            assertEquals(List.of("smtp", "submission", "pop3", "imap"), b.stream().map(Binding::service).toList());
            try (SmtpClient c = SmtpClient.connect("127.0.0.1:" + b.get(0).port(), Duration.ofSeconds(10))) {
                c.ehlo("t");
                c.send("x@remote.example", List.of("alice@example.test"), "Subject: seen by pop3\r\n\r\nb\r\n".getBytes(StandardCharsets.US_ASCII));
                c.quit();
            }
            try (java.net.Socket sock = new java.net.Socket("127.0.0.1", b.get(2).port())) {
                sock.setSoTimeout(10_000);
                var in = new java.io.BufferedReader(new java.io.InputStreamReader(sock.getInputStream(), StandardCharsets.US_ASCII));
                var out = sock.getOutputStream();
                assertTrue(in.readLine().startsWith("+OK"));
                out.write("USER alice\r\nPASS secret\r\nSTAT\r\nQUIT\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                assertTrue(in.readLine().startsWith("+OK"));
                assertTrue(in.readLine().startsWith("+OK"), "POP3 login as alice");
                assertTrue(in.readLine().startsWith("+OK 1 "), "the message delivered by SMTP is in POP3's STAT");
            }
            try (java.net.Socket sock = new java.net.Socket("127.0.0.1", b.get(3).port())) {
                sock.setSoTimeout(10_000);
                var in = new java.io.BufferedReader(new java.io.InputStreamReader(sock.getInputStream(), StandardCharsets.US_ASCII));
                assertTrue(in.readLine().startsWith("* OK"), "IMAP greeting");
            }
        }
    }

    @Test
    void aTlsEndpointWithoutItsOwnPairIsImapsWithTheTlsCertOption() throws Exception {
        SmtpTestSupport.users(dir);
        Path cert = dir.resolve("cert.pem");
        dev.twine.core.Tls.selfSigned(cert, dir.resolve("key.pem"), List.of("localhost"));
        try (Service s = plugin.create(args("--domain", "example.test", "--users", dir.resolve("users").toString(),
                "--maildir", dir.resolve("maildir").toString(), "--smtp", "tcp:0:interface=127.0.0.1",
                "--submission", "tcp:0:interface=127.0.0.1", "--imap", "tls:0:interface=127.0.0.1",
                "--tls-cert", cert.toString(), "--tls-key", dir.resolve("key.pem").toString()))) {
            s.start();
            int imaps = s.bindings().stream().filter(b -> b.service().equals("imap")).findFirst().orElseThrow().port();
            // curl speaks IMAP over TLS from the first byte (imaps://), trusting only our certificate
            Process curl = new ProcessBuilder(List.of("curl", "-sS", "--cacert", cert.toString(), "--connect-to",
                    "localhost:" + imaps + ":127.0.0.1:" + imaps, "imaps://localhost:" + imaps + "/", "-u", "alice:secret"))
                    .redirectErrorStream(true).start();
            String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(curl.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals(0, curl.exitValue(), out);
            assertTrue(out.contains("INBOX"), "curl lists the mailboxes over IMAPS: " + out);
            // RFC 7301: a client that offers ALPN gets IMAP's registered name chosen
            Process ossl = new ProcessBuilder(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + imaps,
                    "-servername", "localhost", "-alpn", "pop3,imap", "-CAfile", cert.toString()))
                    .redirectErrorStream(true).start();
            ossl.getOutputStream().close(); // end of input: s_client leaves after the handshake
            String handshake = new String(ossl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(ossl.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
            assertTrue(handshake.contains("ALPN protocol: imap"), handshake);
        }
    }

    @Test
    void badArgumentsNameTheOption() throws Exception {
        SmtpTestSupport.users(dir);
        String users = dir.resolve("users").toString();
        String maildir = dir.resolve("maildir").toString();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> plugin.create(args("--domain", "bad domain", "--users", users, "--maildir", maildir)));
        assertTrue(e.getMessage().contains("--domain"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> plugin.create(args("--domain", "a.test", "--users", dir.resolve("none").toString(), "--maildir", maildir)));
        assertTrue(e.getMessage().contains("--users"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> plugin.create(args("--domain", "a.test", "--users", users, "--maildir", maildir, "--tls-cert", users)));
        assertTrue(e.getMessage().contains("--tls-key"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> plugin.create(args("--domain", "a.test", "--users", users, "--maildir", maildir, "--smarthost", "nohost")));
        assertTrue(e.getMessage().contains("--smarthost"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> plugin.create(args("--domain", "a.test", "--users", users, "--maildir", maildir, "--idle-timeout", "soon")));
        assertTrue(e.getMessage().contains("--idle-timeout"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> plugin.create(args("--domain", "a.test", "--users", users, "--maildir", maildir, "--smarthost-user", "relay")));
        assertTrue(e.getMessage().contains("--smarthost-password-file"), e.getMessage());
        Path broken = dir.resolve("broken-users");
        Files.writeString(broken, "alice:{SHA512-CRYPT}$6$abc\n");
        e = assertThrows(IllegalArgumentException.class,
                () -> plugin.create(args("--domain", "a.test", "--users", broken.toString(), "--maildir", maildir)));
        assertTrue(e.getMessage().contains("broken-users"), e.getMessage());
        // a maildir that cannot be one stops the start, instead of a 451 for every message later
        Path plainFile = Files.writeString(dir.resolve("not-a-dir"), "x");
        e = assertThrows(IllegalArgumentException.class,
                () -> plugin.create(args("--domain", "a.test", "--users", users, "--maildir", plainFile.toString())));
        assertEquals("--maildir: not a directory: " + plainFile, e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> plugin.create(args("--domain", "a.test", "--users", users, "--maildir", maildir, "--queue", plainFile.toString())));
        assertEquals("--queue: not a directory: " + plainFile, e.getMessage());
    }

    @Test
    void postmasterMailGoesToTheFirstUserOrToThePostmasterOption() throws Exception {
        Path users = dir.resolve("users-nopm");
        Files.writeString(users, "# no postmaster here\n");
        dev.twine.core.auth.UsersFile.addUser(users, "carol", "pw1".toCharArray());
        dev.twine.core.auth.UsersFile.addUser(users, "dave", "pw2".toCharArray());
        for (String[] extra : List.of(new String[0], new String[] {"--postmaster", "dave"})) {
            List<String> a = new ArrayList<>(List.of("--domain", "example.test", "--users", users.toString(),
                    "--maildir", dir.resolve("maildir").toString(), "--smtp", "tcp:0:interface=127.0.0.1",
                    "--submission", "tcp:0:interface=127.0.0.1"));
            a.addAll(List.of(extra));
            try (Service s = plugin.create(args(a.toArray(String[]::new)))) {
                s.start();
                try (SmtpClient c = SmtpClient.connect("127.0.0.1:" + s.bindings().get(0).port(), Duration.ofSeconds(10))) {
                    c.ehlo("t");
                    c.send("x@remote.example", List.of("postmaster@example.test"), "Subject: pm\r\n\r\nb\r\n".getBytes(StandardCharsets.US_ASCII));
                    c.quit();
                }
            }
        }
        assertEquals(1, SmtpTestSupport.delivered(dir, "carol").size(), "the first user by default");
        assertEquals(1, SmtpTestSupport.delivered(dir, "dave").size(), "--postmaster dave");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plugin.create(args("--domain", "example.test",
                "--users", users.toString(), "--maildir", dir.resolve("maildir").toString(), "--postmaster", "nobody")));
        assertTrue(e.getMessage().contains("--postmaster"), e.getMessage());
    }

    @Test
    void badFilesAndValuesNameTheirOption() throws Exception {
        Path garbage = Files.writeString(dir.resolve("garbage-users"), "alice:{NOSUCH}x\n");
        IllegalArgumentException users = assertThrows(IllegalArgumentException.class, () -> plugin.create(args("--domain",
                "example.test", "--users", garbage.toString(), "--maildir", dir.resolve("maildir").toString())));
        assertTrue(users.getMessage().startsWith("--users: " + garbage + ":1:"), users.getMessage());
        SmtpTestSupport.users(dir);
        IllegalArgumentException size = assertThrows(IllegalArgumentException.class, () -> plugin.create(args("--domain",
                "example.test", "--users", dir.resolve("users").toString(), "--maildir", dir.resolve("maildir").toString(),
                "--max-message-size", "lots")));
        assertTrue(size.getMessage().startsWith("--max-message-size: 'lots' is not a size"), size.getMessage());
        IllegalArgumentException relay = assertThrows(IllegalArgumentException.class, () -> plugin.create(args("--domain",
                "example.test", "--users", dir.resolve("users").toString(), "--maildir", dir.resolve("maildir").toString(),
                "--smarthost", "nowhere")));
        assertTrue(relay.getMessage().startsWith("--smarthost: 'nowhere' is not HOST:PORT"), relay.getMessage());
    }

    @Test
    void theSharedLimitOptionsApplyToEveryMailService() throws Exception {
        SmtpTestSupport.users(dir);
        try (Service s = plugin.create(args("--domain", "example.test", "--users", dir.resolve("users").toString(),
                "--maildir", dir.resolve("maildir").toString(), "--smtp", "tcp:0:interface=127.0.0.1",
                "--submission", "tcp:0:interface=127.0.0.1", "--imap", "tcp:0:interface=127.0.0.1", "--allow-plain-auth",
                "--max-preauth-per-address", "1", "--auth-max-failures", "1", "--auth-failure-delay", "0"))) {
            s.start();
            int smtp = s.bindings().get(0).port();
            int submission = s.bindings().get(1).port();
            int imap = s.bindings().get(2).port();
            try (java.net.Socket first = new java.net.Socket("127.0.0.1", imap);
                    java.net.Socket second = new java.net.Socket("127.0.0.1", imap)) {
                first.setSoTimeout(10_000);
                second.setSoTimeout(10_000);
                var in1 = new java.io.BufferedReader(new java.io.InputStreamReader(first.getInputStream(), StandardCharsets.US_ASCII));
                var in2 = new java.io.BufferedReader(new java.io.InputStreamReader(second.getInputStream(), StandardCharsets.US_ASCII));
                assertTrue(in1.readLine().startsWith("* OK"));
                assertEquals("* BYE [UNAVAILABLE] too many connections from your address", in2.readLine(),
                        "--max-preauth-per-address 1 reaches IMAP too");
            }
            try (java.net.Socket first = new java.net.Socket("127.0.0.1", smtp);
                    java.net.Socket second = new java.net.Socket("127.0.0.1", smtp)) {
                first.setSoTimeout(10_000);
                second.setSoTimeout(10_000);
                var in1 = new java.io.BufferedReader(new java.io.InputStreamReader(first.getInputStream(), StandardCharsets.US_ASCII));
                var in2 = new java.io.BufferedReader(new java.io.InputStreamReader(second.getInputStream(), StandardCharsets.US_ASCII));
                assertEquals("220 example.test ESMTP Twine", in1.readLine());
                assertEquals("421 4.7.0 example.test Error: too many connections from your address", in2.readLine(),
                        "--max-preauth-per-address 1");
                // each service counts its own connections
                try (SmtpClient c = SmtpClient.connect("127.0.0.1:" + submission, Duration.ofSeconds(10))) {
                    c.ehlo("t");
                    SmtpException refused = assertThrows(SmtpException.class, () -> c.auth("alice", "wrong"));
                    assertEquals(421, refused.reply().code(), "--auth-max-failures 1: " + refused.reply());
                }
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plugin.create(args("--domain", "example.test",
                "--users", dir.resolve("users").toString(), "--maildir", dir.resolve("maildir").toString(),
                "--max-connections-per-address", "many")));
        assertTrue(e.getMessage().contains("--max-connections-per-address"), e.getMessage());
    }

    @Test
    void aBadAliasesFileIsABadArgumentNamingFileAndLine() throws Exception {
        SmtpTestSupport.users(dir);
        Path aliases = dir.resolve("aliases");
        Files.writeString(aliases, "sales: alice\nsales bob\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plugin.create(args("--domain", "example.test",
                "--users", dir.resolve("users").toString(), "--maildir", dir.resolve("maildir").toString(),
                "--aliases", aliases.toString())));
        assertEquals("--aliases: " + aliases + ":2: expected 'name: target, ...' or 'user@domain target, ...'", e.getMessage());
    }

    @Test
    void severalDomainsFromOptionsAndAFileShareTheUsersAndTheAliasesReloadWithTheService() throws Exception {
        SmtpTestSupport.users(dir);
        Path domains = dir.resolve("domains");
        Files.writeString(domains, "# more domains\nExample.NET\n");
        Path aliases = dir.resolve("aliases");
        Files.writeString(aliases, "info@example.org alice\n");
        try (Service s = plugin.create(args("--domain", "example.test", "--domain", "example.org", "--domains", domains.toString(),
                "--users", dir.resolve("users").toString(), "--maildir", dir.resolve("maildir").toString(),
                "--aliases", aliases.toString(), "--smtp", "tcp:0:interface=127.0.0.1", "--submission", "tcp:0:interface=127.0.0.1"))) {
            s.start();
            int port = s.bindings().get(0).port();
            byte[] text = "Subject: d\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII);
            try (SmtpClient c = SmtpClient.connect("127.0.0.1:" + port, Duration.ofSeconds(10))) {
                c.ehlo("t");
                c.send("x@remote.example", List.of("alice@example.net"), text);
                c.send("x@remote.example", List.of("info@example.org"), text);
                Files.writeString(aliases, "info@example.org bob\n");
                assertTrue(s.reload(), "SIGHUP rereads the aliases");
                c.send("x@remote.example", List.of("info@example.org"), text);
                c.quit();
            }
        }
        assertEquals(2, SmtpTestSupport.delivered(dir, "alice").size());
        assertEquals(1, SmtpTestSupport.delivered(dir, "bob").size());
    }

    @Test
    void aBadLineInTheDomainsFileIsABadArgumentNamingFileAndLine() throws Exception {
        SmtpTestSupport.users(dir);
        Path domains = dir.resolve("domains");
        Files.writeString(domains, "example.net\nnot a domain\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plugin.create(args("--domain", "example.test",
                "--domains", domains.toString(), "--users", dir.resolve("users").toString(),
                "--maildir", dir.resolve("maildir").toString())));
        assertEquals("--domains: " + domains + ":2: not a domain name: not a domain", e.getMessage());
    }

    @Test
    void submissionTakesSendersFromTheAliasesAndTheSenderLoginsFileAndCountsTheHourlyLimit() throws Exception {
        SmtpTestSupport.users(dir);
        Path aliases = dir.resolve("aliases");
        Files.writeString(aliases, "info@example.test alice\n");
        Path senders = dir.resolve("senders");
        Files.writeString(senders, "sales@example.test alice\n");
        try (Service s = plugin.create(args("--domain", "example.test", "--users", dir.resolve("users").toString(),
                "--maildir", dir.resolve("maildir").toString(), "--aliases", aliases.toString(),
                "--sender-logins", senders.toString(), "--user-hourly-limit", "2/10", "--allow-plain-auth",
                "--smtp", "tcp:0:interface=127.0.0.1", "--submission", "tcp:0:interface=127.0.0.1"))) {
            s.start();
            byte[] text = "Subject: d\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII);
            try (SmtpClient c = SmtpClient.connect("127.0.0.1:" + s.bindings().get(1).port(), Duration.ofSeconds(10))) {
                c.ehlo("t");
                c.auth("alice", "secret");
                c.send("info@example.test", List.of("bob@example.test"), text);
                c.send("sales@example.test", List.of("bob@example.test"), text);
                IOException limited = assertThrows(IOException.class,
                        () -> c.send("alice@example.test", List.of("bob@example.test"), text));
                assertTrue(limited.getMessage().contains("451 4.7.1"), limited.getMessage());
            }
        }
        assertEquals(2, SmtpTestSupport.delivered(dir, "bob").size());
    }

    @Test
    void theGreetDelayAndTheConnectionRateApplyToTheSmtpPortOnly() throws Exception {
        SmtpTestSupport.users(dir);
        try (Service s = plugin.create(args("--domain", "example.test", "--users", dir.resolve("users").toString(),
                "--maildir", dir.resolve("maildir").toString(), "--smtp", "tcp:0:interface=127.0.0.1",
                "--submission", "tcp:0:interface=127.0.0.1", "--greet-delay", "1h", "--max-connection-rate", "1/min"))) {
            s.start();
            List<Binding> b = s.bindings();
            assertEquals("220-example.test ESMTP Twine", firstLine(b.get(0).port()));
            assertEquals("421 4.7.0 example.test Error: too many connections from 127.0.0.1", firstLine(b.get(0).port()));
            assertEquals("220 example.test ESMTP Twine", firstLine(b.get(1).port()));
            assertEquals("220 example.test ESMTP Twine", firstLine(b.get(1).port()));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plugin.create(args("--domain", "example.test",
                "--users", dir.resolve("users").toString(), "--maildir", dir.resolve("maildir").toString(),
                "--max-connection-rate", "often")));
        assertEquals("--max-connection-rate: expected CONNECTIONS/min, e.g. 30/min, got 'often'", e.getMessage());
    }

    private static String firstLine(int port) throws IOException {
        try (java.net.Socket c = new java.net.Socket("127.0.0.1", port)) {
            c.setSoTimeout(10_000);
            return new java.io.BufferedReader(new java.io.InputStreamReader(c.getInputStream(), StandardCharsets.US_ASCII)).readLine();
        }
    }

    @Test
    void aBadHourlyLimitIsABadArgumentNamingTheOption() throws Exception {
        SmtpTestSupport.users(dir);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plugin.create(args("--domain", "example.test",
                "--users", dir.resolve("users").toString(), "--maildir", dir.resolve("maildir").toString(),
                "--address-hourly-limit", "lots")));
        assertEquals("--address-hourly-limit: expected MESSAGES/RECIPIENTS, e.g. 200/1000, got 'lots'", e.getMessage());
    }

    @Test
    void quotaIsEveryUsersLimitInImapAndABadOneNamesTheOption() throws Exception {
        SmtpTestSupport.users(dir);
        String users = dir.resolve("users").toString();
        String maildir = dir.resolve("maildir").toString();
        try (Service s = plugin.create(args("--domain", "example.test", "--users", users, "--maildir", maildir,
                "--quota", "64k", "--allow-plain-auth", "--smtp", "tcp:0:interface=127.0.0.1",
                "--imap", "tcp:0:interface=127.0.0.1"))) {
            s.start();
            int imap = s.bindings().stream().filter(b -> b.service().equals("imap")).findFirst().orElseThrow().port();
            String out = dev.twine.mail.maildir.MailFixture.python(60, """
                    import imaplib, sys
                    M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
                    M.login('alice', 'secret')
                    print(M.getquotaroot('INBOX'))
                    M.logout()
                    """, Integer.toString(imap));
            // RFC 9208: STORAGE in units of 1024 octets, 64k is 64
            assertTrue(out.contains("(STORAGE 0 64)"), out);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plugin.create(args(
                "--domain", "example.test", "--users", users, "--maildir", maildir, "--quota", "lots")));
        assertTrue(e.getMessage().startsWith("--quota: "), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> plugin.create(args(
                "--domain", "example.test", "--users", users, "--maildir", maildir, "--quota", "10")));
        assertEquals("--quota: at least 1024 bytes, got '10'", e.getMessage());
    }

    @Test
    void lmtpServesTheAliasesAndTheMaildir() throws Exception {
        SmtpTestSupport.users(dir);
        Path aliases = dir.resolve("aliases");
        Files.writeString(aliases, "sales: alice, bob\n");
        try (Service s = plugin.create(args("--domain", "example.test", "--users", dir.resolve("users").toString(),
                "--maildir", dir.resolve("maildir").toString(), "--aliases", aliases.toString(),
                "--smtp", "tcp:0:interface=127.0.0.1", "--lmtp", "tcp:0:interface=127.0.0.1"))) {
            s.start();
            int port = s.bindings().stream().filter(b -> b.service().equals("lmtp")).findFirst().orElseThrow().port();
            String out = dev.twine.mail.maildir.MailFixture.python(60, """
                    import smtplib, sys
                    s = smtplib.LMTP('127.0.0.1', int(sys.argv[1]))
                    print(s.sendmail('x@remote.example', ['sales@example.test'], b'Subject: s\\r\\n\\r\\nhi\\r\\n'))
                    s.quit()
                    """, String.valueOf(port));
            assertEquals("{}", out.strip());
        }
        assertEquals(1, SmtpTestSupport.delivered(dir, "alice").size());
        assertEquals(1, SmtpTestSupport.delivered(dir, "bob").size());
    }

    @Test
    void submittedMailForOtherDomainsGoesToTheSmarthostWithAuth() throws Exception {
        // the smarthost: a Twine submission server for remote.test that demands AUTH
        Path hostDir = Files.createDirectories(dir.resolve("smarthost"));
        SmtpServer smarthost = SmtpTestSupport.server(hostDir, "remote.test").role(SmtpServer.Role.SUBMISSION).acceptAnySender(true)
                .allowPlainAuth(true).listen("tcp:0:interface=127.0.0.1").build();
        smarthost.start();
        try {
            SmtpTestSupport.users(dir);
            Path pw = dir.resolve("relay-password");
            Files.writeString(pw, "hunter2\n");
            try (Service s = plugin.create(args("--domain", "example.test", "--users", dir.resolve("users").toString(),
                    "--maildir", dir.resolve("maildir").toString(), "--smtp", "tcp:0:interface=127.0.0.1",
                    "--submission", "tcp:0:interface=127.0.0.1", "--allow-plain-auth",
                    "--smarthost", "127.0.0.1:" + smarthost.port(), "--smarthost-user", "bob", "--smarthost-password-file", pw.toString()))) {
                s.start();
                try (SmtpClient c = SmtpClient.connect("127.0.0.1:" + s.bindings().get(1).port(), Duration.ofSeconds(10))) {
                    c.ehlo("t");
                    c.auth("alice", "secret");
                    c.send("alice@example.test", List.of("alice@remote.test"), "Subject: out\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII));
                    c.quit();
                }
                for (int i = 0; i < 200 && SmtpTestSupport.delivered(hostDir, "alice").isEmpty(); i++) {
                    Thread.sleep(50);
                }
                String got = Files.readString(SmtpTestSupport.delivered(hostDir, "alice").get(0));
                assertTrue(got.contains(" with ESMTPA id "), "the queue authenticated to the smarthost: " + got);
            }
        } finally {
            smarthost.close();
        }
    }

    @Test
    void demoMakesAUserACertificateAndPrintsSwaksAndCurlLines() throws Exception {
        Optional<ServicePlugin.Demo> demo = plugin.demo(dir, ServicePlugin.DemoPorts.usual());
        assertTrue(demo.isPresent());
        try (Service s = demo.get().service()) {
            String text = demo.get().instructions().apply(s);
            String password = Files.readString(dir.resolve("demo-password")).strip();
            assertTrue(text.contains("swaks --server 127.0.0.1:2587 --tls --auth PLAIN --auth-user demo --auth-password " + password), text);
            assertTrue(text.contains("curl smtp://127.0.0.1:2525"), text);
            assertTrue(Files.readString(dir.resolve("cert.pem")).contains("BEGIN CERTIFICATE"));
            assertTrue(Files.readString(dir.resolve("key.pem")).contains("BEGIN PRIVATE KEY"));
        }
    }

    @Test
    void dkimKeysSignWhatUsersRelayAndPort25MailGetsAuthenticationResults() throws Exception {
        SmtpTestSupport.users(dir);
        // the key as dkim-keygen makes it, its record served by Twine's own DNS server
        ServicePlugin.Tool keygen = plugin.tools().get(0);
        assertEquals("dkim-keygen", keygen.name());
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        Path key = dir.resolve("example.test.pem");
        assertEquals(0, keygen.action().run(args("--domain", "example.test", "--selector", "s1", "--algorithm", "ed25519",
                "--out", key.toString()), new java.io.PrintStream(printed, true, StandardCharsets.UTF_8)));
        String record = printed.toString(StandardCharsets.UTF_8).lines().filter(l -> !l.startsWith(";")).findFirst().orElseThrow();
        assertTrue(record.startsWith("s1._domainkey.example.test. IN TXT ( \"v=DKIM1; k=ed25519; p="), record);
        IllegalArgumentException again = assertThrows(IllegalArgumentException.class, () -> keygen.action().run(args("--domain",
                "example.test", "--selector", "s1", "--algorithm", "rsa", "--out", key.toString()), new java.io.PrintStream(printed)));
        assertTrue(again.getMessage().startsWith("--out: "), again.getMessage());
        Path zone = Files.writeString(dir.resolve("zone"), "$ORIGIN example.test.\n$TTL 300\n"
                + "@ IN SOA ns hostmaster 1 3600 600 86400 300\n@ IN NS ns\nns IN A 127.0.0.1\n" + record + "\n");
        try (dev.twine.dns.DnsServer dns = dev.twine.dns.DnsServer.builder().zone(zone).listen("udp:0:interface=127.0.0.1").build()) {
            dns.start();
            try (Service s = plugin.create(args("--domain", "example.test", "--users", dir.resolve("users").toString(),
                    "--maildir", dir.resolve("maildir").toString(), "--smtp", "tcp:0:interface=127.0.0.1",
                    "--submission", "tcp:0:interface=127.0.0.1", "--allow-plain-auth", "--smarthost", "127.0.0.1:9",
                    "--dns", "127.0.0.1:" + dns.port(), "--dkim-key", key.toString(), "--dkim-selector", "s1"))) {
                s.start();
                List<Binding> b = s.bindings();
                try (SmtpClient c = SmtpClient.connect("127.0.0.1:" + b.get(1).port(), Duration.ofSeconds(10))) {
                    c.ehlo("t");
                    c.auth("bob", "hunter2");
                    c.send("bob@example.test", List.of("carol@remote.example"),
                            "From: Bob <bob@example.test>\r\nTo: carol@remote.example\r\nSubject: signed\r\n\r\nhello\r\n"
                                    .getBytes(StandardCharsets.US_ASCII));
                    c.quit();
                }
                Path queued;
                try (java.util.stream.Stream<Path> q = Files.list(dir.resolve("maildir-queue"))) {
                    queued = q.filter(p -> p.toString().endsWith(".msg")).findFirst().orElseThrow();
                }
                byte[] signed = Files.readAllBytes(queued);
                assertTrue(new String(signed, StandardCharsets.US_ASCII).startsWith("DKIM-Signature: v=1; a=ed25519-sha256;"));
                dev.twine.mail.auth.DkimVerifier verifier = dev.twine.mail.auth.DkimVerifier.builder()
                        .resolver(dev.twine.dns.Resolver.builder().server("127.0.0.1", dns.port()).build()).build();
                assertEquals(dev.twine.mail.auth.AuthResult.PASS, verifier.verify(signed).get(0).result());
                // the signed message comes back in on port 25, with a forged result claiming to be ours
                try (SmtpClient c = SmtpClient.connect("127.0.0.1:" + b.get(0).port(), Duration.ofSeconds(10))) {
                    c.ehlo("t");
                    byte[] forged = SmtpSession.concat("Authentication-Results: EXAMPLE.test; dkim=pass\r\n"
                            .getBytes(StandardCharsets.US_ASCII), signed);
                    c.send("bob@example.test", List.of("alice@example.test"), forged);
                    c.send("x@remote.example", List.of("alice@example.test"), "Subject: plain\r\n\r\nb\r\n".getBytes(StandardCharsets.US_ASCII));
                    c.quit();
                }
                List<Path> got = SmtpTestSupport.delivered(dir, "alice");
                assertEquals(2, got.size());
                List<String> texts = new ArrayList<>();
                for (Path p : got) {
                    texts.add(Files.readString(p, StandardCharsets.US_ASCII));
                }
                String dkimPass = texts.stream().filter(t -> t.contains("Subject: signed")).findFirst().orElseThrow();
                assertTrue(dkimPass.contains("Authentication-Results: example.test;\r\n\tdkim=pass header.d=example.test header.s=s1"
                        + " header.a=ed25519-sha256 header.b="), dkimPass);
                assertEquals(1, dkimPass.split("Authentication-Results:", -1).length - 1, "the forged field is gone: " + dkimPass);
                String none = texts.stream().filter(t -> t.contains("Subject: plain")).findFirst().orElseThrow();
                assertTrue(none.contains("Authentication-Results: example.test;\r\n\tdkim=none\r\n"), none);
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plugin.create(args("--domain", "example.test",
                "--users", dir.resolve("users").toString(), "--maildir", dir.resolve("maildir").toString(), "--dkim-key", key.toString())));
        assertTrue(e.getMessage().startsWith("--dkim-selector is required"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> plugin.create(args("--domain", "example.test",
                "--users", dir.resolve("users").toString(), "--maildir", dir.resolve("maildir").toString(),
                "--dkim-key", dir.resolve("users").toString(), "--dkim-selector", "s1")));
        assertTrue(e.getMessage().startsWith("--dkim-key: "), e.getMessage());
    }

    @Test
    void aClientOnADnsblIsRefusedAtRcptOnTheSmtpPort() throws Exception {
        SmtpTestSupport.users(dir);
        Path zone = Files.writeString(dir.resolve("zone"), "$ORIGIN bl.example.\n$TTL 300\n"
                + "@ IN SOA ns hostmaster 1 3600 600 86400 300\n@ IN NS ns\nns IN A 127.0.0.1\n1.0.0.127 IN A 127.0.0.2\n");
        try (dev.twine.dns.DnsServer dns = dev.twine.dns.DnsServer.builder().zone(zone).listen("udp:0:interface=127.0.0.1").build()) {
            dns.start();
            try (Service s = plugin.create(args("--domain", "example.test", "--users", dir.resolve("users").toString(),
                    "--maildir", dir.resolve("maildir").toString(), "--smtp", "tcp:0:interface=127.0.0.1",
                    "--submission", "tcp:0:interface=127.0.0.1", "--allow-plain-auth",
                    "--dns", "127.0.0.1:" + dns.port(), "--dnsbl", "bl.example"))) {
                s.start();
                try (SmtpClient c = SmtpClient.connect("127.0.0.1:" + s.bindings().get(0).port(), Duration.ofSeconds(10))) {
                    c.ehlo("t");
                    c.mail("x@remote.example", false);
                    Reply r = c.rcpt("alice@example.test");
                    assertEquals("554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using bl.example", r.toString());
                    c.quit();
                }
                // the same client logged in on submission is not checked
                try (SmtpClient c = SmtpClient.connect("127.0.0.1:" + s.bindings().get(1).port(), Duration.ofSeconds(10))) {
                    c.ehlo("t");
                    c.auth("bob", "hunter2");
                    c.send("bob@example.test", List.of("alice@example.test"), "Subject: c\r\n\r\nd\r\n".getBytes(StandardCharsets.US_ASCII));
                    c.quit();
                }
                assertEquals(1, SmtpTestSupport.delivered(dir, "alice").size());
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plugin.create(args("--domain", "example.test",
                "--users", dir.resolve("users").toString(), "--maildir", dir.resolve("maildir").toString(), "--dnsbl", "no zone")));
        assertTrue(e.getMessage().startsWith("--dnsbl: "), e.getMessage());
    }
}
