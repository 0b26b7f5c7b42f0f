package dev.twine.bench;

/**
 * Round-trip latencies in nanoseconds, in log-linear buckets as HdrHistogram lays them out: every
 * power of two is split into {@code 2^PRECISION_BITS} equal buckets, so any recorded value is known
 * to within 1/128 (under 0.8 %) from 1 ns up to {@code Long.MAX_VALUE}, in a fixed 57 KiB array.
 *
 * <p>Not thread-safe: each event loop records into its own instance, and the load generator merges
 * them on one thread once recording has stopped.
 */
final class LatencyHistogram {
    private static final int PRECISION_BITS = 7;
    private static final int SUB_BUCKETS = 1 << PRECISION_BITS;
    /**
     * Values below {@code 2 * SUB_BUCKETS} are exact; above, one row of SUB_BUCKETS per octave up
     * to bit 62, so the last bucket ends at {@code Long.MAX_VALUE}.
     */
    private static final int SIZE = (64 - PRECISION_BITS) * SUB_BUCKETS;

    private final long[] counts = new long[SIZE];
    private long total;
    private long max;

    void record(long nanos) {
        long value = Math.max(0, nanos);
        counts[index(value)]++;
        total++;
        if (value > max) {
            max = value;
        }
    }

    long count() {
        return total;
    }

    long max() {
        return max;
    }

    void add(LatencyHistogram other) {
        for (int i = 0; i < SIZE; i++) {
            counts[i] += other.counts[i];
        }
        total += other.total;
        max = Math.max(max, other.max);
    }

    LatencyHistogram copy() {
        LatencyHistogram copy = new LatencyHistogram();
        copy.add(this);
        return copy;
    }

    /**
     * The smallest recorded bucket bound at or below which {@code quantile} of the values lie,
     * reported as the bucket's highest value (so a percentile is never understated); 0 when empty.
     */
    long valueAt(double quantile) {
        if (total == 0) {
            return 0;
        }
        long rank = Math.max(1, (long) Math.ceil(quantile * total));
        long seen = 0;
        for (int i = 0; i < SIZE; i++) {
            seen += counts[i];
            if (seen >= rank) {
                return Math.min(max, highestValueIn(i));
            }
        }
        return max;
    }

    static int index(long value) {
        if (value < 2L * SUB_BUCKETS) {
            return (int) value;
        }
        int msb = 63 - Long.numberOfLeadingZeros(value);
        int shift = msb - PRECISION_BITS;
        // (value >>> shift) keeps the top PRECISION_BITS + 1 bits: in [SUB_BUCKETS, 2 * SUB_BUCKETS)
        return (shift << PRECISION_BITS) + (int) (value >>> shift);
    }

    static long lowestValueIn(int index) {
        if (index < 2 * SUB_BUCKETS) {
            return index;
        }
        int shift = (index >>> PRECISION_BITS) - 1;
        long top = index - ((long) shift << PRECISION_BITS);
        return top << shift;
    }

    static long highestValueIn(int index) {
        if (index < 2 * SUB_BUCKETS) {
            return index;
        }
        int shift = (index >>> PRECISION_BITS) - 1;
        return lowestValueIn(index) + (1L << shift) - 1;
    }
}
