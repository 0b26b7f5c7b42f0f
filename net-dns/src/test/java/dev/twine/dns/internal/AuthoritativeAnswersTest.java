package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** The answer logic, asked directly with wire-format queries (no sockets). */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class AuthoritativeAnswersTest {
    @TempDir
    static Path dir;

    static Responder dns;

    @BeforeAll
    static void load() throws Exception {
        dns = TestZones.responder(TestZones.copyTo(dir));
    }

    @Test
    void exactMatchIsAuthoritativeWithTheQuestionEchoed() throws Exception {
        Message m = TestZones.udp(dns, "www.example.test.", Type.A);
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertTrue(m.getHeader().getFlag(Flags.AA));
        assertTrue(m.getHeader().getFlag(Flags.QR));
        assertEquals(4242, m.getHeader().getID());
        assertEquals(List.of("192.0.2.20"), TestZones.rdata(m, Section.ANSWER, Type.A));
        assertEquals("www.example.test.", m.getQuestion().getName().toString());
    }

    @Test
    void namesMatchCaseInsensitivelyAndAnswersKeepTheQueryCase() throws Exception {
        Message m = TestZones.udp(dns, "WwW.ExAmPlE.TeSt.", Type.A);
        assertEquals(List.of("192.0.2.20"), TestZones.rdata(m, Section.ANSWER, Type.A));
        assertEquals("WwW.ExAmPlE.TeSt.", m.getQuestion().getName().toString());
        assertEquals(List.of("WwW.ExAmPlE.TeSt."), TestZones.owners(m, Section.ANSWER));
        Message mixed = TestZones.udp(dns, "mixedcase.example.test.", Type.A);
        assertEquals(List.of("192.0.2.21"), TestZones.rdata(mixed, Section.ANSWER, Type.A));
    }

    @Test
    void cnameIsChasedInsideTheZone() throws Exception {
        Message m = TestZones.udp(dns, "chain.example.test.", Type.A);
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertTrue(m.getHeader().getFlag(Flags.AA));
        assertEquals(List.of("alias.example.test.", "www.example.test."), TestZones.rdata(m, Section.ANSWER, Type.CNAME));
        assertEquals(List.of("192.0.2.20"), TestZones.rdata(m, Section.ANSWER, Type.A));
    }

    @Test
    void cnameQueryReturnsTheAliasOnly() throws Exception {
        Message m = TestZones.udp(dns, "alias.example.test.", Type.CNAME);
        assertEquals(1, m.getSection(Section.ANSWER).size());
        assertEquals(List.of("www.example.test."), TestZones.rdata(m, Section.ANSWER, Type.CNAME));
    }

    @Test
    void cnameToAMissingNameIsNxdomainWithTheChain() throws Exception {
        Message m = TestZones.udp(dns, "dangling.example.test.", Type.A);
        assertEquals(Rcode.NXDOMAIN, m.getRcode()); // RFC 6604 §3
        assertEquals(List.of("nothing.example.test."), TestZones.rdata(m, Section.ANSWER, Type.CNAME));
        assertEquals(Type.SOA, m.getSection(Section.AUTHORITY).get(0).getType());
    }

    @Test
    void cnameLeavingTheZonesStopsWithTheAlias() throws Exception {
        Message m = TestZones.udp(dns, "outside.example.test.", Type.A);
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertEquals(List.of("www.example.org."), TestZones.rdata(m, Section.ANSWER, Type.CNAME));
        assertTrue(TestZones.rdata(m, Section.ANSWER, Type.A).isEmpty());
    }

    @Test
    void cnameLoopEndsWithoutHanging() throws Exception {
        Message m = TestZones.udp(dns, "loop1.example.test.", Type.A);
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertEquals(2, m.getSection(Section.ANSWER).size());
    }

    @Test
    void wildcardSynthesisesRecordsOwnedByTheQueryName() throws Exception {
        Message m = TestZones.udp(dns, "anything.wild.example.test.", Type.A);
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertTrue(m.getHeader().getFlag(Flags.AA));
        assertEquals(List.of("192.0.2.30"), TestZones.rdata(m, Section.ANSWER, Type.A));
        assertEquals(List.of("anything.wild.example.test."), TestZones.owners(m, Section.ANSWER));
        Message deeper = TestZones.udp(dns, "x.y.wild.example.test.", Type.TXT);
        assertEquals(List.of("wild"), TestZones.rdata(deeper, Section.ANSWER, Type.TXT));
    }

    @Test
    void wildcardDoesNotApplyToAnExistingName() throws Exception {
        Message m = TestZones.udp(dns, "exists.wild.example.test.", Type.A);
        assertEquals(List.of("192.0.2.31"), TestZones.rdata(m, Section.ANSWER, Type.A));
        Message nodata = TestZones.udp(dns, "exists.wild.example.test.", Type.TXT);
        assertEquals(Rcode.NOERROR, nodata.getRcode()); // RFC 4592 §3.3.1: no synthesis for an existing name
        assertEquals(0, nodata.getSection(Section.ANSWER).size());
    }

    @Test
    void wildcardNodataForAMissingType() throws Exception {
        Message m = TestZones.udp(dns, "anything.wild.example.test.", Type.MX);
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertEquals(0, m.getSection(Section.ANSWER).size());
        assertEquals(Type.SOA, m.getSection(Section.AUTHORITY).get(0).getType());
    }

    @Test
    void wildcardCnameIsChased() throws Exception {
        Message m = TestZones.udp(dns, "foo.cw.example.test.", Type.A);
        assertEquals(List.of("www.example.test."), TestZones.rdata(m, Section.ANSWER, Type.CNAME));
        assertEquals("foo.cw.example.test.", m.getSection(Section.ANSWER).get(0).getName().toString());
        assertEquals(List.of("192.0.2.20"), TestZones.rdata(m, Section.ANSWER, Type.A));
    }

    @Test
    void delegationGivesAReferralWithGlueAndNoAa() throws Exception {
        for (String name : new String[] {"sub.example.test.", "host.sub.example.test.", "ns.sub.example.test."}) {
            Message m = TestZones.udp(dns, name, Type.A);
            assertEquals(Rcode.NOERROR, m.getRcode(), name);
            assertFalse(m.getHeader().getFlag(Flags.AA), name);
            assertEquals(0, m.getSection(Section.ANSWER).size(), name);
            assertEquals(List.of("ns.sub.example.test.", "ns.elsewhere.test."),
                    TestZones.rdata(m, Section.AUTHORITY, Type.NS), name);
            assertEquals(List.of("192.0.2.50"), TestZones.rdata(m, Section.ADDITIONAL, Type.A), name);
        }
    }

    @Test
    void nxdomainCarriesTheSoaWithTheNegativeTtl() throws Exception {
        Message m = TestZones.udp(dns, "nope.example.test.", Type.A);
        assertEquals(Rcode.NXDOMAIN, m.getRcode());
        assertTrue(m.getHeader().getFlag(Flags.AA));
        List<Record> auth = m.getSection(Section.AUTHORITY);
        assertEquals(1, auth.size());
        SOARecord soa = (SOARecord) auth.get(0);
        assertEquals("example.test.", soa.getName().toString());
        assertEquals(300, soa.getTTL()); // min(3600, MINIMUM 300), RFC 2308 §3
    }

    @Test
    void nodataIsNoerrorWithSoaAndEmptyAnswer() throws Exception {
        Message m = TestZones.udp(dns, "www.example.test.", Type.MX);
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertEquals(0, m.getSection(Section.ANSWER).size());
        assertEquals(Type.SOA, m.getSection(Section.AUTHORITY).get(0).getType());
    }

    @Test
    void emptyNonTerminalIsNodataNotNxdomain() throws Exception {
        Message m = TestZones.udp(dns, "b.c.example.test.", Type.A);
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertEquals(Type.SOA, m.getSection(Section.AUTHORITY).get(0).getType());
        assertEquals(Rcode.NXDOMAIN, TestZones.udp(dns, "x.b.c.example.test.", Type.A).getRcode());
    }

    @Test
    void namesOutsideTheZonesAreRefused() throws Exception {
        Message m = TestZones.udp(dns, "www.example.org.", Type.A);
        assertEquals(Rcode.REFUSED, m.getRcode());
        assertFalse(m.getHeader().getFlag(Flags.AA));
        assertEquals(0, m.getSection(Section.ANSWER).size());
    }

    @Test
    void secondZoneIsServedToo() throws Exception {
        Message m = TestZones.udp(dns, "host.other.test.", Type.A);
        assertEquals(List.of("192.0.2.101"), TestZones.rdata(m, Section.ANSWER, Type.A));
    }

    @Test
    void includedFileRecordsAreServed() throws Exception {
        Message m = TestZones.udp(dns, "included.example.test.", Type.A);
        assertEquals(List.of("192.0.2.60"), TestZones.rdata(m, Section.ANSWER, Type.A));
    }

    @Test
    void mxAnswerCarriesTargetAddressesInAdditional() throws Exception {
        Message m = TestZones.udp(dns, "example.test.", Type.MX);
        assertEquals(List.of("20 mx2.example.test.", "10 mx1.example.test."), TestZones.rdata(m, Section.ANSWER, Type.MX));
        assertTrue(TestZones.rdata(m, Section.ADDITIONAL, Type.A).containsAll(List.of("192.0.2.10", "192.0.2.11")));
    }

    @Test
    void ednsIsAnsweredWithEdns() throws Exception {
        Message m = TestZones.udp(dns, "www.example.test.", Type.A, 4096);
        assertEquals(Responder.MAX_UDP, m.getOPT().getPayloadSize());
        Message plain = TestZones.udp(dns, "www.example.test.", Type.A, 0);
        assertEquals(null, plain.getOPT());
    }

    @Test
    void oversizedAnswerIsTruncatedToThe512BytesOfPlainUdp() throws Exception {
        byte[] wire = dns.answerUdp(TestZones.query("big.example.test.", Type.TXT, 0), TestZones.CLIENT).orElseThrow();
        assertTrue(wire.length <= 512, "length " + wire.length);
        Message m = new Message(wire);
        assertTrue(m.getHeader().getFlag(Flags.TC));
    }

    @Test
    void truncationHonoursTheClientsEdnsSize() throws Exception {
        byte[] wire = dns.answerUdp(TestZones.query("big.example.test.", Type.TXT, 1232), TestZones.CLIENT).orElseThrow();
        assertTrue(wire.length <= 1232, "length " + wire.length);
        assertTrue(new Message(wire).getHeader().getFlag(Flags.TC));
        // about 800 bytes: over plain UDP's 512, within the client's EDNS 1232
        byte[] medium = dns.answerUdp(TestZones.query("medium.example.test.", Type.TXT, 1232), TestZones.CLIENT).orElseThrow();
        assertTrue(medium.length > 512, "length " + medium.length);
        assertFalse(new Message(medium).getHeader().getFlag(Flags.TC));
        assertEquals(10, new Message(medium).getSection(Section.ANSWER).size());
        byte[] mediumPlain = dns.answerUdp(TestZones.query("medium.example.test.", Type.TXT, 0), TestZones.CLIENT).orElseThrow();
        assertTrue(new Message(mediumPlain).getHeader().getFlag(Flags.TC));
        byte[] small = dns.answerUdp(TestZones.query("www.example.test.", Type.A, 1232), TestZones.CLIENT).orElseThrow();
        assertFalse(new Message(small).getHeader().getFlag(Flags.TC));
    }

    @Test
    void tcpGetsTheFullAnswer() throws Exception {
        Message m = TestZones.tcp(dns, "big.example.test.", Type.TXT);
        assertFalse(m.getHeader().getFlag(Flags.TC));
        assertEquals(40, m.getSection(Section.ANSWER).size());
    }

    @Test
    void anyOverUdpReturnsOneRrsetPerRfc8482() throws Exception {
        Message m = TestZones.udp(dns, "example.test.", Type.ANY);
        assertEquals(Rcode.NOERROR, m.getRcode());
        long types = m.getSection(Section.ANSWER).stream().map(Record::getType).distinct().count();
        assertEquals(1, types);
        Message tcp = TestZones.tcp(dns, "example.test.", Type.ANY);
        long tcpTypes = tcp.getSection(Section.ANSWER).stream().map(Record::getType).distinct().count();
        assertEquals(4, tcpTypes); // SOA, NS, MX, TXT
    }

    @Test
    void anyAtAnEmptyNonTerminalIsNodataWithSoa() throws Exception {
        Message m = TestZones.udp(dns, "c.example.test.", Type.ANY);
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertEquals(0, m.getSection(Section.ANSWER).size());
        assertEquals(Type.SOA, m.getSection(Section.AUTHORITY).get(0).getType());
    }

    @Test
    void srvAndPtrAnswer() throws Exception {
        assertEquals(List.of("0 5 5060 www.example.test."),
                TestZones.rdata(TestZones.udp(dns, "_sip._tcp.example.test.", Type.SRV), Section.ANSWER, Type.SRV));
        assertEquals(List.of("www.example.test."),
                TestZones.rdata(TestZones.udp(dns, "4.2.0.192.in-addr.example.test.", Type.PTR), Section.ANSWER, Type.PTR));
    }

    @Test
    void axfrIsRefusedUnlessAllowedAndListsTheZoneBetweenSoas() throws Exception {
        byte[] q = TestZones.query("example.test.", Type.AXFR, 0);
        List<byte[]> refused = dns.answerTcp(q, java.net.InetAddress.getByName("192.0.2.99"));
        assertEquals(Rcode.REFUSED, new Message(refused.get(0)).getRcode());
        List<byte[]> ok = dns.answerTcp(q, TestZones.CLIENT);
        List<Record> all = new java.util.ArrayList<>();
        for (byte[] b : ok) {
            all.addAll(new Message(b).getSection(Section.ANSWER));
        }
        assertEquals(Type.SOA, all.get(0).getType());
        assertEquals(Type.SOA, all.get(all.size() - 1).getType());
        assertTrue(all.size() > 60, "records: " + all.size());
        assertEquals(Rcode.FORMERR, new Message(dns.answerUdp(q, TestZones.CLIENT).orElseThrow()).getRcode());
    }

    @Test
    void repeatedQueryGetsItsOwnIdAndCaseFromTheAnswerCache() throws Exception {
        byte[] q = TestZones.query("WWW.example.test.", Type.A, 1232);
        for (int id : new int[] {1, 2, 65535}) {
            q[0] = (byte) (id >>> 8);
            q[1] = (byte) id;
            Message m = new Message(dns.answerUdp(q, TestZones.CLIENT).orElseThrow());
            assertEquals(id, m.getHeader().getID());
            assertEquals("WWW.example.test.", m.getSection(Section.ANSWER).get(0).getName().toString());
        }
        Message lower = TestZones.udp(dns, "www.example.test.", Type.A);
        assertEquals("www.example.test.", lower.getSection(Section.ANSWER).get(0).getName().toString());
    }
}
