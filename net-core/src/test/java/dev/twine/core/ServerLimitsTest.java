package dev.twine.core;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * If a server has {@link ConnectionLimits}, then one address cannot take more than its share, a
 * connection that does not authenticate in time is cut off however steadily it sends, and other
 * addresses are served all the while. Real loopback sockets: 127.0.0.1 is the flooder, 127.0.0.2
 * the other client.
 */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ServerLimitsTest {
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    private Server start(Server.Builder b) throws IOException {
        Server s = b.start();
        open.add(s);
        return s;
    }

    private Socket connect(String from, Server s) throws IOException {
        Socket sock = new Socket();
        open.add(sock);
        sock.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
        sock.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), s.port()), 5_000);
        sock.setSoTimeout(10_000);
        return sock;
    }

    private static String readLine(Socket s) throws IOException {
        return new BufferedReader(new InputStreamReader(s.getInputStream(), US_ASCII)).readLine();
    }

    /** A line greeting, then echo lines back: "READY" tells the test the handler runs. */
    private static void greetAndEcho(Connection c) throws IOException {
        LineWriter w = LineWriter.of(c);
        w.writeLine("READY").flush();
        LineReader r = LineReader.of(c, 1024);
        for (String line; (line = r.readLine()) != null; ) {
            if (line.equals("LOGIN")) {
                c.markAuthenticated();
            }
            w.writeLine(line).flush();
        }
    }

    @Test
    void refusesConnectionsOverThePerAddressCapWithTheRefusalAndServesAnotherAddress() throws Exception {
        Server s = start(Server.builder("limits")
                .listen("tcp:0:interface=127.0.0.1")
                .limits(ConnectionLimits.builder().perAddress(3).build())
                .overLimit(c -> c.output().write("BUSY too many connections\r\n".getBytes(US_ASCII)))
                .handler(ServerLimitsTest::greetAndEcho));
        for (int i = 0; i < 3; i++) {
            assertEquals("READY", readLine(connect("127.0.0.1", s)));
        }
        Socket fourth = connect("127.0.0.1", s);
        BufferedReader in = new BufferedReader(new InputStreamReader(fourth.getInputStream(), US_ASCII));
        assertEquals("BUSY too many connections", in.readLine());
        assertNull(in.readLine(), "a refused connection is closed after its refusal");
        assertEquals("READY", readLine(connect("127.0.0.2", s)), "another address is still served");
        assertEquals(3, s.limits().connectionsFrom(new InetSocketAddress("127.0.0.1", 1)));
    }

    @Test
    void authenticatedConnectionsLeaveThePreauthCap() throws Exception {
        Server s = start(Server.builder("limits")
                .listen("tcp:0:interface=127.0.0.1")
                .limits(ConnectionLimits.builder().preauthPerAddress(2).build())
                .overLimit(c -> c.output().write("BUSY\r\n".getBytes(US_ASCII)))
                .handler(ServerLimitsTest::greetAndEcho));
        Socket a = connect("127.0.0.1", s);
        Socket b = connect("127.0.0.1", s);
        assertEquals("READY", readLine(a));
        BufferedReader bIn = new BufferedReader(new InputStreamReader(b.getInputStream(), US_ASCII));
        assertEquals("READY", bIn.readLine());
        assertEquals("BUSY", readLine(connect("127.0.0.1", s)), "two unauthenticated connections are the cap");
        b.getOutputStream().write("LOGIN\r\n".getBytes(US_ASCII));
        assertEquals("LOGIN", bIn.readLine());
        // b has logged in: there is room for one more unauthenticated connection again
        assertEquals("READY", readLine(connect("127.0.0.1", s)));
    }

    @Test
    void cutsOffAConnectionThatKeepsSendingButNeverAuthenticates() throws Exception {
        BlockingQueue<Throwable> ended = new LinkedBlockingQueue<>();
        Server s = start(Server.builder("limits")
                .listen("tcp:0:interface=127.0.0.1")
                .readTimeout(Duration.ofSeconds(20))
                .limits(ConnectionLimits.builder().preauthTimeout(Duration.ofMillis(600)).build())
                .handler(c -> {
                    try {
                        greetAndEcho(c);
                        ended.add(new AssertionError("the handler saw the end of stream"));
                    } catch (IOException e) {
                        ended.add(e);
                    }
                }));
        Socket sock = connect("127.0.0.1", s);
        BufferedReader in = new BufferedReader(new InputStreamReader(sock.getInputStream(), US_ASCII));
        assertEquals("READY", in.readLine());
        OutputStream out = sock.getOutputStream();
        Throwable t = null;
        // a whole line every 100 ms: no read ever waits long, yet the pre-auth time runs out
        for (int i = 0; i < 100 && t == null; i++) {
            out.write(("NOOP " + i + "\r\n").getBytes(US_ASCII));
            t = ended.poll(100, TimeUnit.MILLISECONDS);
        }
        assertInstanceOf(SocketTimeoutException.class, t, "the pre-auth deadline ended the reads");
    }

    @Test
    void anAuthenticatedConnectionIsNotCutOffByThePreauthDeadline() throws Exception {
        Server s = start(Server.builder("limits")
                .listen("tcp:0:interface=127.0.0.1")
                // long enough that a saturated machine still logs in before it (300 ms was not)
                .limits(ConnectionLimits.builder().preauthTimeout(Duration.ofSeconds(2)).build())
                .handler(ServerLimitsTest::greetAndEcho));
        Socket sock = connect("127.0.0.1", s);
        BufferedReader in = new BufferedReader(new InputStreamReader(sock.getInputStream(), US_ASCII));
        assertEquals("READY", in.readLine());
        OutputStream out = sock.getOutputStream();
        out.write("LOGIN\r\n".getBytes(US_ASCII));
        assertEquals("LOGIN", in.readLine());
        Thread.sleep(2500); // past the pre-auth deadline on purpose
        out.write("STILL HERE\r\n".getBytes(US_ASCII));
        assertEquals("STILL HERE", in.readLine());
    }

    @Test
    void aDrippedLineIsCutOffByTheReadTimeoutInAll() throws Exception {
        BlockingQueue<Throwable> ended = new LinkedBlockingQueue<>();
        Server s = start(Server.builder("drip")
                .listen("tcp:0:interface=127.0.0.1")
                .readTimeout(Duration.ofMillis(500))
                .handler(c -> {
                    try {
                        greetAndEcho(c);
                        ended.add(new AssertionError("the handler saw the end of stream"));
                    } catch (IOException e) {
                        ended.add(e);
                    }
                }));
        Socket sock = connect("127.0.0.1", s);
        assertEquals("READY", readLine(sock));
        OutputStream out = sock.getOutputStream();
        Throwable t = null;
        // one byte every 100 ms, never a line end: each wait is short, the line never ends
        for (int i = 0; i < 100 && t == null; i++) {
            out.write('x');
            t = ended.poll(100, TimeUnit.MILLISECONDS);
        }
        assertInstanceOf(SocketTimeoutException.class, t);
        assertTrue(t.getMessage().contains("deadline"), t.getMessage());
    }
}
