package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.MemoryConnections;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** If a client cannot connect or is misconfigured, then it says so, naming the endpoint. */
@Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ClientTest {

    @Test
    void connectionRefusedNamesTheEndpoint() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String ep = "tcp:127.0.0.1:" + port;
        IOException e = assertThrows(IOException.class, () -> Client.connect(ep));
        assertTrue(e.getMessage().contains("cannot connect to " + ep), e.getMessage());
    }

    @Test
    void refusesToConnectAStreamToAUdpEndpoint() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Client.connect(Endpoint.parseClient("udp:127.0.0.1:53"), ClientOptions.defaults()));
        assertTrue(e.getMessage().contains("udp"), e.getMessage());
    }

    @Test
    void connectsFromTheChosenLocalAddress() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
                Connection c = Client.connect(Endpoint.parseClient("tcp:127.0.0.1:" + s.getLocalPort()),
                        ClientOptions.builder().localAddress(InetAddress.getByName("127.0.0.2")).build())) {
            assertEquals(InetAddress.getByName("127.0.0.2"), ((InetSocketAddress) c.localAddress()).getAddress());
            try (var accepted = s.accept()) {
                assertEquals(InetAddress.getByName("127.0.0.2"), accepted.getInetAddress());
            }
        }
    }

    @Test
    void optionsRejectNegativeDurations() {
        assertThrows(IllegalArgumentException.class, () -> ClientOptions.builder().readTimeout(Duration.ofSeconds(-1)));
        assertThrows(IllegalArgumentException.class, () -> ClientOptions.builder().connectTimeout(Duration.ofMillis(-1)));
        try (MemoryConnections.Pair p = MemoryConnections.pair()) {
            assertThrows(IllegalArgumentException.class, () -> p.client().readTimeout(Duration.ofSeconds(-1)));
            assertThrows(IllegalArgumentException.class, () -> p.client().writeTimeout(Duration.ofSeconds(-1)));
        }
    }

    @Test
    void defaultsAreTheDocumentedOnes() {
        ClientOptions d = ClientOptions.defaults();
        assertEquals(Duration.ofSeconds(30), d.connectTimeout());
        assertEquals(Duration.ofMinutes(5), d.readTimeout());
        assertEquals(Duration.ofSeconds(60), d.writeTimeout());
        assertEquals("client", d.name());
    }
}
