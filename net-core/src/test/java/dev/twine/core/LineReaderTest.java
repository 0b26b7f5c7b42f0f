package dev.twine.core;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * If bytes reach a {@link LineReader} cut in any way ({@link Chunking#standard()}), then it returns
 * the same lines, enforces the same limit and ends the same way.
 */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LineReaderTest {

    static List<Chunking> chunkings() {
        return Chunking.standard();
    }

    /** What the client sends, the server reads. */
    private static void send(MemoryConnections.Pair p, String text) throws IOException {
        send(p, text.getBytes(ISO_8859_1));
    }

    private static void send(MemoryConnections.Pair p, byte[] bytes) throws IOException {
        p.client().output().write(bytes);
        p.client().flush();
    }

    private static String repeat(char c, int n) {
        return String.valueOf(c).repeat(n);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkings")
    void readsCrlfAndBareLfLinesAndTellsWhichEndedEach(Chunking chunking) throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking)) {
            send(p, "one\r\ntwo\nthree\r\n\r\n\na\rb\n");
            p.client().shutdownOutput();
            LineReader r = LineReader.of(p.server(), 100);
            assertEquals("one", r.readLine());
            assertEquals(LineReader.Terminator.CRLF, r.lastTerminator());
            assertEquals("two", r.readLine());
            assertEquals(LineReader.Terminator.LF, r.lastTerminator());
            assertEquals("three", r.readLine());
            assertEquals(LineReader.Terminator.CRLF, r.lastTerminator());
            assertEquals("", r.readLine());
            assertEquals(LineReader.Terminator.CRLF, r.lastTerminator());
            assertEquals("", r.readLine());
            assertEquals(LineReader.Terminator.LF, r.lastTerminator());
            assertEquals("a\rb", r.readLine()); // a lone CR is data
            assertEquals(LineReader.Terminator.LF, r.lastTerminator());
            assertNull(r.readLine());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkings")
    void decodesUtf8AndReplacesMalformedBytes(Chunking chunking) throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking)) {
            send(p, "gr\u00fc\u00df \u2603\r\n".getBytes(UTF_8));
            send(p, new byte[] {'x', (byte) 0xff, 'y', '\n'});
            LineReader r = LineReader.of(p.server(), 100);
            assertEquals("gr\u00fc\u00df \u2603", r.readLine());
            assertEquals("x\ufffdy", r.readLine());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkings")
    void acceptsLineOfExactlyTheLimitWithEitherTerminator(Chunking chunking) throws IOException {
        int limit = 64;
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking)) {
            send(p, repeat('a', limit) + "\r\n" + repeat('b', limit) + "\n");
            LineReader r = LineReader.of(p.server(), limit);
            assertEquals(repeat('a', limit), r.readLine());
            assertEquals(repeat('b', limit), r.readLine());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkings")
    void rejectsLineOfLimitPlusOneAndReadsTheNextLine(Chunking chunking) throws IOException {
        int limit = 64;
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking)) {
            send(p, repeat('a', limit + 1) + "\r\nnext\r\n" + repeat('b', limit + 1) + "\nafter\n");
            LineReader r = LineReader.of(p.server(), limit);
            LineTooLongException e = assertThrows(LineTooLongException.class, r::readLine);
            assertEquals(limit, e.limit());
            assertEquals("next", r.readLine());
            assertThrows(LineTooLongException.class, r::readLine);
            assertEquals("after", r.readLine());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkings")
    void rejectsLongLineSpanningManyReadsAndReadsTheNextLine(Chunking chunking) throws IOException {
        int limit = 100;
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking)) {
            send(p, repeat('z', 20_000) + "\r\nnext\r\n");
            LineReader r = LineReader.of(p.server(), limit);
            assertThrows(LineTooLongException.class, r::readLine);
            // the array never shrinks below its initial size; beyond that only the limit grows it
            assertTrue(p.server().in().capacity() <= Math.max(limit + 2, InputBuffer.INITIAL), "buffer " + p.server().in().capacity());
            assertEquals("next", r.readLine());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkings")
    void rejectsTooLongLineAtEndOfStreamThenReturnsNull(Chunking chunking) throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking)) {
            send(p, repeat('z', 500));
            p.client().shutdownOutput();
            LineReader r = LineReader.of(p.server(), 100);
            assertThrows(LineTooLongException.class, r::readLine);
            assertNull(r.readLine());
        }
    }

    static List<Chunking> hugeChunkings() {
        return List.of(Chunking.whole(), Chunking.random(1));
    }

    /**
     * A 50 MB line is refused while at most {@code limit + 2} bytes are held: the limit here is
     * above the adaptive buffer's own maximum so that the bound is the limit's.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("hugeChunkings")
    void rejectsHugeStreamedLineWithoutGrowingTheBuffer(Chunking chunking) throws Exception {
        int limit = 100_000;
        long total = 50L * 1024 * 1024;
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking); Scope scope = Scope.open("huge-line")) {
            InputBuffer in = p.server().in();
            AtomicInteger largest = new AtomicInteger();
            scope.fork("writer", () -> {
                byte[] block = new byte[64 * 1024];
                Arrays.fill(block, (byte) 'x');
                OutputStream out = p.client().output();
                for (long sent = 0; sent < total; sent += block.length) {
                    out.write(block);
                    out.flush();
                    // the pipe's lock orders this read after the reader's last read into buf
                    largest.accumulateAndGet(in.capacity(), Math::max);
                }
                out.write("\r\nnext\r\n".getBytes(US_ASCII));
                out.flush();
            });
            LineReader r = LineReader.of(p.server(), limit);
            assertThrows(LineTooLongException.class, r::readLine);
            largest.accumulateAndGet(in.capacity(), Math::max);
            assertEquals("next", r.readLine());
            scope.join();
            largest.accumulateAndGet(in.capacity(), Math::max);
            assertTrue(largest.get() <= limit + 2, "input buffer grew to " + largest.get() + " bytes");
        }
    }

    /** With a small limit the buffer stays within the adaptive maximum, however long the line. */
    @Test
    void rejectsLongLineWithSmallLimitWithinAdaptiveBufferSize() throws Exception {
        int limit = 1000;
        try (MemoryConnections.Pair p = MemoryConnections.pair(Chunking.whole()); Scope scope = Scope.open("long-line")) {
            InputBuffer in = p.server().in();
            AtomicInteger largest = new AtomicInteger();
            scope.fork("writer", () -> {
                byte[] block = new byte[16 * 1024];
                Arrays.fill(block, (byte) 'y');
                for (int i = 0; i < 1024; i++) { // 16 MB
                    p.client().output().write(block);
                    p.client().flush();
                    largest.accumulateAndGet(in.capacity(), Math::max);
                }
                p.client().output().write("\nok\n".getBytes(US_ASCII));
                p.client().flush();
            });
            LineReader r = LineReader.of(p.server(), limit);
            assertThrows(LineTooLongException.class, r::readLine);
            assertTrue(in.capacity() <= limit + 2, "buffered " + in.capacity() + " bytes of the long line");
            assertEquals("ok", r.readLine());
            scope.join();
            assertTrue(largest.get() <= InputBuffer.MAX_ADAPTIVE, "input buffer grew to " + largest.get());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkings")
    void endOfStreamInsideLineThrowsEofException(Chunking chunking) throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking)) {
            send(p, "complete\r\nMAIL FROM:<cut");
            p.client().shutdownOutput();
            LineReader r = LineReader.of(p.server(), 100);
            assertEquals("complete", r.readLine());
            assertThrows(EOFException.class, r::readLine);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkings")
    void endOfStreamAfterCarriageReturnThrowsEofException(Chunking chunking) throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking)) {
            send(p, "QUIT\r");
            p.client().shutdownOutput();
            assertThrows(EOFException.class, LineReader.of(p.server(), 100)::readLine);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkings")
    void endOfStreamBetweenLinesReturnsNull(Chunking chunking) throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking)) {
            send(p, "last\r\n");
            p.client().shutdownOutput();
            LineReader r = LineReader.of(p.server(), 100);
            assertEquals("last", r.readLine());
            assertNull(r.readLine());
            assertNull(r.readLine());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkings")
    void mixedLineReadsAndRawReadsSeeConsistentBytes(Chunking chunking) throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking)) {
            byte[] body = new byte[1000];
            for (int i = 0; i < body.length; i++) {
                body[i] = (byte) i; // includes CR and LF bytes, which must not be seen as line ends
            }
            ByteArrayOutputStream msg = new ByteArrayOutputStream();
            msg.writeBytes("BDAT 1000\r\n".getBytes(US_ASCII));
            msg.writeBytes(body);
            msg.writeBytes("QUIT\r\n".getBytes(US_ASCII));
            msg.writeBytes(new byte[] {0, 5, 'h', 'e', 'l', 'l', 'o'});
            msg.writeBytes("tail".getBytes(US_ASCII));
            send(p, msg.toByteArray());
            p.client().shutdownOutput();

            LineReader r = LineReader.of(p.server(), 100);
            assertEquals("BDAT 1000", r.readLine());
            assertArrayEquals(body, p.server().input().readNBytes(1000));
            assertEquals("QUIT", r.readLine());
            assertArrayEquals("hello".getBytes(US_ASCII), Frames.u16(100).read(p.server().input()));
            assertEquals('t', p.server().input().read());
            assertThrows(EOFException.class, r::readLine); // "ail" without a line end
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkings")
    void lineWriterEndsEveryLineWithCrlfAndSendsOnFlush(Chunking chunking) throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking)) {
            LineWriter w = LineWriter.of(p.server());
            w.writeLine("250-first").writeLine("250 last").write("partial");
            assertEquals(28, p.server().out().buffered(), "held until flush");
            w.writeLine("").flush();
            p.server().shutdownOutput();
            byte[] got = p.client().input().readAllBytes();
            assertEquals("250-first\r\n250 last\r\npartial\r\n", new String(got, US_ASCII));
        }
    }

    @Test
    void lineWriterRefusesLineBreaksInsideALine() {
        try (MemoryConnections.Pair p = MemoryConnections.pair()) {
            LineWriter w = LineWriter.of(p.server());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> w.writeLine("RCPT TO:<a>\r\nDATA"));
            assertTrue(e.getMessage().contains("index 11"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> w.writeLine("a\nb"));
            assertEquals(0, p.server().out().buffered());
        }
    }

    @Test
    void lineWriterOverAStreamUsesTheChosenTerminator() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        LineWriter.of(out, ISO_8859_1, "\n").writeLine("caf\u00e9").flush();
        assertArrayEquals(new byte[] {'c', 'a', 'f', (byte) 0xe9, '\n'}, out.toByteArray());
    }

    @Test
    void lineReaderOverAPlainStreamEnforcesTheSameRules() throws IOException {
        byte[] input = ("ok\r\n" + repeat('q', 11) + "\nfine\nnot ended").getBytes(US_ASCII);
        LineReader r = LineReader.of(new ByteArrayInputStream(input), 10);
        assertEquals("ok", r.readLine());
        assertThrows(LineTooLongException.class, r::readLine);
        assertEquals("fine", r.readLine());
        assertThrows(EOFException.class, r::readLine);
        assertNull(r.readLine());
    }

    @Test
    void rejectsNonPositiveLimit() {
        try (MemoryConnections.Pair p = MemoryConnections.pair()) {
            assertThrows(IllegalArgumentException.class, () -> LineReader.of(p.server(), 0));
        }
    }
}
