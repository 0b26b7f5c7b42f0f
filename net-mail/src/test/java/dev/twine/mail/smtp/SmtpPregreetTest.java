package dev.twine.mail.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.LineReader;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.ManualClock;
import dev.twine.core.testing.MemoryConnections;
import dev.twine.core.testing.Transcript;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pre-greeting test on port 25 (issue 18, as Postfix's postscreen): a client that talks
 * before the greeting's last line is refused; one that waits is served. Timed by a manual clock.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SmtpPregreetTest {
    private static final Duration DELAY = Duration.ofSeconds(6);

    @TempDir
    Path dir;

    @Test
    void aClientTalkingBeforeTheLastGreetingLineGets554AndIsClosed() throws Exception {
        ManualClock clock = ManualClock.create();
        SmtpServer server = SmtpTestSupport.server(dir).greetDelay(DELAY).build();
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.whole(), clock)) {
            LineReader in = LineReader.of(s.client(), 1000);
            awaitTeaser(in, clock);
            write(s.client(), "EHLO spam.example\r\n");
            assertEquals("554 5.5.1 Protocol error: talking before the greeting", in.readLine());
            assertNull(in.readLine());
            assertTrue(s.awaitHandler(Duration.ofSeconds(10)).isEmpty());
            // and the cancelled greeting never comes: the delay passing changes nothing
            clock.advance(DELAY);
            assertTrue(s.server().isClosed());
        }
    }

    @Test
    void aClientThatWaitsForTheGreetingIsServedAsWithoutTheTest() throws Exception {
        ManualClock clock = ManualClock.create();
        SmtpServer server = SmtpTestSupport.server(dir).greetDelay(DELAY).build();
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.whole(), clock)) {
            LineReader in = LineReader.of(s.client(), 1000);
            awaitTeaser(in, clock);
            clock.advance(DELAY.minusMillis(1));
            clock.awaitWaiters(2, Duration.ofSeconds(10));
            assertEquals(0, s.client().input().available(), "the last line waits for the whole delay");
            clock.advance(Duration.ofMillis(1));
            assertEquals("220 example.test ESMTP Twine", in.readLine());
            write(s.client(), "EHLO good.example\r\nQUIT\r\n");
            assertEquals("250-example.test greets good.example", in.readLine());
            String line;
            while ((line = in.readLine()).startsWith("250-")) {
                // the extensions
            }
            assertTrue(line.startsWith("250 "), line);
            assertEquals("221 2.0.0 example.test Bye", in.readLine());
            assertNull(in.readLine());
        }
    }

    @Test
    void anAddressThatPassedIsGreetedAtOnceForADay() throws Exception {
        ManualClock clock = ManualClock.create();
        SmtpServer server = SmtpTestSupport.server(dir).greetDelay(DELAY).build();
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.whole(), clock)) {
            LineReader in = LineReader.of(s.client(), 1000);
            awaitTeaser(in, clock);
            clock.advance(DELAY);
            assertEquals("220 example.test ESMTP Twine", in.readLine());
            write(s.client(), "QUIT\r\n");
            assertEquals("221 2.0.0 example.test Bye", in.readLine());
        }
        clock.advance(GreetPasses.TTL.minusSeconds(1)); // the pass came with QUIT, once the delay was over
        assertEquals("220 example.test ESMTP Twine", firstLine(server, clock), "passed within the day");
        clock.advance(Duration.ofSeconds(1));
        assertEquals("220-example.test ESMTP Twine", firstLine(server, clock), "a day later the test again");
    }

    /**
     * Reads the greeting's first line, then waits until the session reads (with its idle timeout)
     * and its greeting's last line waits for the delay, both on the clock.
     */
    private static void awaitTeaser(LineReader in, ManualClock clock) throws Exception {
        assertEquals("220-example.test ESMTP Twine", in.readLine());
        clock.awaitWaiters(2, Duration.ofSeconds(10));
    }

    /** The first line a new connection gets; it then leaves. */
    private static String firstLine(SmtpServer server, ManualClock clock) throws Exception {
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.whole(), clock)) {
            return LineReader.of(s.client(), 1000).readLine();
        }
    }

    @Test
    void talkingEarlyIsRefusedWhateverTheChunking() throws Exception {
        // the system clock and an hour's delay: the greeting's last line never comes in the test
        SmtpServer server = SmtpTestSupport.server(dir).greetDelay(Duration.ofHours(1)).build();
        Transcript.parse("""
                S: 220-example.test ESMTP Twine
                C: EHLO spam.example
                C: MAIL FROM:<spam@spam.example>
                S: 554 5.5.1 Protocol error: talking before the greeting
                S: <closed>
                """).run(server.handler());
    }

    @Test
    void withoutADelayTheGreetingIsOneLineAsBefore() throws Exception {
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: QUIT
                S: 221 2.0.0 example.test Bye
                S: <closed>
                """).run(SmtpTestSupport.server(dir).build().handler());
    }

    @Test
    void aNegativeDelayIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> SmtpServer.builder().greetDelay(Duration.ofSeconds(-1)));
    }

    private static void write(Connection c, String s) throws IOException {
        c.output().write(s.getBytes(StandardCharsets.US_ASCII));
        c.flush();
    }
}
