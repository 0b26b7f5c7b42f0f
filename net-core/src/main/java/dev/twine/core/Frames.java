package dev.twine.core;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Length-prefixed frames: a big-endian unsigned length of 2 bytes ({@link #u16}, as DNS over TCP,
 * RFC 1035 §4.2.2) or 4 bytes ({@link #u32}), then that many bytes. Immutable; one instance may
 * serve many streams.
 */
public final class Frames {
    private final int prefix;
    private final int maxLength;

    private Frames(int prefix, int maxLength) {
        if (maxLength < 0) {
            throw new IllegalArgumentException("maxLength must not be negative: " + maxLength);
        }
        this.prefix = prefix;
        this.maxLength = maxLength;
    }

    /** Frames with a 2-byte length, at most {@code maxLength} (≤ 65535) bytes each. */
    public static Frames u16(int maxLength) {
        return new Frames(2, Math.min(maxLength, 0xffff));
    }

    /** Frames with a 4-byte length, at most {@code maxLength} bytes each. */
    public static Frames u32(int maxLength) {
        return new Frames(4, maxLength);
    }

    /** The largest payload accepted. */
    public int maxLength() {
        return maxLength;
    }

    /**
     * Reads one frame's payload.
     *
     * @return the payload, or {@code null} at end of stream before a frame starts
     * @throws FrameTooLongException if the announced length exceeds the limit (nothing of the
     *     payload is buffered)
     * @throws EOFException if the stream ends inside a frame
     */
    public byte[] read(InputStream in) throws IOException {
        long length = 0;
        for (int i = 0; i < prefix; i++) {
            int b = in.read();
            if (b < 0) {
                if (i == 0) {
                    return null;
                }
                throw new EOFException("stream ended inside a frame's length");
            }
            length = length << 8 | b;
        }
        if (length > maxLength) {
            throw new FrameTooLongException(length, maxLength);
        }
        byte[] payload = in.readNBytes((int) length);
        if (payload.length < length) {
            throw new EOFException("stream ended inside a frame (" + payload.length + " of " + length + " bytes)");
        }
        return payload;
    }

    /**
     * Buffers one frame; the caller flushes.
     *
     * @throws IllegalArgumentException if the payload exceeds the limit
     */
    public void write(OutputStream out, byte[] payload) throws IOException {
        if (payload.length > maxLength) {
            throw new IllegalArgumentException("frame of " + payload.length + " bytes exceeds the limit of " + maxLength);
        }
        for (int i = prefix - 1; i >= 0; i--) {
            out.write(payload.length >>> (8 * i) & 0xff);
        }
        out.write(payload);
    }
}
