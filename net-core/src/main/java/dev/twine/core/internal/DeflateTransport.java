package dev.twine.core.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * Raw DEFLATE (RFC 1951, no zlib header) both ways over another transport, as IMAP's COMPRESS
 * (RFC 4978) and XMPP's stream compression (XEP-0138) use it. Every write ends with a sync flush
 * (RFC 4978 §4), so the peer can decode all that was written without waiting for more. Reads and
 * writes are independent, each under its own lock; {@link #close()} frees the native zlib state.
 */
public final class DeflateTransport implements LayeredTransport {
    private static final int CHUNK = 16 * 1024;

    private final Transport under;
    private final Deflater deflater;
    private final Inflater inflater = new Inflater(true);
    private final ReentrantLock readLock = new ReentrantLock();
    private final ReentrantLock writeLock = new ReentrantLock();
    private final byte[] compressedIn = new byte[CHUNK];
    private final byte[] compressedOut = new byte[CHUNK];
    private volatile boolean ended;

    /**
     * Compresses over {@code under}; {@code pending} are compressed bytes already read from it
     * (pipelined behind the command that turned compression on), to be inflated first.
     *
     * @param level the {@link Deflater} level for what this side sends
     */
    public DeflateTransport(Transport under, byte[] pending, int level) {
        this.under = under;
        this.deflater = new Deflater(level, true);
        if (pending.length > 0) {
            inflater.setInput(pending.clone());
        }
    }

    @Override
    public Transport under() {
        return under;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        readLock.lock();
        try {
            while (true) {
                if (ended) {
                    throw new IOException("connection closed");
                }
                int n;
                try {
                    n = inflater.inflate(b, off, len);
                } catch (DataFormatException e) {
                    throw new java.util.zip.ZipException("invalid DEFLATE data from the peer: " + e.getMessage());
                }
                if (n > 0) {
                    return n;
                }
                if (inflater.finished()) {
                    return -1; // the peer ended its compressed stream: nothing can follow
                }
                if (!inflater.needsInput()) {
                    throw new java.util.zip.ZipException("DEFLATE data from the peer needs a dictionary");
                }
                int r = under.read(compressedIn, 0, compressedIn.length);
                if (r < 0) {
                    return -1;
                }
                inflater.setInput(compressedIn, 0, r);
            }
        } finally {
            readLock.unlock();
        }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        writeLock.lock();
        try {
            if (ended) {
                throw new IOException("connection closed");
            }
            deflater.setInput(b, off, len);
            // SYNC_FLUSH: a full output chunk may hide more, so deflate until one comes back short
            int n;
            do {
                n = deflater.deflate(compressedOut, 0, compressedOut.length, Deflater.SYNC_FLUSH);
                if (n > 0) {
                    under.write(compressedOut, 0, n);
                }
            } while (n == compressedOut.length || !deflater.needsInput());
        } finally {
            writeLock.unlock();
        }
    }

    /** TLS under compression would encrypt compressed bytes the wrong way round: refused. */
    @Override
    public Transport startTls(TlsLayer tls, String host, Duration readTimeout, Duration writeTimeout,
            Duration handshakeTimeout) {
        throw new UnsupportedOperationException("TLS cannot start inside compression");
    }

    /** Closes the transport under this one (which unblocks a read or write), then frees zlib's memory. */
    @Override
    public void close() {
        under.close();
        ended = true;
        writeLock.lock();
        try {
            deflater.end();
        } finally {
            writeLock.unlock();
        }
        readLock.lock();
        try {
            inflater.end();
        } finally {
            readLock.unlock();
        }
    }
}
