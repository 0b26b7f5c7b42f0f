package dev.twine.dns.internal;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;

/**
 * A caching forwarder: asks one upstream resolver and keeps its answers for their TTL, and its
 * negative answers (NXDOMAIN, NODATA) for the SOA's negative TTL (RFC 2308 §5). The cache holds
 * at most {@code maxEntries} questions, dropping the least recently used. Failures upstream give
 * SERVFAIL and are not cached.
 */
public final class Forwarder {
    /** The longest any answer is kept, whatever its TTL (RFC 2308 §5 suggests a cap). */
    static final long MAX_TTL = 86_400;

    private final Exchanger upstream;
    private final Clock clock;
    private final int maxEntries;
    private final ReentrantLock lock = new ReentrantLock();
    private final LinkedHashMap<String, Cached> cache;
    private final AtomicLong upstreamQueries = new AtomicLong();

    private record Cached(int rcode, List<Record> answer, List<Record> authority, Instant stored, long ttl) {}

    /**
     * @param upstream how to reach the upstream resolver
     * @param clock the time TTLs count on
     * @param maxEntries the cache bound, at least 1
     */
    public Forwarder(Exchanger upstream, Clock clock, int maxEntries) {
        if (maxEntries < 1) {
            throw new IllegalArgumentException("cache size must be positive: " + maxEntries);
        }
        this.upstream = upstream;
        this.clock = clock;
        this.maxEntries = maxEntries;
        this.cache = new LinkedHashMap<>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Cached> eldest) {
                return size() > Forwarder.this.maxEntries;
            }
        };
    }

    /** Questions sent upstream so far (cache misses). */
    public long upstreamQueries() {
        return upstreamQueries.get();
    }

    /** Questions cached now. */
    public int cacheSize() {
        lock.lock();
        try {
            return cache.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The response to {@code query} (one question), from the cache or from upstream; never
     * authoritative, RA set. The caller sets the ID and the EDNS record.
     *
     * @throws InterruptedException if interrupted while waiting for upstream
     */
    public Message resolve(Message query) throws InterruptedException {
        Record question = query.getQuestion();
        String key = question.getName().toString().toLowerCase(java.util.Locale.ROOT) + "/" + question.getType()
                + "/" + question.getDClass();
        Instant now = clock.instant();
        Cached e;
        lock.lock();
        try {
            e = cache.get(key);
            if (e != null && !now.isBefore(e.stored.plusSeconds(e.ttl))) {
                cache.remove(key);
                e = null;
            }
        } finally {
            lock.unlock();
        }
        if (e == null) {
            upstreamQueries.incrementAndGet();
            Message up;
            try {
                Message q = Exchanger.query(Record.newRecord(question.getName(), question.getType(), question.getDClass()));
                up = upstream.exchange(q);
            } catch (IOException io) {
                return build(query, Rcode.SERVFAIL, List.of(), List.of(), 0);
            }
            int rcode = up.getRcode();
            List<Record> answer = up.getSection(Section.ANSWER);
            List<Record> authority = up.getSection(Section.AUTHORITY);
            if (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN) {
                return build(query, rcode, List.of(), List.of(), 0);
            }
            long ttl = ttl(rcode, answer, authority);
            e = new Cached(rcode, List.copyOf(answer), List.copyOf(authority), now, ttl);
            if (ttl > 0) {
                lock.lock();
                try {
                    cache.put(key, e);
                } finally {
                    lock.unlock();
                }
            }
        }
        long age = Math.max(0, now.getEpochSecond() - e.stored.getEpochSecond());
        return build(query, e.rcode, e.answer, e.authority, age);
    }

    /** Positive: the least TTL of the answer; negative: the SOA's (RFC 2308 §5); 0 = don't keep. */
    private static long ttl(int rcode, List<Record> answer, List<Record> authority) {
        long ttl = Long.MAX_VALUE;
        if (rcode == Rcode.NOERROR && !answer.isEmpty()) {
            for (Record r : answer) {
                ttl = Math.min(ttl, r.getTTL());
            }
        } else {
            for (Record r : authority) {
                if (r instanceof SOARecord soa) {
                    ttl = Math.min(ttl, Math.min(soa.getTTL(), soa.getMinimum()));
                }
            }
            if (ttl == Long.MAX_VALUE) {
                return 0; // no SOA: a negative answer without a TTL is not cached (RFC 2308 §5)
            }
        }
        return Math.min(ttl, MAX_TTL);
    }

    private static Message build(Message query, int rcode, List<Record> answer, List<Record> authority, long age) {
        Message r = new Message(query.getHeader().getID());
        r.getHeader().setFlag(Flags.QR);
        r.getHeader().setFlag(Flags.RA);
        if (query.getHeader().getFlag(Flags.RD)) {
            r.getHeader().setFlag(Flags.RD);
        }
        r.getHeader().setRcode(rcode);
        r.addRecord(query.getQuestion(), Section.QUESTION);
        for (Record rec : aged(answer, age)) {
            r.addRecord(rec, Section.ANSWER);
        }
        for (Record rec : aged(authority, age)) {
            r.addRecord(rec, Section.AUTHORITY);
        }
        return r;
    }

    /** TTLs counted down by the time spent in the cache (RFC 1035 §7.4 / RFC 2181 §8). */
    private static List<Record> aged(List<Record> records, long age) {
        if (age == 0) {
            return records;
        }
        List<Record> out = new ArrayList<>(records.size());
        for (Record r : records) {
            out.add(Records.withTtl(r, Math.max(0, r.getTTL() - age)));
        }
        return out;
    }
}
