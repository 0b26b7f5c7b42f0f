package dev.twine.core;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.AuthPolicy;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * If a Flight Recorder recording runs, then each connection leaves one dev.twine.Connection event
 * with its bytes, refusals leave dev.twine.ConnectionRefused, and logins dev.twine.Login.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FlightRecorderTest {

    @TempDir
    Path dir;

    @Test
    void tlsHandshakesAreRecordedWithProtocolAndCipher() throws Exception {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Tls.selfSigned(cert, key, List.of("localhost"));
        Path file = dir.resolve("tls.jfr");
        try (Recording rec = new Recording()) {
            rec.enable("dev.twine.TlsHandshake").withThreshold(Duration.ZERO);
            rec.start();
            try (Server s = Server.builder("tls-echo").listen("tls:0:interface=127.0.0.1:cert=" + cert + ":key=" + key)
                    .handler(c -> LineWriter.of(c).writeLine("hi").flush()).start();
                 Connection c = Client.connect("tls:localhost:" + s.port() + ":trust=" + cert)) {
                assertEquals("hi", LineReader.of(c, 100).readLine());
            }
            rec.stop();
            rec.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().equals("dev.twine.TlsHandshake")).toList();
        RecordedEvent server = events.stream().filter(e -> "tls-echo".equals(e.getString("service"))).findFirst()
                .orElseThrow(() -> new AssertionError("no server handshake in " + events));
        assertEquals("tls", server.getString("kind"));
        assertTrue(server.getString("protocol").startsWith("TLSv1."), server.toString());
        assertTrue(server.getString("cipherSuite").startsWith("TLS_"), server.toString());
        assertEquals("localhost", server.getString("serverName"), server.toString());
    }

    @Test
    void connectionsRefusalsAndLoginsAreRecorded() throws Exception {
        Path file = dir.resolve("rec.jfr");
        try (Recording rec = new Recording()) {
            rec.enable("dev.twine.Connection").withThreshold(Duration.ZERO);
            rec.enable("dev.twine.ConnectionRefused");
            rec.enable("dev.twine.Login");
            rec.start();
            try (Server s = Server.builder("echo").listen("tcp:0:interface=127.0.0.1")
                    .limits(ConnectionLimits.builder().perAddress(1).build())
                    .handler(c -> c.input().transferTo(c.output())).start()) {
                try (Socket first = new Socket(InetAddress.getByName("127.0.0.1"), s.port());
                     Socket second = new Socket(InetAddress.getByName("127.0.0.1"), s.port())) {
                    second.setSoTimeout(10_000);
                    assertEquals(-1, second.getInputStream().read(), "the second is over the per-address cap");
                    first.getOutputStream().write("hello\n".getBytes(US_ASCII));
                    first.shutdownOutput();
                    assertEquals("hello", new BufferedReader(new InputStreamReader(first.getInputStream(), US_ASCII)).readLine());
                }
                s.shutdown(Duration.ofSeconds(5));
            }
            AuthPolicy.unlimited().open("imap", new InetSocketAddress("192.0.2.9", 1)).succeeded("alice");
            rec.stop();
            rec.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file);
        RecordedEvent conn = events.stream().filter(e -> e.getEventType().getName().equals("dev.twine.Connection"))
                .findFirst().orElseThrow(() -> new AssertionError("no connection event in " + events));
        assertEquals("echo", conn.getString("service"));
        assertEquals(6L, conn.getLong("received"));
        assertEquals(6L, conn.getLong("sent"));
        assertTrue(events.stream().anyMatch(e -> e.getEventType().getName().equals("dev.twine.ConnectionRefused")
                && e.getString("reason").equals("connection limits")), events.toString());
        assertTrue(events.stream().anyMatch(e -> e.getEventType().getName().equals("dev.twine.Login")
                && e.getString("user").equals("alice") && e.getString("outcome").equals("succeeded")), events.toString());
    }
}
