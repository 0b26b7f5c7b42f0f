package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * If a server {@link Tls} has certificates for several names, then each client gets the one for
 * the name it asks for (SNI), wildcards cover one label, and anything else gets the default: as
 * {@code openssl s_client -servername} and the JDK client see it.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TlsSniTest {
    @TempDir
    static Path dir;
    static Tls serverTls;
    static Path trust;
    Server server;

    @BeforeAll
    static void makeCertificates() throws Exception {
        Openssl.require();
        Openssl.selfSigned(dir, dir.resolve("default.pem"), dir.resolve("default.key"), "default", "DNS:localhost");
        Openssl.selfSigned(dir, dir.resolve("mail.pem"), dir.resolve("mail.key"), "mail", "DNS:mail.example.org");
        Openssl.selfSigned(dir, dir.resolve("wild.pem"), dir.resolve("wild.key"), "wild", "DNS:*.example.net");
        serverTls = Tls.serverBuilder()
                .certificate(dir.resolve("default.pem"), dir.resolve("default.key"))
                .certificate("mail.example.org", dir.resolve("mail.pem"), dir.resolve("mail.key"))
                .certificate("*.example.net", dir.resolve("wild.pem"), dir.resolve("wild.key"))
                .build();
        trust = Openssl.concat(dir.resolve("trust.pem"), dir.resolve("default.pem"), dir.resolve("mail.pem"), dir.resolve("wild.pem"));
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    /** A server that handshakes at once with {@link #serverTls} and says which name it served. */
    int start() throws IOException {
        server = Server.builder("sni").listen("tcp:0:interface=127.0.0.1").handler(c -> {
            c.startTls(serverTls);
            LineWriter.of(c).writeLine("hello").flush();
        }).start();
        return server.port();
    }

    String opensslSees(int port, String... nameOptions) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port));
        cmd.addAll(List.of(nameOptions));
        Openssl.Run r = Openssl.run(dir, cmd, "");
        for (String line : r.stdout().split("\n")) {
            if (line.startsWith("subject=")) {
                return line.substring("subject=".length()).replace(" ", "");
            }
        }
        throw new AssertionError("no subject in openssl's output: " + r.stdout() + r.stderr());
    }

    @Test
    void opensslGetsTheCertificateOfTheNameItAsksFor() throws Exception {
        int port = start();
        assertEquals("CN=mail", opensslSees(port, "-servername", "mail.example.org"));
        assertEquals("CN=mail", opensslSees(port, "-servername", "MAIL.Example.ORG"));
        assertEquals("CN=wild", opensslSees(port, "-servername", "imap.example.net"));
        assertEquals("CN=default", opensslSees(port, "-servername", "a.b.example.net"), "a wildcard covers one label only");
        assertEquals("CN=default", opensslSees(port, "-servername", "example.net"));
        assertEquals("CN=default", opensslSees(port, "-servername", "other.example.com"));
        assertEquals("CN=default", opensslSees(port, "-noservername"));
    }

    @Test
    void jdkClientVerifiesTheCertificateForTheNameItAsksFor() throws Exception {
        int port = start();
        Tls client = Tls.client(trust);
        for (String name : List.of("mail.example.org", "smtp.example.net")) {
            try (Connection c = Client.connect(Endpoint.parseClient("tcp:127.0.0.1:" + port),
                    ClientOptions.builder().readTimeout(Duration.ofSeconds(10)).build())) {
                c.startTls(client, name); // host name verification against the SAN passes
                assertEquals("hello", LineReader.of(c, 1024).readLine());
                X509Certificate leaf = (X509Certificate) c.tlsSession().orElseThrow().getPeerCertificates()[0];
                assertEquals(name.startsWith("mail") ? "CN=mail" : "CN=wild", leaf.getSubjectX500Principal().getName());
            }
        }
    }

    @Test
    void wildcardsCoverExactlyOneLeftmostLabel() {
        assertTrue(ServerCertificates.nameMatches("*.example.org", "mail.example.org"));
        assertTrue(ServerCertificates.nameMatches("*.example.org", "MAIL.EXAMPLE.ORG"));
        assertFalse(ServerCertificates.nameMatches("*.example.org", "example.org"));
        assertFalse(ServerCertificates.nameMatches("*.example.org", "a.b.example.org"));
        assertFalse(ServerCertificates.nameMatches("*.example.org", ".example.org"));
        assertFalse(ServerCertificates.nameMatches("*.example.org", "mailexample.org"));
        assertTrue(ServerCertificates.nameMatches("Mail.Example.org", "mail.example.ORG"));
    }

    @Test
    void builderRefusesABadNameAndANamedCertificateWithoutADefault() {
        Path c = dir.resolve("mail.pem");
        Path k = dir.resolve("mail.key");
        assertThrows(IllegalArgumentException.class, () -> Tls.serverBuilder().certificate("*.org", c, k));
        assertThrows(IllegalArgumentException.class, () -> Tls.serverBuilder().certificate("a..b", c, k));
        assertThrows(IllegalArgumentException.class, () -> Tls.serverBuilder().certificate("mail.*.org", c, k));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Tls.serverBuilder().certificate("mail.example.org", c, k).build());
        assertTrue(e.getMessage().contains("certificate(certificateChain, privateKey) is required"), e.getMessage());
    }
}
