package dev.twine.mail.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.ManualClock;
import dev.twine.mail.maildir.Maildir;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * DSN parameters from Twine's relay queue reach a real Postfix 3.7 (its own instance, as in
 * {@link SmtpPostfixInteropTest}) that offers DSN: Twine passes NOTIFY=SUCCESS, ORCPT and ENVID
 * on, Postfix delivers into a virtual Maildir and, as asked, sends its own success notification
 * back to the sender at Twine's MX, naming the original recipient and envelope id Twine gave it.
 * Needs root; a missing peer fails under {@code CI=true}, else skips.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DsnPostfixInteropTest {
    private static final Path POSTFIX = Path.of("/usr/sbin/postfix");

    @TempDir
    Path dir;

    @Test
    void postfixAsTheNextHopGetsNotifyOrcptAndEnvidAndReportsTheDeliveryBack() throws Exception {
        SmtpInteropTest.requirePeer(POSTFIX);
        SmtpServer twine = SmtpTestSupport.server(dir).listen("tcp:0:interface=127.0.0.1").build();
        twine.start();
        Path pf = dir.resolve("postfix");
        int smtpd;
        try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            smtpd = free.getLocalPort();
        }
        try (twine) {
            UserPrincipal postfix = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postfix");
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.createDirectories(pf.resolve("conf"));
            Files.createDirectories(pf.resolve("queue"));
            GroupPrincipal postfixGroup = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName("postfix");
            for (String d : List.of("data", "vmail")) {
                Path p = Files.createDirectories(pf.resolve(d));
                Files.setOwner(p, postfix);
                Files.getFileAttributeView(p, PosixFileAttributeView.class).setGroup(postfixGroup);
            }
            Files.setPosixFilePermissions(pf, PosixFilePermissions.fromString("rwxr-xr-x"));
            int uid = (Integer) Files.getAttribute(pf.resolve("data"), "unix:uid");
            int gid = (Integer) Files.getAttribute(pf.resolve("data"), "unix:gid");
            Files.writeString(pf.resolve("conf/main.cf"), String.join("\n",
                    "compatibility_level = 3.6",
                    "queue_directory = " + pf.resolve("queue"),
                    "data_directory = " + pf.resolve("data"),
                    "mail_owner = postfix",
                    "myhostname = postfix.test",
                    "myorigin = postfix.test",
                    "mydestination =",
                    "mynetworks = 127.0.0.0/8",
                    "inet_interfaces = loopback-only",
                    "inet_protocols = ipv4",
                    // bob@postfix.test is a virtual Maildir; everything else (the notice) goes back to Twine
                    "virtual_mailbox_domains = postfix.test",
                    "virtual_mailbox_base = " + pf.resolve("vmail"),
                    "virtual_mailbox_maps = static:bob/",
                    "virtual_uid_maps = static:" + uid,
                    "virtual_gid_maps = static:" + gid,
                    "virtual_minimum_uid = 1",
                    "relayhost = [127.0.0.1]:" + twine.port(),
                    "smtp_tls_security_level = none",
                    "smtpd_tls_security_level = none",
                    "maillog_file = " + pf.resolve("maillog"),
                    "maillog_file_prefixes = " + pf,
                    "alias_maps =",
                    "alias_database =",
                    "smtputf8_enable = no",
                    "biff = no", ""));
            Files.writeString(pf.resolve("conf/master.cf"), SmtpPostfixInteropTest.MASTER
                    + "127.0.0.1:" + smtpd + " inet n - n - - smtpd\n"
                    + "virtual   unix  -       n       n       -       -       virtual\n");
            String conf = pf.resolve("conf").toString();
            SmtpInteropTest.Result r = SmtpInteropTest.run(List.of(POSTFIX.toString(), "-c", conf, "start"), Map.of(), Duration.ofSeconds(60));
            assertEquals(0, r.exit(), r.output() + log(pf));
            try {
                RelayQueue queue = RelayQueue.builder().directory(dir.resolve("queue")).heloName("example.test")
                        .resolver(MxResolver.fixed("127.0.0.1:" + smtpd))
                        .localDelivery("example.test", Maildir.open(dir.resolve("maildir"))).clock(ManualClock.create())
                        .timeout(Duration.ofSeconds(30)).build();
                MailDelivery.Session session = new MailDelivery.Session(new InetSocketAddress("127.0.0.1", 1), "client.example",
                        Optional.empty(), Optional.empty());
                RcptParameters notify = new RcptParameters(Set.of(RcptParameters.Notify.SUCCESS, RcptParameters.Notify.FAILURE),
                        Optional.of("rfc822;info@example.test"));
                byte[] message = "From: alice@example.test\r\nTo: bob@postfix.test\r\nSubject: tell me\r\n\r\nhello\r\n"
                        .getBytes(StandardCharsets.US_ASCII);
                queue.deliver(new MailDelivery.Envelope<>(session, "T1", "alice@example.test",
                        List.of(new MailDelivery.Recipient<>("bob@postfix.test", "bob@postfix.test", notify)),
                        new MailParameters(Optional.of(MailParameters.Ret.HDRS), Optional.of("twine-42"), false)),
                        new ByteArrayInputStream(message));
                queue.deliverDue();
                assertEquals(0, queue.size(), "Postfix took it; its log:\n" + log(pf));
                List<Path> notices = List.of();
                for (int i = 0; i < 600 && notices.isEmpty(); i++) {
                    Thread.sleep(100); // Postfix delivers and reports on its own schedule: nothing to wait on but the Maildir
                    notices = SmtpTestSupport.delivered(dir, "alice");
                }
                assertEquals(1, notices.size(), "Postfix's success notice; its log:\n" + log(pf));
                String dsn = Files.readString(notices.get(0), StandardCharsets.UTF_8);
                assertTrue(dsn.contains("Original-Envelope-Id: twine-42"), dsn);
                assertTrue(dsn.matches("(?s).*Original-Recipient: rfc822; ?info@example\\.test\r\n.*"), dsn);
                assertTrue(dsn.matches("(?s).*Final-Recipient: rfc822; ?bob@postfix\\.test\r\n.*"), dsn);
                assertTrue(dsn.contains("Action: delivered"), dsn);
                try (Stream<Path> s = Files.list(pf.resolve("vmail/bob/new"))) {
                    assertEquals(1, s.count(), "in bob's Maildir at Postfix");
                }
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
