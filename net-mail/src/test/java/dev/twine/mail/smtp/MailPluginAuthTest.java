package dev.twine.mail.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Service;
import dev.twine.core.spi.ServicePlugin;
import dev.twine.dns.DnsServer;
import dev.twine.mail.internal.MailPlugin;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code twine mail}'s SPF and DMARC options, with swaks as the sending client and the records
 * served by Twine's DnsServer: {@code --spf-policy reject} refuses at RCPT, {@code --dmarc-policy
 * honour} at the end of DATA, {@code record} only writes the results down.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MailPluginAuthTest {
    @TempDir
    Path dir;

    private final MailPlugin plugin = new MailPlugin();

    private ServicePlugin.Arguments args(String... kv) {
        return MailPluginTest.arguments(plugin, kv);
    }

    private SmtpInteropTest.Result swaks(int port, String from, String headerFrom) throws Exception {
        return SmtpInteropTest.run(List.of("/usr/bin/swaks", "--server", "127.0.0.1:" + port, "--helo", "client.example.org",
                "--from", from, "--to", "alice@example.test", "--header", "From: <" + headerFrom + ">", "--header",
                "Subject: auth"), Map.of(), Duration.ofSeconds(30));
    }

    @Test
    void spfFailIsRefusedAtRcptAndDmarcRejectAtDataUnlessOnlyRecorded() throws Exception {
        SmtpInteropTest.requirePeer(Path.of("/usr/bin/swaks"));
        SmtpTestSupport.users(dir);
        Path zone = Files.writeString(dir.resolve("zone"), String.join("\n", "$ORIGIN example.org.", "$TTL 300",
                "@ IN SOA ns hostmaster 1 3600 600 86400 300", "@ IN NS ns", "ns IN A 127.0.0.1",
                "fail IN TXT \"v=spf1 -all\"", "ok IN TXT \"v=spf1 ip4:127.0.0.1 -all\"",
                "_dmarc.rej IN TXT \"v=DMARC1; p=reject; aspf=s\"", ""));
        try (DnsServer dns = DnsServer.builder().zone(zone).listen("udp:0:interface=127.0.0.1").build()) {
            dns.start();
            List<String> common = List.of("--domain", "example.test", "--users", dir.resolve("users").toString(),
                    "--maildir", dir.resolve("maildir").toString(), "--smtp", "tcp:0:interface=127.0.0.1",
                    "--dns", "127.0.0.1:" + dns.port(), "--trusted-network", "none");
            try (Service s = plugin.create(args(common.toArray(String[]::new)))) {
                s.start();
                int port = s.bindings().get(0).port();
                SmtpInteropTest.Result spf = swaks(port, "x@fail.example.org", "x@fail.example.org");
                assertNotEquals(0, spf.exit(), spf.output());
                assertTrue(spf.output().contains("<** 550 5.7.23 SPF fail: "), spf.output());
                // strict SPF alignment (aspf=s): ok.example.org's pass is not for rej.example.org
                SmtpInteropTest.Result dmarc = swaks(port, "x@ok.example.org", "ceo@rej.example.org");
                assertNotEquals(0, dmarc.exit(), dmarc.output());
                assertTrue(dmarc.output().contains("<** 550 5.7.1 Message rejected by the DMARC policy of rej.example.org"),
                        dmarc.output());
                SmtpInteropTest.Result pass = swaks(port, "x@ok.example.org", "x@ok.example.org");
                assertEquals(0, pass.exit(), pass.output());
            }
            assertEquals(1, SmtpTestSupport.delivered(dir, "alice").size());
            String passed = Files.readString(SmtpTestSupport.delivered(dir, "alice").get(0));
            assertTrue(passed.contains("spf=pass"), passed);
            assertTrue(passed.contains("dmarc=none header.from=ok.example.org"), passed);
            List<String> recording = new ArrayList<>(common);
            recording.addAll(List.of("--spf-policy", "record", "--dmarc-policy", "record"));
            try (Service s = plugin.create(args(recording.toArray(String[]::new)))) {
                s.start();
                int port = s.bindings().get(0).port();
                assertEquals(0, swaks(port, "x@fail.example.org", "ceo@rej.example.org").exit());
            }
            List<Path> got = SmtpTestSupport.delivered(dir, "alice");
            assertEquals(2, got.size());
            String recorded = Files.readString(got.get(0)).contains("spf=fail") ? Files.readString(got.get(0)) : Files.readString(got.get(1));
            assertTrue(recorded.contains("spf=fail"), recorded);
            assertTrue(recorded.contains("dmarc=fail (p=reject dis=reject) header.from=rej.example.org"), recorded);
            // the default trusted network: loopback clients are not SPF-checked
            List<String> trusting = new ArrayList<>(common.subList(0, common.size() - 2));
            try (Service s = plugin.create(args(trusting.toArray(String[]::new)))) {
                s.start();
                assertEquals(0, swaks(s.bindings().get(0).port(), "x@fail.example.org", "x@fail.example.org").exit());
            }
        }
    }

    @Test
    void badPolicyValuesNameTheirOption() throws Exception {
        SmtpTestSupport.users(dir);
        for (String[] bad : List.of(new String[] {"--spf-policy", "maybe"}, new String[] {"--dmarc-policy", "ignore"},
                new String[] {"--trusted-network", "10.0.0.0/99"}, new String[] {"--public-suffix-list", dir.resolve("nope").toString()})) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plugin.create(args("--domain",
                    "example.test", "--users", dir.resolve("users").toString(), "--maildir", dir.resolve("maildir").toString(),
                    bad[0], bad[1])));
            assertTrue(e.getMessage().startsWith(bad[0] + ": "), e.getMessage());
        }
    }
}
