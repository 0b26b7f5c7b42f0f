package dev.twine.mail.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.LineReader;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.ManualClock;
import dev.twine.core.testing.MemoryConnections;
import dev.twine.core.testing.Transcript;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The per-address connection rate on port 25 (issue 18, as Postfix's anvil and
 * {@code smtpd_client_connection_rate_limit}), timed by a manual clock.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SmtpConnectionRateTest {
    private static final String REFUSED = "421 4.7.0 example.test Error: too many connections from 127.0.0.1";

    @TempDir
    Path dir;

    @Test
    void pastTheRateAConnectionGets421UntilTheMinuteIsOver() throws Exception {
        ManualClock clock = ManualClock.create();
        SmtpServer server = SmtpTestSupport.server(dir).maxConnectionRate(2).build();
        assertEquals("220 example.test ESMTP Twine", firstLine(server, clock));
        assertEquals("220 example.test ESMTP Twine", firstLine(server, clock));
        assertEquals(REFUSED, firstLine(server, clock));
        clock.advance(Duration.ofSeconds(59));
        assertEquals(REFUSED, firstLine(server, clock), "refused connections count too, in the same minute");
        clock.advance(Duration.ofSeconds(1));
        assertEquals("220 example.test ESMTP Twine", firstLine(server, clock), "a new minute");
    }

    @Test
    void theRefusalComesBeforeTheGreetingWhateverTheChunking() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).maxConnectionRate(1).build();
        assertEquals("220 example.test ESMTP Twine", firstLine(server, java.time.Clock.systemUTC()));
        // the system clock: the replays below all come within the minute of the first connection
        Transcript.parse("""
                S: 421 4.7.0 example.test Error: too many connections from 127.0.0.1
                S: <closed>
                """).run(server.handler());
    }

    @Test
    void eachAddressHasItsOwnCountAndAnIpv6Slash64IsOneAddress() throws Exception {
        ConnectionRate rate = new ConnectionRate(1);
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        assertTrue(rate.admit(address("127.0.0.1"), now));
        assertFalse(rate.admit(address("127.0.0.1"), now));
        assertTrue(rate.admit(address("127.0.0.2"), now), "127.0.0.2 is still served");
        assertTrue(rate.admit(address("2001:db8:1:2::1"), now));
        assertFalse(rate.admit(address("2001:db8:1:2::ffff"), now), "the same /64");
        assertTrue(rate.admit(address("2001:db8:1:3::1"), now), "another /64");
        assertTrue(new ConnectionRate(0).admit(address("127.0.0.1"), now), "0 is no limit");
    }

    @Test
    void overSocketsAnotherLoopbackAddressIsStillServed() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).maxConnectionRate(1).listen("tcp:0:interface=127.0.0.1").build();
        server.start();
        try (server) {
            assertEquals("220 example.test ESMTP Twine", greeting(server.port(), "127.0.0.1"));
            assertEquals(REFUSED, greeting(server.port(), "127.0.0.1"));
            assertEquals("220 example.test ESMTP Twine", greeting(server.port(), "127.0.0.2"));
        }
    }

    @Test
    void aNegativeRateIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> SmtpServer.builder().maxConnectionRate(-1));
    }

    /** The first line a new in-memory connection gets; it then quits. */
    private static String firstLine(SmtpServer server, java.time.Clock clock) throws Exception {
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.whole(), clock)) {
            LineReader in = LineReader.of(s.client(), 1000);
            String first = in.readLine();
            if (first.startsWith("220")) {
                s.client().output().write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
                s.client().flush();
                assertEquals("221 2.0.0 example.test Bye", in.readLine());
            }
            assertNull(in.readLine());
            return first;
        }
    }

    /** The first line a connection from {@code from} gets. */
    private static String greeting(int port, String from) throws Exception {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 10_000);
            s.setSoTimeout(10_000);
            return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
        }
    }

    private static InetSocketAddress address(String ip) throws Exception {
        return new InetSocketAddress(InetAddress.getByName(ip), 25);
    }
}
