package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * If server and client offer application protocols by ALPN, then the handshake picks the
 * server's first choice that the client offers, both sides' {@link Connection#applicationProtocol()}
 * say so, and a client offering only other protocols is refused.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TlsAlpnTest {
    @TempDir
    static Path dir;
    static Path cert;
    static Path key;
    Server server;
    final BlockingQueue<Optional<String>> serverSaw = new LinkedBlockingQueue<>();

    @BeforeAll
    static void makeCertificate() throws Exception {
        Openssl.require();
        cert = dir.resolve("cert.pem");
        key = dir.resolve("key.pem");
        Openssl.selfSigned(dir, cert, key, "localhost", "DNS:localhost");
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    /** Handshakes at once (as a tls: endpoint does) with {@code tls}; writes what ALPN chose. */
    int start(Tls tls) throws IOException {
        server = Server.builder("alpn").listen("tcp:0:interface=127.0.0.1").handler(c -> {
            c.startTls(tls);
            serverSaw.add(c.applicationProtocol());
            LineWriter.of(c).writeLine("chose " + c.applicationProtocol().orElse("nothing")).flush();
        }).start();
        return server.port();
    }

    Connection connect(int port, Tls client) throws IOException {
        Connection c = Client.connect(Endpoint.parseClient("tcp:127.0.0.1:" + port),
                ClientOptions.builder().readTimeout(Duration.ofSeconds(10)).build());
        c.startTls(client, "localhost");
        return c;
    }

    @Test
    void aTlsEndpointWithoutItsOwnPairUsesTheServersConfiguration() throws Exception {
        server = Server.builder("alpn").listen("tls:0:interface=127.0.0.1")
                .tls(Tls.serverBuilder().certificate(cert, key).alpn("imap").build())
                .handler(c -> LineWriter.of(c).writeLine("chose " + c.applicationProtocol().orElse("nothing")).flush())
                .start();
        Openssl.Run r = Openssl.run(dir, List.of("openssl", "s_client", "-connect", "127.0.0.1:" + server.port(),
                "-alpn", "imap", "-ign_eof", "-CAfile", cert.toString()), "");
        assertTrue(r.stdout().contains("ALPN protocol: imap"), r.stdout() + r.stderr());
        assertTrue(r.stdout().contains("chose imap"), r.stdout());
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Server.builder("bare").listen("tls:0").handler(c -> { }).build());
        assertTrue(e.getMessage().contains("tls needs cert=FILE:key=FILE"), e.getMessage());
    }

    @Test
    void opensslGetsTheServersFirstChoiceAmongThoseItOffers() throws Exception {
        int port = start(Tls.serverBuilder().certificate(cert, key).alpn("imap", "pop3").build());
        Openssl.Run r = Openssl.run(dir, List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-alpn", "pop3,imap", "-ign_eof", "-CAfile", cert.toString()), "");
        assertTrue(r.stdout().contains("ALPN protocol: imap"), r.stdout() + r.stderr());
        assertTrue(r.stdout().contains("chose imap"), r.stdout());
        assertEquals(Optional.of("imap"), serverSaw.poll(10, TimeUnit.SECONDS));

        Openssl.Run none = Openssl.run(dir, List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-ign_eof", "-CAfile", cert.toString()), "");
        assertTrue(none.stdout().contains("chose nothing"), "no ALPN from the client is fine: " + none.stdout() + none.stderr());

        Openssl.Run other = Openssl.run(dir, List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-alpn", "h2,http/1.1", "-CAfile", cert.toString()), "");
        assertNotEquals(0, other.exit());
        assertTrue(other.stderr().contains("no application protocol"), other.stdout() + other.stderr());
    }

    @Test
    void aServersOwnProtocolIsOfferedOnTlsListenersWhoseConfigurationOffersNone() throws Exception {
        Tls plain = Tls.server(cert, key); // built without alpn(...)
        server = Server.builder("alpn").alpn("imap")
                .listen("tls:0:interface=127.0.0.1:cert=" + cert + ":key=" + key)
                .listen("tls:0:interface=127.0.0.1").tls(plain)
                .handler(c -> LineWriter.of(c).writeLine("chose " + c.applicationProtocol().orElse("nothing")).flush())
                .start();
        assertEquals(List.of(), plain.applicationProtocols(), "the given configuration itself is unchanged");
        for (Binding b : server.bindings()) {
            Tls client = Tls.clientBuilder().trust(cert).alpn("pop3", "imap").build();
            try (Connection c = Client.connect(Endpoint.parseClient("tls:localhost:" + b.port()),
                    ClientOptions.builder().tls(client).readTimeout(Duration.ofSeconds(10)).build())) {
                assertEquals("chose imap", LineReader.of(c, 1024).readLine(), b.toString());
                assertEquals(Optional.of("imap"), c.applicationProtocol());
            }
        }
        // a configuration with its own list keeps it
        Tls own = Tls.serverBuilder().certificate(cert, key).alpn("xmpp-client").build();
        server.close();
        server = Server.builder("alpn").alpn("imap").listen("tls:0:interface=127.0.0.1").tls(own)
                .handler(c -> LineWriter.of(c).writeLine("chose " + c.applicationProtocol().orElse("nothing")).flush())
                .start();
        Openssl.Run r = Openssl.run(dir, List.of("openssl", "s_client", "-connect", "127.0.0.1:" + server.port(),
                "-alpn", "imap,xmpp-client", "-ign_eof", "-CAfile", cert.toString()), "");
        assertTrue(r.stdout().contains("ALPN protocol: xmpp-client"), r.stdout() + r.stderr());
        assertThrows(IllegalArgumentException.class, () -> Server.builder("x").alpn(""));
    }

    @Test
    void jdkClientAndServerAgreeOnTheServersPreference() throws Exception {
        int port = start(Tls.serverBuilder().certificate(cert, key).alpn("xmpp-client", "imap").build());
        Tls client = Tls.clientBuilder().trust(cert).alpn("imap", "xmpp-client").build();
        try (Connection c = connect(port, client)) {
            assertEquals("chose xmpp-client", LineReader.of(c, 1024).readLine());
            assertEquals(Optional.of("xmpp-client"), c.applicationProtocol());
        }
        assertEquals(Optional.of("xmpp-client"), serverSaw.poll(10, TimeUnit.SECONDS));

        try (Connection c = connect(port, Tls.client(cert))) {
            assertEquals(Optional.empty(), c.applicationProtocol(), "a client without ALPN gets none");
        }
        assertThrows(SSLHandshakeException.class,
                () -> connect(port, Tls.clientBuilder().trust(cert).alpn("smtp").build()).close());
    }

    @Test
    void jdkClientSendsItsListToOpensslServer() throws Exception {
        // openssl s_server as the independent server: it answers with its own ALPN choice
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        Process p = new ProcessBuilder("openssl", "s_server", "-accept", "127.0.0.1:" + port, "-cert", cert.toString(),
                "-key", key.toString(), "-alpn", "dot,imap", "-naccept", "1", "-quiet")
                .redirectErrorStream(true).redirectOutput(dir.resolve("s_server.txt").toFile()).start();
        try {
            Tls client = Tls.clientBuilder().trust(cert).alpn("imap").build();
            Connection c = null;
            for (int i = 0; i < 100 && c == null; i++) {
                try {
                    c = connect(port, client);
                } catch (IOException notYet) {
                    if (!(notYet.getCause() instanceof java.net.ConnectException)) {
                        throw notYet;
                    }
                    Thread.sleep(50); // s_server is still starting: no way to wait for its bind otherwise
                }
            }
            try (Connection connected = c) {
                assertEquals(Optional.of("imap"), connected.applicationProtocol());
            }
        } finally {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void alpnNamesAreOneTo255Bytes() {
        assertThrows(IllegalArgumentException.class, () -> Tls.serverBuilder().alpn(""));
        assertThrows(IllegalArgumentException.class, () -> Tls.clientBuilder().alpn("x".repeat(256)));
    }
}
