package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.AuthenticationException;
import dev.twine.core.auth.CertificateChecker;
import dev.twine.core.auth.CertificateCredentials;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UsernamePassword;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * If a server asks for client certificates, then a certificate its CA issued reaches the handler
 * verified and, through {@link CertificateCredentials}, the {@link Portal} as a user; a missing
 * certificate is refused when required and served without when only requested; a certificate from
 * another issuer fails the handshake. Clients are {@code openssl s_client -cert} and the JDK's.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TlsClientAuthTest {
    @TempDir
    static Path dir;
    static Path cert;
    static Path key;
    static Path ca;
    static Path alice;
    static Path aliceKey;
    static Path mallory;
    static Path malloryKey;
    static final Portal PORTAL = Portal.builder().checker(CertificateChecker.standard()).build();
    Server server;

    @BeforeAll
    static void makeCertificates() throws Exception {
        Openssl.require();
        cert = dir.resolve("server.pem");
        key = dir.resolve("server.key");
        Openssl.selfSigned(dir, cert, key, "localhost", "DNS:localhost");
        ca = dir.resolve("ca.pem");
        Path caKey = dir.resolve("ca.key");
        Openssl.selfSigned(dir, ca, caKey, "Test CA");
        alice = dir.resolve("alice.pem");
        aliceKey = dir.resolve("alice.key");
        Path csr = dir.resolve("alice.csr");
        Path ext = Files.writeString(dir.resolve("alice.ext"), "subjectAltName=email:alice@example.org\n");
        ok(Openssl.run(dir, List.of("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", aliceKey.toString(), "-out", csr.toString(), "-subj", "/CN=alice"), ""));
        ok(Openssl.run(dir, List.of("openssl", "x509", "-req", "-in", csr.toString(), "-CA", ca.toString(), "-CAkey", caKey.toString(),
                "-CAcreateserial", "-days", "1", "-extfile", ext.toString(), "-out", alice.toString()), ""));
        mallory = dir.resolve("mallory.pem");
        malloryKey = dir.resolve("mallory.key");
        Openssl.selfSigned(dir, mallory, malloryKey, "alice"); // the right name, the wrong issuer
    }

    static void ok(Openssl.Run r) {
        assertEquals(0, r.exit(), r.stderr());
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    /** Reads a claimed user name (maybe empty) and answers who the portal says the client is. */
    int start(Tls.ClientAuth mode) throws IOException {
        Tls tls = Tls.serverBuilder().certificate(cert, key).clientAuth(mode, ca).build();
        server = Server.builder("client-auth").listen("tcp:0:interface=127.0.0.1").handler(c -> {
            c.startTls(tls);
            String claim = LineReader.of(c, 1024).readLine();
            List<X509Certificate> chain = c.peerCertificates();
            String answer;
            if (chain.isEmpty()) {
                answer = "no certificate";
            } else {
                try {
                    answer = "user " + PORTAL.authenticate(new CertificateCredentials(claim, chain)).name();
                } catch (AuthenticationException e) {
                    answer = "refused";
                }
            }
            LineWriter.of(c).writeLine(answer).flush();
        }).start();
        return server.port();
    }

    Openssl.Run openssl(int port, String stdin, String... certificateOptions) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-quiet",
                "-CAfile", cert.toString()));
        cmd.addAll(List.of(certificateOptions));
        return Openssl.run(dir, cmd, stdin);
    }

    String jdk(int port, Tls client, String claim) throws IOException {
        try (Connection c = Client.connect(Endpoint.parseClient("tcp:127.0.0.1:" + port),
                ClientOptions.builder().readTimeout(Duration.ofSeconds(10)).build())) {
            c.startTls(client, "localhost");
            LineWriter.of(c).writeLine(claim).flush();
            return LineReader.of(c, 1024).readLine();
        }
    }

    @Test
    void opensslClientCertificateReachesThePortal() throws Exception {
        int port = start(Tls.ClientAuth.REQUIRE);
        Openssl.Run r = openssl(port, "\n", "-cert", alice.toString(), "-key", aliceKey.toString());
        assertTrue(r.stdout().contains("user alice"), r.stdout() + r.stderr());
        r = openssl(port, "alice@example.org\n", "-cert", alice.toString(), "-key", aliceKey.toString());
        assertTrue(r.stdout().contains("user alice@example.org"), "an e-mail subjectAltName: " + r.stdout() + r.stderr());
        r = openssl(port, "bob\n", "-cert", alice.toString(), "-key", aliceKey.toString());
        assertTrue(r.stdout().contains("refused"), r.stdout() + r.stderr());
    }

    @Test
    void requiredCertificateMissingOrFromAnotherIssuerFailsTheHandshake() throws Exception {
        int port = start(Tls.ClientAuth.REQUIRE);
        Openssl.Run none = openssl(port, "\n");
        assertFalse(none.stdout().contains("user") || none.stdout().contains("no certificate"), none.stdout());
        assertTrue(none.stderr().contains("alert certificate required"), none.stderr());
        Openssl.Run other = openssl(port, "\n", "-cert", mallory.toString(), "-key", malloryKey.toString());
        assertFalse(other.stdout().contains("user"), other.stdout());
        // TLS 1.3: the client's handshake is done before the server has checked its certificate,
        // so the JDK client learns of the refusal on its first read
        assertThrows(IOException.class, () -> jdk(port, Tls.client(cert), ""));
    }

    @Test
    void requestedCertificateIsOptionalButVerifiedWhenSent() throws Exception {
        int port = start(Tls.ClientAuth.REQUEST);
        assertTrue(openssl(port, "\n").stdout().contains("no certificate"));
        assertEquals("no certificate", jdk(port, Tls.client(cert), ""));
        Tls withAlice = Tls.clientBuilder().trust(cert).certificate(alice, aliceKey).build();
        assertEquals("user alice", jdk(port, withAlice, ""));
        assertEquals("refused", jdk(port, withAlice, "bob"));
        Openssl.Run other = openssl(port, "\n", "-cert", mallory.toString(), "-key", malloryKey.toString());
        assertFalse(other.stdout().contains("user") || other.stdout().contains("no certificate"), other.stdout());
    }

    @Test
    void serverSeesNoClientChainWithoutClientAuthAndTheClientSeesTheServers() throws Exception {
        int port = start(Tls.ClientAuth.NONE);
        Tls withAlice = Tls.clientBuilder().trust(cert).certificate(alice, aliceKey).build();
        assertEquals("no certificate", jdk(port, withAlice, ""));
        try (Connection c = Client.connect(Endpoint.parseClient("tcp:127.0.0.1:" + port),
                ClientOptions.builder().readTimeout(Duration.ofSeconds(10)).build())) {
            assertEquals(List.of(), c.peerCertificates(), "no TLS yet");
            c.startTls(Tls.client(cert), "localhost");
            assertEquals("CN=localhost", c.peerCertificates().get(0).getSubjectX500Principal().getName());
        }
    }

    @Test
    void certificateCheckerHandlesOnlyCertificatesAndRejectsOnesThatNameNobody() throws Exception {
        X509Certificate leaf = (X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
                .generateCertificate(Files.newInputStream(alice));
        assertEquals("alice", CertificateChecker.standard().check(new CertificateCredentials("", List.of(leaf))).orElseThrow().name());
        assertEquals("EXTERNAL", PORTAL.authenticate(new CertificateCredentials("alice", List.of(leaf))).mechanism());
        assertEquals(Optional.empty(), CertificateChecker.standard().check(new UsernamePassword("alice", "pw")));
        CertificateChecker nobody = CertificateChecker.mapping(c -> List.of());
        assertThrows(AuthenticationException.class, () -> nobody.check(new CertificateCredentials("", List.of(leaf))));
        CertificateChecker bySerial = CertificateChecker.mapping(c -> List.of("user-" + c.getSerialNumber().signum()));
        assertEquals("user-1", bySerial.check(new CertificateCredentials("", List.of(leaf))).orElseThrow().name());
        assertThrows(IllegalArgumentException.class, () -> new CertificateCredentials("", List.of()));
    }

    @Test
    void aServerAsClientPresentsItsCertificateToAServerRequestingAnyAndReadingItUnverified() throws Exception {
        // RFC 6120 §13.7.2: a peer server's certificate is judged by the protocol after the handshake
        Tls peers = Tls.server(mallory, malloryKey).requestingAnyClientCertificate();
        assertEquals(List.of("x"), peers.withAlpn("x").applicationProtocols());
        server = Server.builder("peers").listen("tcp:0:interface=127.0.0.1").handler(c -> {
            c.startTls(peers);
            LineReader.of(c, 1024).readLine();
            List<X509Certificate> chain = c.peerCertificates();
            LineWriter.of(c).writeLine(chain.isEmpty() ? "none" : chain.get(0).getSubjectX500Principal().getName()).flush();
        }).start();
        Tls asClient = Tls.server(cert, key).asClientAcceptingAnyCertificate();
        assertTrue(asClient.isClient());
        assertEquals("CN=localhost", jdk(server.port(), asClient, ""), "a self-signed certificate no one trusts gets through");
        assertEquals("none", jdk(server.port(), Tls.clientAcceptingAnyCertificate(), ""));
        assertThrows(IllegalStateException.class, () -> Tls.client().requestingAnyClientCertificate());
        assertThrows(IllegalStateException.class, () -> asClient.asClientAcceptingAnyCertificate());
    }
}
