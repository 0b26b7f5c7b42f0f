package dev.twine.core.internal;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.twine.core.Connection;
import dev.twine.core.LineWriter;
import dev.twine.core.Tls;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * If a TLS connection waits for its peer with no record begun, then it holds none of the engine's
 * record buffers; if it waits with half a record received, then it keeps that half (and only the
 * buffer holding it), and the record completes when the rest arrives. Counted through
 * {@link BufferPool}'s count of lent arrays.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TlsBufferReleaseTest {
    private static final BufferPool TLS = BufferPool.tls();

    @TempDir
    Path dir;

    @Test
    void idleTlsConnectionHoldsNoRecordBufferAndKeepsAHalfReceivedRecord() throws Exception {
        Tls serverTls = Tls.selfSigned(dir.resolve("cert.pem"), dir.resolve("key.pem"), List.of("localhost"));
        Tls clientTls = Tls.client(dir.resolve("cert.pem"));
        try (MemoryConnections.Pair p = MemoryConnections.pair(Chunking.whole())) {
            Gate gate = new Gate(CoreAccess.get().transport(p.client()));
            Connection client = CoreAccess.get().connection("client", gate, true);
            BlockingQueue<String> lines = new LinkedBlockingQueue<>();
            Thread server = Thread.ofVirtual().start(() -> {
                try {
                    p.server().startTls(serverTls);
                } catch (IOException e) {
                    lines.add("<" + e + ">");
                    return;
                }
                BufferPoolTest.readLinesInto(p.server(), lines);
            });
            client.startTls(clientTls, "localhost");
            LineWriter out = LineWriter.of(client);
            out.writeLine("ONE").flush();
            assertEquals("ONE", lines.take());
            BufferPoolTest.awaitParked(server);
            int idle = TLS.lent();

            gate.holding = true;
            out.writeLine("HELLO").flush();
            byte[] record = gate.held.toByteArray();
            int half = record.length / 2;
            gate.under.write(record, 0, half);
            // the server reads the half, finds the record incomplete and waits for the rest
            while (!(TLS.lent() == idle + 1 && BufferPoolTest.isParked(server))) {
                Thread.onSpinWait();
            }
            assertEquals(idle + 1, TLS.lent(), "only the buffer with the half record is held");

            gate.under.write(record, half, record.length - half);
            assertEquals("HELLO", lines.take(), "the half kept while idle completes the record");
            BufferPoolTest.awaitParked(server);
            assertEquals(idle, TLS.lent(), "between records nothing is held");

            gate.holding = false;
            client.close();
            server.join();
        }
    }

    /** The client's transport under TLS: can hold back what is written, to be sent in pieces. */
    static final class Gate implements LayeredTransport {
        final Transport under;
        final ByteArrayOutputStream held = new ByteArrayOutputStream();
        volatile boolean holding;

        Gate(Transport under) {
            this.under = under;
        }

        @Override
        public Transport under() {
            return under;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return under.read(b, off, len);
        }

        @Override
        public boolean readyToRead() {
            return under.readyToRead();
        }

        @Override
        public void awaitReadable() throws IOException {
            under.awaitReadable();
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (holding) {
                held.write(b, off, len);
            } else {
                under.write(b, off, len);
            }
        }
    }
}
