package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Service;
import dev.twine.core.testing.ManualClock;
import dev.twine.dns.DnsServer;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The caching forwarder: names outside the local zones go to an upstream (here a Twine server
 * over loopback); answers are cached for their TTL, negative ones for the SOA's negative TTL, on
 * a manual clock.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ForwarderTest {
    @TempDir
    static Path dir;

    static DnsServer upstream;

    @BeforeAll
    static void start() throws Exception {
        TestZones.copyTo(dir);
        upstream = DnsServer.builder().zone(dir.resolve("example.test.zone"))
                .listen("udp:0:interface=127.0.0.1").listen("tcp:0:interface=127.0.0.1").build();
        upstream.start();
    }

    @AfterAll
    static void stop() {
        if (upstream != null) {
            upstream.close();
        }
    }

    private record Setup(Responder responder, Forwarder forwarder, ManualClock clock) {}

    private static Setup forwarding(int port, int cacheSize) throws Exception {
        ManualClock clock = ManualClock.create();
        Forwarder f = new Forwarder(new Exchanger(List.of(new InetSocketAddress("127.0.0.1", port)), Duration.ofMillis(500), 1),
                java.net.InetAddress::isLoopbackAddress, clock, cacheSize);
        ZoneAuthority local = new ZoneAuthority(List.of(dir.resolve("other.test.zone")));
        return new Setup(TestZones.responder(local, f), f, clock);
    }

    @Test
    void namesOutsideTheZonesAreForwardedAndCachedForTheirTtl() throws Exception {
        Setup s = forwarding(upstream.port(), 100);
        Message m = TestZones.recursive(s.responder(), "www.example.test.", Type.A, TestZones.CLIENT);
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertFalse(m.getHeader().getFlag(Flags.AA));
        assertTrue(m.getHeader().getFlag(Flags.RA));
        assertEquals(4242, m.getHeader().getID());
        assertEquals(List.of("192.0.2.20"), TestZones.rdata(m, Section.ANSWER, Type.A));
        assertEquals(1, s.forwarder().upstreamQueries());

        s.clock().advance(Duration.ofSeconds(100));
        Message cached = TestZones.recursive(s.responder(), "WWW.example.test.", Type.A, TestZones.CLIENT);
        assertEquals(1, s.forwarder().upstreamQueries());
        assertEquals(3500, cached.getSection(Section.ANSWER).get(0).getTTL());
        assertEquals("WWW.example.test.", cached.getQuestion().getName().toString());

        s.clock().advance(Duration.ofSeconds(3500));
        TestZones.recursive(s.responder(), "www.example.test.", Type.A, TestZones.CLIENT);
        assertEquals(2, s.forwarder().upstreamQueries());
    }

    @Test
    void negativeAnswersAreCachedForTheSoaNegativeTtl() throws Exception {
        Setup s = forwarding(upstream.port(), 100);
        Message m = TestZones.recursive(s.responder(), "nope.example.test.", Type.A, TestZones.CLIENT);
        assertEquals(Rcode.NXDOMAIN, m.getRcode());
        assertEquals(Type.SOA, m.getSection(Section.AUTHORITY).get(0).getType());
        s.clock().advance(Duration.ofSeconds(299));
        assertEquals(Rcode.NXDOMAIN, TestZones.recursive(s.responder(), "nope.example.test.", Type.A, TestZones.CLIENT).getRcode());
        assertEquals(Rcode.NOERROR, TestZones.recursive(s.responder(), "www.example.test.", Type.MX, TestZones.CLIENT).getRcode());
        assertEquals(2, s.forwarder().upstreamQueries());
        TestZones.recursive(s.responder(), "www.example.test.", Type.MX, TestZones.CLIENT);
        assertEquals(2, s.forwarder().upstreamQueries()); // NODATA cached too
        s.clock().advance(Duration.ofSeconds(2));
        TestZones.recursive(s.responder(), "nope.example.test.", Type.A, TestZones.CLIENT);
        assertEquals(3, s.forwarder().upstreamQueries());
    }

    @Test
    void cacheStaysWithinItsBound() throws Exception {
        Setup s = forwarding(upstream.port(), 3);
        for (int i = 0; i < 10; i++) {
            TestZones.recursive(s.responder(), "h" + i + ".wild.example.test.", Type.A, TestZones.CLIENT);
        }
        assertEquals(3, s.forwarder().cacheSize());
        assertEquals(10, s.forwarder().upstreamQueries());
    }

    @Test
    void localZonesStayAuthoritative() throws Exception {
        Setup s = forwarding(upstream.port(), 10);
        Message m = TestZones.recursive(s.responder(), "host.other.test.", Type.A, TestZones.CLIENT);
        assertTrue(m.getHeader().getFlag(Flags.AA));
        assertEquals(0, s.forwarder().upstreamQueries());
    }

    @Test
    void silentUpstreamGivesServfailThatIsNotCached() throws Exception {
        try (DatagramSocket silent = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            Setup s = forwarding(silent.getLocalPort(), 10);
            assertEquals(Rcode.SERVFAIL, TestZones.recursive(s.responder(), "www.example.test.", Type.A, TestZones.CLIENT).getRcode());
            assertEquals(0, s.forwarder().cacheSize());
        }
    }

    @Test
    void digThroughThePluginsForwarderSeesRecursionAvailable() throws Exception {
        Path dig = Peers.require("dig", "dnsutils");
        Service fwd = new DnsPlugin().create(Peers.args(Map.of(
                "--zone", List.of(dir.resolve("other.test.zone").toString()),
                "--listen", List.of("udp:0:interface=127.0.0.1", "tcp:0:interface=127.0.0.1"),
                "--forward", List.of("127.0.0.1:" + upstream.port()))));
        fwd.start();
        try {
            Peers.Dig d = Peers.dig(dig, fwd.bindings().get(0).port(), "chain.example.test", "A");
            assertEquals("NOERROR", d.status(), d.raw());
            assertTrue(d.flags().contains("ra"), d.raw());
            assertFalse(d.flags().contains("aa"), d.raw());
            assertEquals(List.of("192.0.2.20"), d.data("ANSWER", "A"), d.raw());
            Peers.Dig local = Peers.dig(dig, fwd.bindings().get(0).port(), "host.other.test", "A");
            assertTrue(local.flags().contains("aa"), local.raw());
        } finally {
            fwd.close();
        }
    }
}
