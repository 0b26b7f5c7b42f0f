package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.ManualClock;
import dev.twine.core.testing.MemoryConnections;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A connection carried inside another ({@link Connection#carrying}): its bytes through the
 * codec's streams, its addresses, TLS, timeouts, login mark and closing the outer one's.
 */
class CarryingTest {
    @Test
    void bytesGoThroughTheCodecAndTheRestIsTheOuterConnections() throws Exception {
        try (MemoryConnections.Pair pair = MemoryConnections.pair()) {
            Connection outer = pair.server();
            ByteArrayOutputStream written = new ByteArrayOutputStream();
            Connection inner = outer.carrying(new ByteArrayInputStream("decoded line\n".getBytes(StandardCharsets.US_ASCII)), written);
            assertEquals("decoded line", LineReader.of(inner, 100).readLine());
            LineWriter.of(inner).writeLine("to encode").flush();
            assertEquals("to encode\r\n", written.toString(StandardCharsets.US_ASCII));
            assertEquals(outer.remoteAddress(), inner.remoteAddress());
            assertEquals(outer.localAddress(), inner.localAddress());
            assertFalse(inner.isSecure());
            assertEquals(List.of(), inner.peerCertificates());
            inner.markAuthenticated(); // reaches the outer connection: nothing to see but that it does not fail
            inner.readTimeout(Duration.ofSeconds(3));
            assertFalse(outer.isClosed());
            inner.close();
            assertTrue(outer.isClosed(), "closing the carried connection closes the carrier");
        }
        try (MemoryConnections.Pair pair = MemoryConnections.pair()) {
            Connection inner = pair.server().carrying(new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream());
            Path d = Files.createTempDirectory("carrying");
            Tls tls = Tls.selfSigned(d.resolve("c.pem"), d.resolve("k.pem"), List.of("localhost"));
            assertThrows(IOException.class, () -> inner.startTls(tls), "TLS is the carrier's");
        }
    }

    @Test
    void carriedConnectionKeepsTimeOnTheCarriersClock() {
        ManualClock clock = ManualClock.create();
        try (MemoryConnections.Pair pair = MemoryConnections.pair(Chunking.whole(), clock, 1024)) {
            Connection inner = pair.server().carrying(new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream());
            assertSame(clock, inner.clock(), "deadlines the carried connection sets are read on the carrier's clock");
        }
    }
}
