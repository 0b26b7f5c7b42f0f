package dev.twine.dns.internal;

import dev.twine.core.Deadline;
import dev.twine.core.DurableFiles;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.Type;
import org.xbill.DNS.ZoneTransferException;
import org.xbill.DNS.ZoneTransferIn;

/**
 * One secondary zone (RFC 1034 §4.3.5): fetched from its primary by AXFR (RFC 5936), then kept
 * current by IXFR (RFC 1995, AXFR when the primary sends the whole zone or IXFR fails) whenever
 * the primary's SOA serial is newer (RFC 1982 arithmetic); checked every SOA refresh, every retry
 * after a failure, and at once on a NOTIFY from the primary (RFC 1996 §3.11). Expired (no
 * successful check for the SOA expire interval) it is withdrawn: SERVFAIL until a transfer
 * succeeds again. Each version is written to {@link #file()} durably before it is served, and the
 * file's modification time is the last successful check, so a restart serves the stored copy at
 * once, with its expiry counted from that time. The timers run on the server's clock.
 */
public final class Secondary {
    private static final System.Logger LOG = System.getLogger("dev.twine.dns");
    /** Until a first version exists there is no SOA retry to follow: ask again this often. */
    static final Duration BOOTSTRAP_RETRY = Duration.ofSeconds(30);
    /** A floor under the SOA's refresh and retry, so a zero in them does not make a busy loop. */
    private static final Duration FLOOR = Duration.ofSeconds(1);

    private final Name origin;
    private final InetSocketAddress primary;
    private final TSIG key;
    private final Path file;
    private final ZoneAuthority zones;
    private final Clock clock;
    private final Duration timeout;
    /** Called after each new version is in force (to NOTIFY our own secondaries). */
    private final Runnable changed;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    /** Guarded by lock: the version served, or null. */
    private Zone zone;
    private Instant nextCheck;
    private Instant expires;
    private boolean notified;

    /**
     * Reads the stored copy, if there is one, and puts it in force; the first check is due now.
     *
     * @param file where the zone is stored (master-file text)
     * @param key what the SOA queries and transfers are signed with, or null
     * @param timeout one network attempt's limit
     */
    public Secondary(Name origin, InetSocketAddress primary, TSIG key, Path file, ZoneAuthority zones, Clock clock,
            Duration timeout, Runnable changed) {
        this.origin = origin;
        this.primary = primary;
        this.key = key;
        this.file = file;
        this.zones = zones;
        this.clock = clock;
        this.timeout = timeout;
        this.changed = changed;
        this.nextCheck = clock.instant();
        if (Files.exists(file)) {
            try {
                Zone stored = Zone.load(file);
                if (!stored.origin().equals(origin)) {
                    throw new ZoneFileException(file + ": holds zone " + stored.origin() + ", not " + origin);
                }
                Instant checked = Files.getLastModifiedTime(file).toInstant();
                expires = checked.plusSeconds(stored.soa().getExpire());
                if (clock.instant().isBefore(expires)) {
                    zone = stored;
                    zones.install(origin, stored);
                } else {
                    LOG.log(Level.WARNING, "dns: the stored copy of {0} ({1}) expired at {2}: not served until transferred",
                            origin, file, expires);
                }
            } catch (ZoneFileException | IOException e) {
                LOG.log(Level.WARNING, "dns: cannot use the stored copy of {0}, transferring it anew: {1}", origin, e.getMessage());
            }
        }
    }

    /** The secondary's file name in {@code dir}: the origin without its final dot, lower case, {@code .zone}. */
    public static Path fileIn(Path dir, Name origin) {
        String name = origin.equals(Name.root) ? "root" : origin.toString(true).toLowerCase(Locale.ROOT);
        return dir.resolve(name + ".zone");
    }

    Name origin() {
        return origin;
    }

    InetSocketAddress primary() {
        return primary;
    }

    /** The key NOTIFY from the primary must be signed with, or null. */
    TSIG key() {
        return key;
    }

    Path file() {
        return file;
    }

    /** The serial served now, or -1 if none. */
    long serial() {
        lock.lock();
        try {
            return zone == null ? -1 : zone.soa().getSerial();
        } finally {
            lock.unlock();
        }
    }

