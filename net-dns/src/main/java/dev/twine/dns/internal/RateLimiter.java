package dev.twine.dns.internal;

import java.net.InetAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Response rate limiting for UDP, as NSD's {@code rrl-ratelimit}/{@code rrl-slip} and Knot's
 * {@code rate-limit}/{@code slip}: a UDP server with spoofable sources is an amplifier, so the
 * responses to one client prefix (IPv4 /24, IPv6 /56 by default) are counted per second, by
 * response: a positive or NODATA answer by its question, every other rcode by the rcode alone
 * (so a flood of random names in one zone shares one budget). Past the rate, one limited
 * response in {@code slip} is sent truncated (TC, no records: a real client retries over TCP,
 * which cannot be spoofed) and the others are dropped; slip 0 drops them all, slip 1 truncates
 * them all.
 *
 * <p>The counters live in a fixed table indexed by a keyed hash (its seed is random, so nobody
 * can aim collisions); a collision starts the slot over for the newcomer, so memory stays bounded
 * whatever the flood. Safe for concurrent use.
 */
final class RateLimiter {
    /** What to do with one response. */
    enum Verdict { SEND, SLIP, DROP }

    private static final int SLOTS = 1 << 16;

    /** One counter: the key it belongs to, the second it counts, responses and limited ones in it. */
    private record Bucket(long key, long second, int sent, int limited) {}

    private final int perSecond;
    private final int slip;
    private final int v4Prefix;
    private final int v6Prefix;
    private final Clock clock;
    private final long seed = new SecureRandom().nextLong();
    private final AtomicReferenceArray<Bucket> table = new AtomicReferenceArray<>(SLOTS);
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong slipped = new AtomicLong();

    /**
     * @param perSecond responses per second to one prefix and response (positive)
     * @param slip every how many limited responses one is sent truncated; 0 = none
     * @param v4Prefix the IPv4 prefix length clients are grouped by
     * @param v6Prefix the IPv6 prefix length clients are grouped by
     */
    RateLimiter(int perSecond, int slip, int v4Prefix, int v6Prefix, Clock clock) {
        this.perSecond = perSecond;
        this.slip = slip;
        this.v4Prefix = v4Prefix;
        this.v6Prefix = v6Prefix;
        this.clock = clock;
    }

    /** Counts {@code response} (a response's wire form) for {@code client} and says what to do with it. */
    Verdict check(InetAddress client, byte[] response) {
        return count(client, response, true);
    }

    /**
     * Counts {@code response} for {@code client} as {@link #check} does and returns true if it is
     * within the rate; if it is over, counts nothing and returns false, so that a {@code check}
     * of the same response then counts it as limited once.
     */
    boolean trySend(InetAddress client, byte[] response) {
        return count(client, response, false) == Verdict.SEND;
    }

    /** {@link #check}, or with {@code limitedToo} false {@link #trySend} (DROP: over the rate, nothing counted). */
    private Verdict count(InetAddress client, byte[] response, boolean limitedToo) {
        if (client == null || response.length < 12) {
            return Verdict.SEND;
        }
        long key = key(client, response);
        int slot = (int) (key ^ key >>> 32) & SLOTS - 1;
        long now = clock.millis() / 1000;
        while (true) {
            Bucket b = table.get(slot);
            Bucket next;
            boolean limited = false;
            if (b == null || b.key() != key || b.second() != now) {
                next = new Bucket(key, now, 1, 0);
            } else if (b.sent() < perSecond) {
                next = new Bucket(key, now, b.sent() + 1, b.limited());
            } else if (limitedToo) {
                next = new Bucket(key, now, b.sent(), b.limited() + 1);
                limited = true;
            } else {
                return Verdict.DROP;
            }
            if (!table.compareAndSet(slot, b, next)) {
                continue; // another response to the same slot counted first: count again
            }
            if (!limited) {
                return Verdict.SEND;
            }
            if (slip > 0 && next.limited() % slip == 0) {
                slipped.incrementAndGet();
                return Verdict.SLIP;
            }
            dropped.incrementAndGet();
            return Verdict.DROP;
        }
    }

    /** The key: the client's prefix, the rcode, and for NOERROR the question (name case-folded, type). */
    private long key(InetAddress client, byte[] r) {
        byte[] a = client.getAddress();
        int bits = a.length == 4 ? v4Prefix : v6Prefix;
        long h = seed ^ a.length;
        for (int i = 0; i < a.length; i++) {
            int keep = Math.max(0, Math.min(8, bits - 8 * i));
            h = mix(h, a[i] & (0xFF00 >>> keep) & 0xFF);
        }
        int rcode = r[3] & 0x0F;
        h = mix(h, 0x100 | rcode);
        if (rcode == 0 && (r[4] | r[5]) != 0) {
            for (int p = 12; p < r.length; p++) {
                int len = r[p] & 0xFF;
                if (len == 0) {
                    if (p + 2 < r.length) {
                        h = mix(mix(h, r[p + 1] & 0xFF), r[p + 2] & 0xFF); // the qtype
                    }
                    break;
                }
                if (len > 63) {
                    break;
                }
                for (int k = p; k <= p + len && k < r.length; k++) {
                    int c = r[k] & 0xFF;
                    h = mix(h, c >= 'A' && c <= 'Z' ? c + 32 : c);
                }
                p += len;
            }
        }
        return h;
    }

    private static long mix(long h, int b) {
        h ^= b;
        h *= 0x9E3779B97F4A7C15L;
        return h ^ h >>> 29;
    }

    /**
     * The truncated stand-in for a limited {@code response}: its header with TC set and no
     * records, and its question (RFC 1035 §4.1.1; the client retries over TCP).
     */
    static byte[] truncated(byte[] response) {
        int p = 12;
        if (((response[4] & 0xFF) << 8 | response[5] & 0xFF) == 1) {
            while (p < response.length && response[p] != 0 && (response[p] & 0xC0) == 0) {
                p += 1 + (response[p] & 0xFF);
            }
            p = Math.min(response.length, p + 5);
        }
        byte[] out = java.util.Arrays.copyOf(response, p);
        if (p == 12) {
            out[4] = 0;
            out[5] = 0;
        }
        out[2] |= 0x02;
        for (int i = 6; i < 12; i++) {
            out[i] = 0;
        }
        return out;
    }

    /** Responses dropped since start. */
    long dropped() {
        return dropped.get();
    }

    /** Responses sent truncated since start. */
    long slipped() {
        return slipped.get();
    }
}
