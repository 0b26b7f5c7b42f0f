package dev.twine.core.internal;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Byte arrays lent to connections only while they have bytes to hold, so that an idle connection
 * holds none: a connection's input buffer between requests, the readiness loop's spill, a TLS
 * connection's record buffers. Two pools of one array size each: {@link #SMALL} for plain input,
 * {@link #tls()} for TLS records. An array of another size is allocated and dropped instead.
 *
 * <p>Lock-free and bounded: a borrow takes any filled slot among a few near a random start, a give
 * back puts the array into an empty one, and an array that finds no empty slot is left to the
 * garbage collector (so is an array whose borrower never gives it back: nothing leaks but the
 * count below).
 *
 * <p>Sized for a burst, not for the average: a readiness loop that finds a thousand connections
 * readable in one round spills for each whose reader is not parked yet, and every array the pool
 * cannot lend is garbage a moment later. At 1,000 echo connections a pool of 256 slots probed 8 at
 * a time missed so often that its misses were most of the server's allocation (about 270 bytes per
 * round trip, JFR allocation samples); 1,024 slots probed 16 at a time, with spills that miss
 * allocating only what they hold, brought it to about 130. A full pool keeps 512 KiB of
 * {@link #SMALL} arrays.
 */
public final class BufferPool {
    /** The size of a plain connection's input buffer and of the readiness loop's spill. */
    public static final int SMALL = 512;
    private static final int SLOTS = 1024;
    private static final int PROBES = 16;
    private static final int FIT_MIN = 64;
    private static final int FIT_ALIGN = 64;
    private static final BufferPool SMALL_POOL = new BufferPool(SMALL, SLOTS);
    /** TLS records are at most 16 KiB of plaintext plus overhead (RFC 8446 §5.2): 17 KiB holds either buffer. */
    static final int TLS_SIZE = 17 * 1024;
    private static final BufferPool TLS_POOL = new BufferPool(TLS_SIZE, 64);

    private final int size;
    private final AtomicReferenceArray<byte[]> slots;
    /** Arrays of this pool's size lent and not given back; for tests. */
    private final AtomicInteger lent = new AtomicInteger();

    /** A pool of its own, for tests; {@code slots} a power of two. */
    BufferPool(int size, int slots) {
        this.size = size;
        this.slots = new AtomicReferenceArray<>(slots);
    }

    /** The pool of {@link #SMALL} arrays. */
    public static BufferPool small() {
        return SMALL_POOL;
    }

    /** The pool of arrays for TLS records ({@code SSLEngine} packet and application buffers). */
    public static BufferPool tls() {
        return TLS_POOL;
    }

    /** The size of this pool's arrays. */
    public int size() {
        return size;
    }

    /**
     * An array of at least {@code min} bytes: this pool's size from the pool when {@code min} fits
     * in it, else a new array of exactly {@code min}. Its contents are undefined.
     */
    public byte[] borrow(int min) {
        if (min > size) {
            return new byte[min];
        }
        lent.incrementAndGet();
        byte[] b = take();
        return b != null ? b : new byte[size];
    }

    /**
     * An array of this pool's size if the pool has one at hand, else a new array of {@code min}
     * bytes or a little more: for a holder that rarely needs the whole size (the readiness loop's
     * spill of one short read), so that a miss allocates what is needed, not a whole array.
     */
    public byte[] borrowOrFit(int min) {
        // rounded up so that a few more bytes arriving before the reader takes them need no copy
        int fit = Math.max(FIT_MIN, (min + FIT_ALIGN - 1) & -FIT_ALIGN);
        if (fit >= size) {
            return borrow(min);
        }
        byte[] b = take();
        if (b == null) {
            return new byte[fit];
        }
        lent.incrementAndGet();
        return b;
    }

    /** A pooled array, or null if none was found near a random start. */
    private byte[] take() {
        int n = slots.length();
        int start = ThreadLocalRandom.current().nextInt(n);
        for (int i = 0; i < PROBES; i++) {
            int slot = (start + i) & (n - 1);
            if (slots.getPlain(slot) != null) {
                byte[] b = slots.getAndSet(slot, null);
                if (b != null) {
                    return b;
                }
            }
        }
        return null;
    }

    /** Gives back an array from {@link #borrow}; one of another size is just dropped. Null is ignored. */
    public void giveBack(byte[] b) {
        if (b == null || b.length != size) {
            return;
        }
        lent.decrementAndGet();
        int n = slots.length();
        int start = ThreadLocalRandom.current().nextInt(n);
        for (int i = 0; i < PROBES; i++) {
            int slot = (start + i) & (n - 1);
            if (slots.getPlain(slot) == null && slots.compareAndSet(slot, null, b)) {
                return;
            }
        }
    }

    /** Arrays of this pool's size borrowed and not given back (dropped ones included). */
    int lent() {
        return lent.get();
    }
}
