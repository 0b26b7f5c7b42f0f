package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.internal.SelfSigned;
import dev.twine.core.testing.MemoryConnections;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.ResourceBundle;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * If a server's PEM files change on disk, then the next handshake is served the new pair, open
 * connections keep working, and a bad pair is refused (logged once) while the old one stays.
 */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TlsReloadTest {
    @TempDir
    Path dir;
    Path cert;
    Path key;
    Path certB;
    Path keyB;
    Tls trustingBoth;

    @BeforeEach
    void makeTwoPairs() throws Exception {
        Openssl.require();
        cert = dir.resolve("cert.pem");
        key = dir.resolve("key.pem");
        certB = dir.resolve("b-cert.pem");
        keyB = dir.resolve("b-key.pem");
        Openssl.selfSigned(dir, cert, key, "first", "DNS:localhost", "IP:127.0.0.1");
        Openssl.selfSigned(dir, certB, keyB, "second", "DNS:localhost", "IP:127.0.0.1");
        trustingBoth = Tls.client(Openssl.concat(dir.resolve("trust.pem"), cert, certB));
    }

    /** Replaces {@code target} with {@code source} the way ACME clients do (rename), with a later mtime. */
    static void replace(Path source, Path target) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".new");
        Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.setLastModifiedTime(tmp, FileTime.from(Files.getLastModifiedTime(target).toInstant().plusSeconds(10)));
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    static String servedName(Connection c) throws IOException {
        X509Certificate leaf = (X509Certificate) c.tlsSession().orElseThrow().getPeerCertificates()[0];
        return leaf.getSubjectX500Principal().getName();
    }

    static String roundTrip(Connection c, String line) throws IOException {
        LineWriter.of(c).writeLine(line).flush();
        return LineReader.of(c, 1024).readLine();
    }

    @Test
    void certificateReplacedOnDiskIsServedToTheNextHandshakeWhileTheOldConnectionKeepsWorking() throws Exception {
        try (Server s = Server.builder("tls-renew").listen("tls:0:cert=" + cert + ":key=" + key + ":interface=127.0.0.1")
                .handler(c -> {
                    LineReader r = LineReader.of(c, 1024);
                    String line;
                    while ((line = r.readLine()) != null) {
                        LineWriter.of(c).writeLine("echo:" + line).flush();
                    }
                }).start()) {
            ClientOptions options = ClientOptions.builder().tls(trustingBoth).readTimeout(Duration.ofSeconds(10)).build();
            Endpoint endpoint = Endpoint.parseClient("tls:127.0.0.1:" + s.port());
            try (Connection before = Client.connect(endpoint, options)) {
                assertEquals("echo:one", roundTrip(before, "one"));
                assertEquals("CN=first", servedName(before));

                replace(keyB, key);
                replace(certB, cert);

                try (Connection after = Client.connect(endpoint, options)) {
                    assertEquals("echo:two", roundTrip(after, "two"));
                    assertEquals("CN=second", servedName(after), "the renewed certificate, without a restart");
                }
                assertEquals("echo:three", roundTrip(before, "three"), "the connection made before the renewal goes on");
                assertEquals("CN=first", servedName(before));
            }
            assertFalse(s.reload(), "SIGHUP after the handshake has picked the files up: nothing new");
            Files.writeString(key, "not a key");
            IOException e = assertThrows(IOException.class, s::reload);
            assertTrue(e.getMessage().contains(key.toString()), e.getMessage());
            try (Connection again = Client.connect(endpoint, options)) {
                assertEquals("CN=second", servedName(again), "a bad file keeps the pair being served");
            }
        }
    }

    /** Runs one STARTTLS handshake over memory connections (the SSLEngine path) and returns the served subject. */
    String handshake(Tls server) throws Exception {
        try (MemoryConnections.Served served = MemoryConnections.serve(c -> c.startTls(server), dev.twine.core.testing.Chunking.whole())) {
            served.client().startTls(trustingBoth, "localhost");
            return servedName(served.client());
        }
    }

    @Test
    void mismatchedPairKeepsTheOldCertificateAndIsLoggedOnce() throws Exception {
        List<String> warnings = new CopyOnWriteArrayList<>();
        System.Logger capture = new System.Logger() {
            @Override
            public String getName() {
                return Tls.class.getName();
            }

            @Override
            public boolean isLoggable(Level level) {
                return true;
            }

            @Override
            public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
                log(level, bundle, msg, new Object[0]);
            }

            @Override
            public void log(Level level, ResourceBundle bundle, String format, Object... params) {
                if (level == Level.WARNING) {
                    warnings.add(java.text.MessageFormat.format(format, params));
                }
            }
        };
        Tls tls = Tls.serverBuilder().certificate(cert, key).log(capture).build();
        assertEquals("CN=first", handshake(tls));

        replace(keyB, key); // the new key without its certificate: a renewal caught half-way
        assertEquals("CN=first", handshake(tls));
        assertEquals("CN=first", handshake(tls));
        assertEquals(1, warnings.size(), "logged once, not per handshake: " + warnings);
        IOException e = assertThrows(IOException.class, tls::reload);
        assertTrue(e.getMessage().contains(key.toString()) && e.getMessage().contains("does not belong"), e.getMessage());

        replace(certB, cert); // the renewal completes
        assertEquals("CN=second", handshake(tls));
        assertTrue(warnings.get(0).contains(key.toString()), warnings.get(0));
    }

    @Test
    void reloadSaysWhetherThePairChangedAndRefusesAnExpiredCertificate() throws Exception {
        Tls tls = Tls.serverBuilder().certificate(cert, key).reloading(false).build();
        assertFalse(tls.reload(), "same files, same pair");

        replace(keyB, key);
        replace(certB, cert);
        assertEquals("CN=first", handshake(tls), "not reloading by itself");
        assertTrue(tls.reload());
        assertEquals("CN=second", handshake(tls));

        Instant now = Instant.now();
        SelfSigned.Pem expired = SelfSigned.create(List.of("localhost"), now.minus(Duration.ofDays(3)), now.minus(Duration.ofDays(1)));
        Files.writeString(key, expired.privateKey());
        Files.writeString(cert, expired.certificate());
        IOException e = assertThrows(IOException.class, tls::reload);
        assertTrue(e.getMessage().contains(cert.toString()) && e.getMessage().contains("expired"), e.getMessage());
        assertEquals("CN=second", handshake(tls), "the previous pair stays");
        assertFalse(Tls.client().reload(), "a client has nothing to reload");
    }
}
