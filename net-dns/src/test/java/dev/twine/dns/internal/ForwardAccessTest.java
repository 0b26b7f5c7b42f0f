package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Service;
import dev.twine.dns.DnsServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
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
 * Issue 10, finding 8: {@code --forward} must not make an open resolver. Names outside the zones
 * are forwarded only for allowed clients (loopback unless configured) and only with RD set;
 * everything else outside the zones is REFUSED without an upstream query. Asked over the
 * datagram path in memory, with the client's address as the listener would pass it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ForwardAccessTest {
    @TempDir
    static Path dir;

    static DnsServer upstream;

    private static final InetAddress V4_LOOPBACK = address("127.0.0.1");
    private static final InetAddress V6_LOOPBACK = address("::1");
    private static final InetAddress V4_REMOTE = address("192.0.2.7");
    private static final InetAddress V6_REMOTE = address("2001:db8:1::7");

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

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** The request path of a server for other.test forwarding to the upstream, and its forwarder. */
    private record Forwarding(Responder responder, Forwarder forwarder) {}

    /** Forwarding for other.test with the upstream serving example.test; the builder's default access list. */
    private static Forwarding defaults() throws Exception {
        return forwarding(AddressBlock.LOOPBACK);
    }

    private static Forwarding allowing(String... cidrs) throws Exception {
        return forwarding(java.util.Arrays.stream(cidrs).map(AddressBlock::parse).toList());
    }

    private static Forwarding forwarding(List<AddressBlock> allow) throws Exception {
        Forwarder f = new Forwarder(new Exchanger(List.of(new InetSocketAddress("127.0.0.1", upstream.port())),
                Duration.ofSeconds(1), 2), peer -> allow.stream().anyMatch(b -> b.contains(peer)), Clock.systemUTC(), 100);
        return new Forwarding(TestZones.responder(new ZoneAuthority(List.of(dir.resolve("other.test.zone"))), f), f);
    }

    private static long upstreamQueries(Forwarding l) {
        return l.forwarder().upstreamQueries();
    }

    private static void assertRefusedWithoutForwarding(Forwarding l, Message m) {
        assertEquals(Rcode.REFUSED, m.getRcode(), m.toString());
        assertEquals(0, m.getSection(Section.ANSWER).size(), m.toString());
        assertFalse(m.getHeader().getFlag(Flags.RA), m.toString());
        assertEquals(0, upstreamQueries(l), "nothing may reach the upstream");
    }

    @Test
    void loopbackClientsAreForwardedByDefault() throws Exception {
        Forwarding l = defaults();
        Message v4 = TestZones.recursive(l.responder(), "www.example.test.", Type.A, V4_LOOPBACK);
        assertEquals(Rcode.NOERROR, v4.getRcode());
        assertEquals(List.of("192.0.2.20"), TestZones.rdata(v4, Section.ANSWER, Type.A));
        Message v6 = TestZones.recursive(l.responder(), "www.example.test.", Type.AAAA, V6_LOOPBACK);
        assertEquals(Rcode.NOERROR, v6.getRcode());
        assertEquals(2, upstreamQueries(l));
    }

    @Test
    void otherClientsAreRefusedByDefault() throws Exception {
        Forwarding l = defaults();
        assertRefusedWithoutForwarding(l, TestZones.recursive(l.responder(), "www.example.test.", Type.A, V4_REMOTE));
    }

    @Test
    void ipv6ClientOutsideTheListIsRefused() throws Exception {
        Forwarding l = defaults();
        assertRefusedWithoutForwarding(l, TestZones.recursive(l.responder(), "www.example.test.", Type.A, V6_REMOTE));
    }

    @Test
    void queryWithoutRecursionDesiredIsNeverForwarded() throws Exception {
        Forwarding l = defaults();
        Message m = new Message(l.responder().answerUdp(TestZones.query("www.example.test.", Type.A, 1232), V4_LOOPBACK)
                .orElseThrow());
        assertRefusedWithoutForwarding(l, m);
    }

    @Test
    void zonesAreAnsweredForEveryClientWithOrWithoutRecursion() throws Exception {
        Forwarding l = defaults();
        for (InetAddress peer : List.of(V4_REMOTE, V6_REMOTE)) {
            Message rd = TestZones.recursive(l.responder(), "host.other.test.", Type.A, peer);
            assertEquals(Rcode.NOERROR, rd.getRcode());
            assertTrue(rd.getHeader().getFlag(Flags.AA));
            Message norec = new Message(l.responder().answerUdp(TestZones.query("host.other.test.", Type.A, 0), peer)
                    .orElseThrow());
            assertTrue(norec.getHeader().getFlag(Flags.AA));
            assertEquals(rd.getSection(Section.ANSWER), norec.getSection(Section.ANSWER));
        }
        assertEquals(0, upstreamQueries(l));
    }

    @Test
    void configuredBlocksAreAllowedAndReplaceTheLoopbackDefault() throws Exception {
        Forwarding l = allowing("192.0.2.0/24", "2001:db8::/32");
        assertEquals(Rcode.NOERROR, TestZones.recursive(l.responder(), "www.example.test.", Type.A, V4_REMOTE).getRcode());
        assertEquals(Rcode.NOERROR, TestZones.recursive(l.responder(), "www.example.test.", Type.MX, V6_REMOTE).getRcode());
        assertEquals(2, upstreamQueries(l));
        Message loop = TestZones.recursive(l.responder(), "mail.example.test.", Type.A, V4_LOOPBACK);
        assertEquals(Rcode.REFUSED, loop.getRcode());
        Message outside = TestZones.recursive(l.responder(), "mail.example.test.", Type.A, address("198.51.100.1"));
        assertEquals(Rcode.REFUSED, outside.getRcode());
        assertEquals(2, upstreamQueries(l));
    }

    @Test
    void addressBlocksParseAndMatch() {
        assertTrue(AddressBlock.parse("10.1.2.3/8").contains(address("10.200.0.1")));
        assertFalse(AddressBlock.parse("10.0.0.0/8").contains(address("11.0.0.1")));
        assertTrue(AddressBlock.parse("127.0.0.1").contains(address("127.0.0.1")));
        assertFalse(AddressBlock.parse("127.0.0.1/32").contains(address("127.0.0.2")));
        assertTrue(AddressBlock.parse("2001:db8::/33").contains(address("2001:db8:7fff::1")));
        assertFalse(AddressBlock.parse("2001:db8::/33").contains(address("2001:db8:8000::1")));
        assertTrue(AddressBlock.parse("0.0.0.0/0").contains(address("203.0.113.9")));
        assertFalse(AddressBlock.parse("0.0.0.0/0").contains(address("::1")), "v4 and v6 never match each other");
        assertTrue(AddressBlock.parse("[::1]").contains(address("::1")));
        for (String bad : new String[] {"", "localhost", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "1.2.3/8"}) {
            assertThrows(IllegalArgumentException.class, () -> AddressBlock.parse(bad), bad);
        }
    }

    @Test
    void pluginRejectsABadForwardAllowNamingTheOption() throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new DnsPlugin().create(Peers.args(Map.of("--zone", List.of(dir.resolve("other.test.zone").toString()),
                        "--forward", List.of("127.0.0.1:" + upstream.port()), "--forward-allow", List.of("somehost/8")))));
        assertTrue(e.getMessage().contains("--forward-allow"), e.getMessage());
    }

    /** dig from 127.0.0.2 against a forwarder that allows only 127.0.0.1: REFUSED; from 127.0.0.1: answered. */
    @Test
    void digFromAnAddressNotAllowedIsRefused() throws Exception {
        Path dig = Peers.require("dig", "dnsutils");
        Service fwd = new DnsPlugin().create(Peers.args(Map.of(
                "--zone", List.of(dir.resolve("other.test.zone").toString()),
                "--listen", List.of("udp:0:interface=127.0.0.1", "tcp:0:interface=127.0.0.1"),
                "--forward", List.of("127.0.0.1:" + upstream.port()),
                "--forward-allow", List.of("127.0.0.1/32"))));
        fwd.start();
        try {
            int port = fwd.bindings().get(0).port();
            for (String transport : new String[] {"+notcp", "+tcp"}) {
                Peers.Dig other = Peers.dig(dig, port, "-b", "127.0.0.2", transport, "www.example.test", "A");
                assertEquals("REFUSED", other.status(), other.raw());
                assertTrue(other.section("ANSWER").isEmpty(), other.raw());
                Peers.Dig local = Peers.dig(dig, port, "-b", "127.0.0.1", transport, "www.example.test", "A");
                assertEquals("NOERROR", local.status(), local.raw());
                assertEquals(List.of("192.0.2.20"), local.data("ANSWER", "A"), local.raw());
                Peers.Dig zone = Peers.dig(dig, port, "-b", "127.0.0.2", transport, "host.other.test", "A");
                assertEquals("NOERROR", zone.status(), zone.raw());
                assertTrue(zone.flags().contains("aa"), zone.raw());
            }
        } finally {
            fwd.close();
        }
    }
}
