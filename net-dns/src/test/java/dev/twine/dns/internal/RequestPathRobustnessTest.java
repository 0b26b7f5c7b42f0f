package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Endpoint;
import dev.twine.core.Frames;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** Bad input gets FORMERR or is dropped, never an exception; TCP framing survives any chunking. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RequestPathRobustnessTest {
    @TempDir
    static Path dir;

    static Responder dns;
    static DnsListener listener;

    @BeforeAll
    static void load() throws Exception {
        TestZones.copyTo(dir);
        dns = TestZones.responder(dir);
        listener = new DnsListener(TestZones.responder(new ZoneAuthority(List.of(dir.resolve("example.test.zone")))), null,
                List.of(Endpoint.parseServer("udp:0")), Duration.ZERO, false, null, List.of(), null, List.of(), null);
    }

    @Test
    void packetShorterThanAHeaderIsDropped() {
        assertEquals(Optional.empty(), dns.answerUdp(new byte[0], TestZones.CLIENT));
        assertEquals(Optional.empty(), dns.answerUdp(new byte[11], TestZones.CLIENT));
    }

    @Test
    void responsesAreNeverAnswered() throws Exception {
        byte[] q = TestZones.query("www.example.test.", Type.A, 0);
        q[2] |= (byte) 0x80; // QR set: this is a response
        assertEquals(Optional.empty(), dns.answerUdp(q, TestZones.CLIENT));
    }

    @Test
    void truncatedQuestionGetsFormerrWithTheSameId() throws Exception {
        byte[] q = TestZones.query("www.example.test.", Type.A, 0);
        byte[] cut = Arrays.copyOf(q, q.length - 3);
        byte[] out = dns.answerUdp(cut, TestZones.CLIENT).orElseThrow();
        Message m = new Message(out);
        assertEquals(Rcode.FORMERR, m.getRcode());
        assertEquals(4242, m.getHeader().getID());
        assertTrue(m.getHeader().getFlag(Flags.QR));
    }

    @Test
    void twoQuestionsGetFormerr() throws Exception {
        byte[] q = TestZones.query("www.example.test.", Type.A, 0);
        Message m = new Message(q);
        m.addRecord(org.xbill.DNS.Record.newRecord(org.xbill.DNS.Name.fromString("mx1.example.test."), Type.A, 1),
                Section.QUESTION);
        assertEquals(Rcode.FORMERR, new Message(dns.answerUdp(m.toWire(), TestZones.CLIENT).orElseThrow()).getRcode());
    }

    @Test
    void unknownOpcodeGetsNotimp() throws Exception {
        Message m = new Message(TestZones.query("www.example.test.", Type.A, 0));
        m.getHeader().setOpcode(Opcode.UPDATE);
        assertEquals(Rcode.NOTIMP, new Message(dns.answerUdp(m.toWire(), TestZones.CLIENT).orElseThrow()).getRcode());
    }

    @Test
    void unknownEdnsVersionGetsBadvers() throws Exception {
        Message m = new Message(TestZones.query("www.example.test.", Type.A, 0));
        m.addRecord(new OPTRecord(1232, 0, 1, 0), Section.ADDITIONAL);
        Message r = new Message(dns.answerUdp(m.toWire(), TestZones.CLIENT).orElseThrow());
        assertEquals(Rcode.BADVERS, r.getRcode());
    }

    @Test
    void fuzzedPacketsNeverThrowAndAnyAnswerParses() throws Exception {
        Random rnd = new Random(20261127L);
        byte[][] seeds = {
            TestZones.query("www.example.test.", Type.A, 1232),
            TestZones.query("x.wild.example.test.", Type.TXT, 0),
            TestZones.query("chain.example.test.", Type.ANY, 512),
            TestZones.query("host.sub.example.test.", Type.A, 4096),
        };
        int answered = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] p;
            if (i % 4 == 0) {
                p = new byte[rnd.nextInt(600)];
                rnd.nextBytes(p);
            } else {
                byte[] seed = seeds[rnd.nextInt(seeds.length)];
                p = Arrays.copyOf(seed, Math.max(0, seed.length + rnd.nextInt(9) - 6));
                for (int flips = rnd.nextInt(6); flips >= 0 && p.length > 0; flips--) {
                    p[rnd.nextInt(p.length)] = (byte) rnd.nextInt(256);
                }
            }
            Optional<byte[]> udp = dns.answerUdp(p, TestZones.CLIENT);
            List<byte[]> tcp = dns.answerTcp(p, TestZones.CLIENT);
            if (udp.isPresent()) {
                answered++;
                Message m = new Message(udp.get());
                assertTrue(m.getHeader().getFlag(Flags.QR), "answer is a response");
                assertTrue(udp.get().length <= Responder.MAX_UDP, "UDP answer fits");
                assertTrue(m.getRcode() != Rcode.SERVFAIL, "no internal failure for input " + hex(p));
            }
            for (byte[] t : tcp) {
                new Message(t);
            }
        }
        assertTrue(answered > 1000, "answered " + answered);
    }

    @Test
    void tcpAnswersPipelinedQueriesUnderAnyChunking() throws Exception {
        Frames frames = Frames.u16(65_535);
        byte[] q1 = TestZones.query("www.example.test.", Type.A, 0);
        byte[] q2 = TestZones.query("big.example.test.", Type.TXT, 0);
        for (Chunking c : Chunking.standard()) {
            try (MemoryConnections.Served s = MemoryConnections.serve(listener::serveTcp, c)) {
                frames.write(s.client().output(), q1);
                frames.write(s.client().output(), q2);
                s.client().flush();
                Message a1 = new Message(frames.read(s.client().input()));
                Message a2 = new Message(frames.read(s.client().input()));
                assertEquals(List.of("192.0.2.20"), TestZones.rdata(a1, Section.ANSWER, Type.A), c.toString());
                assertEquals(40, a2.getSection(Section.ANSWER).size(), c.toString());
                assertFalse(a2.getHeader().getFlag(Flags.TC));
                s.client().shutdownOutput();
                assertEquals(Optional.empty(), s.awaitHandler(Duration.ofSeconds(10)), c.toString());
            }
        }
    }

    @Test
    void tcpConnectionEndingInsideAFrameEndsOnlyThatConnection() throws Exception {
        try (MemoryConnections.Served s = MemoryConnections.serve(listener::serveTcp, Chunking.byteByByte())) {
            s.client().output().write(new byte[] {0, 40, 1, 2, 3});
            s.client().flush();
            s.client().shutdownOutput();
            Optional<Throwable> end = s.awaitHandler(Duration.ofSeconds(10));
            assertTrue(end.isPresent() && end.get() instanceof IOException, String.valueOf(end));
        }
    }

    @Test
    void tcpGarbageFrameGetsFormerr() throws Exception {
        Frames frames = Frames.u16(65_535);
        byte[] q = TestZones.query("www.example.test.", Type.A, 0);
        byte[] garbage = Arrays.copyOf(q, 14);
        try (MemoryConnections.Served s = MemoryConnections.serve(listener::serveTcp, Chunking.random(7))) {
            frames.write(s.client().output(), garbage);
            frames.write(s.client().output(), q);
            s.client().flush();
            assertEquals(Rcode.FORMERR, new Message(frames.read(s.client().input())).getRcode());
            assertEquals(Rcode.NOERROR, new Message(frames.read(s.client().input())).getRcode());
        }
    }

    @Test
    void formerrForAnUnparsablePacketKeepsTheHeaderBitsThatMatter() {
        byte[] p = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 5};
        byte[] out = dns.answerUdp(p, TestZones.CLIENT).orElseThrow();
        assertArrayEquals(new byte[] {0x12, 0x34, (byte) 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 0}, out);
    }

    private static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            sb.append(String.format("%02x", x));
        }
        return sb.toString();
    }
}
