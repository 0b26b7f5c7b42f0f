package dev.twine.core.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * How an in-memory pipe hands written bytes to the reader: as each write was made, one byte per
 * read, or in random pieces from a seeded, reproducible generator. Protocol code that is correct
 * under all three does not depend on how TCP happens to segment a stream.
 */
public final class Chunking {
    private final String name;
    private final long seed;
    private final int kind;

    private Chunking(String name, int kind, long seed) {
        this.name = name;
        this.kind = kind;
        this.seed = seed;
    }

    /** Each write arrives as one read. */
    public static Chunking whole() {
        return new Chunking("whole", 0, 0);
    }

    /** Every byte arrives in a read of its own. */
    public static Chunking byteByByte() {
        return new Chunking("byte-by-byte", 1, 0);
    }

    /** Writes are cut into pieces of 1 to 16 bytes (sometimes more) chosen by a generator seeded with {@code seed}. */
    public static Chunking random(long seed) {
        return new Chunking("random(" + seed + ")", 2, seed);
    }

    /** Whole, byte by byte, and random with seeds 1, 2 and 3: what {@link Transcript#run} replays. */
    public static List<Chunking> standard() {
        return List.of(whole(), byteByByte(), random(1), random(2), random(3));
    }

    /** A splitter with its own state; one per pipe direction. */
    Splitter splitter() {
        return new Splitter(kind, new SplittableRandom(seed));
    }

    @Override
    public String toString() {
        return name;
    }

    /** Cuts writes into the chunks a reader will see. */
    static final class Splitter {
        private final int kind;
        private final SplittableRandom random;

        Splitter(int kind, SplittableRandom random) {
            this.kind = kind;
            this.random = random;
        }

        List<byte[]> split(byte[] b, int off, int len) {
            List<byte[]> out = new ArrayList<>();
            int i = 0;
            while (i < len) {
                int n = switch (kind) {
                    case 0 -> len;
                    case 1 -> 1;
                    default -> random.nextInt(8) == 0 ? 1 + random.nextInt(512) : 1 + random.nextInt(16);
                };
                n = Math.min(n, len - i);
                byte[] piece = new byte[n];
                System.arraycopy(b, off + i, piece, 0, n);
                out.add(piece);
                i += n;
            }
            return out;
        }
    }
}
