package dev.twine.core;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * If a listener expects the PROXY protocol, then a trusted balancer's header sets the client
 * address handlers, limits and logs see, the bytes after it reach the handler untouched, and
 * anyone else (an untrusted address, a missing or malformed header) is closed before the handler
 * runs. Real loopback sockets: 127.0.0.1 is the balancer, 127.0.0.2 an untrusted client.
 */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ProxyProtocolTest {
    private final List<AutoCloseable> open = new ArrayList<>();
    private final AtomicInteger handled = new AtomicInteger();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    /** A server that answers each connection's first line with "PEER <address> <line>". */
    private Server start(String endpoint, ConnectionLimits limits) throws IOException {
        Server s = Server.builder("proxied").listen(endpoint).limits(limits)
                .overLimit(c -> LineWriter.of(c).writeLine("BUSY").flush())
                .handler(c -> {
                    handled.incrementAndGet();
                    String line = LineReader.of(c, 1024).readLine();
                    InetSocketAddress peer = (InetSocketAddress) c.remoteAddress();
                    LineWriter.of(c).writeLine("PEER " + peer.getAddress().getHostAddress() + ":" + peer.getPort() + " " + line).flush();
                    LineReader.of(c, 1024).readLine(); // hold the connection until the client closes
                })
                .start();
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

    private static String exchange(Socket s, byte[] bytes) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(bytes);
        out.flush();
        return new BufferedReader(new InputStreamReader(s.getInputStream(), US_ASCII)).readLine();
    }

    /**
     * Sends the bytes and returns the first line back, or null if the server closed without a
     * word. A server that closes with the client's bytes still unread resets the connection
     * rather than ending it, and which one the client sees depends on timing; both are silence.
     */
    private static String replyOrSilence(Socket s, byte[] bytes) throws IOException {
        try {
            return exchange(s, bytes);
        } catch (SocketException reset) {
            return null;
        }
    }

    static byte[] v2(int command, int family, byte[] source, byte[] destination, int sourcePort, int destinationPort, byte[] tlvs) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
        b.write(0x20 | command);
        b.write(family);
        int length = source.length + destination.length + 4 + tlvs.length;
        b.write(length >> 8);
        b.write(length & 0xFF);
        b.writeBytes(source);
        b.writeBytes(destination);
        b.write(sourcePort >> 8);
        b.write(sourcePort & 0xFF);
        b.write(destinationPort >> 8);
        b.write(destinationPort & 0xFF);
        b.writeBytes(tlvs);
        return b.toByteArray();
    }

    private static byte[] concat(byte[] a, String b) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(a);
        out.writeBytes(b.getBytes(US_ASCII));
        return out.toByteArray();
    }

    @Test
    void v1HeaderSetsTheClientAddressAndTheRestReachesTheHandler() throws Exception {
        Server s = start("tcp:0:interface=127.0.0.1:proxy=v1:proxy-from=127.0.0.1", ConnectionLimits.none());
        String reply = exchange(connect("127.0.0.1", s), "PROXY TCP4 203.0.113.7 192.0.2.1 40001 25\r\nhello\r\n".getBytes(US_ASCII));
        assertEquals("PEER 203.0.113.7:40001 hello", reply);
    }

    @Test
    void v1HeaderArrivingByteByByteIsRead() throws Exception {
        Server s = start("tcp:0:interface=127.0.0.1:proxy=any", ConnectionLimits.none());
        Socket sock = connect("127.0.0.1", s);
        OutputStream out = sock.getOutputStream();
        for (byte b : "PROXY TCP6 2001:db8::7 2001:db8::1 40002 25\r\nhi\r\n".getBytes(US_ASCII)) {
            out.write(b);
            out.flush();
        }
        assertEquals("PEER 2001:db8:0:0:0:0:0:7:40002 hi",
                new BufferedReader(new InputStreamReader(sock.getInputStream(), US_ASCII)).readLine());
    }

    @Test
    void v2HeaderWithTlvsSetsTheClientAddress() throws Exception {
        Server s = start("tcp:0:interface=127.0.0.1:proxy=v2", ConnectionLimits.none());
        byte[] tlv = {0x04, 0x00, 0x03, 'a', 'b', 'c'}; // PP2_TYPE_NOOP, 3 bytes
        byte[] header = v2(1, 0x11, new byte[] {(byte) 198, 51, 100, 9}, new byte[] {(byte) 192, 0, 2, 1}, 50000, 993, tlv);
        assertEquals("PEER 198.51.100.9:50000 hello", exchange(connect("127.0.0.1", s), concat(header, "hello\r\n")));
    }

    @Test
    void v2LocalCommandKeepsTheBalancersOwnAddress() throws Exception {
        Server s = start("tcp:0:interface=127.0.0.1:proxy=v2", ConnectionLimits.none());
        byte[] header = v2(0, 0x00, new byte[0], new byte[0], 0, 0, new byte[0]);
        Socket sock = connect("127.0.0.1", s);
        assertEquals("PEER 127.0.0.1:" + sock.getLocalPort() + " ping", exchange(sock, concat(header, "ping\r\n")));
    }

    @Test
    void anUntrustedAddressIsClosedUnansweredEvenWithAValidHeader() throws Exception {
        Server s = start("tcp:0:interface=127.0.0.1:proxy=v1:proxy-from=127.0.0.1/32", ConnectionLimits.none());
        String reply = replyOrSilence(connect("127.0.0.2", s), "PROXY TCP4 10.9.9.9 192.0.2.1 1 25\r\nhello\r\n".getBytes(US_ASCII));
        assertNull(reply, "closed without a word");
        assertEquals(0, handled.get());
    }

    @Test
    void aMissingOrMalformedHeaderClosesBeforeTheHandler() throws Exception {
        Server s = start("tcp:0:interface=127.0.0.1:proxy=v2", ConnectionLimits.none());
        assertNull(replyOrSilence(connect("127.0.0.1", s), "hello\r\n".getBytes(US_ASCII)));
        assertNull(replyOrSilence(connect("127.0.0.1", s), "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nhello\r\n".getBytes(US_ASCII)),
                "a v1 header where v2 is configured");
        Server v1 = start("tcp:0:interface=127.0.0.1:proxy=v1", ConnectionLimits.none());
        assertNull(replyOrSilence(connect("127.0.0.1", v1), "PROXY TCP4 999.2.3.4 5.6.7.8 1 2\r\nhello\r\n".getBytes(US_ASCII)));
        assertNull(replyOrSilence(connect("127.0.0.1", v1), ("PROXY TCP4 " + "1".repeat(120) + "\r\n").getBytes(US_ASCII)));
        assertEquals(0, handled.get());
    }

    @Test
    void limitsCountTheRealClientNotTheBalancer() throws Exception {
        Server s = start("tcp:0:interface=127.0.0.1:proxy=v1", ConnectionLimits.builder().perAddress(1).build());
        assertEquals("PEER 203.0.113.1:1000 a",
                exchange(connect("127.0.0.1", s), "PROXY TCP4 203.0.113.1 192.0.2.1 1000 25\r\na\r\n".getBytes(US_ASCII)));
        assertEquals("BUSY",
                exchange(connect("127.0.0.1", s), "PROXY TCP4 203.0.113.1 192.0.2.1 1001 25\r\nb\r\n".getBytes(US_ASCII)),
                "the same client through the same balancer is over its limit");
        assertEquals("PEER 203.0.113.2:1002 c",
                exchange(connect("127.0.0.1", s), "PROXY TCP4 203.0.113.2 192.0.2.1 1002 25\r\nc\r\n".getBytes(US_ASCII)),
                "another client through the same balancer is not");
    }

    @Test
    void endpointOptionsParseAndRefuseMistakes() {
        Endpoint e = Endpoint.parseServer("tcp:25:proxy=v2:proxy-from=10.0.0.0/8,[2001:db8::]/32");
        Endpoint.Proxied p = assertInstanceOf(Endpoint.Proxied.class, e);
        assertEquals(new Endpoint.Tcp("", 25, Endpoint.DEFAULT_BACKLOG), p.listener());
        assertEquals(ProxyProtocol.Version.V2, p.proxy().version());
        assertEquals(2, p.proxy().trusted().size());
        assertEquals(AddressBlock.loopback(), ((Endpoint.Proxied) Endpoint.parseServer("tcp:25:proxy=v1")).proxy().trusted());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Endpoint.parseServer("tcp:25:proxy-from=10.0.0.0/8"))
                .getMessage().contains("proxy=v1, v2 or any"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Endpoint.parseServer("tcp:25:proxy=v3"))
                .getMessage().contains("not v1, v2 or any"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Endpoint.parseServer("tcp:25:proxy=v2:proxy-from=example.org"))
                .getMessage().contains("proxy-from"));
        assertThrows(IllegalArgumentException.class, () -> Endpoint.parseClient("tcp:example.org:25:proxy=v2"));
        assertThrows(IllegalArgumentException.class, () -> Endpoint.parseServer("udp:53:proxy=v2"));
    }

    @Test
    void theHeaderTimeoutDoesNotOutliveTheHeader() throws Exception {
        Server s = Server.builder("proxied").listen("tcp:0:interface=127.0.0.1:proxy=v1").readTimeout(Duration.ZERO)
                .handler(c -> LineWriter.of(c).writeLine("timeout " + c.readTimeout()).flush()).start();
        open.add(s);
        assertEquals("timeout PT0S", exchange(connect("127.0.0.1", s), "PROXY TCP4 203.0.113.3 192.0.2.1 1 25\r\n".getBytes(US_ASCII)),
                "a server without a read timeout keeps none after the header");
    }

    @Test
    void theHeaderMustArriveInTime() throws Exception {
        Endpoint.Tcp tcp = new Endpoint.Tcp("127.0.0.1", 0, Endpoint.DEFAULT_BACKLOG);
        ProxyProtocol slow = ProxyProtocol.builder().version(ProxyProtocol.Version.V1).headerTimeout(Duration.ofMillis(300)).build();
        Server s = Server.builder("proxied").listen(new Endpoint.Proxied(tcp, slow))
                .handler(c -> handled.incrementAndGet()).start();
        open.add(s);
        Socket sock = connect("127.0.0.1", s);
        sock.getOutputStream().write("PROXY TCP4".getBytes(US_ASCII));
        assertEquals(-1, sock.getInputStream().read(), "closed once the header timeout passed");
        assertEquals(0, handled.get());
    }
}