    /** A NOTIFY from the primary (RFC 1996 §3.11): check the SOA now instead of at the next refresh. */
    void notified() {
        lock.lock();
        try {
            notified = true;
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Keeps the zone current until interrupted: waits on the clock for the next check (or a
     * NOTIFY, or the expiry), then does what is due. Failures are logged and retried, never thrown.
     *
     * @throws InterruptedException when the server stops
     */
    void run() throws InterruptedException {
        while (true) {
            lock.lock();
            try {
                Instant due = zone != null && expires.isBefore(nextCheck) ? expires : nextCheck;
                Deadline.at(due, clock).awaitWhile(lock, wake, () -> !notified);
            } finally {
                lock.unlock();
            }
            step();
        }
    }

    /** Does what is due now: the expiry, then the SOA check (and transfer) if its time has come or a NOTIFY came. */
    void step() throws InterruptedException {
        Instant now = clock.instant();
        boolean check;
        lock.lock();
        try {
            if (zone != null && !now.isBefore(expires)) {
                // RFC 1034 §4.3.5: a secondary that cannot refresh within EXPIRE stops answering
                LOG.log(Level.WARNING, "dns: secondary zone {0} expired (no answer from {1} since {2}): SERVFAIL until it is transferred",
                        origin, primary, expires.minusSeconds(zone.soa().getExpire()));
                zone = null;
                zones.install(origin, null);
            }
            check = notified || !now.isBefore(nextCheck);
            notified = false;
        } finally {
            lock.unlock();
        }
        if (check) {
            refresh(now);
        }
    }

    /** One SOA check at {@code now}, and a transfer when the primary's serial is newer. */
    private void refresh(Instant now) throws InterruptedException {
        Zone current;
        lock.lock();
        try {
            current = zone;
        } finally {
            lock.unlock();
        }
        try {
            long theirs = primarySerial();
            Zone fresh = current;
            String how = null;
            if (current == null || Journal.newer(theirs, current.soa().getSerial())) {
                Fetched f = transfer(current);
                fresh = f.zone();
                how = f.how();
                store(fresh);
            }
            // the check renews the expiry, and the stored copy's time says when (on our clock)
            Files.setLastModifiedTime(file, FileTime.from(now));
            lock.lock();
            try {
                zone = fresh;
                expires = now.plusSeconds(fresh.soa().getExpire());
                nextCheck = now.plus(atLeast(fresh.soa().getRefresh()));
            } finally {
                lock.unlock();
            }
            if (fresh != current) {
                zones.install(origin, fresh);
                LOG.log(Level.INFO, "dns: secondary zone {0} now at serial {1} from {2} by {3}", origin,
                        fresh.soa().getSerial(), primary, how);
                changed.run();
            }
        } catch (IOException | ZoneFileException | ZoneTransferException e) {
            lock.lock();
            try {
                // RFC 1035 §3.3.13: RETRY is how long to wait after a failed refresh
                nextCheck = now.plus(zone == null ? BOOTSTRAP_RETRY : atLeast(zone.soa().getRetry()));
            } finally {
                lock.unlock();
            }
            LOG.log(Level.WARNING, "dns: refreshing secondary zone {0} from {1} failed (next try at {2}): {3}", origin,
                    primary, nextCheck, e.getMessage());
        }
    }

    private static Duration atLeast(long seconds) {
        Duration d = Duration.ofSeconds(seconds);
        return d.compareTo(FLOOR) < 0 ? FLOOR : d;
    }

    /** The primary's serial for the zone, asked over UDP (TCP if truncated), signed when there is a key. */
    private long primarySerial() throws IOException, InterruptedException {
        Message q = Message.newQuery(Record.newRecord(origin, Type.SOA, DClass.IN));
        q.getHeader().unsetFlag(Flags.RD);
        q.getHeader().setID(java.util.concurrent.ThreadLocalRandom.current().nextInt(0x10000));
        Message r = new Exchanger(List.of(primary), timeout, 2).exchange(q, key);
        if (r.getRcode() != Rcode.NOERROR || !r.getHeader().getFlag(Flags.AA)) {
            throw new IOException("the primary answered the SOA query with " + Rcode.string(r.getRcode())
                    + (r.getHeader().getFlag(Flags.AA) ? "" : " without AA"));
        }
        for (Record rec : r.getSection(Section.ANSWER)) {
            if (rec instanceof SOARecord soa && soa.getName().equals(origin)) {
                return soa.getSerial();
            }
        }
        throw new IOException("the primary's answer has no SOA for " + origin);
    }

    /**
     * The primary's current version: by IXFR from {@code current} (RFC 1995 §4), which the primary
     * may answer with the whole zone; by AXFR when there is no current version or IXFR fails.
     */
    private Fetched transfer(Zone current) throws IOException, ZoneTransferException, ZoneFileException {
        if (current != null) {
            ZoneTransferIn ixfr = ZoneTransferIn.newIXFR(origin, current.soa().getSerial(), true, primary, key);
            ixfr.setTimeout(timeout.multipliedBy(5));
            try {
                ixfr.run();
                if (ixfr.isIXFR()) {
                    return new Fetched(apply(current, ixfr.getIXFR()), "IXFR");
                }
                if (ixfr.isAXFR()) {
                    return new Fetched(Zone.of(file, soaFirst(ixfr.getAXFR())), "AXFR (the answer to IXFR)");
                }
                return new Fetched(current, "none"); // isCurrent: it had nothing newer after all
            } catch (ZoneTransferException | ZoneFileException | IOException e) {
                LOG.log(Level.INFO, "dns: IXFR of {0} from {1} failed ({2}); trying AXFR", origin, primary, e.getMessage());
            }
        }
        ZoneTransferIn axfr = ZoneTransferIn.newAXFR(origin, primary, key);
        axfr.setTimeout(timeout.multipliedBy(5));
        axfr.run();
        return new Fetched(Zone.of(file, soaFirst(axfr.getAXFR())), "AXFR");
    }

    /** A transfer's result, and how it came (for the log). */
    private record Fetched(Zone zone, String how) {}

    /** A transfer's records with the SOA first and once (AXFR ends with it again, RFC 5936 §2.2). */
    private List<Record> soaFirst(List<Record> records) throws ZoneFileException {
        if (records.isEmpty() || !(records.get(0) instanceof SOARecord soa) || !soa.getName().equals(origin)) {
            throw new ZoneFileException("the transfer of " + origin + " does not start with its SOA");
        }
        List<Record> out = new ArrayList<>(records.size());
        out.add(soa);
        for (Record r : records.subList(1, records.size())) {
            if (r.getType() != Type.SOA) {
                out.add(r);
            }
        }
        return out;
    }

    /** RFC 1995 §4: each difference in turn, its deletions then its additions, ending at its SOA. */
    private Zone apply(Zone current, List<ZoneTransferIn.Delta> deltas) throws ZoneFileException {
        Set<Record> records = new LinkedHashSet<>(current.records());
        SOARecord soa = current.soa();
        for (ZoneTransferIn.Delta d : deltas) {
            if (d.start != soa.getSerial()) {
                throw new ZoneFileException("the IXFR of " + origin + " starts at serial " + d.start + ", not at ours " + soa.getSerial());
            }
            for (Record r : d.deletes) {
                if (r.getType() != Type.SOA) {
                    records.remove(r);
                }
            }
            for (Record r : d.adds) {
                if (r.getType() == Type.SOA) {
                    soa = (SOARecord) r;
                } else {
                    records.remove(r); // equal records differ at most in TTL: the new one's counts
                    records.add(r);
                }
            }
        }
        List<Record> out = new ArrayList<>(records.size());
        out.add(soa);
        for (Record r : records) {
            if (r.getType() != Type.SOA) {
                out.add(r);
            }
        }
        return Zone.of(file, out);
    }

    /** Writes {@code z} to the file, replacing the old copy atomically and durably, before it is served. */
    private void store(Zone z) throws IOException {
        StringBuilder text = new StringBuilder("; secondary zone ").append(origin).append(" from ").append(primary)
                .append(", serial ").append(z.soa().getSerial()).append('\n');
        for (Record r : z.records()) {
            text.append(r).append('\n');
        }
        DurableFiles.replace(file, text.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** Whether {@code from} is the primary's address (a NOTIFY comes from any port, RFC 1996 §3.10). */
    boolean fromPrimary(InetAddress from) {
        return primary.getAddress().equals(from);
    }
}
