package dev.twine.mail.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

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
 * Port 25 defences (issue 18): tarpitting after errors, driven by a manual clock.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SmtpTarpitTest {
    @TempDir
    Path dir;

    @Test
    void pastTheThresholdEachRefusalWaitsTheErrorDelayAndTheLastOneClosesAtOnce() throws Exception {
        ManualClock clock = ManualClock.create();
        SmtpServer server = SmtpTestSupport.server(dir).errorDelay(2, Duration.ofSeconds(5)).maxErrors(4).build();
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.whole(), clock)) {
            LineReader in = LineReader.of(s.client(), 1000);
            assertEquals("220 example.test ESMTP Twine", in.readLine());
            write(s.client(), "FOO\r\nBAR\r\nBAZ\r\nQUX\r\n");
            assertEquals("500 5.5.2 Command unrecognized", in.readLine());
            assertEquals("500 5.5.2 Command unrecognized", in.readLine());
            // the third refusal waits on the clock, with the first two already sent
            clock.awaitWaiters(1, Duration.ofSeconds(10));
            assertEquals(0, s.client().input().available(), "the third reply is held back");
            clock.advance(Duration.ofSeconds(5));
            assertEquals("500 5.5.2 Command unrecognized", in.readLine());
            // the fourth reaches the limit: no wait, the session closes
            assertEquals("500 5.5.2 Command unrecognized", in.readLine());
            assertEquals("421 4.7.0 example.test Too many errors, closing connection", in.readLine());
            assertNull(in.readLine());
        }
    }

    @Test
    void withoutAnErrorDelayRefusalsAreAnsweredAtOnce() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).maxErrors(4).build();
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: FOO
                C: BAR
                C: BAZ
                S: 500 5.5.2 Command unrecognized
                S: 500 5.5.2 Command unrecognized
                S: 500 5.5.2 Command unrecognized
                C: QUIT
                S: 221 2.0.0 example.test Bye
                """).run(server.handler());
    }

    private static void write(Connection c, String s) throws IOException {
        c.output().write(s.getBytes(StandardCharsets.US_ASCII));
        c.flush();
    }
}
