package dev.twine.core;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * If a connection moves a lot of data and then goes idle, then its buffers go back to their small
 * idle size: tens of thousands of idle connections must not pin large arrays.
 */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BufferStrategyTest {

    private static byte[] outputArray(Connection c) {
        return c.out().buf;
    }

    @Test
    void inputBufferGrowsForBulkDataAndShrinksBackTo512WhenTrafficTurnsSmall() throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair(Chunking.whole())) {
            InputBuffer in = p.server().in();
            byte[] bulk = new byte[1024 * 1024];
            p.client().output().write(bulk);
            p.client().flush();
            // small reads through the buffer: each refill fills the whole array, so it doubles
            InputStream input = p.server().input();
            byte[] small = new byte[100];
            long read = 0;
            while (read < bulk.length) {
                read += input.read(small);
            }
            assertEquals(InputBuffer.MAX_ADAPTIVE, in.capacity(), "grew to the adaptive maximum");

            // then a chatty protocol: each request is one small read
            int lines = 20;
            for (int i = 0; i < lines; i++) {
                p.client().output().write(("NOOP " + i + "\r\n").getBytes(US_ASCII));
                p.client().flush();
            }
            LineReader r = LineReader.of(p.server(), 100);
            List<Integer> sizes = new ArrayList<>();
            for (int i = 0; i < lines; i++) {
                assertEquals("NOOP " + i, r.readLine());
                sizes.add(in.capacity());
            }
            for (int i = 1; i < sizes.size(); i++) {
                assertTrue(sizes.get(i) <= sizes.get(i - 1), "never grows on small reads: " + sizes);
            }
            assertEquals(InputBuffer.INITIAL, in.capacity(), "back to the idle size after small reads: " + sizes);
        }
    }

    @Test
    void inputBufferStaysAt512ForSmallRequests() throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair(Chunking.whole())) {
            LineReader r = LineReader.of(p.server(), 100);
            for (int i = 0; i < 10; i++) {
                p.client().output().write("PING\r\n".getBytes(US_ASCII));
                p.client().flush();
                assertEquals("PING", r.readLine());
                assertEquals(InputBuffer.INITIAL, p.server().in().capacity());
            }
        }
    }

    @Test
    void largeRawReadWithNothingBufferedBypassesTheBuffer() throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair(Chunking.whole())) {
            byte[] data = new byte[100_000];
            new java.util.SplittableRandom(7).nextBytes(data);
            p.client().output().write(data);
            p.client().flush();
            assertArrayEquals(data, p.server().input().readNBytes(data.length));
            assertTrue(p.server().in().capacity() <= InputBuffer.INITIAL, "buffer " + p.server().in().capacity());
        }
    }

    @Test
    void outputBufferIsReleasedAfterFlushOnceItGrew() throws Exception {
        try (MemoryConnections.Pair p = MemoryConnections.pair(Chunking.whole())) {
            Connection c = p.server();
            assertNull(outputArray(c), "nothing allocated before the first write");

            c.output().write(new byte[8000]);
            assertNotNull(outputArray(c));
            assertEquals(8192, outputArray(c).length);
            assertEquals(8000, c.out().buffered());
            c.flush();
            assertNull(outputArray(c), "a grown buffer is given up after flush");
            assertEquals(8000, p.client().input().readNBytes(8000).length);

            // byte-at-a-time writes grow it too, and it is released again
            for (int i = 0; i < 3000; i++) {
                c.output().write('x');
            }
            assertTrue(outputArray(c).length > OutputBuffer.INITIAL);
            c.flush();
            assertNull(outputArray(c));
            assertEquals(3000, p.client().input().readNBytes(3000).length);
        }
    }

    @Test
    void outputBufferHoldsNoArrayAfterAFlush() throws Exception {
        try (MemoryConnections.Pair p = MemoryConnections.pair(Chunking.whole())) {
            Connection c = p.server();
            LineWriter.of(c).writeLine("250 OK").flush();
            assertNull(outputArray(c), "an idle connection's output holds no array");
            assertEquals("250 OK", LineReader.of(p.client(), 100).readLine());
        }
    }

    @Test
    void writeLargerThanTheMaximumGoesStraightToTheTransport() throws Exception {
        try (MemoryConnections.Pair p = MemoryConnections.pair(Chunking.whole())) {
            Connection c = p.server();
            byte[] big = new byte[OutputBuffer.MAX * 2];
            c.output().write(big);
            assertNull(outputArray(c), "no copy into a buffer");
            assertEquals(0, c.out().buffered());
            assertEquals(big.length, p.client().input().readNBytes(big.length).length);
        }
    }

    @Test
    void bufferedWritesAreSentInOrderAcrossTheMaximum() throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair(Chunking.random(5))) {
            Connection c = p.server();
            java.io.ByteArrayOutputStream expected = new java.io.ByteArrayOutputStream();
            java.util.SplittableRandom rnd = new java.util.SplittableRandom(11);
            for (int i = 0; i < 80; i++) { // under the pipe's capacity: nobody reads until the end
                byte[] piece = new byte[rnd.nextInt(1, 3000)];
                rnd.nextBytes(piece);
                c.output().write(piece);
                expected.writeBytes(piece);
                if (i % 3 == 0) {
                    c.output().write(i);
                    expected.write(i);
                }
            }
            c.flush();
            c.shutdownOutput();
            assertArrayEquals(expected.toByteArray(), p.client().input().readAllBytes());
        }
    }
}
