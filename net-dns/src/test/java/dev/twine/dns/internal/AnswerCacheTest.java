package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.CookieOption;
import org.xbill.DNS.DClass;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.GenericEDNSOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.Type;

/** The wire-format answer cache: what it keys on, what it keeps, and that it stays bounded. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class AnswerCacheTest {
    @TempDir
    Path dir;

    ZoneSet set;
    Responder dns;

    @BeforeEach
    void load() throws Exception {
        TestZones.copyTo(dir);
        ZoneAuthority zones = TestZones.zones(dir);
        set = zones.current();
        dns = TestZones.responder(zones);
    }

    /** A query built by hand: name as spelled, flags and EDNS as given. */
    static byte[] query(int id, String name, int type, boolean rd, boolean cd, int udpSize, int ednsFlags,
            EDNSOption... options) throws Exception {
        Message q = Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
        q.getHeader().setID(id);
        q.getHeader().unsetFlag(Flags.RD);
        if (rd) {
            q.getHeader().setFlag(Flags.RD);
        }
        if (cd) {
            q.getHeader().setFlag(Flags.CD);
        }
        if (udpSize > 0) {
            q.addRecord(new OPTRecord(udpSize, 0, 0, ednsFlags, options), Section.ADDITIONAL);
        }
        return q.toWire();
    }

    static byte[] query(int id, String name, int type, int udpSize) throws Exception {
        return query(id, name, type, false, false, udpSize, 0);
    }

    byte[] udp(byte[] q) {
        return dns.answerUdp(q, TestZones.CLIENT).orElseThrow(() -> new AssertionError("no answer"));
    }

    static byte[] withoutId(byte[] m) {
        return Arrays.copyOfRange(m, 2, m.length);
    }

    @Test
    void repeatedQueryIsAnsweredFromTheCacheWithItsOwnId() throws Exception {
        byte[] first = udp(query(1, "www.example.test.", Type.A, 1232));
        assertEquals(1, set.answers().size());
        byte[] again = udp(query(0xBEEF, "www.example.test.", Type.A, 1232));
        assertEquals(1, set.answers().size(), "the repeat added no entry: it was a hit");
        assertEquals(0xBEEF, new Message(again).getHeader().getID());
        assertArrayEquals(withoutId(first), withoutId(again));
    }

    @Test
    void aHitCopiesTheStoredAnswerAndPatchesOnlyTheId() throws Exception {
        AnswerCache cache = new AnswerCache(16, 1 << 20);
        byte[] q = query(7, "www.example.test.", Type.A, 0);
        long shape = AnswerCache.shape(q, false);
        assertTrue(shape >= 0);
        byte[] answer = {0, 7, (byte) 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0, 42};
        cache.put(q, shape, answer);
        answer[12] = 0; // the caller's array is not the cache's
        q[0] = 0x12;
        q[1] = 0x34;
        byte[] hit = cache.find(q, shape);
        assertArrayEquals(new byte[] {0x12, 0x34, (byte) 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0, 42}, hit);
        hit[12] = 1; // nor is the array a hit returns
        assertEquals(42, cache.find(q, shape)[12]);
    }

    @Test
    void qnameCaseIsPartOfTheKeySoEachAnswerEchoesItsOwnSpelling() throws Exception {
        for (String name : List.of("WWW.example.test.", "www.example.test.", "wWw.ExAmPlE.tEsT.", "WWW.example.test.")) {
            Message m = new Message(udp(query(3, name, Type.A, 1232)));
            assertEquals(name, m.getQuestion().getName().toString());
            assertEquals(List.of(name), TestZones.owners(m, Section.ANSWER));
            assertEquals(List.of("192.0.2.20"), TestZones.rdata(m, Section.ANSWER, Type.A));
        }
        assertEquals(3, set.answers().size());
    }

    @Test
    void flagsEdnsSizeDoAndTransportAreDifferentKeys() throws Exception {
        String n = "www.example.test.";
        List<byte[]> variants = List.of(
                query(1, n, Type.A, false, false, 0, 0),
                query(1, n, Type.A, true, false, 0, 0),
                query(1, n, Type.A, false, true, 0, 0),
                query(1, n, Type.A, false, false, 1232, 0),
                query(1, n, Type.A, false, false, 600, 0),
                query(1, n, Type.A, false, false, 512, 0),
                query(1, n, Type.A, false, false, 1232, ExtendedFlags.DO),
                query(1, n, Type.AAAA, false, false, 0, 0),
                query(1, "other.test.", Type.A, false, false, 0, 0));
        Set<Long> shapes = new HashSet<>();
        Set<String> keys = new HashSet<>();
        for (byte[] q : variants) {
            long s = AnswerCache.shape(q, false);
            assertTrue(s >= 0);
            shapes.add(s);
            keys.add(s + " " + Arrays.toString(Arrays.copyOfRange(q, 12, 12 + (int) (s & 0xFFFF))));
        }
        assertEquals(variants.size(), keys.size(), "every variant is its own key");
        assertNotEquals(AnswerCache.shape(variants.get(0), false), AnswerCache.shape(variants.get(0), true));
        // sizes the answer is cut to the same way share a key: under 512 counts as 512, over 1232 as 1232
        assertEquals(AnswerCache.shape(query(1, n, Type.A, 4096), false), AnswerCache.shape(query(1, n, Type.A, 1232), false));
        assertEquals(AnswerCache.shape(query(1, n, Type.A, 100), false), AnswerCache.shape(query(1, n, Type.A, 512), false));
    }

    @Test
    void rdAndCdOfEachQueryAreEchoedThoughTheQuestionIsCached() throws Exception {
        String n = "www.example.test.";
        for (boolean[] f : new boolean[][] {{true, false}, {false, false}, {false, true}, {true, true}, {true, false}}) {
            Message m = new Message(udp(query(9, n, Type.A, f[0], f[1], 1232, 0)));
            assertEquals(f[0], m.getHeader().getFlag(Flags.RD));
            assertEquals(f[1], m.getHeader().getFlag(Flags.CD));
            assertEquals(List.of("192.0.2.20"), TestZones.rdata(m, Section.ANSWER, Type.A));
        }
    }

    @Test
    void ednsPresenceIsEchoedThoughTheQuestionIsCached() throws Exception {
        Message with = new Message(udp(query(1, "www.example.test.", Type.A, 1232)));
        Message without = new Message(udp(query(2, "www.example.test.", Type.A, 0)));
        Message withAgain = new Message(udp(query(3, "www.example.test.", Type.A, 1232)));
        // EDNS offering 512 cuts answers as plain DNS does, yet is answered with an OPT
        Message with512 = new Message(udp(query(4, "www.example.test.", Type.A, 512)));
        Message withoutAgain = new Message(udp(query(5, "www.example.test.", Type.A, 0)));
        assertTrue(with.getOPT() != null);
        assertNull(without.getOPT());
        assertTrue(withAgain.getOPT() != null);
        assertTrue(with512.getOPT() != null);
        assertNull(withoutAgain.getOPT());
    }

    @Test
    void truncationFollowsEachQuerysSizeAndTransport() throws Exception {
        // "medium" has ten TXT records, about 700 bytes: too big for 512, fits in 1232
        for (int round = 0; round < 2; round++) {
            Message big = new Message(udp(query(1, "medium.example.test.", Type.TXT, 1232)));
            assertFalse(big.getHeader().getFlag(Flags.TC));
            assertEquals(10, big.getSection(Section.ANSWER).size());
            Message small = new Message(udp(query(2, "medium.example.test.", Type.TXT, 0)));
            assertTrue(small.getHeader().getFlag(Flags.TC));
            assertTrue(small.numBytes() <= 512);
            Message ednsSmall = new Message(udp(query(3, "medium.example.test.", Type.TXT, 512)));
            assertTrue(ednsSmall.getHeader().getFlag(Flags.TC));
            List<byte[]> tcp = dns.answerTcp(query(4, "medium.example.test.", Type.TXT, 0), TestZones.CLIENT);
            Message overTcp = new Message(tcp.get(0));
            assertFalse(overTcp.getHeader().getFlag(Flags.TC));
            assertEquals(10, overTcp.getSection(Section.ANSWER).size());
        }
        // "big" (40 records) does not fit in 1232: TC over UDP, whole over TCP, every time
        for (int round = 0; round < 2; round++) {
            assertTrue(new Message(udp(query(5, "big.example.test.", Type.TXT, 1232))).getHeader().getFlag(Flags.TC));
            Message all = new Message(dns.answerTcp(query(6, "big.example.test.", Type.TXT, 1232), TestZones.CLIENT).get(0));
            assertFalse(all.getHeader().getFlag(Flags.TC));
            assertEquals(40, all.getSection(Section.ANSWER).size());
        }
    }

    @Test
    void reloadedZonesAreNeverAnsweredFromTheOldCache() throws Exception {
        Path f = dir.resolve("reload.zone");
        Files.writeString(f, zone("192.0.2.1"));
        ZoneAuthority zones = new ZoneAuthority(List.of(f));
        Responder r = TestZones.responder(zones);
        byte[] q = query(1, "www.reload.test.", Type.A, 1232);
        for (int i = 2; i < 6; i++) {
            assertEquals(List.of("192.0.2." + (i - 1)), addresses(r, q));
            assertEquals(List.of("192.0.2." + (i - 1)), addresses(r, q)); // now from the cache
            ZoneSet old = zones.current();
            Files.writeString(f, zone("192.0.2." + i));
            assertTrue(zones.reload());
            assertEquals(1, old.answers().size());
            assertEquals(0, zones.current().answers().size(), "a new zone set starts with an empty cache");
        }
    }

    private static List<String> addresses(Responder r, byte[] q) throws Exception {
        return TestZones.rdata(new Message(r.answerUdp(q, TestZones.CLIENT).orElseThrow()), Section.ANSWER, Type.A);
    }

    private static String zone(String address) {
        return "$ORIGIN reload.test.\n$TTL 60\n@ IN SOA ns1 host 1 60 60 60 60\n  IN NS ns1\nns1 IN A 192.0.2.53\n"
                + "www IN A " + address + "\n";
    }

    @Test
    void entriesAndBytesStayWithinTheirBounds() throws Exception {
        AnswerCache byEntries = new AnswerCache(16, 1 << 20);
        AnswerCache byBytes = new AnswerCache(1024, 3_000);
        byte[] answer = new byte[200];
        for (int i = 0; i < 5_000; i++) {
            byte[] q = query(i, String.format("h%04d.example.test.", i), Type.A, 1232); // 24-byte questions
            long shape = AnswerCache.shape(q, false);
            byEntries.put(q, shape, answer);
            byBytes.put(q, shape, answer);
            assertTrue(byEntries.size() <= 16);
            assertTrue(byBytes.bytes() <= 3_000, "bytes: " + byBytes.bytes());
        }
        assertTrue(byEntries.size() > 4, "a flood still leaves the table in use: " + byEntries.size());
        assertTrue(byBytes.size() >= 5, "entries: " + byBytes.size());
        assertEquals(byBytes.size() * (long) (200 + 24 + AnswerCache.ENTRY_OVERHEAD), byBytes.bytes(),
                "bytes counted match the entries held");
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS) // 40,000 real queries: a loaded machine needs more than the class's bound
    void aFloodOfDistinctNamesThroughTheServerStaysBounded() throws Exception {
        for (int i = 0; i < 40_000; i++) {
            udp(query(i, "n" + i + ".example.test.", Type.A, 1232)); // NXDOMAIN, cacheable
        }
        AnswerCache c = set.answers();
        assertTrue(c.size() <= c.capacity());
        assertTrue(c.size() > c.capacity() / 2, "the table is used: " + c.size());
        assertTrue(c.bytes() <= AnswerCache.DEFAULT_BYTES);
        // and a cached question still answers right afterwards
        Message m = new Message(udp(query(1, "www.example.test.", Type.A, 1232)));
        assertEquals(List.of("192.0.2.20"), TestZones.rdata(m, Section.ANSWER, Type.A));
    }

    @Test
    void onlyAuthoritativeAnswersAreKept() throws Exception {
        udp(query(1, "www.example.org.", Type.A, 1232)); // outside our zones: REFUSED
        udp(query(1, "example.test.", Type.AXFR, 1232)); // FORMERR over UDP
        dns.answerTcp(query(1, "example.test.", Type.AXFR, 0), TestZones.CLIENT);
        udp(query(1, "www.example.test.", Type.OPT, 0)); // FORMERR
        udp(query(1, "www.example.test.", 200, 0)); // a meta-type: NOTIMP
        byte[] notify = query(1, "example.test.", Type.SOA, 0);
        notify[2] |= (byte) (Opcode.NOTIFY << 3);
        assertEquals(Rcode.NOTIMP, new Message(udp(notify)).getRcode());
        assertEquals(0, set.answers().size());
    }

    @Test
    void unusualQueriesHaveNoShapeAndTakeTheFullPath() throws Exception {
        byte[] plain = query(1, "www.example.test.", Type.A, 1232);
        assertTrue(AnswerCache.shape(plain, false) >= 0);
        assertEquals(-1, AnswerCache.shape(Arrays.copyOf(plain, 12), false), "header only");
        assertEquals(-1, AnswerCache.shape(Arrays.copyOf(plain, plain.length - 1), false), "cut short");
        assertEquals(-1, AnswerCache.shape(Arrays.copyOf(plain, plain.length + 1), false), "trailing byte");
        byte[] noEdns = query(1, "www.example.test.", Type.A, 0);
        assertEquals(-1, AnswerCache.shape(Arrays.copyOf(noEdns, noEdns.length + 3), false), "trailing bytes");
        byte[] response = plain.clone();
        response[2] |= (byte) 0x80;
        assertEquals(-1, AnswerCache.shape(response, false));
        byte[] opcode = plain.clone();
        opcode[2] |= (byte) (Opcode.STATUS << 3);
        assertEquals(-1, AnswerCache.shape(opcode, false));

        Message two = Message.newQuery(Record.newRecord(Name.fromString("a.example.test."), Type.A, DClass.IN));
        two.addRecord(Record.newRecord(Name.fromString("b.example.test."), Type.A, DClass.IN), Section.QUESTION);
        assertEquals(-1, AnswerCache.shape(two.toWire(), false), "two questions");

        Message version1 = Message.newQuery(Record.newRecord(Name.fromString("www.example.test."), Type.A, DClass.IN));
        version1.addRecord(new OPTRecord(1232, 0, 1, 0), Section.ADDITIONAL);
        assertEquals(-1, AnswerCache.shape(version1.toWire(), false), "EDNS version 1 (BADVERS)");

        Message tsig = Message.newQuery(Record.newRecord(Name.fromString("www.example.test."), Type.A, DClass.IN));
        tsig.setTSIG(new TSIG(TSIG.HMAC_SHA256, "key.", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"));
        assertEquals(-1, AnswerCache.shape(tsig.toWire(512), false), "a TSIG record");

        // a compression pointer in the question: legal to parse, but not the cache's business
        byte[] pointer = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, (byte) 0xC0, 12, 0, 1, 0, 1};
        assertEquals(-1, AnswerCache.shape(pointer, false));
        byte[] ecs = query(1, "www.example.test.", Type.A, false, false, 1232, 0,
                new GenericEDNSOption(8, new byte[] {0, 1, 24, 0, (byte) 192, 0, 2}));
        assertEquals(-1, AnswerCache.shape(ecs, false), "client subnet is left to the full path");
    }

    @Test
    void ednsOptionsShareTheEntryButABrokenOneStillGetsFormerr() throws Exception {
        byte[] cookie = query(1, "www.example.test.", Type.A, false, false, 1232, 0,
                new CookieOption(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}));
        byte[] otherCookie = query(1, "www.example.test.", Type.A, false, false, 1232, 0,
                new CookieOption(new byte[] {8, 7, 6, 5, 4, 3, 2, 1}));
        byte[] plain = query(1, "www.example.test.", Type.A, 1232);
        // one entry for every cookie (the answer is cut 28 bytes shorter to leave room for ours)
        assertEquals(AnswerCache.shape(otherCookie, false), AnswerCache.shape(cookie, false));
        byte[] first = udp(plain);
        udp(cookie);
        Message withCookie = new Message(udp(otherCookie));
        assertEquals(new Message(first).getSection(Section.ANSWER), withCookie.getSection(Section.ANSWER));
        assertEquals(1, withCookie.getOPT().getOptions(Cookies.OPTION).size());
        assertEquals(2, set.answers().size());
        // a client cookie must be 8 bytes (RFC 7873 §4): the full parser rejects 5, and so does the cache
        byte[] broken = query(2, "www.example.test.", Type.A, false, false, 1232, 0,
                new GenericEDNSOption(10, new byte[] {1, 2, 3, 4, 5}));
        assertEquals(-1, AnswerCache.shape(broken, false));
        assertEquals(Rcode.FORMERR, new Message(udp(broken)).getRcode());
        // an option whose length runs past the record
        byte[] withOption = query(3, "www.example.test.", Type.A, false, false, 1232, 0,
                new GenericEDNSOption(65001, new byte[] {9, 9}));
        withOption[withOption.length - 3] = 9; // the option's length now says 9 bytes
        assertEquals(-1, AnswerCache.shape(withOption, false));
        assertEquals(Rcode.FORMERR, new Message(udp(withOption)).getRcode());
        assertArrayEquals(withoutId(first), withoutId(udp(plain)));
    }

    @Test
    void concurrentQueriesAllGetRightAnswers() throws Exception {
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < 4; t++) {
            int seed = t;
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < 2_000; i++) {
                        boolean www = (i + seed) % 2 == 0;
                        int id = (i * 7 + seed) & 0xFFFF;
                        byte[] q = query(id, www ? "www.example.test." : "mx1.example.test.", Type.A, 1232);
                        Message m = new Message(udp(q));
                        assertEquals(id, m.getHeader().getID());
                        assertEquals(List.of(www ? "192.0.2.20" : "192.0.2.10"), TestZones.rdata(m, Section.ANSWER, Type.A));
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(List.of(), failures);
        assertEquals(2, set.answers().size());
    }
}
