package dev.twine.mail.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.LineReader;
import dev.twine.core.LineWriter;
import dev.twine.core.Tls;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole submission over STARTTLS on in-memory connections, in every chunking: the upgrade,
 * AUTH offered only after it, and the message stored byte for byte.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SmtpStartTlsMemoryTest {
    @TempDir
    Path dir;

    @Test
    void submissionOverStartTlsInEveryChunking() throws Exception {
        Path cert = dir.resolve("tls/cert.pem");
        Tls serverTls = Tls.selfSigned(cert, dir.resolve("tls/key.pem"), List.of("localhost"));
        String lines = ("x".repeat(98) + "\r\n").repeat(200); // 20 KB: several TLS records
        String body = "Subject: over TLS\r\n\r\n..a dotted line\r\n" + lines;
        int run = 0;
        for (Chunking chunking : Chunking.standard()) {
            Path runDir = Files.createDirectories(dir.resolve("run" + run++));
            SmtpServer.Builder b = SmtpTestSupport.server(runDir).role(SmtpServer.Role.SUBMISSION).tls(serverTls);
            try (MemoryConnections.Served served = MemoryConnections.serve(b.build().handler(), chunking)) {
                Connection c = served.client();
                LineReader r = LineReader.of(c, 4096);
                LineWriter w = LineWriter.of(c);
                assertTrue(r.readLine().startsWith("220 "));
                List<String> before = ehlo(r, w);
                assertTrue(before.contains("250-STARTTLS") || before.contains("250 STARTTLS"), before.toString());
                assertFalse(before.stream().anyMatch(l -> l.contains("AUTH")), "no AUTH before TLS: " + before);
                w.writeLine("STARTTLS").flush();
                assertTrue(r.readLine().startsWith("220 "));
                c.startTls(Tls.client(cert), "localhost");
                List<String> after = ehlo(r, w);
                assertTrue(after.stream().anyMatch(l -> l.contains("AUTH") && l.contains("PLAIN")), after.toString());
                assertFalse(after.stream().anyMatch(l -> l.contains("STARTTLS")), after.toString());
                String plain = Base64.getEncoder().encodeToString("\0alice\0secret".getBytes(StandardCharsets.UTF_8));
                w.writeLine("AUTH PLAIN " + plain).flush();
                assertTrue(r.readLine().startsWith("235 "));
                w.writeLine("MAIL FROM:<alice@" + SmtpTestSupport.DOMAIN + ">").flush();
                assertTrue(r.readLine().startsWith("250 "));
                w.writeLine("RCPT TO:<bob@" + SmtpTestSupport.DOMAIN + ">").flush();
                assertTrue(r.readLine().startsWith("250 "));
                w.writeLine("DATA").flush();
                assertTrue(r.readLine().startsWith("354 "));
                c.output().write((body + ".\r\n").getBytes(StandardCharsets.US_ASCII));
                c.flush();
                String accepted = r.readLine();
                assertTrue(accepted.startsWith("250 "), chunking + ": " + accepted);
                w.writeLine("QUIT").flush();
                assertTrue(r.readLine().startsWith("221 "));
                assertEquals(Optional.empty(), served.awaitHandler(Duration.ofSeconds(30)));
            }
            List<Path> files = SmtpTestSupport.delivered(runDir, "bob");
            assertEquals(1, files.size(), chunking.toString());
            String stored = Files.readString(files.get(0), StandardCharsets.US_ASCII);
            assertTrue(stored.endsWith("Subject: over TLS\r\n\r\n.a dotted line\r\n" + lines),
                    "dot-unstuffed and whole: " + chunking);
        }
    }

    private static List<String> ehlo(LineReader r, LineWriter w) throws Exception {
        w.writeLine("EHLO client.example").flush();
        List<String> lines = new ArrayList<>();
        String line;
        do {
            line = r.readLine();
            lines.add(line);
        } while (line.startsWith("250-"));
        return lines;
    }
}
