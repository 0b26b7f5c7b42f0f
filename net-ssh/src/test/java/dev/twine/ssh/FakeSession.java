package dev.twine.ssh;

import dev.twine.core.auth.Principal;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

/** An in-memory {@link SshSession}: stdin delivered in chunks, output collected. */
final class FakeSession implements SshSession {

    /** How stdin is cut into reads. */
    enum Chunks { WHOLE, BYTE_BY_BYTE, RANDOM }

    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final String command;
    private final Pty pty;
    private final InputStream in;
    volatile boolean draining;

    FakeSession(String command, Pty pty, String stdin, Chunks chunks) {
        this.command = command;
        this.pty = pty;
        this.in = new ChunkedInput(stdin.getBytes(StandardCharsets.UTF_8), chunks, new Random(42));
    }

    String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Override
    public Principal principal() {
        return new Principal("alice", "password");
    }

    @Override
    public Optional<String> command() {
        return Optional.ofNullable(command);
    }

    @Override
    public Map<String, String> env() {
        return pty == null ? Map.of("USER", "alice") : Map.of("USER", "alice", "TERM", pty.term());
    }

    @Override
    public Optional<Pty> pty() {
        return Optional.ofNullable(pty);
    }

    @Override
    public Pty awaitWindowChange() {
        throw new UnsupportedOperationException();
    }

    @Override
    public InputStream stdin() {
        return in;
    }

    @Override
    public OutputStream stdout() {
        return out;
    }

    @Override
    public OutputStream stderr() {
        return err;
    }

    @Override
    public SocketAddress remoteAddress() {
        return new InetSocketAddress("127.0.0.1", 1);
    }

    @Override
    public boolean draining() {
        return draining;
    }

    /** Returns at most one chunk per read call, as a network would. */
    private static final class ChunkedInput extends InputStream {
        private final byte[] data;
        private final Chunks chunks;
        private final Random random;
        private int pos;

        ChunkedInput(byte[] data, Chunks chunks, Random random) {
            this.data = data;
            this.chunks = chunks;
            this.random = random;
        }

        @Override
        public int read() {
            return pos < data.length ? data[pos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (pos >= data.length) {
                return -1;
            }
            int n = switch (chunks) {
                case WHOLE -> len;
                case BYTE_BY_BYTE -> 1;
                case RANDOM -> 1 + random.nextInt(Math.max(1, Math.min(len, 7)));
            };
            n = Math.min(Math.min(n, len), data.length - pos);
            System.arraycopy(data, pos, b, off, n);
            pos += n;
            return n;
        }
    }
}
