package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.DClass;
import org.xbill.DNS.DNSKEYRecord;
import org.xbill.DNS.DNSSEC;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSEC3Record;
import org.xbill.DNS.NSECRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.RRSIGRecord;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;
import org.xbill.DNS.utils.base32;

/**
 * Serving pre-signed zones (made by BIND's dnssec-signzone, see {@code zones/dnssec/sign.sh}) over
 * the in-memory request path: the DO bit echoed, RRSIGs with every RRset (each verified with the
 * zone's DNSKEY), and the NSEC and NSEC3 proofs for NXDOMAIN, NODATA, wildcards and delegations.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DnssecServingTest {
    private static final Instant WHEN = Instant.parse("2026-12-02T00:00:00Z");
    private static final base32 B32HEX = new base32(base32.Alphabet.BASE32HEX, false, false);

    @TempDir
    Path dir;

    Responder dns;
    List<DNSKEYRecord> keys = new ArrayList<>();

    @BeforeEach
    void load() throws Exception {
        TestZones.copyTo(dir);
        List<Path> files = new ArrayList<>();
        for (String z : new String[] {"nsec.test.zone", "nsec3.test.zone"}) {
            try (InputStream in = getClass().getResourceAsStream("/zones/dnssec/" + z)) {
                Files.copy(in, dir.resolve(z));
            }
            files.add(dir.resolve(z));
        }
        files.add(dir.resolve("example.test.zone"));
        ZoneAuthority zones = new ZoneAuthority(files);
        for (Zone z : zones.current().zones()) {
            List<Record> k = z.node(z.origin()).get(Type.DNSKEY);
            if (k != null) {
                k.forEach(r -> keys.add((DNSKEYRecord) r));
            }
        }
        dns = TestZones.responder(zones);
    }

    /** Asks over UDP (or TCP) with EDNS of {@code size}, DO set if {@code dnssec}, CD and AD as given. */
    private Message ask(String name, int type, boolean dnssec, int size, boolean tcp) throws Exception {
        Message q = Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
        q.getHeader().unsetFlag(Flags.RD);
        q.getHeader().setFlag(Flags.AD);
        q.addRecord(new OPTRecord(size, 0, 0, dnssec ? ExtendedFlags.DO : 0), Section.ADDITIONAL);
        byte[] out = tcp ? dns.answerTcp(q.toWire(), TestZones.CLIENT).get(0)
                : dns.answerUdp(q.toWire(), TestZones.CLIENT).orElseThrow();
        Message m = new Message(out);
        assertFalse(m.getHeader().getFlag(Flags.AD), "an authoritative server never sets AD");
        return m;
    }

    private Message ask(String name, int type) throws Exception {
        return ask(name, type, true, 1232, false);
    }

    /** Every RRset in the section has an RRSIG, and each RRSIG verifies with one of the zones' keys. */
    private void assertSigned(Message m, int section) throws Exception {
        Map<String, RRset> sets = new LinkedHashMap<>();
        List<RRSIGRecord> sigs = new ArrayList<>();
        for (Record r : m.getSection(section)) {
            if (r instanceof RRSIGRecord s) {
                sigs.add(s);
            } else if (r.getType() == Type.OPT || r.getType() == Type.NS && !m.getHeader().getFlag(Flags.AA)) {
                continue; // not data; a referral's NS set belongs to the child and is unsigned (RFC 4035 §2.2)
            } else {
                sets.computeIfAbsent(r.getName() + "/" + r.getType(), k -> new RRset()).addRR(r);
            }
        }
        assertFalse(sets.isEmpty(), "no records in section " + section + ": " + m);
        for (RRset set : sets.values()) {
            boolean verified = false;
            for (RRSIGRecord sig : sigs) {
                if (sig.getName().equals(set.getName()) && sig.getTypeCovered() == set.getType()) {
                    for (DNSKEYRecord key : keys) {
                        if (key.getFootprint() == sig.getFootprint() && key.getName().equals(sig.getSigner())) {
                            DNSSEC.verify(set, sig, key, WHEN);
                            verified = true;
                        }
                    }
                }
            }
            assertTrue(verified, "no verifiable RRSIG for " + set.getName() + " " + Type.string(set.getType()) + ": " + m);
        }
    }

    private static List<Record> of(Message m, int section, int type) {
        return m.getSection(section).stream().filter(r -> r.getType() == type).toList();
    }

    private static String hash(Name name, NSEC3Record like) {
        try {
            return B32HEX.toString(like.hashName(name)).toLowerCase(Locale.ROOT);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private static String owner(NSEC3Record r) {
        return r.getName().getLabelString(0).toLowerCase(Locale.ROOT);
    }

    /** Whether {@code r} covers {@code h} in hash order (its owner before, its next after, or wrapping). */
    private static boolean covers(NSEC3Record r, String h) {
        String from = owner(r);
        String to = B32HEX.toString(r.getNext()).toLowerCase(Locale.ROOT);
        return from.compareTo(to) < 0 ? from.compareTo(h) < 0 && h.compareTo(to) < 0 : from.compareTo(h) < 0 || h.compareTo(to) < 0;
    }

    @Test
    void doBitIsEchoedAndUnsignedAnswersStayPlain() throws Exception {
        Message with = ask("www.nsec.test.", Type.A);
        assertTrue((with.getOPT().getFlags() & ExtendedFlags.DO) != 0, "RFC 3225 §3: DO copied");
        Message without = ask("www.nsec.test.", Type.A, false, 1232, false);
        assertEquals(0, without.getOPT().getFlags() & ExtendedFlags.DO);
        assertTrue(of(without, Section.ANSWER, Type.RRSIG).isEmpty(), "no RRSIG without DO");
        Message unsigned = ask("www.example.test.", Type.A);
        assertTrue((unsigned.getOPT().getFlags() & ExtendedFlags.DO) != 0);
        assertTrue(of(unsigned, Section.ANSWER, Type.RRSIG).isEmpty(), "an unsigned zone has none to give");
    }

    @Test
    void positiveAnswersAndDnskeyCarryVerifiableSignatures() throws Exception {
        for (String zone : new String[] {"nsec.test.", "nsec3.test."}) {
            Message a = ask("WWW." + zone, Type.A);
            assertEquals(Rcode.NOERROR, a.getRcode());
            assertTrue(a.getHeader().getFlag(Flags.AA));
            assertSigned(a, Section.ANSWER);
            Message mx = ask(zone, Type.MX);
            assertSigned(mx, Section.ANSWER);
            assertSigned(mx, Section.ADDITIONAL);
            Message k = ask(zone, Type.DNSKEY);
            assertEquals(2, of(k, Section.ANSWER, Type.DNSKEY).size());
            assertEquals(2, of(k, Section.ANSWER, Type.RRSIG).size(), "signed by the KSK and the ZSK");
            assertSigned(k, Section.ANSWER);
            Message cname = ask("alias." + zone, Type.A);
            assertEquals(List.of(Type.CNAME, Type.A), cname.getSection(Section.ANSWER).stream().map(Record::getType)
                    .filter(t -> t != Type.RRSIG).toList());
            assertSigned(cname, Section.ANSWER);
        }
    }

    @Test
    void nsecNxdomainProvesTheNameAndTheWildcardAbsent() throws Exception {
        Message m = ask("nothere.nsec.test.", Type.A);
        assertEquals(Rcode.NXDOMAIN, m.getRcode());
        assertSigned(m, Section.AUTHORITY);
        List<Record> nsec = of(m, Section.AUTHORITY, Type.NSEC);
        Name q = Name.fromString("nothere.nsec.test.");
        Name wild = Name.fromString("*.nsec.test.");
        assertTrue(nsec.stream().map(NSECRecord.class::cast).anyMatch(n -> covers(n, q)), m.toString());
        assertTrue(nsec.stream().map(NSECRecord.class::cast).anyMatch(n -> covers(n, wild)), m.toString());
        assertEquals(1, of(m, Section.AUTHORITY, Type.SOA).size());
    }

    private static boolean covers(NSECRecord n, Name name) {
        return n.getName().compareTo(name) < 0
                && (name.compareTo(n.getNext()) < 0 || n.getNext().equals(Name.fromConstantString("nsec.test.")));
    }

    @Test
    void nsecNodataAndEmptyNonTerminal() throws Exception {
        Message m = ask("www.nsec.test.", Type.TXT);
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertTrue(m.getSection(Section.ANSWER).isEmpty());
        assertSigned(m, Section.AUTHORITY);
        NSECRecord own = (NSECRecord) of(m, Section.AUTHORITY, Type.NSEC).get(0);
        assertEquals(Name.fromString("www.nsec.test."), own.getName());
        assertTrue(own.hasType(Type.A) && !own.hasType(Type.TXT));
        Message ent = ask("b.c.nsec.test.", Type.A);
        assertEquals(Rcode.NOERROR, ent.getRcode());
        assertTrue(covers((NSECRecord) of(ent, Section.AUTHORITY, Type.NSEC).get(0), Name.fromString("b.c.nsec.test.")));
    }

    @Test
    void nsecWildcardAnswerCarriesTheProofThatTheNameDoesNotExist() throws Exception {
        Message m = ask("x.wild.nsec.test.", Type.A);
        assertEquals(List.of("192.0.2.30"), TestZones.rdata(m, Section.ANSWER, Type.A));
        RRSIGRecord sig = (RRSIGRecord) of(m, Section.ANSWER, Type.RRSIG).get(0);
        assertEquals(Name.fromString("x.wild.nsec.test."), sig.getName());
        assertEquals(3, sig.getLabels(), "the label count tells the validator it was a wildcard");
        assertSigned(m, Section.ANSWER);
        assertSigned(m, Section.AUTHORITY);
        assertTrue(covers((NSECRecord) of(m, Section.AUTHORITY, Type.NSEC).get(0), Name.fromString("x.wild.nsec.test.")));
        Message nodata = ask("x.wild.nsec.test.", Type.TXT);
        List<Record> nsec = of(nodata, Section.AUTHORITY, Type.NSEC);
        // *.wild's own NSEC both matches the wildcard and covers x.wild: one record proves both
        assertTrue(nsec.stream().anyMatch(r -> r.getName().equals(Name.fromConstantString("*.wild.nsec.test."))), nodata.toString());
        assertTrue(nsec.stream().map(NSECRecord.class::cast).anyMatch(n -> covers(n, Name.fromConstantString("x.wild.nsec.test."))));
        assertSigned(nodata, Section.AUTHORITY);
    }

    @Test
    void delegationsCarryTheirDsOrItsAbsence() throws Exception {
        for (String zone : new String[] {"nsec.test.", "nsec3.test."}) {
            Message secure = ask("host.secure." + zone, Type.A);
            assertFalse(secure.getHeader().getFlag(Flags.AA));
            assertEquals(1, of(secure, Section.AUTHORITY, Type.DS).size(), secure.toString());
            assertSigned(secure, Section.AUTHORITY);
            Message ds = ask("secure." + zone, Type.DS);
            assertTrue(ds.getHeader().getFlag(Flags.AA), "the parent answers DS itself");
            assertSigned(ds, Section.ANSWER);
        }
        Message insecure = ask("host.insecure.nsec.test.", Type.A);
        assertTrue(of(insecure, Section.AUTHORITY, Type.DS).isEmpty());
        NSECRecord proof = (NSECRecord) of(insecure, Section.AUTHORITY, Type.NSEC).get(0);
        assertEquals(Name.fromString("insecure.nsec.test."), proof.getName());
        assertTrue(proof.hasType(Type.NS) && !proof.hasType(Type.DS));
    }

    @Test
    void nsec3NxdomainIsTheClosestEncloserProofAndTheWildcard() throws Exception {
        Message m = ask("no.such.nsec3.test.", Type.A);
        assertEquals(Rcode.NXDOMAIN, m.getRcode());
        assertSigned(m, Section.AUTHORITY);
        List<NSEC3Record> n3 = of(m, Section.AUTHORITY, Type.NSEC3).stream().map(NSEC3Record.class::cast).toList();
        NSEC3Record any = n3.get(0);
        String apex = hash(Name.fromString("nsec3.test."), any);
        assertTrue(n3.stream().anyMatch(r -> owner(r).equals(apex)), "the closest encloser matches");
        String nextCloser = hash(Name.fromString("such.nsec3.test."), any);
        assertTrue(n3.stream().anyMatch(r -> covers(r, nextCloser)), "the next closer name is covered");
        String wild = hash(Name.fromString("*.nsec3.test."), any);
        assertTrue(n3.stream().anyMatch(r -> covers(r, wild)), "the wildcard is covered");
        assertTrue(n3.size() <= 3);
    }

    @Test
    void nsec3NodataWildcardAndOptOut() throws Exception {
        Message nodata = ask("www.nsec3.test.", Type.TXT);
        NSEC3Record match = (NSEC3Record) of(nodata, Section.AUTHORITY, Type.NSEC3).get(0);
        assertEquals(hash(Name.fromString("www.nsec3.test."), match), owner(match));
        assertTrue(match.hasType(Type.A) && !match.hasType(Type.TXT));
        assertSigned(nodata, Section.AUTHORITY);

        Message wild = ask("x.wild.nsec3.test.", Type.A);
        assertEquals(List.of("192.0.2.30"), TestZones.rdata(wild, Section.ANSWER, Type.A));
        NSEC3Record next = (NSEC3Record) of(wild, Section.AUTHORITY, Type.NSEC3).get(0);
        assertTrue(covers(next, hash(Name.fromString("x.wild.nsec3.test."), next)));
        assertSigned(wild, Section.AUTHORITY);

        // an unsigned delegation under opt-out has no NSEC3: the closest provable encloser proof,
        // the covering NSEC3 flagged opt-out (RFC 5155 §7.2.7)
        Message ref = ask("host.unsigned.nsec3.test.", Type.A);
        assertFalse(ref.getHeader().getFlag(Flags.AA));
        List<NSEC3Record> n3 = of(ref, Section.AUTHORITY, Type.NSEC3).stream().map(NSEC3Record.class::cast).toList();
        String cut = hash(Name.fromString("unsigned.nsec3.test."), n3.get(0));
        assertTrue(n3.stream().anyMatch(r -> owner(r).equals(hash(Name.fromConstantString("nsec3.test."), r))), ref.toString());
        assertTrue(n3.stream().anyMatch(r -> covers(r, cut) && (r.getFlags() & 1) == 1), ref.toString());
        assertSigned(ref, Section.AUTHORITY);
    }

    @Test
    void signedAnswerThatDoesNotFitIsTruncatedAndWholeOverTcp() throws Exception {
        Message udp = ask("no.such.nsec3.test.", Type.A, true, 512, false);
        assertTrue(udp.getHeader().getFlag(Flags.TC), udp.toString());
        Message tcp = ask("no.such.nsec3.test.", Type.A, true, 512, true);
        assertFalse(tcp.getHeader().getFlag(Flags.TC));
        assertSigned(tcp, Section.AUTHORITY);
    }

    @Test
    void checkingDisabledIsCopied() throws Exception {
        Message q = Message.newQuery(Record.newRecord(Name.fromString("www.nsec.test."), Type.A, DClass.IN));
        q.getHeader().setFlag(Flags.CD);
        q.addRecord(new OPTRecord(1232, 0, 0, ExtendedFlags.DO), Section.ADDITIONAL);
        Message m = new Message(dns.answerUdp(q.toWire(), InetAddress.getLoopbackAddress()).orElseThrow());
        assertTrue(m.getHeader().getFlag(Flags.CD));
        assertSigned(m, Section.ANSWER);
    }
}
