package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Datagram;
import dev.twine.core.Metrics;
import dev.twine.dns.DnsServer;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Type;

/** Responses counted by rcode, type, transport and zone in the core metrics, with bounded labels. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class QueryStatsTest {
    @TempDir
    Path dir;

    private static void udp(DnsServer s, String name, int type) throws Exception {
        s.datagramHandler().handle(new Datagram(TestZones.query(name, type, 1232), new InetSocketAddress("127.0.0.1", 4000),
                new InetSocketAddress("127.0.0.1", 5300)));
    }

    @Test
    void responsesAreCountedByRcodeTypeTransportAndZone() throws Exception {
        TestZones.copyTo(dir);
        Metrics metrics = Metrics.create();
        DnsServer s = DnsServer.builder().zone(dir.resolve("example.test.zone")).listen("udp:0:interface=127.0.0.1")
                .metrics(metrics).rateLimit(2).rateLimitSlip(1).build();
        udp(s, "www.example.test.", Type.A);
        udp(s, "mx1.example.test.", Type.A);
        udp(s, "nope.example.test.", Type.A);
        udp(s, "www.example.test.", Type.MX);
        udp(s, "www.elsewhere.test.", Type.A);
        udp(s, "www.example.test.", 65_280); // a private-use type: counted as "other"
        for (int i = 0; i < 3; i++) {
            udp(s, "x.wild.example.test.", Type.TXT);
        }
        String text = metrics.text();
        assertTrue(text.contains("twine_dns_responses_total{rcode=\"NOERROR\",qtype=\"A\",transport=\"udp\",zone=\"example.test\"} 2"), text);
        assertTrue(text.contains("rcode=\"NXDOMAIN\",qtype=\"A\",transport=\"udp\",zone=\"example.test\"} 1"), text);
        assertTrue(text.contains("rcode=\"REFUSED\",qtype=\"A\",transport=\"udp\",zone=\"none\"} 1"), text);
        assertTrue(text.contains("qtype=\"other\""), text);
        assertTrue(text.contains("twine_dns_rate_limited_total{action=\"slip\"} 1"), text);
    }
}
