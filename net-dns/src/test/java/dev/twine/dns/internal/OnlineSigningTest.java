package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.ManualClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.RRSIGRecord;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Online signing over the in-memory request path: keys in BIND's format (made by
 * {@link KeyFiles}), the DNSKEY set, RRSIGs that verify (dnsjava's validator) for answers and
 * proofs, NSEC and NSEC3 denial, the serial raised on re-signing, signatures renewed on the
 * manual clock, and the key directory's errors.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class OnlineSigningTest {
    static final Instant START = Instant.parse("2026-06-01T00:00:00Z");
    static final String ZONE = """
            $ORIGIN signed.test.
            $TTL 300
            @ IN SOA ns1 hostmaster 7 3600 600 604800 60
              IN NS ns1
              IN MX 10 mail
            ns1 IN A 192.0.2.1
            www IN A 192.0.2.10
            mail IN A 192.0.2.25
            a.b.c IN TXT "deep"
            *.wild IN A 192.0.2.99
            sub IN NS ns.sub
            ns.sub IN A 192.0.2.53
            """;

    @TempDir
    Path dir;

    Path file;
    Path keys;
    ManualClock clock = ManualClock.at(START);
    List<DNSKEYRecord> dnskeys = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        file = dir.resolve("signed.test.zone");
        Files.writeString(file, ZONE);
        keys = dir.resolve("keys");
        Files.createDirectories(keys);
    }

    private Responder signed(String algorithm, boolean split, boolean nsec3) throws Exception {
        dnskeys.add(KeyFiles.generate(keys, "signed.test", algorithm, true, START).dnskey());
        if (split) {
            dnskeys.add(KeyFiles.generate(keys, "signed.test", algorithm, false, START).dnskey());
        }
        zones = new ZoneAuthority(List.of(file), List.of(), new Signer(keys, clock, nsec3));
        return TestZones.responder(zones);
    }

    ZoneAuthority zones;

    private static Message dnssec(Responder r, String name, int type) throws IOException {
        Message q = new Message(TestZones.query(name, type, 0));
        q.addRecord(new OPTRecord(4096, 0, 0, ExtendedFlags.DO), Section.ADDITIONAL);
        return new Message(r.answerTcp(q.toWire(), TestZones.CLIENT).get(0));
    }

    /** Every RRset of {@code section} with its RRSIGs verifies against one of our keys at {@code at}; returns the sets checked. */
    private int verify(Message m, int section, Instant at) throws Exception {
        int checked = 0;
        for (RRset set : m.getSectionRRsets(section)) {
            assertFalse(set.sigs().isEmpty(), "no RRSIG over " + set);
            for (RRSIGRecord sig : set.sigs()) {
                DNSKEYRecord key = dnskeys.stream().filter(k -> k.getFootprint() == sig.getFootprint()).findFirst().orElseThrow();
                DNSSEC.verify(set, sig, key, at);
            }
            checked++;
        }
        return checked;
    }

    @Test
    void answersAndProofsAreSignedWithNsec() throws Exception {
        Responder dns = signed("ecdsap256sha256", true, false);
        Message www = dnssec(dns, "www.signed.test.", Type.A);
        assertEquals(1, verify(www, Section.ANSWER, START));
        assertFalse(www.getHeader().getFlag(Flags.AD), "an authority never sets AD");
        Message keySet = dnssec(dns, "signed.test.", Type.DNSKEY);
        List<RRset> sets = keySet.getSectionRRsets(Section.ANSWER);
        assertEquals(2, sets.get(0).size(), "both keys published");
        assertEquals(1, sets.get(0).sigs().size(), "the DNSKEY set signed by the KSK only");
        assertEquals(257, dnskeys.stream().filter(k -> k.getFootprint() == sets.get(0).sigs().get(0).getFootprint())
                .findFirst().orElseThrow().getFlags());
        verify(keySet, Section.ANSWER, START);

        Message nx = dnssec(dns, "nothere.signed.test.", Type.A);
        assertEquals(Rcode.NXDOMAIN, nx.getRcode());
        assertTrue(verify(nx, Section.AUTHORITY, START) >= 2, "SOA and NSEC, signed: " + nx);
        assertTrue(nx.getSection(Section.AUTHORITY).stream().anyMatch(r -> r.getType() == Type.NSEC), nx.toString());
        Message nodata = dnssec(dns, "www.signed.test.", Type.TXT);
        assertEquals(Rcode.NOERROR, nodata.getRcode());
        assertEquals(0, nodata.getSection(Section.ANSWER).size());
        verify(nodata, Section.AUTHORITY, START);
        Message ent = dnssec(dns, "b.c.signed.test.", Type.A);
        assertEquals(Rcode.NOERROR, ent.getRcode(), "an empty non-terminal is NODATA");
        verify(ent, Section.AUTHORITY, START);
        Message wild = dnssec(dns, "x.wild.signed.test.", Type.A);
        verify(wild, Section.ANSWER, START);
        verify(wild, Section.AUTHORITY, START);

        Message referral = dnssec(dns, "host.sub.signed.test.", Type.A);
        assertFalse(referral.getHeader().getFlag(Flags.AA));
        assertTrue(referral.getSection(Section.AUTHORITY).stream().noneMatch(r -> r instanceof RRSIGRecord s
                && s.getTypeCovered() == Type.NS), "the NS set at a cut is not signed");
        assertTrue(referral.getSection(Section.AUTHORITY).stream().anyMatch(r -> r.getType() == Type.NSEC),
                "the NSEC proving there is no DS");
        assertTrue(referral.getSection(Section.ADDITIONAL).stream().noneMatch(r -> r.getType() == Type.RRSIG), "glue is not signed");
    }

    @Test
    void nsec3WithRfc9276Parameters() throws Exception {
        Responder dns = signed("ed25519", false, true);
        Message param = dnssec(dns, "signed.test.", Type.NSEC3PARAM);
        assertEquals("1 0 0 -", param.getSection(Section.ANSWER).get(0).rdataToString());
        Message nx = dnssec(dns, "nothere.signed.test.", Type.A);
        assertEquals(Rcode.NXDOMAIN, nx.getRcode());
        long nsec3 = nx.getSection(Section.AUTHORITY).stream().filter(r -> r.getType() == Type.NSEC3).count();
        assertTrue(nsec3 >= 2, "closest encloser, next closer and wildcard proofs: " + nx);
        verify(nx, Section.AUTHORITY, START);
        Message ent = dnssec(dns, "c.signed.test.", Type.A);
        assertEquals(Rcode.NOERROR, ent.getRcode(), "the empty non-terminal has its NSEC3 (RFC 5155 §7.1)");
        verify(ent, Section.AUTHORITY, START);
        verify(dnssec(dns, "www.signed.test.", Type.A), Section.ANSWER, START);
    }

    @Test
    void signaturesAreRenewedOnTheClockAndTheSerialRaised() throws Exception {
        Responder dns = signed("ecdsap256sha256", false, false);
        RRSIGRecord first = (RRSIGRecord) dnssec(dns, "www.signed.test.", Type.A).getSection(Section.ANSWER).get(1);
        assertEquals(START.minus(Signer.SKEW), first.getTimeSigned(), "an inception a little in the past");
        assertEquals(START.plus(Signer.VALIDITY), first.getExpire());
        assertEquals(7, ((SOARecord) dnssec(dns, "signed.test.", Type.SOA).getSection(Section.ANSWER).get(0)).getSerial());

        clock.advance(Signer.RESIGN);
        assertTrue(zones.reload()); // what the server's re-signing loop does every RESIGN
        RRSIGRecord again = (RRSIGRecord) dnssec(dns, "www.signed.test.", Type.A).getSection(Section.ANSWER).get(1);
        assertEquals(START.plus(Signer.RESIGN).plus(Signer.VALIDITY), again.getExpire());
        assertEquals(8, ((SOARecord) dnssec(dns, "signed.test.", Type.SOA).getSection(Section.ANSWER).get(0)).getSerial(),
                "new signatures under the same file serial: one higher, so secondaries fetch them");
        verify(dnssec(dns, "www.signed.test.", Type.A), Section.ANSWER, START.plus(Signer.VALIDITY).plus(Duration.ofDays(1)));

        Files.writeString(file, ZONE.replace(" 7 3600", " 20 3600"));
        assertTrue(zones.reload());
        assertEquals(20, ((SOARecord) dnssec(dns, "signed.test.", Type.SOA).getSection(Section.ANSWER).get(0)).getSerial(),
                "a newer file serial is kept");
    }

    @Test
    void withoutDoNothingIsAddedAndZonesWithoutKeysStayUnsigned() throws Exception {
        Responder dns = signed("ecdsap256sha256", false, false);
        Message plain = TestZones.udp(dns, "www.signed.test.", Type.A);
        assertTrue(plain.getSection(Section.ANSWER).stream().noneMatch(r -> r.getType() == Type.RRSIG));
        Path other = dir.resolve("other.zone");
        Files.writeString(other, "$ORIGIN other.test.\n@ 300 IN SOA ns hm 1 1 1 1 1\n@ 300 IN NS ns\nns 300 IN A 192.0.2.2\n");
        ZoneAuthority both = new ZoneAuthority(List.of(file, other), List.of(), new Signer(keys, clock, false));
        assertTrue(both.current().find(Name.fromConstantString("signed.test.")).signed());
        assertFalse(both.current().find(Name.fromConstantString("other.test.")).signed());
    }

    @Test
    void badKeyFilesNameTheFile() throws Exception {
        KeyFiles.Made made = KeyFiles.generate(keys, "signed.test", "ecdsap256sha256", true, START);
        Files.writeString(made.privateKey(), "Private-key-format: v1.3\nAlgorithm: 8 (RSASHA256)\nPrivateKey: AAAA\n");
        ZoneFileException e = assertThrows(ZoneFileException.class,
                () -> new ZoneAuthority(List.of(file), List.of(), new Signer(keys, clock, false)));
        assertTrue(e.getMessage().contains(made.privateKey().getFileName().toString()), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KeyFiles.generate(keys, "signed.test", "rsasha1", true, START));
        assertTrue(made.ds().matches("signed\\.test\\.\\s+3600\\s+IN\\s+DS\\s+" + made.dnskey().getFootprint() + " 13 2 [0-9A-F]{64}"),
                made.ds());
    }
}
