package dev.twine.dns.internal;

import dev.twine.dns.DnsAnswer;
import dev.twine.dns.DnsAuthority;
import dev.twine.dns.DnsQuestion;
import dev.twine.dns.DnsRecord;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;

/**
 * A caching forwarder: asks one upstream resolver and keeps its answers for their TTL, and its
 * negative answers (NXDOMAIN, NODATA) for the SOA's negative TTL (RFC 2308 §5). The cache holds
 * at most {@code maxEntries} questions, dropping the least recently used. Failures upstream give
 * SERVFAIL and are not cached. The authority {@code DnsServer.Builder.forward} adds: last in a chain, it
 * answers what the zones before it do not, for the clients allowed to recurse.
 */
public final class Forwarder implements DnsAuthority {
    /** The longest any answer is kept, whatever its TTL (RFC 2308 §5 suggests a cap). */
    static final long MAX_TTL = 86_400;

    private final Exchanger upstream;
    private final Predicate<InetAddress> mayForward;
    private final Clock clock;
    private final int maxEntries;
    private final ReentrantLock lock = new ReentrantLock();
    private final LinkedHashMap<String, Cached> cache;
    private final AtomicLong upstreamQueries = new AtomicLong();

    private record Cached(int rcode, List<Record> answer, List<Record> authority, Instant stored, long ttl) {}

    /**
     * @param upstream how to reach the upstream resolver
     * @param mayForward the clients it serves; the others are REFUSED
     * @param clock the time TTLs count on
     * @param maxEntries the cache bound, at least 1
     */
    public Forwarder(Exchanger upstream, Predicate<InetAddress> mayForward, Clock clock, int maxEntries) {
        if (maxEntries < 1) {
            throw new IllegalArgumentException("cache size must be positive: " + maxEntries);
        }
        this.upstream = upstream;
        this.mayForward = mayForward;
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
     * The answer to {@code question}, from the cache or from upstream; never authoritative.
     * REFUSED unless the client may recurse: class IN, RD set, and an address {@code mayForward}
     * accepts. An upstream failure is SERVFAIL, not cached.
     *
     * @throws InterruptedException if interrupted while waiting for upstream
     */
    @Override
    public DnsAnswer answer(DnsQuestion question) throws InterruptedException, IOException {
        // Not an open resolver: forward only for the clients allowed to recurse, and only when
        // they asked for recursion (RD, RFC 1035 §4.1.1); everyone else gets REFUSED for names
        // we are not authoritative for, as NSD and Knot answer (RFC 1035 §4.1.1: "refuse to
        // perform the specified operation for policy reasons").
        if (question.dnsClass() != DClass.IN || !question.recursionDesired()
                || !question.client().map(mayForward::test).orElse(false)) {
            return DnsAnswer.refused();
        }
        Name name = Records.name(question.name());
        String key = name.toString().toLowerCase(java.util.Locale.ROOT) + "/" + question.type();
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
                up = upstream.exchange(Exchanger.query(Record.newRecord(name, question.type(), DClass.IN)));
            } catch (IOException io) {
                return new DnsAnswer.ServerFailure();
            }
            int rcode = up.getRcode();
            if (rcode == Rcode.REFUSED) {
                return DnsAnswer.refused();
            }
            if (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN) {
                return new DnsAnswer.ServerFailure();
            }
            List<Record> answer = up.getSection(Section.ANSWER);
            List<Record> authority = up.getSection(Section.AUTHORITY);
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
        List<DnsRecord> answer = Records.exact(aged(e.answer, age));
        List<DnsRecord> authority = Records.exact(aged(e.authority, age));
        if (e.rcode == Rcode.NXDOMAIN) {
            return new DnsAnswer.NxDomain(answer, authority, false);
        }
        return answer.isEmpty() ? new DnsAnswer.NoData(answer, authority, false)
                : new DnsAnswer.Data(answer, authority, List.of(), false);
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
