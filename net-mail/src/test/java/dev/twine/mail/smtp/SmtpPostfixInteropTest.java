package dev.twine.mail.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Postfix (its own instance: configuration and queue in a temp dir) relaying to Twine's
 * port 25 role, which offers CHUNKING and PIPELINING: the MTA in front of Twine that most sites
 * have. Postfix 3.7's SMTP client sends DATA even when CHUNKING is offered (only its server speaks
 * BDAT), so BDAT's interop test is Perl's Net::SMTP ({@code SmtpInteropTest}). Needs root
 * (Postfix's own rule for a second instance); a missing peer fails under {@code CI=true}, else
 * skips.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SmtpPostfixInteropTest {
    private static final Path POSTFIX = Path.of("/usr/sbin/postfix");
    private static final Path SENDMAIL = Path.of("/usr/sbin/sendmail");

    /** The daemons this test needs, none chrooted and no listener: mail comes in by sendmail. */
    static final String MASTER = """
            pickup    unix  n       -       n       60      1       pickup
            cleanup   unix  n       -       n       -       0       cleanup
            qmgr      unix  n       -       n       300     1       qmgr
            rewrite   unix  -       -       n       -       -       trivial-rewrite
            bounce    unix  -       -       n       -       0       bounce
            defer     unix  -       -       n       -       0       bounce
            trace     unix  -       -       n       -       0       bounce
            verify    unix  -       -       n       -       1       verify
            flush     unix  n       -       n       1000?   0       flush
            proxymap  unix  -       -       n       -       -       proxymap
            smtp      unix  -       -       n       -       -       smtp
            relay     unix  -       -       n       -       -       smtp
            showq     unix  n       -       n       -       -       showq
            error     unix  -       -       n       -       -       error
            retry     unix  -       -       n       -       -       error
            discard   unix  -       -       n       -       -       discard
            anvil     unix  -       -       n       -       1       anvil
            scache    unix  -       -       n       -       1       scache
            postlog   unix-dgram n  -       n       -       1       postlogd
            """;

    @TempDir
    Path dir;

    @Test
    void postfixRelaysToTheMxPortAndTheMessageIsStored() throws Exception {
        SmtpInteropTest.requirePeer(POSTFIX);
        SmtpInteropTest.requirePeer(SENDMAIL);
        SmtpServer twine = SmtpTestSupport.server(dir).listen("tcp:0:interface=127.0.0.1").build();
        twine.start();
        Path pf = dir.resolve("postfix");
        try (twine) {
            // Postfix's daemons run as the postfix user: they must reach the queue directory
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.createDirectories(pf.resolve("conf"));
            Files.createDirectories(pf.resolve("queue"));
            // Postfix's own state (its TLS and verify caches) belongs to the mail owner
            Files.setOwner(Files.createDirectories(pf.resolve("data")),
                    dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postfix"));
            Files.setPosixFilePermissions(pf, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.writeString(pf.resolve("conf/main.cf"), String.join("\n",
                    "compatibility_level = 3.6",
                    "queue_directory = " + pf.resolve("queue"),
                    "data_directory = " + pf.resolve("data"),
                    "mail_owner = postfix",
                    "myhostname = postfix.test",
                    "myorigin = postfix.test",
                    "mydestination =",
                    "inet_interfaces = loopback-only",
                    "inet_protocols = ipv4",
                    "relayhost = [127.0.0.1]:" + twine.port(),
                    "smtp_tls_security_level = none",
                    "maillog_file = " + pf.resolve("maillog"),
                    "maillog_file_prefixes = " + pf,
                    "alias_maps =",
                    "alias_database =",
                    "smtputf8_enable = no",
                    "biff = no", ""));
            Files.writeString(pf.resolve("conf/master.cf"), MASTER);
            String conf = pf.resolve("conf").toString();
            SmtpInteropTest.Result r = SmtpInteropTest.run(List.of(POSTFIX.toString(), "-c", conf, "start"), Map.of(), Duration.ofSeconds(60));
            assertEquals(0, r.exit(), r.output() + log(pf));
            try {
                String body = "Subject: through Postfix\n\n.a line that starts with a dot\nsecond line\n";
                Path msg = dir.resolve("msg.txt");
                Files.writeString(msg, body);
                Process p = new ProcessBuilder(SENDMAIL.toString(), "-C", conf, "-i", "-f", "someone@postfix.test", "alice@example.test")
                        .redirectInput(msg.toFile()).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, out);
                List<Path> stored = List.of();
                for (int i = 0; i < 600 && stored.isEmpty(); i++) {
                    Thread.sleep(100); // Postfix delivers on its own schedule: nothing to wait on but the Maildir
                    stored = SmtpTestSupport.delivered(dir, "alice");
                }
                assertEquals(1, stored.size(), "delivered through Postfix; its log:\n" + log(pf));
                String got = Files.readString(stored.get(0), StandardCharsets.UTF_8);
                assertTrue(got.endsWith("\r\n\r\n.a line that starts with a dot\r\nsecond line\r\n"), got);
                assertTrue(got.contains("by postfix.test (Postfix"), got);
            } finally {
                SmtpInteropTest.run(List.of(POSTFIX.toString(), "-c", conf, "stop"), Map.of(), Duration.ofSeconds(60));
            }
        }
    }

    private static String log(Path pf) throws IOException {
        Path f = pf.resolve("maillog");
        return Files.exists(f) ? Files.readString(f) : "(none)";
    }
}
