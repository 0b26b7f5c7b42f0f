package dev.twine.mail.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.twine.core.Connection;
import dev.twine.core.ConnectionLimits;
import dev.twine.core.LineReader;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.ManualClock;
import dev.twine.core.testing.MemoryConnections;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Connection exhaustion (issue 10, finding 5, the SMTP part): the default connection limits, the
 * pre-authentication deadline, and the whole-line bound of the idle timeout.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SmtpLimitsTest {
    @TempDir
    Path dir;

    private SmtpServer running;
    private final List<Socket> sockets = new ArrayList<>();

    @AfterEach
    void stop() throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
        if (running != null) {
            running.close();
        }
    }

    private int start(SmtpServer server) throws Exception {
        running = server;
        running.start();
        return running.port();
    }

    private record Client(Socket socket, BufferedReader in) {
        void send(String s) throws IOException {
            socket.getOutputStream().write(s.getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
        }
    }

    private Client connect(String from, int port) throws IOException {
        Socket s = new Socket();
        sockets.add(s);
        s.bind(new InetSocketAddress(from, 0));
        s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        s.setSoTimeout(20_000);
        return new Client(s, new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)));
    }

    @Test
    void byDefaultAnEleventhConnectionBeforeMailFromOneAddressIsRefusedAndOthersStillGetIn() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).listen("tcp:0:interface=127.0.0.1").build();
        int port = start(server);
        List<Client> idle = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            Client c = connect("127.0.0.1", port);
            assertEquals("220 example.test ESMTP Twine", c.in().readLine());
            idle.add(c);
        }
        Client refused = connect("127.0.0.1", port);
        assertEquals("421 4.7.0 example.test Error: too many connections from your address", refused.in().readLine());
        assertNull(refused.in().readLine(), "and closed");
        Client other = connect("127.0.0.2", port);
        assertEquals("220 example.test ESMTP Twine", other.in().readLine(), "another address is not locked out");
        // a client that starts a mail transaction leaves the pre-authentication count
        Client first = idle.get(0);
        first.send("HELO c\r\nMAIL FROM:<a@b.example>\r\n");
        assertEquals("250 example.test", first.in().readLine());
        assertEquals("250 2.1.0 Ok", first.in().readLine());
        assertEquals(10, server.limits().preauthConnections(), "nine idle ones from 127.0.0.1 and one from 127.0.0.2");
        Client again = connect("127.0.0.1", port);
        assertEquals("220 example.test ESMTP Twine", again.in().readLine(), "its place is free again");
    }

    @Test
    void onSubmissionASuccessfulAuthLeavesThePreauthCount() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).role(SmtpServer.Role.SUBMISSION).allowPlainAuth(true).listen("tcp:0:interface=127.0.0.1").build();
        int port = start(server);
        Client c = connect("127.0.0.1", port);
        assertEquals("220 example.test ESMTP Twine", c.in().readLine());
        assertEquals(1, server.limits().preauthConnections());
        c.send("EHLO c\r\nAUTH PLAIN " + SmtpTestSupport.plain("alice", "secret") + "\r\n");
        String l;
        while ((l = c.in().readLine()).startsWith("250")) {
            // the extensions
        }
        assertEquals("235 2.7.0 Authentication successful", l);
        assertEquals(0, server.limits().preauthConnections(), "logged in: no longer counted, no longer on the pre-auth clock");
        assertEquals(1, server.limits().connectionsFrom(c.socket().getLocalSocketAddress()), "still counted per address");
    }

    @Test
    void aClientThatNeverStartsAMailTransactionIsClosedAtThePreauthTimeout() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir)
                .limits(ConnectionLimits.builder().preauthTimeout(Duration.ofMillis(300)).build()).listen("tcp:0:interface=127.0.0.1").build();
        int port = start(server);
        Client c = connect("127.0.0.1", port);
        assertEquals("220 example.test ESMTP Twine", c.in().readLine());
        c.send("HELO c\r\n");
        assertEquals("250 example.test", c.in().readLine());
        // no sleep: the next line comes when the server gives up, 300 ms after the connection began
        assertEquals("421 4.4.2 example.test Idle timeout, closing connection", c.in().readLine());
        assertNull(c.in().readLine());
    }

    @Test
    void aCommandDrippedAByteAtATimeIsCutOffByTheIdleTimeoutOfTheWholeLine() throws Exception {
        ManualClock clock = ManualClock.create();
        SmtpServer server = SmtpTestSupport.server(dir).idleTimeout(Duration.ofSeconds(30)).build();
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.whole(), clock)) {
            LineReader in = LineReader.of(s.client(), 1000);
            assertEquals("220 example.test ESMTP Twine", in.readLine());
            // one byte every 10 s: each read comes well within the 30 s idle timeout, but the line
            // never ends (under the command line limit, so only time can end it)
            SmtpTestSupport.advanceUntilClosed(clock, Duration.ofSeconds(10), s.server(),
                    i -> write(s.client(), i < 4 ? "NOOP".substring(i, i + 1) : "x"));
            assertEquals("421 4.4.2 example.test Idle timeout, closing connection", in.readLine());
            assertNull(in.readLine());
        }
    }

    @Test
    void messageTextSentInLinesJustFastEnoughForTheIdleTimeoutIsCutOffByTheMinimumRate() throws Exception {
        ManualClock clock = ManualClock.create();
        // the default rate, 500 bytes/s: 30 s plus a second per 500 bytes for the whole text
        SmtpServer server = SmtpTestSupport.server(dir).idleTimeout(Duration.ofSeconds(30)).build();
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.whole(), clock)) {
            LineReader in = LineReader.of(s.client(), 1000);
            assertEquals("220 example.test ESMTP Twine", in.readLine());
            write(s.client(), "HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
            assertEquals("250 example.test", in.readLine());
            assertEquals("250 2.1.0 Ok", in.readLine());
            assertEquals("250 2.1.5 Ok", in.readLine());
            assertEquals("354 End data with <CR><LF>.<CR><LF>", in.readLine());
            // a whole line every 20 s: each within the 30 s idle timeout, the text far below the rate
            SmtpTestSupport.advanceUntilClosed(clock, Duration.ofSeconds(20), s.server(), i -> write(s.client(), "line " + i + "\r\n"));
            assertEquals("421 4.4.2 example.test Idle timeout, closing connection", in.readLine());
            assertNull(in.readLine());
        }
        assertEquals(0, SmtpTestSupport.delivered(dir, "alice").size());
    }

    @Test
    void aDripThatCompletesItsLinesInTimeIsServedAsUsual() throws Exception {
        ManualClock clock = ManualClock.create();
        SmtpServer server = SmtpTestSupport.server(dir).idleTimeout(Duration.ofSeconds(30)).build();
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.byteByByte(), clock)) {
            LineReader in = LineReader.of(s.client(), 1000);
            assertEquals("220 example.test ESMTP Twine", in.readLine());
            for (int i = 0; i < 3; i++) {
                write(s.client(), "NO");
                clock.advance(Duration.ofSeconds(10));
                write(s.client(), "OP\r\n");
                assertEquals("250 2.0.0 Ok", in.readLine());
            }
        }
    }

    private static void write(Connection c, String s) throws IOException {
        c.output().write(s.getBytes(StandardCharsets.US_ASCII));
        c.flush();
    }
}
