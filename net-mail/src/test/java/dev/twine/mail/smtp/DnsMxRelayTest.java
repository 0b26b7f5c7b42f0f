package dev.twine.mail.smtp;

import static dev.twine.mail.smtp.SmtpTestSupport.delivered;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.ManualClock;
import dev.twine.dns.DnsServer;
import dev.twine.dns.Resolver;
import dev.twine.mail.maildir.Maildir;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** MX routing through Twine's own DNS server (net-dns) and resolver, end to end to a Twine next hop. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DnsMxRelayTest {
    @TempDir
    Path dir;

    @TempDir
    Path remoteDir;

    private DnsServer dns;
    private Resolver resolver;
    private SmtpServer nextHop;

    @BeforeEach
    void startDns() throws Exception {
        Path zone = dir.resolve("test.zone");
        Files.writeString(zone, """
                $ORIGIN test.
                $TTL 300
                @        IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300
                @        IN NS  ns
                ns       IN A   127.0.0.1
                remote   IN MX  20 backup.remote
                remote   IN MX  10 mx.remote
                mx.remote     IN A 127.0.0.1
                backup.remote IN A 127.0.0.2
                plain    IN A   127.0.0.1
                nomail   IN MX  0 .
                """, StandardCharsets.US_ASCII);
        dns = DnsServer.builder().zone(zone).listen("udp:0:interface=127.0.0.1").build();
        dns.start();
        resolver = Resolver.builder().server("127.0.0.1", dns.port()).timeout(Duration.ofSeconds(2)).build();
    }

    @AfterEach
    void stop() {
        if (nextHop != null) {
            nextHop.close();
        }
        dns.close();
    }

    @Test
    void mxHostsComeByPreferenceAsAddressesAndTheImplicitAndNullMxAreHonoured() throws Exception {
        MxResolver mx = DnsMxResolver.over(resolver, 2525);
        assertEquals(List.of("127.0.0.1:2525", "127.0.0.2:2525"), mx.lookup("remote.test"));
        assertEquals(List.of("127.0.0.1:2525"), mx.lookup("plain.test"), "no MX: the domain's own address");
        assertEquals(List.of(), mx.lookup("nomail.test"), "RFC 7505 null MX");
        assertEquals(List.of(), mx.lookup("absent.test"), "NXDOMAIN");
    }

    @Test
    void theQueueFindsTheNextHopThroughTheMxRecord() throws Exception {
        nextHop = SmtpTestSupport.server(remoteDir, "remote.test").listen("tcp:0:interface=127.0.0.1").build();
        nextHop.start();
        SmtpTestSupport.users(dir);
        RelayQueue q = RelayQueue.builder().directory(dir.resolve("queue")).heloName("example.test")
                .resolver(DnsMxResolver.over(resolver, nextHop.port())).localDelivery("example.test", Maildir.open(dir.resolve("maildir")))
                .clock(ManualClock.create()).timeout(Duration.ofSeconds(10)).build();
        q.enqueue("alice@example.test", List.of("bob@remote.test", "someone@nomail.test"),
                "Subject: via MX\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII));
        assertEquals(1, q.deliverDue());
        assertEquals(0, q.size());
        assertEquals(1, delivered(remoteDir, "bob").size());
        List<Path> bounces = delivered(dir, "alice");
        assertEquals(1, bounces.size(), "the null-MX recipient bounces at once");
        assertTrue(Files.readString(bounces.get(0)).contains("Final-Recipient: rfc822; someone@nomail.test\r\nAction: failed\r\nStatus: 5.1.10"));
    }

    @Test
    void anUnreachableDnsServerIsATemporaryFailure() throws Exception {
        dns.close();
        Resolver dead = Resolver.builder().server("127.0.0.1", dns.port()).timeout(Duration.ofMillis(200)).attempts(1).build();
        assertThrows(IOException.class, () -> DnsMxResolver.over(dead, 25).lookup("remote.test"));
    }
}
