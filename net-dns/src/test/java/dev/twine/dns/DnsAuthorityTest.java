package dev.twine.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Datagram;
import dev.twine.core.Frames;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.io.InputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * A DnsServer over authorities of a user's own, asked through its UDP and TCP handlers in memory
 * (no sockets): each kind of answer as it reaches the client, the wire work the server does for
 * them, and the order of a chain.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DnsAuthorityTest {
    static final InetSocketAddress CLIENT = new InetSocketAddress(InetAddress.getLoopbackAddress(), 40053);
    static final DnsRecord.Soa SOA = new DnsRecord.Soa("svc.local", 3600, "ns.svc.local", "admin.svc.local", 7, 3600,
            600, 86400, 30);

    @TempDir
    Path dir;

    /** A live map authority for svc.local, as the example and the interface's Javadoc write it. */
    static DnsAuthority registry(Map<String, Inet4Address> hosts) {
        return q -> {
            if (!q.inZone("svc.local")) {
                return DnsAnswer.notMine();
            }
            Inet4Address a = hosts.get(q.name().toLowerCase(Locale.ROOT));
            if (a == null) {
                return q.name().equalsIgnoreCase("svc.local") ? DnsAnswer.nodata(SOA) : DnsAnswer.nxdomain(SOA);
            }
            return q.is(RecordType.A) ? DnsAnswer.of(new DnsRecord.A(q.name(), 30, a)) : DnsAnswer.nodata(SOA);
        };
    }

    static DnsServer server(DnsAuthority... authorities) {
        DnsServer.Builder b = DnsServer.builder().listen("udp:0:interface=127.0.0.1");
        for (DnsAuthority a : authorities) {
            b.authority(a);
        }
        return b.build();
    }

    static byte[] query(String name, int type, int udpSize, boolean rd) throws Exception {
        Message q = Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
        q.getHeader().setID(777);
        if (!rd) {
            q.getHeader().unsetFlag(Flags.RD);
        }
        if (udpSize > 0) {
            q.addRecord(new OPTRecord(udpSize, 0, 0, 0), Section.ADDITIONAL);
        }
        return q.toWire();
    }

    static Message udp(DnsServer s, String name, int type) throws Exception {
        return udp(s, query(name, type, 1232, true));
    }

    static Message udp(DnsServer s, byte[] query) throws Exception {
        byte[] out = s.datagramHandler().handle(new Datagram(query, CLIENT, null)).orElseThrow();
        return new Message(out);
    }

    static Inet4Address v4(String literal) throws Exception {
        return (Inet4Address) InetAddress.getByName(literal);
    }

    static List<String> rdata(Message m, int section) {
        return m.getSection(section).stream().map(Record::rdataToString).toList();
    }

    @Test
    void anAnswerCarriesTheRecordsWithAaAndTheClientsSpelling() throws Exception {
        DnsServer s = server(registry(Map.of("web.svc.local", v4("192.0.2.10"))));
        Message m = udp(s, "Web.SVC.local.", Type.A);
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertTrue(m.getHeader().getFlag(Flags.AA));
        assertFalse(m.getHeader().getFlag(Flags.RA));
        assertEquals(777, m.getHeader().getID());
        assertEquals(List.of("192.0.2.10"), rdata(m, Section.ANSWER));
        assertEquals("Web.SVC.local.", m.getSection(Section.ANSWER).get(0).getName().toString());
        assertEquals(1232, m.getOPT().getPayloadSize(), "EDNS answered with EDNS: the server's work");
    }

    @Test
    void nxdomainCarriesTheSoaWithTheNegativeTtl() throws Exception {
        Message m = udp(server(registry(Map.of())), "nope.svc.local.", Type.A);
        assertEquals(Rcode.NXDOMAIN, m.getRcode());
        assertTrue(m.getHeader().getFlag(Flags.AA));
        SOARecord soa = (SOARecord) m.getSection(Section.AUTHORITY).get(0);
        assertEquals("svc.local.", soa.getName().toString());
        assertEquals(30, soa.getTTL(), "RFC 2308 §3: min(TTL 3600, MINIMUM 30)");
        assertEquals(7, soa.getSerial());
    }

    @Test
    void nodataIsNoerrorWithAnEmptyAnswerAndTheSoa() throws Exception {
        Message m = udp(server(registry(Map.of("web.svc.local", v4("192.0.2.10")))), "web.svc.local.", Type.MX);
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertEquals(0, m.getSection(Section.ANSWER).size());
        assertEquals(Type.SOA, m.getSection(Section.AUTHORITY).get(0).getType());
    }

    @Test
    void refusalAndNamesNobodyClaimsAreRefused() throws Exception {
        Message refused = udp(server(q -> DnsAnswer.refused()), "web.svc.local.", Type.A);
        assertEquals(Rcode.REFUSED, refused.getRcode());
        assertFalse(refused.getHeader().getFlag(Flags.AA));
        assertEquals(0, refused.getSection(Section.ANSWER).size());
        Message outside = udp(server(registry(Map.of())), "www.example.org.", Type.A);
        assertEquals(Rcode.REFUSED, outside.getRcode());
    }

    @Test
    void anExceptionIsServfailWithoutItsText() throws Exception {
        byte[] wire = server(q -> {
            throw new IllegalStateException("secret-database-password");
        }).datagramHandler().handle(new Datagram(query("web.svc.local.", Type.A, 1232, true), CLIENT, null)).orElseThrow();
        Message m = new Message(wire);
        assertEquals(Rcode.SERVFAIL, m.getRcode());
        assertEquals(777, m.getHeader().getID());
        assertEquals("web.svc.local.", m.getQuestion().getName().toString());
        assertFalse(new String(wire, StandardCharsets.ISO_8859_1).contains("secret"));
        assertEquals(Rcode.SERVFAIL, udp(server(q -> null), "web.svc.local.", Type.A).getRcode(), "null is a bug too");
    }

    @Test
    void serverFailureIsServfail() throws Exception {
        assertEquals(Rcode.SERVFAIL, udp(server(q -> new DnsAnswer.ServerFailure()), "x.svc.local.", Type.A).getRcode());
    }

    @Test
    void interruptedAuthoritySendsNothing() throws Exception {
        DnsServer s = server(q -> {
            throw new InterruptedException();
        });
        try {
            assertEquals(Optional.empty(), s.datagramHandler().handle(new Datagram(query("x.svc.local.", Type.A, 0, true), CLIENT, null)));
            assertTrue(Thread.interrupted(), "the interrupt is kept for the caller");
        } finally {
            Thread.interrupted();
        }
    }

    /** 40 TXT records of 60 bytes: about 3 KB, more than any UDP answer here. */
    static DnsAuthority big() {
        return q -> {
            List<DnsRecord> txt = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                txt.add(new DnsRecord.Txt(q.name(), 60, List.of(String.format("%02d", i) + "x".repeat(58))));
            }
            return DnsAnswer.of(txt);
        };
    }

    @Test
    void aBigAnswerIsTruncatedOverUdpAndWholeOverTcp() throws Exception {
        DnsServer s = server(big());
        byte[] plain = s.datagramHandler().handle(new Datagram(query("big.svc.local.", Type.TXT, 0, true), CLIENT, null))
                .orElseThrow();
        assertTrue(plain.length <= 512, "length " + plain.length);
        assertTrue(new Message(plain).getHeader().getFlag(Flags.TC));
        byte[] edns = s.datagramHandler().handle(new Datagram(query("big.svc.local.", Type.TXT, 4096, true), CLIENT, null))
                .orElseThrow();
        assertTrue(edns.length <= 1232, "length " + edns.length);
        assertTrue(new Message(edns).getHeader().getFlag(Flags.TC));
        Frames frames = Frames.u16(65_535);
        for (Chunking c : Chunking.standard()) {
            try (MemoryConnections.Served conn = MemoryConnections.serve(s.handler(), c)) {
                frames.write(conn.client().output(), query("big.svc.local.", Type.TXT, 0, true));
                conn.client().flush();
                Message all = new Message(frames.read(conn.client().input()));
                assertFalse(all.getHeader().getFlag(Flags.TC), c.toString());
                assertEquals(40, all.getSection(Section.ANSWER).size(), c.toString());
                conn.client().shutdownOutput();
                assertEquals(Optional.empty(), conn.awaitHandler(Duration.ofSeconds(10)), c.toString());
            }
        }
    }

    @Test
    void theQuestionSaysWhoAskedAndHow() throws Exception {
        AtomicReference<DnsQuestion> seen = new AtomicReference<>();
        DnsServer s = server(q -> {
            seen.set(q);
            return DnsAnswer.refused();
        });
        udp(s, query("Host.Svc.Local.", Type.AAAA, 1400, false));
        assertEquals(new DnsQuestion("Host.Svc.Local", Type.AAAA, DClass.IN, Optional.of(CLIENT.getAddress()),
                DnsQuestion.Transport.UDP, OptionalInt.of(1400), false), seen.get());
        try (MemoryConnections.Served conn = MemoryConnections.serve(s.handler(), Chunking.whole())) {
            Frames.u16(65_535).write(conn.client().output(), query("svc.local.", Type.ANY, 0, true));
            conn.client().flush();
            Frames.u16(65_535).read(conn.client().input());
        }
        assertEquals(DnsQuestion.Transport.TCP, seen.get().transport());
        assertEquals(OptionalInt.empty(), seen.get().ednsPayloadSize());
        assertEquals(DnsQuestion.ANY, seen.get().type());
        assertTrue(seen.get().recursionDesired());
    }

    @Test
    void aChangeToTheAuthoritysDataIsSeenByTheNextQuery() throws Exception {
        Map<String, Inet4Address> hosts = new ConcurrentHashMap<>(Map.of("web.svc.local", v4("192.0.2.10")));
        DnsServer s = server(registry(hosts));
        assertEquals(List.of("192.0.2.10"), rdata(udp(s, "web.svc.local.", Type.A), Section.ANSWER));
        hosts.put("web.svc.local", v4("192.0.2.11"));
        assertEquals(List.of("192.0.2.11"), rdata(udp(s, "web.svc.local.", Type.A), Section.ANSWER), "no cache in between");
        hosts.remove("web.svc.local");
        assertEquals(Rcode.NXDOMAIN, udp(s, "web.svc.local.", Type.A).getRcode());
    }

    @Test
    void aChainAsksInOrderAndStopsAtTheFirstThatClaimsTheName() throws Exception {
        AtomicInteger third = new AtomicInteger();
        DnsAuthority first = registry(Map.of("web.svc.local", v4("192.0.2.10")));
        DnsAuthority second = q -> q.inZone("example.org") ? DnsAnswer.of(new DnsRecord.A(q.name(), 5, v4("198.51.100.1")))
                : DnsAnswer.notMine();
        DnsAuthority last = q -> {
            third.incrementAndGet();
            return DnsAnswer.of(new DnsRecord.A(q.name(), 5, v4("203.0.113.1")));
        };
        DnsServer s = server(DnsAuthority.chain(first, second), last);
        assertEquals(List.of("192.0.2.10"), rdata(udp(s, "web.svc.local.", Type.A), Section.ANSWER));
        assertEquals(Rcode.NXDOMAIN, udp(s, "gone.svc.local.", Type.A).getRcode(), "the first claims its zone, found or not");
        assertEquals(List.of("198.51.100.1"), rdata(udp(s, "www.example.org.", Type.A), Section.ANSWER));
        assertEquals(0, third.get());
        assertEquals(List.of("203.0.113.1"), rdata(udp(s, "www.example.net.", Type.A), Section.ANSWER));
        assertEquals(1, third.get());
    }

    @Test
    void anAuthorityBeforeTheZoneFilesOverridesThemAndOneAfterFillsIn() throws Exception {
        try (InputStream in = DnsAuthorityTest.class.getResourceAsStream("/zones/example.test.zone")) {
            Files.copy(in, dir.resolve("example.test.zone"));
        }
        Files.writeString(dir.resolve("included.inc"), "included IN A 192.0.2.60\n");
        DnsAuthority override = q -> q.name().equalsIgnoreCase("www.example.test")
                ? DnsAnswer.of(new DnsRecord.A(q.name(), 5, v4("198.51.100.20"))) : DnsAnswer.notMine();
        DnsServer s = DnsServer.builder().authority(override).zone(dir.resolve("example.test.zone"))
                .authority(registry(Map.of("web.svc.local", v4("192.0.2.10")))).listen("udp:0").build();
        assertEquals(List.of("198.51.100.20"), rdata(udp(s, "www.example.test.", Type.A), Section.ANSWER));
        assertEquals(List.of("192.0.2.10"), rdata(udp(s, "mx1.example.test.", Type.A), Section.ANSWER));
        assertEquals(List.of("192.0.2.10"), rdata(udp(s, "web.svc.local.", Type.A), Section.ANSWER));
        Message nx = udp(s, "nope.example.test.", Type.A);
        assertEquals(Rcode.NXDOMAIN, nx.getRcode(), "the zone files claim their zone: the registry is not asked");
    }

    @Test
    void aReferralHasNoAaAndCarriesNsAndGlue() throws Exception {
        DnsServer s = server(q -> new DnsAnswer.Referral(List.of(new DnsRecord.Ns("sub.svc.local", 300, "ns.sub.svc.local")),
                List.of(new DnsRecord.A("ns.sub.svc.local", 300, v4("192.0.2.53")))));
        Message m = udp(s, "host.sub.svc.local.", Type.A);
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertFalse(m.getHeader().getFlag(Flags.AA));
        assertEquals(0, m.getSection(Section.ANSWER).size());
        assertEquals(List.of("ns.sub.svc.local."), rdata(m, Section.AUTHORITY));
        assertEquals(List.of(Type.A, Type.OPT), m.getSection(Section.ADDITIONAL).stream().map(Record::getType).toList());
        assertEquals("192.0.2.53", m.getSection(Section.ADDITIONAL).get(0).rdataToString());
    }

    @Test
    void aNonAuthoritativeAnswerIsSentWithRa() throws Exception {
        DnsServer s = server(q -> new DnsAnswer.Data(List.of(new DnsRecord.A(q.name(), 5, v4("192.0.2.1"))), List.of(),
                List.of(), false));
        Message m = udp(s, "cached.example.", Type.A);
        assertFalse(m.getHeader().getFlag(Flags.AA));
        assertTrue(m.getHeader().getFlag(Flags.RA));
    }

    @Test
    void recordsOfOtherTypesAndBadTextTravelExactly() throws Exception {
        byte[] caa = {0, 5, 'i', 's', 's', 'u', 'e', 'c', 'a', '.', 'e', 'x'};
        DnsServer s = server(q -> DnsAnswer.of(new DnsRecord.Other(q.name(), 60, 257, caa),
                new DnsRecord.Txt(q.name(), 60, List.of("a \"quoted\" \\ string", "ünï"))));
        Message m = udp(s, "x.svc.local.", Type.ANY);
        List<Record> answer = m.getSection(Section.ANSWER);
        assertEquals(257, answer.get(0).getType());
        assertEquals("0 issue \"ca.ex\"", answer.get(0).rdataToString());
        List<byte[]> strings = ((org.xbill.DNS.TXTRecord) answer.get(1)).getStringsAsByteArrays();
        assertEquals("a \"quoted\" \\ string", new String(strings.get(0), StandardCharsets.UTF_8));
        assertEquals("ünï", new String(strings.get(1), StandardCharsets.UTF_8));
    }

    @Test
    void aBadRecordFromAnAuthorityIsServfail() throws Exception {
        DnsServer s = server(q -> DnsAnswer.of(new DnsRecord.Txt(q.name(), 60, List.of("x".repeat(256)))));
        assertEquals(Rcode.SERVFAIL, udp(s, "x.svc.local.", Type.TXT).getRcode());
        DnsServer badName = server(q -> DnsAnswer.of(new DnsRecord.Cname(q.name(), 60, "a..b")));
        assertEquals(Rcode.SERVFAIL, udp(badName, "x.svc.local.", Type.CNAME).getRcode());
    }

    @Test
    void zoneTransfersNeedZoneFiles() throws Exception {
        DnsServer s = server(registry(Map.of()));
        try (MemoryConnections.Served conn = MemoryConnections.serve(s.handler(), Chunking.whole())) {
            Frames.u16(65_535).write(conn.client().output(), query("svc.local.", Type.AXFR, 0, false));
            conn.client().flush();
            assertEquals(Rcode.NOTAUTH, new Message(Frames.u16(65_535).read(conn.client().input())).getRcode());
        }
    }

    @Test
    void buildNamesWhatIsMissing() {
        IllegalStateException noListen = assertThrows(IllegalStateException.class,
                () -> DnsServer.builder().authority(registry(Map.of())).build());
        assertTrue(noListen.getMessage().contains("listen(...)"), noListen.getMessage());
        IllegalStateException none = assertThrows(IllegalStateException.class, () -> DnsServer.builder().listen("udp:0").build());
        assertTrue(none.getMessage().contains("authority(...)"), none.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DnsAuthority.chain(List.of()));
    }

    @Test
    void inZoneMatchesWholeLabelsIgnoringCase() {
        DnsQuestion q = new DnsQuestion("Web.SVC.local", 1, 1, Optional.empty(), DnsQuestion.Transport.UDP, OptionalInt.empty(),
                false);
        assertTrue(q.inZone("svc.local"));
        assertTrue(q.inZone("SVC.LOCAL."));
        assertTrue(q.inZone("web.svc.local"));
        assertTrue(q.inZone("."));
        assertFalse(q.inZone("vc.local"));
        assertFalse(q.inZone("x.web.svc.local"));
        assertTrue(q.is(RecordType.A));
        assertFalse(q.is(RecordType.AAAA));
    }
}
