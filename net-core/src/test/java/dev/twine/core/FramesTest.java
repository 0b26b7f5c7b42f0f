package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** If frames are written with {@link Frames}, then they are read back whole under any chunking, and bad frames are refused. */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FramesTest {

    static List<Chunking> chunkings() {
        return Chunking.standard();
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkings")
    void u16FramesRoundTrip(Chunking chunking) throws IOException {
        Frames frames = Frames.u16(65535);
        List<byte[]> payloads = List.of(new byte[0], new byte[] {42}, random(300, 1), random(65535, 2), "\r\n\0".getBytes());
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking)) {
            for (byte[] payload : payloads) {
                frames.write(p.client().output(), payload);
            }
            p.client().flush();
            p.client().shutdownOutput();
            for (byte[] payload : payloads) {
                assertArrayEquals(payload, frames.read(p.server().input()));
            }
            assertNull(frames.read(p.server().input()));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkings")
    void u32FramesRoundTrip(Chunking chunking) throws IOException {
        Frames frames = Frames.u32(200_000);
        List<byte[]> payloads = List.of(random(100_000, 3), new byte[0], random(70_000, 4));
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking)) {
            for (byte[] payload : payloads) {
                frames.write(p.client().output(), payload);
            }
            p.client().flush();
            p.client().shutdownOutput();
            for (byte[] payload : payloads) {
                assertArrayEquals(payload, frames.read(p.server().input()));
            }
            assertNull(frames.read(p.server().input()));
        }
    }

    @Test
    void writesBigEndianLengthPrefix() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Frames.u16(1000).write(out, new byte[0x0102]);
        Frames.u32(100_000).write(out, new byte[0x010203]);
        byte[] b = out.toByteArray();
        assertEquals(0x01, b[0]);
        assertEquals(0x02, b[1]);
        assertArrayEquals(new byte[] {0, 1, 2, 3}, java.util.Arrays.copyOfRange(b, 2 + 0x0102, 2 + 0x0102 + 4));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkings")
    void rejectsFrameAnnouncingMoreThanTheLimitBeforeReadingItsPayload(Chunking chunking) throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking)) {
            p.client().output().write(new byte[] {0, 101});
            p.client().output().write(new byte[101]);
            p.client().flush();
            FrameTooLongException e = assertThrows(FrameTooLongException.class, () -> Frames.u16(100).read(p.server().input()));
            assertEquals(101, e.length());
            assertEquals(100, e.limit());
            // nothing of the payload was consumed
            assertEquals(101, p.server().input().readNBytes(101).length);
        }
    }

    @Test
    void rejectsU32FrameOfFourGigabytesWithoutAllocating() throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair()) {
            p.client().output().write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff});
            p.client().flush();
            FrameTooLongException e = assertThrows(FrameTooLongException.class, () -> Frames.u32(1 << 20).read(p.server().input()));
            assertEquals(0xffffffffL, e.length());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkings")
    void endOfStreamInsideThePayloadThrowsEofException(Chunking chunking) throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking)) {
            p.client().output().write(new byte[] {0, 10, 1, 2, 3});
            p.client().flush();
            p.client().shutdownOutput();
            EOFException e = assertThrows(EOFException.class, () -> Frames.u16(100).read(p.server().input()));
            assertTrue(e.getMessage().contains("3 of 10"), e.getMessage());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkings")
    void endOfStreamInsideTheLengthThrowsEofException(Chunking chunking) throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking)) {
            p.client().output().write(new byte[] {0, 0, 1});
            p.client().flush();
            p.client().shutdownOutput();
            assertThrows(EOFException.class, () -> Frames.u32(100).read(p.server().input()));
        }
    }

    @Test
    void writeRefusesPayloadOverTheLimit() {
        Frames frames = Frames.u16(10);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThrows(IllegalArgumentException.class, () -> frames.write(out, new byte[11]));
        assertEquals(0, out.size());
    }

    @Test
    void u16LimitIsCappedAtWhatTwoBytesCanSay() {
        assertEquals(65535, Frames.u16(1_000_000).maxLength());
        assertThrows(IllegalArgumentException.class, () -> Frames.u32(-1));
    }
}
