package dev.twine.dns.internal;

import java.util.Arrays;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Authoritative answers in wire format, so that a repeated query costs a table look-up and a copy
 * instead of a parse, a resolution and a serialisation. One instance belongs to one
 * {@link ZoneSet} and dies with it: a reload swaps in a new set with an empty cache, so an answer
 * from the old zones is never served.
 *
 * <p>A query is looked up by its <em>shape</em> ({@link #shape}), read straight from its bytes:
 * the question exactly as sent (the answer echoes the client's case, so the key is the raw bytes,
 * not a lowercased name), and everything else the answer depends on: RD and CD (copied into the
 * reply), whether EDNS is present, the size the answer was cut to (which decides TC), the DO bit,
 * and UDP or TCP. Anything else in a query (the ID, the other header bits, EDNS options) does not
 * change an authoritative answer. Queries that are not plain (another opcode, several questions,
 * compression in the question, additional records other than one OPT of version 0, trailing
 * bytes) have no shape and take the full path uncached.
 *
 * <p>Bounded in entries and in bytes. Entries live in buckets of four chosen by hash; a full
 * bucket drops one of its entries at random, so a flood of distinct names churns the table but
 * cannot grow it. Safe for concurrent use: entries are immutable and published through an atomic
 * array; a look-up takes no lock and allocates only the copy it returns.
 */
final class AnswerCache {
    /** Entries at most (a power of two). */
    static final int DEFAULT_ENTRIES = 16_384;
    /** Bytes of answers and questions at most, plus a fixed overhead counted per entry. */
    static final long DEFAULT_BYTES = 8L << 20;
    /** What one entry costs beyond its two arrays (object headers, fields), counted in the bound. */
    static final int ENTRY_OVERHEAD = 64;
    private static final int WAYS = 4;

    // the shape's bits: the question's length (qname, qtype, qclass), the answer's size limit, flags
    private static final long QLEN_MASK = 0xFFFF;
    private static final int LIMIT_SHIFT = 16;
    private static final long TCP = 1L << 32;
    private static final long RD = 1L << 33;
    private static final long CD = 1L << 34;
    private static final long EDNS = 1L << 35;
    private static final long DO = 1L << 36;

    private static final int HEADER = 12;
    private static final int TYPE_OPT = 41;
    /** The largest UDP answer this server sends, whatever the client offers (RFC 6891 §6.2.5). */
    private static final int MAX_UDP = Responder.MAX_UDP;

    private record Entry(int hash, long shape, byte[] question, byte[] answer) {
        int cost() {
            return question.length + answer.length + ENTRY_OVERHEAD;
        }
    }

    private final AtomicReferenceArray<Entry> slots;
    private final int bucketMask;
    private final long maxBytes;
    private final AtomicLong bytes = new AtomicLong();

    AnswerCache() {
        this(DEFAULT_ENTRIES, DEFAULT_BYTES);
    }

    /**
     * @param entries most entries kept: a power of two, at least 4
     * @param maxBytes most bytes kept, counted as in {@link #bytes()}
     */
    AnswerCache(int entries, long maxBytes) {
        if (entries < WAYS || Integer.bitCount(entries) != 1) {
            throw new IllegalArgumentException("entries must be a power of two >= " + WAYS + ": " + entries);
        }
        this.slots = new AtomicReferenceArray<>(entries);
        this.bucketMask = entries / WAYS - 1;
        this.maxBytes = maxBytes;
    }

    /**
     * What an authoritative answer to {@code query} depends on, packed in a long, or -1 if the
     * query is not plain enough to be answered from the cache (the caller then takes the full
     * path and does not cache). Reads the header, the question and an OPT record in place; never
     * throws and allocates nothing.
     */
    static long shape(byte[] q, boolean tcp) {
        int n = q.length;
        if (n < HEADER + 5) {
            return -1;
        }
        // QR clear and opcode QUERY (RFC 1035 §4.1.1); the AA and TC bits of a query mean nothing
        if ((q[2] & 0xF8) != 0) {
            return -1;
        }
        int qd = u16(q, 4);
        int an = u16(q, 6);
        int ns = u16(q, 8);
        int ar = u16(q, 10);
        if (qd != 1 || an != 0 || ns != 0 || ar > 1) {
            return -1;
        }
        // the question's name: plain labels only (a query has nothing to point back to)
        int p = HEADER;
        while (true) {
            if (p >= n) {
                return -1;
            }
            int len = q[p] & 0xFF;
            if (len == 0) {
                p++;
                break;
            }
            if (len > 63) {
                return -1; // a compression pointer or an extended label type: the full path decides
            }
            p += 1 + len;
            if (p - HEADER > 254) {
                return -1; // longer than 255 octets (RFC 1035 §2.3.4)
            }
        }
        p += 4; // qtype, qclass
        if (p > n) {
            return -1;
        }
        int qlen = p - HEADER;
        long shape = qlen;
        if (tcp) {
            shape |= TCP;
        }
        if ((q[2] & 0x01) != 0) {
            shape |= RD;
        }
        if ((q[3] & 0x10) != 0) {
            shape |= CD;
        }
        int limit = tcp ? 65_535 : 512;
        if (ar == 1) {
            // one OPT pseudo-record (RFC 6891 §6.1.2): root owner, type 41, class = UDP size,
            // TTL = extended RCODE, version, DO and Z; its options change nothing we answer
            if (p + 11 > n || q[p] != 0 || u16(q, p + 1) != TYPE_OPT) {
                return -1;
            }
            int udpSize = u16(q, p + 3);
            int version = q[p + 6] & 0xFF;
            if (version != 0) {
                return -1; // BADVERS is the full path's (RFC 6891 §6.1.3)
            }
            if ((q[p + 7] & 0x80) != 0) {
                shape |= DO;
            }
            int rdlen = u16(q, p + 9);
            p += 11;
            int options = p + rdlen != n ? -1 : optionsParse(q, p, n);
            if (options < 0) {
                return -1;
            }
            shape |= EDNS;
            if (!tcp) {
                limit = Math.max(512, Math.min(udpSize, MAX_UDP));
                if (options == HAS_COOKIE) {
                    limit -= Cookies.RESPONSE_ROOM; // as the full path: room for our cookie
                }
            }
        } else if (p != n) {
            return -1; // trailing bytes: let the full parser judge them
        }
        return shape | (long) limit << LIMIT_SHIFT;
    }

    /** What {@link #optionsParse} says of options that parse and include a COOKIE. */
    private static final int HAS_COOKIE = 1;

    /**
     * Whether EDNS options in [from, to) are well formed as dnsjava reads them, so a query
     * answered from the cache is one the full path would have answered the same way rather than
     * with FORMERR: -1 if not, {@link #HAS_COOKIE} if they include a cookie, else 0. Client
     * subnet (RFC 7871) is left to the full path.
     */
    private static int optionsParse(byte[] q, int from, int to) {
        int p = from;
        int found = 0;
        while (p < to) {
            if (p + 4 > to) {
                return -1;
            }
            int code = u16(q, p);
            int len = u16(q, p + 2);
            p += 4;
            if (p + len > to) {
                return -1;
            }
            if (code == Cookies.OPTION) {
                found = HAS_COOKIE;
            }
            boolean ok = switch (code) {
                case 8 -> false; // CLIENT-SUBNET: its own validation, not repeated here
                case 10 -> len == 8 || len >= 16 && len <= 40; // COOKIE (RFC 7873 §4)
                case 11 -> len == 0 || len == 2; // edns-tcp-keepalive (RFC 7828 §3.1)
                case 15 -> len >= 2; // extended DNS error (RFC 8914 §2)
                default -> true;
            };
            if (!ok) {
                return -1;
            }
            p += len;
        }
        return found;
    }

    /**
     * The cached answer for {@code query} of this {@code shape} (from {@link #shape}), as a new
     * array carrying the query's ID, or null if there is none.
     */
    byte[] find(byte[] query, long shape) {
        int qlen = (int) (shape & QLEN_MASK);
        int hash = hash(query, qlen, shape);
        int base = (hash & bucketMask) * WAYS;
        for (int i = 0; i < WAYS; i++) {
            Entry e = slots.getAcquire(base + i);
            if (e != null && e.hash == hash && e.shape == shape
                    && Arrays.equals(e.question, 0, qlen, query, HEADER, HEADER + qlen)) {
                byte[] out = e.answer.clone();
                out[0] = query[0];
                out[1] = query[1];
                return out;
            }
        }
        return null;
    }

    /**
     * Keeps {@code answer} (copied) for queries of this shape and question. Skipped when it would
     * pass the byte bound or when another thread changes the same slot at the same moment.
     */
    void put(byte[] query, long shape, byte[] answer) {
        int qlen = (int) (shape & QLEN_MASK);
        int hash = hash(query, qlen, shape);
        int base = (hash & bucketMask) * WAYS;
        Entry fresh = new Entry(hash, shape, Arrays.copyOfRange(query, HEADER, HEADER + qlen), answer.clone());
        int slot = -1;
        Entry victim = null;
        for (int i = 0; i < WAYS && slot < 0; i++) {
            Entry e = slots.getAcquire(base + i);
            if (e == null || e.hash == hash && e.shape == shape && Arrays.equals(e.question, fresh.question)) {
                slot = base + i; // a free slot, or the same query answered by another thread
                victim = e;
            }
        }
        if (slot < 0) {
            slot = base + ThreadLocalRandom.current().nextInt(WAYS);
            victim = slots.getAcquire(slot);
        }
        long delta = fresh.cost() - (victim == null ? 0 : victim.cost());
        if (bytes.addAndGet(delta) > maxBytes) {
            bytes.addAndGet(-delta);
            return;
        }
        if (!slots.compareAndSet(slot, victim, fresh)) {
            bytes.addAndGet(-delta); // someone else wrote there first: theirs stays
        }
    }

    /** Entries held now (counts every slot: for tests and diagnostics, not the request path). */
    int size() {
        int count = 0;
        for (int i = 0; i < slots.length(); i++) {
            if (slots.get(i) != null) {
                count++;
            }
        }
        return count;
    }

    /** Bytes held now: every entry's question and answer plus {@link #ENTRY_OVERHEAD}. */
    long bytes() {
        return bytes.get();
    }

    /** The most entries this cache holds. */
    int capacity() {
        return slots.length();
    }

    private static int hash(byte[] q, int qlen, long shape) {
        int h = Long.hashCode(shape);
        for (int i = HEADER, end = HEADER + qlen; i < end; i++) {
            h = 31 * h + q[i];
        }
        return h ^ h >>> 16;
    }

    private static int u16(byte[] b, int i) {
        return (b[i] & 0xFF) << 8 | b[i + 1] & 0xFF;
    }
}
