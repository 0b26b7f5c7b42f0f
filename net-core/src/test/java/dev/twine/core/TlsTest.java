package dev.twine.core;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.MemoryConnections;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * If a server speaks TLS (a {@code tls:} endpoint or STARTTLS), then the JDK's client and the real
 * {@code openssl s_client} can talk to it, certificates are verified, and plaintext sent before a
 * STARTTLS handshake is never run as if it had been encrypted.
 *
 * <p>The certificate is made by the {@code openssl} command line. Without it the class is skipped,
 * except in CI ({@code CI=true}), where it fails.
 */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TlsTest {
    @TempDir
    static Path dir;
    static Path cert;
    static Path key;
    static Tls serverTls;
    static Tls clientTls;
    private static final AtomicInteger RUNS = new AtomicInteger();

    private final List<Server> servers = new ArrayList<>();

    @BeforeAll
    static void makeCertificate() throws Exception {
        requireOpenssl();
        cert = dir.resolve("cert.pem");
        key = dir.resolve("key.pem");
        Run r = run(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key.toString(), "-out", cert.toString(), "-days", "1", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"), "");
        assertEquals(0, r.exit(), "openssl req failed: " + r.stderr());
        serverTls = Tls.server(cert, key);
        clientTls = Tls.client(cert);
    }

    static void requireOpenssl() {
        Openssl.require();
    }

    record Run(int exit, String stdout, String stderr) {}

    /** Runs a command with {@code stdin} as its input, bounded to 20 seconds. */
    static Run run(List<String> command, String stdin) throws Exception {
        Openssl.Run r = Openssl.run(dir, command, stdin);
        return new Run(r.exit(), r.stdout(), r.stderr());
    }

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

    static String tlsEndpoint(String iface) {
        return "tls:0:cert=" + cert + ":key=" + key + ":interface=" + iface;
    }

    static ClientOptions trusting() {
        return ClientOptions.builder()
                .readTimeout(Duration.ofSeconds(10))
                .connectTimeout(Duration.ofSeconds(10))
                .tls(clientTls)
                .build();
    }

    static String roundTrip(Connection c, LineReader r, String line) throws IOException {
        LineWriter.of(c).writeLine(line).flush();
        return r.readLine();
    }

    /** Answers each line with {@code secure:} or {@code plain:} and the line; "STARTTLS" upgrades. */
    static ConnectionHandler startTlsHandler(List<String> seen, CountDownLatch ended) {
        return c -> {
            try {
                LineReader r = LineReader.of(c, 1024);
                LineWriter w = LineWriter.of(c);
                String line;
                while ((line = r.readLine()) != null) {
                    seen.add(line);
                    if (line.equals("STARTTLS") && !c.isSecure()) {
                        w.writeLine("OK").flush();
                        c.startTls(serverTls);
                    } else {
                        w.writeLine((c.isSecure() ? "secure:" : "plain:") + line).flush();
                    }
                }
            } finally {
                ended.countDown();
            }
        };
    }

    @Test
    void tlsEndpointServesTheJdkClientThatTrustsItsCertificate() throws Exception {
        Server s = start(Server.builder("tls-echo").listen(tlsEndpoint("127.0.0.1"))
                .handler(startTlsHandler(new CopyOnWriteArrayList<>(), new CountDownLatch(1))));
        assertEquals("tls", s.bindings().get(0).protocol());
        try (Connection c = Client.connect(Endpoint.parseClient("tls:127.0.0.1:" + s.port()), trusting())) {
            assertTrue(c.isSecure());
            assertTrue(c.tlsSession().orElseThrow().getProtocol().startsWith("TLSv1."));
            LineReader r = LineReader.of(c, 1024);
            assertEquals("secure:hello", roundTrip(c, r, "hello"));
        }
        // the same with the trust file named in the endpoint and a host name (SNI, DNS SAN)
        ClientOptions noTls = ClientOptions.builder().readTimeout(Duration.ofSeconds(10)).build();
        try (Connection c = Client.connect(Endpoint.parseClient("tls:localhost:" + s.port() + ":trust=" + cert), noTls)) {
            assertEquals("secure:again", roundTrip(c, LineReader.of(c, 1024), "again"));
        }
    }

    @Test
    void jdkClientRefusesAServerItDoesNotTrust() throws Exception {
        Server s = start(Server.builder("tls-echo").listen(tlsEndpoint("127.0.0.1"))
                .handler(startTlsHandler(new CopyOnWriteArrayList<>(), new CountDownLatch(1))));
        ClientOptions defaultTrust = ClientOptions.builder().connectTimeout(Duration.ofSeconds(10)).build();
        IOException e = assertThrows(IOException.class,
                () -> Client.connect(Endpoint.parseClient("tls:127.0.0.1:" + s.port()), defaultTrust));
        assertInstanceOf(SSLHandshakeException.class, e.getCause(), String.valueOf(e.getCause()));
        // the server goes on serving clients that do trust it
        try (Connection c = Client.connect(Endpoint.parseClient("tls:127.0.0.1:" + s.port()), trusting())) {
            assertEquals("secure:ok", roundTrip(c, LineReader.of(c, 1024), "ok"));
        }
    }

    @Test
    void jdkClientRefusesACertificateForAnotherAddress() throws Exception {
        // the certificate names localhost and 127.0.0.1, not 127.0.0.2
        Server s = start(Server.builder("tls-echo").listen(tlsEndpoint("127.0.0.2"))
                .handler(startTlsHandler(new CopyOnWriteArrayList<>(), new CountDownLatch(1))));
        IOException e = assertThrows(IOException.class,
                () -> Client.connect(Endpoint.parseClient("tls:127.0.0.2:" + s.port()), trusting()));
        assertInstanceOf(SSLHandshakeException.class, e.getCause(), String.valueOf(e.getCause()));
    }

    @Test
    void startTlsChecksTheCertificateAgainstAGivenServerNameInsteadOfTheAddress() throws Exception {
        // reached at 127.0.0.2, which the certificate does not name; it does name localhost
        Server s = start(Server.builder("starttls").listen("tcp:0:interface=127.0.0.2")
                .handler(startTlsHandler(new CopyOnWriteArrayList<>(), new CountDownLatch(1))));
        ClientOptions plain = ClientOptions.builder().readTimeout(Duration.ofSeconds(10)).build();
        try (Connection c = Client.connect(Endpoint.parseClient("tcp:127.0.0.2:" + s.port()), plain)) {
            LineReader r = LineReader.of(c, 1024);
            assertEquals("OK", roundTrip(c, r, "STARTTLS"));
            c.startTls(clientTls, "localhost");
            assertEquals("secure:named", roundTrip(c, r, "named"));
        }
        try (Connection c = Client.connect(Endpoint.parseClient("tcp:127.0.0.2:" + s.port()), plain)) {
            assertEquals("OK", roundTrip(c, LineReader.of(c, 1024), "STARTTLS"));
            assertThrows(SSLHandshakeException.class, () -> c.startTls(clientTls));
        }
    }

    @Test
    void startTlsUpgradesAPlainConnectionWithTheJdkClient() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        Server s = start(Server.builder("starttls").listen(ServerTest.LOOPBACK).handler(startTlsHandler(seen, new CountDownLatch(1))));
        try (Connection c = Client.connect(Endpoint.parseClient("tcp:127.0.0.1:" + s.port()), trusting())) {
            LineReader r = LineReader.of(c, 1024);
            assertEquals("plain:hello", roundTrip(c, r, "hello"));
            assertFalse(c.isSecure());
            assertEquals("OK", roundTrip(c, r, "STARTTLS"));
            c.startTls(clientTls);
            assertTrue(c.isSecure());
            assertEquals("secure:after", roundTrip(c, r, "after"));
            assertThrows(IllegalStateException.class, () -> c.startTls(clientTls));
        }
        assertEquals(List.of("hello", "STARTTLS", "after"), seen);
    }

    @Test
    void startTlsDiscardsPlaintextPipelinedBeforeTheHandshake() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        CountDownLatch ended = new CountDownLatch(1);
        Server s = start(Server.builder("starttls").listen(ServerTest.LOOPBACK).handler(startTlsHandler(seen, ended)));
        try (Connection c = Client.connect(Endpoint.parseClient("tcp:127.0.0.1:" + s.port()), trusting())) {
            // the attack: a command injected after STARTTLS in the same plaintext packet
            c.output().write("STARTTLS\r\nINJECTED\r\n".getBytes(US_ASCII));
            c.flush();
            LineReader r = LineReader.of(c, 1024);
            assertEquals("OK", r.readLine());
            c.startTls(clientTls);
            assertEquals("secure:after", roundTrip(c, r, "after"));
            c.shutdownOutput();
            assertNull(r.readLine());
        }
        assertTrue(ended.await(20, TimeUnit.SECONDS));
        assertEquals(List.of("STARTTLS", "after"), seen, "INJECTED must never be read as a command");
    }

    @Test
    void startTlsWorksOverInMemoryConnectionsInEveryChunking() throws Exception {
        byte[] big = new byte[100_000];
        new java.util.Random(7).nextBytes(big);
        for (dev.twine.core.testing.Chunking chunking : dev.twine.core.testing.Chunking.standard()) {
            try (MemoryConnections.Served served = MemoryConnections.serve(c -> {
                LineReader r = LineReader.of(c, 1024);
                LineWriter w = LineWriter.of(c);
                assertEquals("STARTTLS", r.readLine());
                w.writeLine("OK").flush();
                c.startTls(serverTls);
                w.writeLine("secure " + c.isSecure() + ": " + r.readLine()).flush();
                byte[] got = c.input().readNBytes(big.length);
                c.output().write(java.security.MessageDigest.getInstance("SHA-256").digest(got));
                c.output().write(big);
                c.flush();
                assertEquals(-1, c.input().read(), "the client's close_notify ends the input");
            }, chunking)) {
                Connection c = served.client();
                LineReader r = LineReader.of(c, 1024);
                assertEquals("OK", roundTrip(c, r, "STARTTLS"));
                c.startTls(clientTls, "localhost");
                assertTrue(c.tlsSession().orElseThrow().getProtocol().startsWith("TLSv1."));
                assertEquals("secure true: hello", roundTrip(c, r, "hello"));
                c.output().write(big);
                c.flush();
                assertArrayEquals(java.security.MessageDigest.getInstance("SHA-256").digest(big), c.input().readNBytes(32),
                        chunking.toString());
                assertArrayEquals(big, c.input().readNBytes(big.length), chunking.toString());
                c.shutdownOutput();
                assertEquals(Optional.empty(), served.awaitHandler(Duration.ofSeconds(30)), chunking.toString());
            }
        }
    }

    @Test
    void inMemoryTlsCarriesBothDirectionsAtOnce() throws Exception {
        // each side writes 1 MB while reading the other's: wrap and unwrap run on two threads
        byte[] a = new byte[1 << 20];
        byte[] b = new byte[1 << 20];
        new java.util.Random(1).nextBytes(a);
        new java.util.Random(2).nextBytes(b);
        try (MemoryConnections.Pair p = MemoryConnections.pair(dev.twine.core.testing.Chunking.random(42));
                Scope scope = Scope.open("duplex")) {
            Handle<byte[]> serverGot = scope.fork("server", () -> {
                p.server().startTls(serverTls);
                return duplex(p.server(), b, a.length);
            });
            Handle<byte[]> clientGot = scope.fork("client", () -> {
                p.client().startTls(clientTls, "localhost");
                return duplex(p.client(), a, b.length);
            });
            scope.join();
            assertArrayEquals(a, serverGot.resultNow());
            assertArrayEquals(b, clientGot.resultNow());
        }
    }

    /** Writes {@code out} on a child thread while reading {@code expect} bytes; returns what was read. */
    private static byte[] duplex(Connection c, byte[] out, int expect) throws Exception {
        try (Scope s = Scope.open("duplex-" + c)) {
            s.fork("writer", () -> {
                for (int off = 0; off < out.length; off += 10_000) {
                    c.output().write(out, off, Math.min(10_000, out.length - off));
                }
                c.flush();
                return null;
            });
            byte[] got = c.input().readNBytes(expect);
            s.join();
            return got;
        }
    }

    @Test
    void inMemoryStartTlsRefusesAnUntrustedServerAndAWrongName() throws Exception {
        for (String name : List.of("localhost", "example.org")) {
            try (MemoryConnections.Served served = MemoryConnections.serve(c -> c.startTls(serverTls),
                    dev.twine.core.testing.Chunking.whole())) {
                Tls trustNothing = name.equals("localhost") ? Tls.client() : clientTls;
                assertThrows(SSLHandshakeException.class, () -> served.client().startTls(trustNothing, name));
                assertTrue(served.client().isClosed());
            }
        }
        // a client that sends plaintext instead of a ClientHello fails the server's handshake only
        try (MemoryConnections.Served served = MemoryConnections.serve(c -> c.startTls(serverTls),
                dev.twine.core.testing.Chunking.byteByByte())) {
            served.client().output().write("EHLO not tls\r\n".repeat(100).getBytes(US_ASCII));
            served.client().flush();
            Throwable t = served.awaitHandler(Duration.ofSeconds(30)).orElseThrow();
            assertInstanceOf(javax.net.ssl.SSLException.class, t, t.toString());
            assertTrue(served.server().isClosed());
        }
    }

    @Test
    void startTlsWorksOverUnixDomainSockets() throws Exception {
        Path sock = dir.resolve("tls-" + RUNS.incrementAndGet() + ".sock");
        start(Server.builder("unix-tls").listen("unix:" + sock)
                .handler(startTlsHandler(new CopyOnWriteArrayList<>(), new CountDownLatch(1))));
        try (Connection c = Client.connect(Endpoint.parseClient("unix:" + sock),
                ClientOptions.builder().readTimeout(Duration.ofSeconds(10)).build())) {
            LineReader r = LineReader.of(c, 1024);
            assertEquals("plain:before", roundTrip(c, r, "before"));
            assertEquals("OK", roundTrip(c, r, "STARTTLS"));
            c.startTls(clientTls, "localhost");
            assertEquals("secure:after", roundTrip(c, r, "after"));
        }
    }

    @Test
    void gracefulShutdownWakesATlsHandlerSoItSaysBye() throws Exception {
        BlockingQueue<Throwable> drained = new LinkedBlockingQueue<>();
        Server s = start(Server.builder("tls-polite").listen(tlsEndpoint("127.0.0.1")).handler(c -> {
            LineReader r = LineReader.of(c, 1024);
            try {
                String line;
                while ((line = r.readLine()) != null) {
                    LineWriter.of(c).writeLine(line).flush();
                }
            } catch (DrainingException e) {
                drained.add(e);
                LineWriter.of(c).writeLine("bye").flush();
            }
        }));
        try (Connection c = Client.connect(Endpoint.parseClient("tls:127.0.0.1:" + s.port()), trusting())) {
            LineReader r = LineReader.of(c, 1024);
            assertEquals("hi", roundTrip(c, r, "hi"));
            s.shutdown(Duration.ofSeconds(20));
            assertEquals("bye", r.readLine());
        }
        assertInstanceOf(DrainingException.class, drained.poll(20, TimeUnit.SECONDS));
    }

    @Test
    void readTimeoutOnATlsConnectionLetsTheHandlerSayGoodbye() throws Exception {
        BlockingQueue<Throwable> outcome = new LinkedBlockingQueue<>();
        Server s = start(Server.builder("tls-idle").listen(tlsEndpoint("127.0.0.1")).readTimeout(Duration.ofMillis(200)).handler(c -> {
            try {
                LineReader.of(c, 1024).readLine();
            } catch (SocketTimeoutException e) {
                outcome.add(e);
                LineWriter.of(c).writeLine("421 idle").flush();
            }
        }));
        try (Connection c = Client.connect(Endpoint.parseClient("tls:127.0.0.1:" + s.port()), trusting())) {
            assertEquals("421 idle", LineReader.of(c, 1024).readLine());
        }
        assertInstanceOf(SocketTimeoutException.class, outcome.poll(20, TimeUnit.SECONDS));
    }

    @Test
    void opensslClientTalksToATlsEndpoint() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        Server s = start(Server.builder("tls-once").listen(tlsEndpoint("127.0.0.1")).handler(c -> {
            String line = LineReader.of(c, 1024).readLine();
            seen.add(line);
            LineWriter.of(c).writeLine("echo:" + line + (c.isSecure() ? " (secure)" : "")).flush();
        }));
        Run r = run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + s.port(), "-quiet",
                "-CAfile", cert.toString(), "-verify_return_error", "-verify_hostname", "localhost"), "hello from openssl\n");
        assertTrue(r.stdout().contains("echo:hello from openssl (secure)"), "stdout: " + r.stdout() + "\nstderr: " + r.stderr());
        assertEquals(List.of("hello from openssl"), seen);
        // the server ended TLS properly (close_notify, RFC 8446 §6.1): no "unexpected eof"
        assertEquals(0, r.exit(), r.stderr());
    }

    @Test
    void handlerThatEndsTlsItselfIsClosedCleanlyToo() throws Exception {
        BlockingQueue<Throwable> failures = new LinkedBlockingQueue<>();
        Server s = start(Server.builder("tls-self").listen(tlsEndpoint("127.0.0.1")).handler(c -> {
            try {
                LineWriter.of(c).writeLine("done").flush();
                c.shutdownOutput();
            } catch (Throwable t) {
                failures.add(t);
                throw t;
            }
        }));
        Run r = run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + s.port(), "-quiet", "-CAfile", cert.toString()), "");
        assertTrue(r.stdout().contains("done"), r.stdout() + r.stderr());
        assertEquals(0, r.exit(), r.stderr());
        try (Connection c = Client.connect(Endpoint.parseClient("tls:127.0.0.1:" + s.port()), trusting())) {
            LineReader in = LineReader.of(c, 1024);
            assertEquals("done", in.readLine());
            assertNull(in.readLine(), "close_notify reads as end of stream");
        }
        assertNull(failures.poll());
    }

    @Test
    void handlerThatClosesATlsConnectionSendsCloseNotifyFirst() throws Exception {
        // what IMAP, POP3 and SMTP sessions do: write a goodbye, then close() in a finally block
        Server s = start(Server.builder("tls-close").listen(tlsEndpoint("127.0.0.1")).handler(c -> {
            try {
                LineWriter.of(c).writeLine("bye").flush();
            } finally {
                c.close();
            }
        }));
        Run r = run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + s.port(), "-quiet", "-CAfile", cert.toString()), "");
        assertTrue(r.stdout().contains("bye"), r.stdout() + r.stderr());
        // OpenSSL 3.0 reports a close without close_notify as "...:unexpected eof while reading:..." and exits 1
        assertFalse(r.stderr().contains("unexpected eof"), r.stderr());
        assertEquals(0, r.exit(), r.stderr());
    }

    @Test
    void closingFromAnotherThreadWhileTheHandlerReadsEndsBothSidesPromptly() throws Exception {
        BlockingQueue<Connection> accepted = new LinkedBlockingQueue<>();
        BlockingQueue<Throwable> readEnded = new LinkedBlockingQueue<>();
        Server s = start(Server.builder("tls-cut").listen(tlsEndpoint("127.0.0.1")).handler(c -> {
            accepted.add(c);
            try {
                LineReader.of(c, 1024).readLine(); // blocks: the client sends nothing
                readEnded.add(new EOFException("read returned"));
            } catch (IOException e) {
                readEnded.add(e);
            }
        }));
        try (Connection client = Client.connect(Endpoint.parseClient("tls:127.0.0.1:" + s.port()), trusting())) {
            Connection serverSide = accepted.poll(20, TimeUnit.SECONDS);
            assertNotNull(serverSide);
            long t0 = System.nanoTime();
            serverSide.close(); // e.g. an admin kicking a chat user, from another thread
            assertTrue(Duration.ofNanos(System.nanoTime() - t0).compareTo(Duration.ofSeconds(5)) < 0, "close() is bounded");
            assertNotNull(readEnded.poll(20, TimeUnit.SECONDS), "the blocked read ended");
            assertNull(LineReader.of(client, 1024).readLine(), "the client sees the end");
        }
    }

    @Test
    void aPeerThatVanishesWithoutCloseNotifyReadsAsEndOfStream() throws Exception {
        // an interrupted close skips close_notify: the way to make a server end TLS abruptly
        Server s = start(Server.builder("tls-abrupt").listen(tlsEndpoint("127.0.0.1")).handler(c -> {
            LineWriter.of(c).writeLine("bye").flush();
            Thread.currentThread().interrupt();
            c.close();
        }));
        Run r = run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + s.port(), "-quiet", "-CAfile", cert.toString()), "");
        assertTrue(r.stderr().contains("unexpected eof"), "the server really sent no close_notify: " + r.stderr());
        try (Connection c = Client.connect(Endpoint.parseClient("tls:127.0.0.1:" + s.port()), trusting())) {
            LineReader in = LineReader.of(c, 1024);
            assertEquals("bye", in.readLine());
            assertNull(in.readLine(), "a truncated TLS stream still ends; the protocol's own framing tells whether it was complete");
        }
    }

    /** Just enough SMTP (RFC 3207) for "openssl s_client -starttls smtp": answers one line over TLS and returns. */
    static ConnectionHandler smtpIsh(List<String> seen) {
        return c -> {
            LineReader r = LineReader.of(c, 1024);
            LineWriter w = LineWriter.of(c);
            w.writeLine("220 ready").flush();
            String line;
            while ((line = r.readLine()) != null) {
                seen.add((c.isSecure() ? "tls " : "plain ") + line);
                if (c.isSecure()) {
                    w.writeLine("secure:" + line).flush();
                    return;
                } else if (line.startsWith("EHLO ")) {
                    w.writeLine("250-x").writeLine("250 STARTTLS").flush();
                } else if (line.equals("STARTTLS")) {
                    w.writeLine("220 go ahead").flush();
                    c.startTls(serverTls);
                } else {
                    w.writeLine("530 5.7.0 must issue STARTTLS first").flush();
                }
            }
        };
    }

    @Test
    void startTlsOverAUnixSocketEndsWithCloseNotifyWhenTheHandlerCloses() throws Exception {
        // over a Unix domain socket TLS runs through an SSLEngine: its close() must say close_notify too
        Path sock = dir.resolve("smtp-" + RUNS.incrementAndGet() + ".sock");
        ConnectionHandler smtp = smtpIsh(new CopyOnWriteArrayList<>());
        start(Server.builder("smtp-unix").listen("unix:" + sock).handler(c -> {
            try {
                smtp.handle(c);
            } finally {
                c.close();
            }
        }));
        Run r = run(List.of("openssl", "s_client", "-unix", sock.toString(), "-starttls", "smtp", "-quiet",
                "-CAfile", cert.toString()), "hello over tls\n");
        assertTrue(r.stdout().contains("secure:hello over tls"), "stdout: " + r.stdout() + "\nstderr: " + r.stderr());
        assertFalse(r.stderr().contains("unexpected eof"), r.stderr());
        assertEquals(0, r.exit(), r.stderr());
    }

    @Test
    void opensslClientUpgradesWithSmtpStartTls() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        Server s = start(Server.builder("smtp-ish").listen(ServerTest.LOOPBACK).handler(smtpIsh(seen)));
        Run r = run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + s.port(), "-starttls", "smtp", "-quiet",
                "-CAfile", cert.toString(), "-verify_return_error", "-verify_ip", "127.0.0.1"), "hello over tls\n");
        assertTrue(r.stdout().contains("secure:hello over tls"), "stdout: " + r.stdout() + "\nstderr: " + r.stderr());
        assertEquals(3, seen.size(), seen.toString());
        assertTrue(seen.get(0).startsWith("plain EHLO "), seen.toString());
        assertEquals(List.of("plain STARTTLS", "tls hello over tls"), seen.subList(1, 3));
        assertEquals(0, r.exit(), r.stderr());
    }

    @Test
    void selfSignedCertificateServesJdkAndOpensslClientsAndIsKeptForTheNextStart() throws Exception {
        Path dir2 = Files.createTempDirectory(dir, "selfsigned");
        Path c = dir2.resolve("tls/cert.pem");
        Path k = dir2.resolve("tls/key.pem");
        Tls made = Tls.selfSigned(c, k, List.of("localhost", "127.0.0.1"));
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(k)));
        String certText = Files.readString(c);
        Server s = start(Server.builder("self").listen("tcp:0:interface=127.0.0.1").handler(conn -> {
            conn.startTls(made);
            LineWriter.of(conn).writeLine("hello " + LineReader.of(conn, 1024).readLine()).flush();
        }));
        // the JDK client, trusting the file, checks the IP address in the subjectAltName
        ClientOptions trustIt = ClientOptions.builder().readTimeout(Duration.ofSeconds(10)).tls(Tls.client(c)).build();
        try (Connection conn = Client.connect(Endpoint.parseClient("tcp:127.0.0.1:" + s.port()), trustIt)) {
            conn.startTls(Tls.client(c));
            assertEquals("hello jdk", roundTrip(conn, LineReader.of(conn, 1024), "jdk"));
        }
        // OpenSSL parses it, verifies the signature and the DNS name
        Run text = run(List.of("openssl", "x509", "-in", c.toString(), "-noout", "-text"), "");
        assertEquals(0, text.exit(), text.stderr());
        assertTrue(text.stdout().contains("DNS:localhost, IP Address:127.0.0.1"), text.stdout());
        assertTrue(text.stdout().contains("ecdsa-with-SHA256") && text.stdout().contains("CA:FALSE"), text.stdout());
        Run r = run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + s.port(), "-quiet", "-CAfile", c.toString(),
                "-verify_return_error", "-verify_hostname", "localhost"), "openssl\n");
        assertTrue(r.stdout().contains("hello openssl"), r.stdout() + r.stderr());
        // a second start reuses the files; an expired certificate is replaced
        Tls.selfSigned(c, k, List.of("localhost"));
        assertEquals(certText, Files.readString(c));
        var old = dev.twine.core.internal.SelfSigned.create(List.of("localhost"),
                java.time.Instant.parse("2020-01-01T00:00:00Z"), java.time.Instant.parse("2021-01-01T00:00:00Z"));
        Files.writeString(c, old.certificate());
        Files.writeString(k, old.privateKey());
        Tls.server(c, k); // the expired pair is well-formed
        Tls.selfSigned(c, k, List.of("localhost"));
        assertTrue(!Files.readString(c).equals(old.certificate()), "the expired certificate was replaced");
        Run after = run(List.of("openssl", "x509", "-in", c.toString(), "-noout", "-checkend", "86400"), "");
        assertEquals(0, after.exit(), "valid for more than a day: " + after.stdout());
    }

    @Test
    void serverTlsRefusesAKeyThatDoesNotBelongToTheCertificate() throws Exception {
        Path otherKey = dir.resolve("other-key.pem");
        Run r = run(List.of("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", otherKey.toString()), "");
        assertEquals(0, r.exit(), r.stderr());
        IOException e = assertThrows(IOException.class, () -> Tls.server(cert, otherKey));
        assertTrue(e.getMessage().contains(otherKey.toString()) && e.getMessage().contains("does not belong"), e.getMessage());

        Path rsaKey = dir.resolve("rsa-key.pem");
        r = run(List.of("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", rsaKey.toString()), "");
        assertEquals(0, r.exit(), r.stderr());
        IOException rsa = assertThrows(IOException.class, () -> Tls.server(cert, rsaKey));
        assertTrue(rsa.getMessage().contains("does not belong"), rsa.getMessage());
    }

    @Test
    void serverTlsLoadsMatchingRsaAndEd25519Keys() throws Exception {
        for (String type : List.of("rsa:2048", "ed25519")) {
            String n = type.replace(':', '-');
            Path c = dir.resolve(n + "-cert.pem");
            Path k = dir.resolve(n + "-key.pem");
            Run r = run(List.of("openssl", "req", "-x509", "-newkey", type, "-nodes", "-keyout", k.toString(), "-out", c.toString(),
                    "-days", "1", "-subj", "/CN=localhost"), "");
            assertEquals(0, r.exit(), r.stderr());
            assertFalse(Tls.server(c, k).isClient(), type);
        }
    }

    @Test
    void serverTlsExplainsHowToConvertAnOldFormatKey() throws Exception {
        Path sec1 = dir.resolve("sec1-key.pem");
        Run r = run(List.of("openssl", "ec", "-in", key.toString(), "-out", sec1.toString()), "");
        assertEquals(0, r.exit(), r.stderr());
        assertTrue(Files.readString(sec1).contains("BEGIN EC PRIVATE KEY"), "openssl wrote SEC1");
        IOException e = assertThrows(IOException.class, () -> Tls.server(cert, sec1));
        assertTrue(e.getMessage().contains("PKCS#8") && e.getMessage().contains("openssl pkcs8 -topk8"), e.getMessage());
    }

    @Test
    void clientOptionsRefuseAServerTlsConfiguration() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClientOptions.builder().tls(serverTls));
        assertTrue(e.getMessage().contains("client TLS configuration"), e.getMessage());
    }

    @Test
    void serverTlsLoadingNamesTheBadFile() throws Exception {
        Path missing = dir.resolve("missing.pem");
        IOException e = assertThrows(IOException.class, () -> Tls.server(missing, key));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        IOException swapped = assertThrows(IOException.class, () -> Tls.server(key, cert));
        assertTrue(swapped.getMessage().contains(key.toString()), swapped.getMessage());
        Server.Builder b = Server.builder("bad-tls").listen("tls:0:cert=" + missing + ":key=" + key + ":interface=127.0.0.1")
                .handler(c -> {});
        IOException bind = assertThrows(IOException.class, b::start);
        assertTrue(bind.getMessage().contains("cannot listen on tls:127.0.0.1:0"), bind.getMessage());
        assertNotNull(bind.getMessage());
    }
}
