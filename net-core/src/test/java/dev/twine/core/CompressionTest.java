package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import java.util.zip.ZipException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link Connection#startCompression}: raw DEFLATE both ways, flushed per write, in any chunking. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CompressionTest {
    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void eachFlushIsDecodableAtOnceAndInputPipelinedBehindTheSwitchIsInflated() throws Exception {
        for (Chunking c : Chunking.standard()) {
            try (MemoryConnections.Pair p = MemoryConnections.pair(c)) {
                // the client asks and pipelines a line it compressed itself behind the command
                Deflater own = new Deflater(6, true);
                own.setInput(ascii("pipelined\r\n"));
                byte[] deflated = new byte[100];
                int len = own.deflate(deflated, 0, deflated.length, Deflater.SYNC_FLUSH);
                p.client().output().write(ascii("COMPRESS\r\n"));
                p.client().output().write(deflated, 0, len);
                p.client().flush();
                LineReader server = LineReader.of(p.server(), 1000);
                assertEquals("COMPRESS", server.readLine());
                p.server().output().write(ascii("OK\r\n"));
                p.server().startCompression(1);
                assertTrue(p.server().isCompressed());
                assertEquals("pipelined", server.readLine(), c.toString());
                LineReader client = LineReader.of(p.client(), 1000);
                assertEquals("OK", client.readLine());
                // the client's own stream goes on from where its Deflater left off, so it switches too
                own.setInput(ascii("next\r\n"));
                len = own.deflate(deflated, 0, deflated.length, Deflater.SYNC_FLUSH);
                p.client().output().write(deflated, 0, len);
                p.client().flush();
                assertEquals("next", server.readLine());
                p.client().startCompression(6);
                // one response, one flush: the client reads it without the server sending more
                for (int i = 0; i < 50; i++) {
                    p.server().output().write(ascii("* " + i + " EXISTS\r\n"));
                    p.server().flush();
                    assertEquals("* " + i + " EXISTS", client.readLine());
                }
            }
        }
    }

    @Test
    void largeWritesGoThroughWholeBothWays() throws Exception {
        byte[] big = new byte[300_000];
        new Random(7).nextBytes(big);
        try (MemoryConnections.Pair p = MemoryConnections.pair()) {
            p.client().startCompression(9);
            p.server().startCompression(9);
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    p.server().output().write(big);
                    p.server().flush();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            assertArrayEquals(big, p.client().input().readNBytes(big.length));
            writer.join();
        }
    }

    @Test
    void whatGoesOnTheWireIsRawDeflateAnyInflaterReads() throws Exception {
        try (MemoryConnections.Pair p = MemoryConnections.pair()) {
            p.server().startCompression(6);
            p.server().output().write(ascii("* OK hello\r\n"));
            p.server().flush();
            byte[] wire = new byte[200];
            int n = p.client().input().read(wire);
            Inflater raw = new Inflater(true);
            raw.setInput(wire, 0, n);
            byte[] plain = new byte[100];
            int m = raw.inflate(plain);
            assertEquals("* OK hello\r\n", new String(plain, 0, m, StandardCharsets.US_ASCII));
            // a sync flush ends with an empty stored block: 00 00 ff ff
            assertArrayEquals(new byte[] {0, 0, -1, -1}, java.util.Arrays.copyOfRange(wire, n - 4, n));
        }
    }

    @Test
    void aSecondStartAndGarbageInputAreRefused() throws Exception {
        try (MemoryConnections.Pair p = MemoryConnections.pair()) {
            assertFalse(p.server().isCompressed());
            p.server().startCompression(6);
            assertThrows(IllegalStateException.class, () -> p.server().startCompression(6));
            p.client().output().write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01});
            p.client().flush();
            assertThrows(ZipException.class, () -> p.server().input().read());
        }
    }

    @Test
    void closingFreesTheCompressorAndLaterWritesFail() throws Exception {
        MemoryConnections.Pair p = MemoryConnections.pair();
        p.server().startCompression(6);
        p.server().close();
        assertThrows(java.io.IOException.class, () -> {
            p.server().output().write(ascii("late\r\n"));
            p.server().flush();
        });
        p.close();
    }
}
