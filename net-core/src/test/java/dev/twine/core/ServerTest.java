package dev.twine.core;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * If a {@link Server} runs over loopback sockets, then it serves, limits, times out, drains and
 * stops as its documentation says, and one bad connection never stops it serving the others.
 * Timeouts here are real but short; no assertion depends on how long anything took.
 */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ServerTest {
    static final String LOOPBACK = "tcp:0:interface=127.0.0.1";
    /** Every wait in these tests is bounded, so a broken server fails a test instead of hanging it. */
    static final ClientOptions CLIENT = ClientOptions.builder()
            .readTimeout(Duration.ofSeconds(10))
            .writeTimeout(Duration.ofSeconds(10))
            .connectTimeout(Duration.ofSeconds(10))
            .build();

    private final List<Server> servers = new ArrayList<>();

    @AfterEach
    void closeServers() {
        for (Server s : servers) {
            s.close();
        }
    }

    private Server start(Server.Builder b) throws IOException {
        Server s = b.start();
        servers.add(s);
        return s;
    }

    static Connection connect(Server s) throws IOException {
        return Client.connect(Endpoint.parseClient("tcp:127.0.0.1:" + s.port()), CLIENT);
    }

    /** Line echo until end of stream. */
    static void echo(Connection c) throws IOException {
        LineReader r = LineReader.of(c, 1024);
        LineWriter w = LineWriter.of(c);
        String line;
        while ((line = r.readLine()) != null) {
            w.writeLine(line).flush();
        }
    }

    static void send(Connection c, String line) throws IOException {
        LineWriter.of(c).writeLine(line).flush();
    }

    static String roundTrip(Connection c, LineReader r, String line) throws IOException {
        send(c, line);
        return r.readLine();
    }

    static <T> T poll(BlockingQueue<T> q) throws InterruptedException {
        T t = q.poll(20, TimeUnit.SECONDS);
        assertNotNull(t, "nothing arrived");
        return t;
    }

    @Test
    void startReturnsBoundWithTheRealPortInBindings() throws Exception {
        Server s = start(Server.builder("echo").listen(LOOPBACK).handler(ServerTest::echo));
        List<Binding> bindings = s.bindings();
        assertEquals(1, bindings.size());
        Binding b = bindings.get(0);
        assertEquals("tcp", b.protocol());
        assertEquals("echo", b.service());
        assertTrue(b.port() > 0, "real port, not 0");
        assertEquals(s.port(), b.port());
        assertEquals(InetAddress.getByName("127.0.0.1"), ((InetSocketAddress) b.address()).getAddress());
        assertEquals("listening echo tcp 127.0.0.1:" + b.port(), b.listeningLine());
        // bound when start returned: a plain socket connects at once
        try (Socket raw = new Socket("127.0.0.1", b.port())) {
            assertTrue(raw.isConnected());
        }
    }

    @Test
    void echoesLinesOverTcp() throws Exception {
        Server s = start(Server.builder("echo").listen(LOOPBACK).handler(ServerTest::echo));
        try (Connection c = connect(s)) {
            LineReader r = LineReader.of(c, 1024);
            assertEquals("hello", roundTrip(c, r, "hello"));
            assertEquals("w\u00f6rld", roundTrip(c, r, "w\u00f6rld"));
            assertTrue(c.isClient());
            assertFalse(c.isSecure());
            assertEquals(s.port(), ((InetSocketAddress) c.remoteAddress()).getPort());
        }
    }

    @Test
    void startFailsNamingTheEndpointWhenThePortIsTaken() throws Exception {
        Server first = start(Server.builder("first").listen(LOOPBACK).handler(ServerTest::echo));
        String ep = "tcp:" + first.port() + ":interface=127.0.0.1";
        Server.Builder second = Server.builder("second").listen(ep).handler(ServerTest::echo);
        IOException e = assertThrows(IOException.class, second::start);
        assertTrue(e.getMessage().contains("tcp:127.0.0.1:" + first.port()), e.getMessage());
    }

    @Test
    void handlerThatThrowsClosesOnlyItsOwnConnection() throws Exception {
        Server s = start(Server.builder("fragile").listen(LOOPBACK).handler(c -> {
            LineReader r = LineReader.of(c, 1024);
            String line;
            while ((line = r.readLine()) != null) {
                if (line.equals("boom")) {
                    throw new IllegalStateException("handler bug");
                }
                send(c, line);
            }
        }));
        try (Connection good = connect(s); Connection bad = connect(s)) {
            LineReader goodIn = LineReader.of(good, 1024);
            LineReader badIn = LineReader.of(bad, 1024);
            assertEquals("one", roundTrip(good, goodIn, "one"));
            assertEquals("two", roundTrip(bad, badIn, "two"));
            send(bad, "boom");
            assertNull(badIn.readLine(), "the failing connection is closed");
            assertEquals("three", roundTrip(good, goodIn, "three"));
        }
        try (Connection later = connect(s)) {
            assertEquals("four", roundTrip(later, LineReader.of(later, 1024), "four"));
        }
    }

    @Test
    void failingChildForkedInTheConnectionScopeEndsOnlyThatConnection() throws Exception {
        Server s = start(Server.builder("forking").listen(LOOPBACK).handler(c -> {
            LineReader r = LineReader.of(c, 1024);
            String line;
            while ((line = r.readLine()) != null) {
                if (line.equals("fork-bug")) {
                    Handle<Void> h = c.scope().fork("helper", () -> {
                        throw new IllegalStateException("helper bug");
                    });
                    while (h.state() == Handle.State.RUNNING) {
                        Thread.onSpinWait();
                    }
                    return; // the helper's failure surfaces when the server ends the connection
                }
                send(c, line);
            }
        }));
        try (Connection other = connect(s); Connection bad = connect(s)) {
            LineReader otherIn = LineReader.of(other, 1024);
            assertEquals("before", roundTrip(other, otherIn, "before"));
            send(bad, "fork-bug");
            assertNull(LineReader.of(bad, 1024).readLine());
            // the failure surfaces just after the bad connection closed; keep talking long
            // enough that a server brought down by it would show
            for (int i = 0; i < 20; i++) {
                assertEquals("after " + i, roundTrip(other, otherIn, "after " + i));
            }
        }
        for (int i = 0; i < 5; i++) {
            try (Connection later = connect(s)) {
                assertEquals("still serving", roundTrip(later, LineReader.of(later, 1024), "still serving"));
            }
        }
    }

    @Test
    void connectionsOverTheLimitWaitInTheBacklogUntilOneCloses() throws Exception {
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        Server s = start(Server.builder("limited").listen(LOOPBACK).maxConnections(2).handler(c -> {
            LineReader r = LineReader.of(c, 1024);
            String line;
            while ((line = r.readLine()) != null) {
                events.add("served " + line);
                send(c, line);
            }
        }));
        assertEquals(2, s.maxConnections());
        Connection c1 = connect(s); // closed in the middle of the test, and again at the end
        try (Connection c2 = connect(s); Connection c3 = connect(s)) {
            LineReader r1 = LineReader.of(c1, 1024);
            LineReader r2 = LineReader.of(c2, 1024);
            LineReader r3 = LineReader.of(c3, 1024);
            assertEquals("one", roundTrip(c1, r1, "one"));
            assertEquals("two", roundTrip(c2, r2, "two"));
            // c3's connect completed in the kernel's backlog; nothing serves it while 2 are served
            events.clear();
            send(c3, "three");
            assertNull(events.poll(300, TimeUnit.MILLISECONDS), "the third connection was served over the limit");
            assertEquals(2, s.connectionCount());

            events.add("closing c1");
            c1.close();
            assertEquals("three", r3.readLine());
            List<String> order = new ArrayList<>(events);
            assertTrue(order.indexOf("closing c1") >= 0 && order.indexOf("closing c1") < order.indexOf("served three"),
                    "third served only after one of the first two closed: " + order);
            assertEquals("again", roundTrip(c2, r2, "again"));
        } finally {
            c1.close();
        }
    }

    @Test
    void readTimeoutEndsASilentPeerAndTheHandlerCanStillSayGoodbye() throws Exception {
        BlockingQueue<Throwable> outcome = new LinkedBlockingQueue<>();
        Server s = start(Server.builder("impatient").listen(LOOPBACK).readTimeout(Duration.ofMillis(200)).handler(c -> {
            LineReader r = LineReader.of(c, 1024);
            try {
                String line = r.readLine();
                send(c, "unexpected " + line);
            } catch (SocketTimeoutException e) {
                outcome.add(e);
                send(c, "421 idle too long");
            }
        }));
        try (Connection c = connect(s)) {
            // slowloris: a line begun and never finished
            c.output().write("HELO slo".getBytes(US_ASCII));
            c.flush();
            LineReader r = LineReader.of(c, 1024);
            assertEquals("421 idle too long", r.readLine());
            assertNull(r.readLine(), "then the server closes");
        }
        assertInstanceOf(SocketTimeoutException.class, poll(outcome));
    }

    @Test
    void writeTimeoutClosesConnectionToAPeerThatNeverReadsAndServerGoesOn() throws Exception {
        BlockingQueue<Throwable> outcome = new LinkedBlockingQueue<>();
        BlockingQueue<Boolean> closedAfter = new LinkedBlockingQueue<>();
        AtomicInteger accepted = new AtomicInteger();
        Server s = start(Server.builder("flood").listen(LOOPBACK).writeTimeout(Duration.ofMillis(200)).handler(c -> {
            if (accepted.incrementAndGet() > 1) {
                echo(c);
                return;
            }
            byte[] chunk = new byte[64 * 1024];
            try {
                while (true) {
                    c.output().write(chunk);
                    c.flush();
                }
            } catch (IOException e) {
                outcome.add(e);
                closedAfter.add(c.isClosed());
            }
        }));
        try (Connection silent = connect(s)) {
            assertTrue(silent.isClient()); // it connects and then never reads
            Throwable e = poll(outcome);
            assertInstanceOf(SocketTimeoutException.class, e);
            assertTrue(poll(closedAfter), "connection closed after the write timeout");
        }
        try (Connection next = connect(s)) {
            assertEquals("still here", roundTrip(next, LineReader.of(next, 1024), "still here"));
        }
    }

    @Test
    void halfClosedPeerGivesTheHandlerEndOfStreamAndStillGetsTheReply() throws Exception {
        Server s = start(Server.builder("count").listen(LOOPBACK).handler(c -> {
            LineReader r = LineReader.of(c, 1024);
            int n = 0;
            while (r.readLine() != null) {
                n++;
            }
            send(c, "saw end of stream after " + n + " lines");
        }));
        try (Connection c = connect(s)) {
            send(c, "a");
            send(c, "b");
            c.shutdownOutput();
            LineReader r = LineReader.of(c, 1024);
            assertEquals("saw end of stream after 2 lines", r.readLine());
            assertNull(r.readLine());
        }
    }

    @Test
    void garbageBytesEndOnlyThatConnectionAndServerGoesOn() throws Exception {
        BlockingQueue<Throwable> refused = new LinkedBlockingQueue<>();
        Server s = start(Server.builder("lines").listen(LOOPBACK).handler(c -> {
            LineReader r = LineReader.of(c, 256);
            LineWriter w = LineWriter.of(c);
            try {
                byte[] line;
                while ((line = r.readLineBytes()) != null) {
                    w.writeLine("ok " + line.length).flush();
                }
            } catch (LineTooLongException e) {
                refused.add(e);
                w.writeLine("500 line too long").flush();
            }
        }));
        SplittableRandom rnd = new SplittableRandom(42);

        // binary lines within the limit, NULs included: read as lines, nothing more
        try (Connection c = connect(s)) {
            LineReader r = LineReader.of(c, 1024);
            for (int i = 0; i < 50; i++) {
                byte[] junk = new byte[50];
                rnd.nextBytes(junk);
                junk[0] = 0;
                for (int j = 0; j < junk.length; j++) {
                    if (junk[j] == '\n' || junk[j] == '\r') {
                        junk[j] = 0;
                    }
                }
                c.output().write(junk);
                c.output().write('\n');
                c.flush();
                assertEquals("ok 50", r.readLine());
            }
        }

        // 64 KB of binary without a line end: refused at the limit
        try (Connection c = connect(s)) {
            byte[] junk = new byte[64 * 1024];
            rnd.nextBytes(junk);
            for (int j = 0; j < junk.length; j++) {
                if (junk[j] == '\n') {
                    junk[j] = 0;
                }
            }
            try {
                c.output().write(junk);
                c.flush();
                String reply = LineReader.of(c, 1024).readLine();
                assertTrue(reply == null || reply.equals("500 line too long"), reply);
            } catch (SocketException reset) {
                // the server closed with our bytes unread, so its kernel may reset: also an end
            }
        }
        assertInstanceOf(LineTooLongException.class, poll(refused));

        try (Connection c = connect(s)) {
            assertEquals("ok 5", roundTrip(c, LineReader.of(c, 1024), "hello"));
        }
    }

    @Test
    void gracefulShutdownWakesAHandlerInReadLineSoItSaysByeThenReturns() throws Exception {
        BlockingQueue<Throwable> drained = new LinkedBlockingQueue<>();
        Server s = start(Server.builder("polite").listen(LOOPBACK).handler(c -> {
            LineReader r = LineReader.of(c, 1024);
            try {
                String line;
                while ((line = r.readLine()) != null) {
                    send(c, line);
                }
            } catch (DrainingException e) {
                assertTrue(c.draining());
                drained.add(e);
                send(c, "bye");
            }
        }));
        try (Connection c = connect(s)) {
            LineReader r = LineReader.of(c, 1024);
            assertEquals("hi", roundTrip(c, r, "hi"));
            s.shutdown(Duration.ofSeconds(20));
            assertEquals(0, s.connectionCount());
            assertEquals("bye", r.readLine());
            assertNull(r.readLine());
        }
        assertInstanceOf(DrainingException.class, poll(drained));
        s.awaitTermination();
        assertThrows(IOException.class, () -> connect(s), "no longer accepting");
    }

    @Test
    void shutdownCancelsAHandlerThatIgnoresDrainingOnceTheGracePasses() throws Exception {
        CountDownLatch drained = new CountDownLatch(1);
        BlockingQueue<Throwable> cancelled = new LinkedBlockingQueue<>();
        Server s = start(Server.builder("stubborn").listen(LOOPBACK).handler(stubbornHandler(drained, cancelled)));
        try (Connection c = connect(s)) {
            assertEquals("hi", roundTrip(c, LineReader.of(c, 1024), "hi"));
            s.shutdown(Duration.ofMillis(200));
            assertEquals(0, drained.getCount(), "the handler saw the drain");
            assertInstanceOf(InterruptedException.class, poll(cancelled));
            assertEquals(0, s.connectionCount());
        }
    }

    @Test
    void closeDuringAGracefulShutdownCancelsAtOnce() throws Exception {
        CountDownLatch drained = new CountDownLatch(1);
        BlockingQueue<Throwable> cancelled = new LinkedBlockingQueue<>();
        Server s = start(Server.builder("stubborn").listen(LOOPBACK).handler(stubbornHandler(drained, cancelled)));
        try (Connection c = connect(s)) {
            assertEquals("hi", roundTrip(c, LineReader.of(c, 1024), "hi"));
            Thread shutdown = Thread.ofVirtual().start(() -> {
                try {
                    s.shutdown(Duration.ofMinutes(10));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            drained.await();
            s.close(); // must not wait out the ten minutes of grace
            assertInstanceOf(InterruptedException.class, poll(cancelled));
            shutdown.join();
        }
    }

    /** Echoes one line, then on draining waits forever (until cancelled). */
    private static ConnectionHandler stubbornHandler(CountDownLatch drained, BlockingQueue<Throwable> cancelled) {
        return c -> {
            LineReader r = LineReader.of(c, 1024);
            send(c, r.readLine());
            try {
                r.readLine();
            } catch (DrainingException e) {
                drained.countDown();
                try {
                    new CountDownLatch(1).await();
                } catch (InterruptedException ie) {
                    cancelled.add(ie);
                    throw ie;
                }
            }
        };
    }

    @Test
    void closeCancelsHandlersAtOnceWithoutDraining() throws Exception {
        BlockingQueue<Throwable> ended = new LinkedBlockingQueue<>();
        Server s = start(Server.builder("abrupt").listen(LOOPBACK).handler(c -> {
            LineReader r = LineReader.of(c, 1024);
            send(c, r.readLine());
            try {
                r.readLine();
                ended.add(new AssertionError("read returned"));
            } catch (Throwable t) {
                ended.add(t);
                throw t;
            }
        }));
        try (Connection c = connect(s)) {
            LineReader r = LineReader.of(c, 1024);
            assertEquals("hi", roundTrip(c, r, "hi"));
            s.close();
            Throwable t = poll(ended);
            assertFalse(t instanceof DrainingException, "close does not drain: " + t);
            assertTrue(t instanceof SocketException || t instanceof InterruptedIOException, "cancelled: " + t);
            assertEquals(0, s.connectionCount());
            try {
                assertNull(r.readLine());
            } catch (SocketException | EOFException reset) {
                // closed by the server: either way the connection ended
            }
        }
        assertThrows(IOException.class, () -> connect(s));
    }

    @Test
    @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void servesTwoThousandConcurrentConnections() throws Exception {
        int clients = 2000;
        AtomicInteger active = new AtomicInteger();
        AtomicInteger maxActive = new AtomicInteger();
        Set<InetAddress> sources = ConcurrentHashMap.newKeySet();
        Server s = start(Server.builder("many").listen("tcp:0:interface=127.0.0.1:backlog=4096").handler(c -> {
            maxActive.accumulateAndGet(active.incrementAndGet(), Math::max);
            sources.add(((InetSocketAddress) c.remoteAddress()).getAddress());
            try {
                echo(c);
            } finally {
                active.decrementAndGet();
            }
        }));
        Endpoint ep = Endpoint.parseClient("tcp:127.0.0.1:" + s.port());
        InetAddress[] from = {InetAddress.getByName("127.0.0.1"), InetAddress.getByName("127.0.0.2")};
        CountDownLatch allConnected = new CountDownLatch(clients);
        AtomicInteger succeeded = new AtomicInteger();
        try (Scope scope = Scope.open("clients")) {
            for (int i = 0; i < clients; i++) {
                int n = i;
                scope.fork("client-" + n, () -> {
                    ClientOptions o = ClientOptions.builder()
                            .connectTimeout(Duration.ofSeconds(60))
                            .readTimeout(Duration.ofSeconds(60))
                            .localAddress(from[n % 2])
                            .build();
                    try (Connection c = Client.connect(ep, o)) {
                        LineReader r = LineReader.of(c, 1024);
                        assertEquals("hello " + n, roundTrip(c, r, "hello " + n));
                        allConnected.countDown();
                        allConnected.await(); // every connection is open at once
                        for (int k = 0; k < 3; k++) {
                            assertEquals(n + "/" + k, roundTrip(c, r, n + "/" + k));
                        }
                    }
                    succeeded.incrementAndGet();
                });
            }
            scope.join();
        }
        assertEquals(clients, succeeded.get());
        assertEquals(clients, maxActive.get(), "all connections were served at the same time");
        assertEquals(Set.of(from), sources);
    }

    @Test
    void echoesOverAUnixSocketAndRemovesItsFileOnClose(@TempDir Path dir) throws Exception {
        Path sock = dir.resolve("echo.sock");
        Server s = start(Server.builder("unix-echo").listen("unix:" + sock).handler(ServerTest::echo));
        Binding b = s.bindings().get(0);
        assertEquals("unix", b.protocol());
        assertEquals(-1, b.port());
        try (Connection c = Client.connect(Endpoint.parseClient("unix:" + sock), CLIENT)) {
            LineReader r = LineReader.of(c, 1024);
            assertEquals("over unix", roundTrip(c, r, "over unix"));
            assertEquals("twice", roundTrip(c, r, "twice"));
        }
        s.close();
        assertFalse(Files.exists(sock), "socket file removed");
    }

    @Test
    void unixEndpointReplacesAStaleSocketFile(@TempDir Path dir) throws Exception {
        Path sock = dir.resolve("stale.sock");
        // a server that died without cleaning up leaves its socket file behind
        try (java.nio.channels.ServerSocketChannel dead = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            dead.bind(java.net.UnixDomainSocketAddress.of(sock));
        }
        assertTrue(Files.exists(sock));
        start(Server.builder("unix-echo").listen("unix:" + sock).handler(ServerTest::echo));
        try (Connection c = Client.connect(Endpoint.parseClient("unix:" + sock), CLIENT)) {
            assertEquals("fresh", roundTrip(c, LineReader.of(c, 1024), "fresh"));
        }
    }

    @Test
    void unixEndpointNeverDeletesAFileThatIsNotASocket(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("notes.txt");
        Files.writeString(file, "precious");
        Server.Builder b = Server.builder("unix-oops").listen("unix:" + file).handler(ServerTest::echo);
        IOException e = assertThrows(IOException.class, b::start);
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertEquals("precious", Files.readString(file));
    }

    @Test
    void secondServerOnALiveUnixSocketFailsAndTheFirstKeepsServing(@TempDir Path dir) throws Exception {
        Path sock = dir.resolve("taken.sock");
        start(Server.builder("first").listen("unix:" + sock).handler(ServerTest::echo));
        Server.Builder second = Server.builder("second").listen("unix:" + sock).handler(c -> LineWriter.of(c).writeLine("impostor").flush());
        IOException e = assertThrows(IOException.class, second::start);
        assertTrue(e.getMessage().contains(sock.toString()), e.getMessage());
        try (Connection c = Client.connect(Endpoint.parseClient("unix:" + sock), CLIENT)) {
            assertEquals("first", roundTrip(c, LineReader.of(c, 1024), "first"));
        }
    }

    @Test
    void readTimeoutOnAUnixSocketLetsTheHandlerSayGoodbye(@TempDir Path dir) throws Exception {
        Path sock = dir.resolve("idle.sock");
        BlockingQueue<Throwable> outcome = new LinkedBlockingQueue<>();
        start(Server.builder("unix-idle").listen("unix:" + sock).readTimeout(Duration.ofMillis(200)).handler(c -> {
            try {
                LineReader.of(c, 1024).readLine();
            } catch (SocketTimeoutException e) {
                outcome.add(e);
                send(c, "421 idle");
            }
        }));
        try (Connection c = Client.connect(Endpoint.parseClient("unix:" + sock), CLIENT)) {
            LineReader r = LineReader.of(c, 1024);
            assertEquals("421 idle", r.readLine());
            assertNull(r.readLine());
        }
        assertInstanceOf(SocketTimeoutException.class, poll(outcome));
    }

    @Test
    void answersDatagramsOnAUdpEndpoint() throws Exception {
        BlockingQueue<Datagram> seen = new LinkedBlockingQueue<>();
        Server s = start(Server.builder("udp-echo").listen("udp:0:interface=127.0.0.1").datagramHandler(d -> {
            seen.add(d);
            if (new String(d.payload(), UTF_8).equals("ignore me")) {
                return Optional.empty();
            }
            return Optional.of(("pong:" + new String(d.payload(), UTF_8)).getBytes(UTF_8));
        }));
        Binding b = s.bindings().get(0);
        assertEquals("udp", b.protocol());
        try (DatagramSocket ds = new DatagramSocket(0, InetAddress.getByName("127.0.0.1"))) {
            ds.setSoTimeout(10_000);
            InetSocketAddress to = new InetSocketAddress("127.0.0.1", b.port());
            byte[] ignored = "ignore me".getBytes(UTF_8);
            ds.send(new DatagramPacket(ignored, ignored.length, to));
            byte[] ping = "ping".getBytes(UTF_8);
            ds.send(new DatagramPacket(ping, ping.length, to));
            DatagramPacket reply = new DatagramPacket(new byte[1500], 1500);
            ds.receive(reply);
            assertEquals("pong:ping", new String(reply.getData(), 0, reply.getLength(), UTF_8));
            Datagram first = poll(seen);
            assertEquals(ds.getLocalSocketAddress(), first.sender());
            assertNotNull(first.local());
        }
    }

    @Test
    void slowDatagramHandlersDoNotStopReceptionUpToTheLimit() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger slowEntered = new AtomicInteger();
        Server s = start(Server.builder("udp-slow").listen("udp:0:interface=127.0.0.1").maxDatagramsInFlight(3)
                .datagramHandler(d -> {
                    String text = new String(d.payload(), UTF_8);
                    if (text.startsWith("slow")) {
                        slowEntered.incrementAndGet();
                        release.await();
                    }
                    return Optional.of(("pong:" + text).getBytes(UTF_8));
                }));
        try (DatagramSocket ds = new DatagramSocket(0, InetAddress.getByName("127.0.0.1"))) {
            ds.setSoTimeout(10_000);
            InetSocketAddress to = new InetSocketAddress("127.0.0.1", s.bindings().get(0).port());
            for (String m : List.of("slow1", "slow2")) {
                ds.send(new DatagramPacket(m.getBytes(UTF_8), m.length(), to));
            }
            // two handlers are blocked; a third datagram is still received and answered
            for (int i = 0; i < 50; i++) {
                byte[] ping = ("ping" + i).getBytes(UTF_8);
                ds.send(new DatagramPacket(ping, ping.length, to));
                DatagramPacket reply = new DatagramPacket(new byte[1500], 1500);
                ds.receive(reply);
                assertEquals("pong:ping" + i, new String(reply.getData(), 0, reply.getLength(), UTF_8));
            }
            // a third slow one takes the last permit: now nothing is received until one ends
            ds.send(new DatagramPacket("slow3".getBytes(UTF_8), 5, to));
            ds.send(new DatagramPacket("after".getBytes(UTF_8), 5, to));
            DatagramPacket early = new DatagramPacket(new byte[1500], 1500);
            ds.setSoTimeout(300);
            assertThrows(java.net.SocketTimeoutException.class, () -> ds.receive(early),
                    "with three handlers busy and a limit of three, nothing more is handled");
            assertEquals(3, slowEntered.get());
            release.countDown();
            ds.setSoTimeout(10_000);
            Set<String> replies = new java.util.HashSet<>();
            for (int i = 0; i < 4; i++) {
                DatagramPacket reply = new DatagramPacket(new byte[1500], 1500);
                ds.receive(reply);
                replies.add(new String(reply.getData(), 0, reply.getLength(), UTF_8));
            }
            assertEquals(Set.of("pong:slow1", "pong:slow2", "pong:slow3", "pong:after"), replies);
        }
    }

    @Test
    void tryHandleAnswersOnTheReceivingThreadAndLeavesTheRestToHandle() throws Exception {
        Set<Thread> tryThreads = ConcurrentHashMap.newKeySet();
        Set<Thread> handleThreads = ConcurrentHashMap.newKeySet();
        List<String> tried = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<String> handled = new java.util.concurrent.CopyOnWriteArrayList<>();
        DatagramHandler h = new DatagramHandler() {
            @Override
            public Optional<byte[]> tryHandle(Datagram d) {
                String text = new String(d.payload(), UTF_8);
                tried.add(text);
                tryThreads.add(Thread.currentThread());
                return text.startsWith("fast") ? Optional.of(("now:" + text).getBytes(UTF_8)) : Optional.empty();
            }

            @Override
            public Optional<byte[]> handle(Datagram d) {
                String text = new String(d.payload(), UTF_8);
                handled.add(text);
                handleThreads.add(Thread.currentThread());
                return Optional.of(("later:" + text).getBytes(UTF_8));
            }
        };
        Server s = start(Server.builder("udp-try").listen("udp:0:interface=127.0.0.1").datagramHandler(h));
        try (DatagramSocket ds = new DatagramSocket(0, InetAddress.getByName("127.0.0.1"))) {
            ds.setSoTimeout(10_000);
            InetSocketAddress to = new InetSocketAddress("127.0.0.1", s.bindings().get(0).port());
            for (int i = 0; i < 20; i++) {
                String m = (i % 2 == 0 ? "fast" : "slow") + i;
                ds.send(new DatagramPacket(m.getBytes(UTF_8), m.length(), to));
                DatagramPacket reply = new DatagramPacket(new byte[100], 100);
                ds.receive(reply);
                assertEquals((i % 2 == 0 ? "now:" : "later:") + m, new String(reply.getData(), 0, reply.getLength(), UTF_8));
            }
        }
        assertEquals(20, tried.size(), "every datagram is offered to tryHandle first");
        assertEquals(10, handled.size());
        assertTrue(handled.stream().allMatch(t -> t.startsWith("slow")), "handle sees only what tryHandle left: " + handled);
        assertEquals(1, tryThreads.size(), "tryHandle runs on the one receiving thread");
        assertTrue(java.util.Collections.disjoint(tryThreads, handleThreads), "handle runs on threads of its own");
    }

    @Test
    void aFailingTryHandleDropsOnlyThatDatagram() throws Exception {
        AtomicInteger handled = new AtomicInteger();
        DatagramHandler h = new DatagramHandler() {
            @Override
            public Optional<byte[]> tryHandle(Datagram d) {
                if (new String(d.payload(), UTF_8).equals("boom")) {
                    throw new IllegalStateException("boom");
                }
                return Optional.of(d.payload());
            }

            @Override
            public Optional<byte[]> handle(Datagram d) {
                handled.incrementAndGet();
                return Optional.of("handled".getBytes(UTF_8));
            }
        };
        Server s = start(Server.builder("udp-try-fail").listen("udp:0:interface=127.0.0.1").datagramHandler(h));
        try (DatagramSocket ds = new DatagramSocket(0, InetAddress.getByName("127.0.0.1"))) {
            ds.setSoTimeout(10_000);
            InetSocketAddress to = new InetSocketAddress("127.0.0.1", s.bindings().get(0).port());
            ds.send(new DatagramPacket("boom".getBytes(UTF_8), 4, to));
            ds.send(new DatagramPacket("ping".getBytes(UTF_8), 4, to));
            DatagramPacket reply = new DatagramPacket(new byte[100], 100);
            ds.receive(reply);
            assertEquals("ping", new String(reply.getData(), 0, reply.getLength(), UTF_8), "nothing answers the failed one");
        }
        assertEquals(0, handled.get(), "a datagram whose tryHandle failed is dropped, not handed to handle");
    }

    @Test
    void manyDatagramsFromManySendersAreEachAnsweredOnce() throws Exception {
        Server s = start(Server.builder("udp-many").listen("udp:0:interface=127.0.0.1")
                .datagramHandler(d -> Optional.of(d.payload())));
        InetSocketAddress to = new InetSocketAddress("127.0.0.1", s.bindings().get(0).port());
        try (Scope scope = Scope.open("senders")) {
            for (int t = 0; t < 8; t++) {
                int sender = t;
                scope.fork("sender" + t, () -> {
                    try (DatagramSocket ds = new DatagramSocket(0, InetAddress.getByName("127.0.0.1"))) {
                        ds.setSoTimeout(10_000);
                        for (int i = 0; i < 500; i++) {
                            byte[] m = (sender + ":" + i).getBytes(UTF_8);
                            ds.send(new DatagramPacket(m, m.length, to));
                            DatagramPacket reply = new DatagramPacket(new byte[100], 100);
                            ds.receive(reply);
                            assertEquals(sender + ":" + i, new String(reply.getData(), 0, reply.getLength(), UTF_8));
                        }
                    }
                    return null;
                });
            }
            scope.join();
        }
    }

    @Test
    void serverWithoutAMatchingHandlerRefusesToStart() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Server.builder("nohandler").listen("udp:0:interface=127.0.0.1").handler(ServerTest::echo).start());
        assertTrue(e.getMessage().contains("datagram handler"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> Server.builder("noendpoint").handler(ServerTest::echo).build());
    }
}
