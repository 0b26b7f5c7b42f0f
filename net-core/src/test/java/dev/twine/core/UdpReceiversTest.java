package dev.twine.core;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A {@code udp:} endpoint with {@code receivers=N}: N sockets on one port, each with its own
 * receive loop, all answering, all closed at shutdown, and a taken port still refused.
 */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class UdpReceiversTest {
    /**
     * Senders, each on its own source port: Linux hashes each over the sockets, so with 64 the
     * chance that one of four sockets gets none is 4 * (3/4)^64, about 4e-8.
     */
    private static final int SENDERS = 64;
    private static final int PER_SENDER = 10;

    /** Answers every datagram at once on the receiving thread, noting which thread that was. */
    private static Server echo(String endpoint, Set<Thread> receivers) throws IOException {
        return Server.builder("udp-receivers").listen(endpoint).datagramHandler(new DatagramHandler() {
            @Override
            public Optional<byte[]> tryHandle(Datagram d) {
                receivers.add(Thread.currentThread());
                return Optional.of(d.payload());
            }

            @Override
            public Optional<byte[]> handle(Datagram d) {
                throw new AssertionError("tryHandle answers everything");
            }
        }).start();
    }

    /** Sends a burst from every sender (all of it first), then reads every answer back. */
    private static void burst(int port) throws IOException {
        InetSocketAddress to = new InetSocketAddress("127.0.0.1", port);
        List<DatagramSocket> senders = new ArrayList<>();
        try {
            for (int s = 0; s < SENDERS; s++) {
                DatagramSocket ds = new DatagramSocket(0, InetAddress.getByName("127.0.0.1"));
                senders.add(ds);
                ds.setSoTimeout(10_000);
                for (int i = 0; i < PER_SENDER; i++) {
                    byte[] m = (s + ":" + i).getBytes(UTF_8);
                    ds.send(new DatagramPacket(m, m.length, to));
                }
            }
            for (int s = 0; s < SENDERS; s++) {
                Set<String> answers = new HashSet<>();
                for (int i = 0; i < PER_SENDER; i++) {
                    DatagramPacket reply = new DatagramPacket(new byte[100], 100);
                    senders.get(s).receive(reply);
                    answers.add(new String(reply.getData(), 0, reply.getLength(), UTF_8));
                }
                Set<String> expected = new HashSet<>();
                for (int i = 0; i < PER_SENDER; i++) {
                    expected.add(s + ":" + i);
                }
                assertEquals(expected, answers, "sender " + s + " gets each of its datagrams back once");
            }
        } finally {
            for (DatagramSocket ds : senders) {
                ds.close();
            }
        }
    }

    @Test
    void everyReceiverAnswersABurstFromManySourcePorts() throws Exception {
        Set<Thread> receivers = ConcurrentHashMap.newKeySet();
        try (Server s = echo("udp:0:interface=127.0.0.1:receivers=4", receivers)) {
            assertEquals(1, s.bindings().size(), "one endpoint, one binding, whatever the receivers");
            burst(s.port());
            assertEquals(4, receivers.size(), "each of the four sockets received some senders: " + receivers);
        }
    }

    @Test
    void shutdownEndsEveryReceiverAndClosesEverySocket() throws Exception {
        Set<Thread> receivers = ConcurrentHashMap.newKeySet();
        Server s = echo("udp:0:interface=127.0.0.1:receivers=3", receivers);
        int port = s.port();
        burst(port);
        assertEquals(3, receivers.size(), receivers.toString());
        s.shutdown(Duration.ofSeconds(5));
        s.awaitTermination();
        for (Thread t : receivers) {
            t.join(10_000);
            assertFalse(t.isAlive(), t + " ended");
        }
        // a socket without SO_REUSEPORT binds only if none of the three is left open
        try (DatagramSocket again = new DatagramSocket(new InetSocketAddress("127.0.0.1", port))) {
            assertEquals(port, again.getLocalPort());
        }
    }

    @Test
    void aTakenPortIsRefusedEvenWithSeveralReceivers() throws Exception {
        Set<Thread> receivers = ConcurrentHashMap.newKeySet();
        try (Server first = echo("udp:0:interface=127.0.0.1:receivers=2", receivers)) {
            String same = "udp:" + first.port() + ":interface=127.0.0.1:receivers=2";
            IOException e = assertThrows(IOException.class, () -> echo(same, receivers),
                    "a second copy of the server must not silently share the first one's port");
            assertTrue(e.getMessage().contains("cannot listen on udp:127.0.0.1:" + first.port()), e.getMessage());
            burst(first.port()); // and the first keeps every datagram
        }
        try (DatagramSocket plain = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            String taken = "udp:" + plain.getLocalPort() + ":interface=127.0.0.1:receivers=2";
            assertThrows(IOException.class, () -> echo(taken, receivers));
        }
    }
}
