package dev.twine.dns.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Type;

/**
 * The differences between successive versions of each zone, computed at each reload, from which
 * IXFR is answered (RFC 1995 §4). Kept in memory, the last {@link #DEPTH} versions per zone: a
 * secondary further behind, or one asking after a restart, gets the whole zone (the AXFR form
 * RFC 1995 §4 allows). A reload that changes a zone without raising its serial (RFC 1982
 * arithmetic) breaks the chain, and the zone's journal starts over. Safe for concurrent use.
 */
final class Journal {
    /** How many differences are kept per zone. */
    static final int DEPTH = 64;

    /** One version step: the SOA before and after, what went and what came (SOA excluded). */
    record Diff(SOARecord from, SOARecord to, List<Record> deleted, List<Record> added) {}

    private final ReentrantLock lock = new ReentrantLock();
    private final Map<Name, Deque<Diff>> diffs = new HashMap<>();

    /** Records the step from {@code before} to {@code after} of the same zone, if anything changed. */
    void record(Zone before, Zone after) {
        long from = before.soa().getSerial();
        long to = after.soa().getSerial();
        Map<String, Record> old = byText(before.records());
        Map<String, Record> now = byText(after.records());
        List<Record> deleted = new ArrayList<>();
        List<Record> added = new ArrayList<>();
        old.forEach((k, r) -> {
            if (!now.containsKey(k)) {
                deleted.add(r);
            }
        });
        now.forEach((k, r) -> {
            if (!old.containsKey(k)) {
                added.add(r);
            }
        });
        lock.lock();
        try {
            if (from == to && deleted.isEmpty() && added.isEmpty() && before.soa().equals(after.soa())) {
                return; // the same version again
            }
            Deque<Diff> chain = diffs.computeIfAbsent(after.origin(), n -> new ArrayDeque<>());
            if (!newer(to, from)) {
                chain.clear(); // RFC 1995 §5 needs serials that grow; without, only AXFR is right
                return;
            }
            chain.addLast(new Diff(before.soa(), after.soa(), List.copyOf(deleted), List.copyOf(added)));
            while (chain.size() > DEPTH) {
                chain.removeFirst();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The steps from serial {@code from} up to {@code current}'s, in order, or null if the
     * journal cannot bridge them (the caller then sends the whole zone).
     */
    List<Diff> since(Name origin, long from, SOARecord current) {
        lock.lock();
        try {
            Deque<Diff> chain = diffs.get(origin);
            if (chain == null) {
                return null;
            }
            List<Diff> out = new ArrayList<>();
            long at = from;
            for (Diff d : chain) {
                if (out.isEmpty() && d.from().getSerial() != at) {
                    continue;
                }
                if (d.from().getSerial() != at) {
                    return null;
                }
                out.add(d);
                at = d.to().getSerial();
            }
            return !out.isEmpty() && at == current.getSerial() ? out : null;
        } finally {
            lock.unlock();
        }
    }

    /** RFC 1982 §3.2: whether serial {@code a} is greater than {@code b}. */
    static boolean newer(long a, long b) {
        long d = (a - b) & 0xFFFFFFFFL;
        return d != 0 && d < 0x80000000L;
    }

    /** Records by their full text (owner, TTL, type, data), so a TTL change is a change; SOA left out. */
    private static Map<String, Record> byText(List<Record> records) {
        Map<String, Record> out = new LinkedHashMap<>();
        for (Record r : records) {
            if (r.getType() != Type.SOA) {
                out.put(r.toString(), r);
            }
        }
        return out;
    }
}
