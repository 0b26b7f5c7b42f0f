package dev.twine.dns.internal;

import dev.twine.dns.DnsAnswer;
import dev.twine.dns.DnsAuthority;
import dev.twine.dns.DnsQuestion;
import dev.twine.dns.DnsRecord;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.RRSIGRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Type;

/**
 * The zone-file authority: answers from RFC 1035 master files (RFC 1034 §4.3.2), "not mine"
 * for names outside them. The zones are read at construction and on {@link #reload()}, which
 * swaps all of them at once; each question is answered from one {@link ZoneSet}, so a reload
 * never tears an answer.
 */
public final class ZoneAuthority implements DnsAuthority {
    private static final System.Logger LOG = System.getLogger("dev.twine.dns");
    private static final int MAX_CHAIN = 12;

    private final List<Path> files;
    private final AtomicReference<ZoneSet> zones = new AtomicReference<>();
    private final AtomicReference<String> reloadError = new AtomicReference<>();
    private final AtomicLong reloads = new AtomicLong();
    private final ReentrantLock reloadLock = new ReentrantLock();
    private final Journal journal = new Journal();
    /**
     * The secondary zones by origin, as last transferred (null while there is none to serve:
     * never transferred, or expired); kept across reloads of the files. Guarded by reloadLock.
     */
    private final Map<Name, Zone> secondaries = new LinkedHashMap<>();
    /** Signs the zone files as they are loaded, or null. */
    private final Signer signer;

    /**
     * Loads {@code files}.
     *
     * @throws ZoneFileException naming the file (and line) that does not parse
     */
    public ZoneAuthority(List<Path> files) throws ZoneFileException {
        this(files, List.of());
    }

    /**
     * Loads {@code files}, and claims the {@code secondaries} origins: SERVFAIL below them until
     * {@link #install} gives each its zone.
     *
     * @throws ZoneFileException naming the file (and line) that does not parse, or a zone both
     *     loaded from a file and configured as a secondary
     */
    public ZoneAuthority(List<Path> files, List<Name> secondaries) throws ZoneFileException {
        this(files, secondaries, null);
    }

    /**
     * As {@link #ZoneAuthority(List, List)}, the zone files signed by {@code signer} (if not null)
     * as they are loaded and reloaded.
     *
     * @throws ZoneFileException also for a key that cannot be read or used
     */
    public ZoneAuthority(List<Path> files, List<Name> secondaries, Signer signer) throws ZoneFileException {
        this.signer = signer;
        this.files = List.copyOf(files);
        for (Name n : secondaries) {
            this.secondaries.put(n, null);
        }
        zones.set(load(this.files, this.secondaries));
    }

    private ZoneSet load(List<Path> files, Map<Name, Zone> secondaries) throws ZoneFileException {
        List<Zone> list = new ArrayList<>();
        for (Path f : files) {
            Zone z = signer == null ? Zone.load(f) : signer.sign(Zone.load(f));
            if (secondaries.containsKey(z.origin())) {
                throw new ZoneFileException(f + ": zone " + z.origin() + " is also configured as a secondary");
            }
            list.add(z);
        }
        Set<Name> unavailable = new HashSet<>();
        secondaries.forEach((origin, z) -> {
            if (z == null) {
                unavailable.add(origin);
            } else {
                list.add(z);
            }
        });
        return new ZoneSet(list, unavailable);
    }

    /** The zones in force now. */
    public ZoneSet current() {
        return zones.get();
    }

    /** Re-reads every file; on an error the old zones stay and the error is kept. */
    public boolean reload() {
        reloadLock.lock();
        try {
            swap(load(files, secondaries));
            reloadError.set(null);
            reloads.incrementAndGet();
            LOG.log(Level.INFO, "dns: reloaded {0} zone(s)", zones.get().zones().size());
            return true;
        } catch (ZoneFileException e) {
            reloadError.set(e.getMessage());
            LOG.log(Level.ERROR, "dns: reload failed, keeping the old zones: {0}", e.getMessage());
            return false;
        } finally {
            reloadLock.unlock();
        }
    }

    /**
     * Puts a secondary zone's new version in force (after a transfer), or withdraws it when
     * {@code zone} is null (expired: SERVFAIL below {@code origin} until the next install). The
     * step is kept in the journal, so IXFR out of a secondary works as out of a file.
     *
     * @throws IllegalArgumentException if {@code origin} is not a configured secondary
     */
    void install(Name origin, Zone zone) {
        reloadLock.lock();
        try {
            if (!secondaries.containsKey(origin)) {
                throw new IllegalArgumentException(origin + " is not a secondary zone");
            }
            secondaries.put(origin, zone);
            swap(load(List.of(), secondaries), zones.get().zones().stream()
                    .filter(z -> !secondaries.containsKey(z.origin())).toList());
        } catch (ZoneFileException e) {
            throw new IllegalStateException(e); // the file zones were checked when loaded; secondaries have distinct origins
        } finally {
            reloadLock.unlock();
        }
    }

    /** Swaps in {@code fresh} plus {@code kept} (zones carried over as they are), journaling each changed zone. */
    private void swap(ZoneSet fresh, List<Zone> kept) throws ZoneFileException {
        List<Zone> all = new ArrayList<>(kept);
        all.addAll(fresh.zones());
        swap(new ZoneSet(all, fresh.unavailableOrigins()));
    }

    private void swap(ZoneSet fresh) {
        ZoneSet old = zones.get();
        for (Zone z : fresh.zones()) {
            Zone before = old.find(z.origin());
            if (before != null && before != z && before.origin().equals(z.origin())) {
                journal.record(before, z); // RFC 1995: what IXFR will send to secondaries
            }
        }
        zones.set(fresh);
    }

    /** The differences between the versions loaded so far, for IXFR. */
    Journal journal() {
        return journal;
    }

    /** Why the last reload failed, or empty. */
    public Optional<String> lastReloadError() {
        return Optional.ofNullable(reloadError.get());
    }

    /** Reloads that succeeded. */
    public long reloads() {
        return reloads.get();
    }

    /** The zone files and, one level deep, the files they {@code $INCLUDE} (RFC 1035 §5.1). */
    private List<Path> watchedFiles() {
        List<Path> out = new ArrayList<>(files);
        for (Path f : files) {
            try (var lines = Files.lines(f)) {
                lines.map(String::trim).filter(l -> l.regionMatches(true, 0, "$INCLUDE", 0, 8)).forEach(l -> {
                    String[] w = l.split("\\s+");
                    if (w.length >= 2) {
                        Path inc = Path.of(w[1]);
                        Path dir = f.toAbsolutePath().getParent();
                        out.add(inc.isAbsolute() || dir == null ? inc : dir.resolve(inc));
                    }
                });
            } catch (IOException | java.io.UncheckedIOException | java.nio.file.InvalidPathException e) {
                // unreadable now: the reload reports it with its line
            }
        }
        return out;
    }

    /** The modification time and size of every watched file: a change means "reload". */
    List<Object> stamps() {
        List<Object> out = new ArrayList<>();
        for (Path f : watchedFiles()) {
            try {
                FileTime t = Files.getLastModifiedTime(f);
                out.add(t.toMillis() + "/" + Files.size(f));
            } catch (IOException e) {
                out.add("missing");
            }
        }
        return out;
    }

    @Override
    public DnsAnswer answer(DnsQuestion question) throws IOException {
        return answer(question, zones.get());
    }

    /** The answer from {@code set}: the one the caller read (so its cache and the answer agree). */
    DnsAnswer answer(DnsQuestion question, ZoneSet set) throws IOException {
        Name qname = Records.name(question.name());
        if (question.dnsClass() != DClass.IN && question.dnsClass() != DClass.ANY) {
            return DnsAnswer.notMine();
        }
        if (set.unavailable(qname)) {
            return new DnsAnswer.ServerFailure(); // a secondary zone not transferred yet, or expired
        }
        if (set.find(qname) == null) {
            return DnsAnswer.notMine();
        }
        return resolve(set, qname, question.type(), question.transport() == DnsQuestion.Transport.TCP,
                question.dnssecOk());
    }

    /** The sections of an answer as they are filled in. */
    private static final class Sections {
        final List<Record> answer = new ArrayList<>();
        final List<Record> authority = new ArrayList<>();
        final List<Record> additional = new ArrayList<>();

        DnsAnswer data() throws IOException {
            return new DnsAnswer.Data(Records.exact(answer), Records.exact(authority), Records.exact(additional), true);
        }
    }

    /**
     * The authoritative answer for (qname, qtype), CNAMEs chased across the zones; with
     * {@code dnssec} (the DO bit), a signed zone's RRSIGs and proofs come with it (RFC 4035 §3.1).
     */
    private static DnsAnswer resolve(ZoneSet set, Name qname, int qtype, boolean tcp, boolean dnssec) throws IOException {
        Sections s = new Sections();
        Name current = qname;
        Set<Name> seen = new HashSet<>();
        for (int hop = 0; hop < MAX_CHAIN; hop++) {
            Zone zone = set.find(current);
            if (zone == null || !seen.add(current)) {
                return s.data(); // the chain leaves our zones (the client resolves on), or loops
            }
            boolean sign = dnssec && zone.signed();
            Name cut = zone.delegation(current);
            if (cut != null && !(qtype == Type.DS && cut.equals(current))) {
                // RFC 1034 §4.3.2 step 3b: a referral, not authoritative, with glue
                referral(zone, cut, s);
                if (hop == 0) {
                    List<DnsRecord.Ns> ns = new ArrayList<>();
                    for (DnsRecord r : Records.exact(s.authority)) {
                        ns.add((DnsRecord.Ns) r);
                    }
                    List<Record> ds = sign ? Denial.delegation(zone, cut) : List.of();
                    return new DnsAnswer.Referral(ns, Records.exact(s.additional), Records.exact(ds));
                }
                return s.data(); // a CNAME into a delegation: the alias is ours, the rest theirs
            }
            Map<Integer, List<Record>> node = zone.node(current);
            Name owner = current;
            Name synthesised = null; // the closest encloser, when the answer comes from its wildcard
            if (node.isEmpty() && !zone.exists(current)) {
                // RFC 4592 §3.3.1: the source of synthesis is "*." + the closest encloser
                Name encloser = Zone.parent(current);
                while (!zone.exists(encloser)) {
                    encloser = Zone.parent(encloser);
                }
                node = zone.node(wildcard(encloser));
                if (node.isEmpty()) {
                    // RFC 6604 §3: the last name in the chain decides
                    List<Record> auth = negative(zone, sign);
                    if (sign) {
                        auth.addAll(Denial.nxdomain(zone, current, encloser));
                    }
                    return new DnsAnswer.NxDomain(Records.exact(s.answer), Records.exact(auth), true);
                }
                synthesised = encloser;
            }
            if (qtype == Type.ANY) {
                if (node.isEmpty()) {
                    return noData(zone, current, synthesised, sign, s); // an empty non-terminal
                }
                any(node, owner, tcp, sign, s);
                synthesisProof(zone, current, synthesised, sign, s);
                return s.data();
            }
            List<Record> answer = node.get(qtype);
            if (answer != null) {
                add(answer, owner, s.answer);
                signatures(node, qtype, owner, sign, s.answer);
                synthesisProof(zone, current, synthesised, sign, s);
                additional(set, answer, sign, s);
                return s.data();
            }
            List<Record> cname = node.get(Type.CNAME);
            if (cname != null) {
                // RFC 1034 §4.3.2 step 3a: answer the alias and go on with its target
                add(cname, owner, s.answer);
                signatures(node, Type.CNAME, owner, sign, s.answer);
                synthesisProof(zone, current, synthesised, sign, s);
                current = ((CNAMERecord) cname.get(0)).getTarget();
                continue;
            }
            return noData(zone, current, synthesised, sign, s); // RFC 2308 §2.2
        }
        return s.data();
    }

    /** NODATA at {@code name} (from the wildcard of {@code synthesised} if not null), with its proof when signing. */
    private static DnsAnswer noData(Zone zone, Name name, Name synthesised, boolean sign, Sections s) throws IOException {
        List<Record> auth = negative(zone, sign);
        if (sign) {
            auth.addAll(synthesised == null ? Denial.nodata(zone, name) : Denial.wildcardNodata(zone, name, synthesised));
        }
        s.authority.addAll(auth);
        return new DnsAnswer.NoData(Records.exact(s.answer), Records.exact(s.authority), true);
    }

    /** The SOA for a negative answer, with its RRSIGs when signing (RFC 4035 §3.1.3). */
    private static List<Record> negative(Zone zone, boolean sign) {
        List<Record> out = new ArrayList<>(List.of(zone.soa()));
        if (sign) {
            signatures(zone.node(zone.origin()), Type.SOA, zone.origin(), true, out);
        }
        return out;
    }

    /** RFC 4035 §3.1.3.3: an answer from a wildcard carries the proof that the name itself does not exist. */
    private static void synthesisProof(Zone zone, Name name, Name synthesised, boolean sign, Sections s) {
        if (sign && synthesised != null) {
            for (Record r : Denial.wildcardAnswer(zone, name, synthesised)) {
                if (!s.authority.contains(r)) {
                    s.authority.add(r);
                }
            }
        }
    }

    /** The RRSIGs at {@code node} covering {@code type}, owned by {@code owner} (RFC 4035 §3.1.1). */
    private static void signatures(Map<Integer, List<Record>> node, int type, Name owner, boolean sign, List<Record> section) {
        List<Record> sigs = node.get(Type.RRSIG);
        if (!sign || sigs == null) {
            return;
        }
        for (Record sig : sigs) {
            if (((RRSIGRecord) sig).getTypeCovered() == type) {
                // a wildcard's RRSIG keeps its label count, which tells the validator of the expansion
                Record named = sig.getName() == owner ? sig : sig.withName(owner);
                if (!section.contains(named)) {
                    section.add(named);
                }
            }
        }
    }

    static Name wildcard(Name encloser) {
        try {
            return Name.concatenate(Name.fromConstantString("*"), encloser);
        } catch (org.xbill.DNS.NameTooLongException e) {
            return encloser; // a wildcard under a maximal name cannot exist
        }
    }

    /** RFC 8482 §4.2: over UDP, one RRset (the lowest type); over TCP everything. */
    private static void any(Map<Integer, List<Record>> node, Name owner, boolean tcp, boolean sign, Sections s) {
        if (tcp) {
            for (Map.Entry<Integer, List<Record>> set : node.entrySet()) {
                if (set.getKey() != Type.RRSIG || sign) {
                    add(set.getValue(), owner, s.answer);
                }
            }
        } else {
            int lowest = node.keySet().stream().filter(t -> t != Type.RRSIG).min(Integer::compare).orElseThrow();
            add(node.get(lowest), owner, s.answer);
            signatures(node, lowest, owner, sign, s.answer);
        }
    }

    private static void add(List<Record> set, Name owner, List<Record> section) {
        for (Record rec : set) {
            // the owner as the client spelled it (and as a wildcard expands to)
            section.add(rec.getName() == owner ? rec : rec.withName(owner));
        }
    }

    private static void referral(Zone zone, Name cut, Sections s) {
        List<Record> ns = zone.node(cut).get(Type.NS);
        s.authority.addAll(ns);
        for (Record rec : ns) {
            Name target = ((NSRecord) rec).getTarget();
            if (target.subdomain(zone.origin())) {
                glue(zone.node(target), s);
            }
        }
    }

    private static void glue(Map<Integer, List<Record>> node, Sections s) {
        for (int t : new int[] {Type.A, Type.AAAA}) {
            List<Record> set = node.get(t);
            if (set != null) {
                for (Record rec : set) {
                    if (!s.additional.contains(rec)) {
                        s.additional.add(rec);
                    }
                }
            }
        }
    }

    /** RFC 1035 §3.3.9/§3.3.11, RFC 2782: addresses of MX, NS and SRV targets in our zones. */
    private static void additional(ZoneSet set, List<Record> answer, boolean sign, Sections s) {
        for (Record rec : answer) {
            Name target = switch (rec) {
                case MXRecord m -> m.getTarget();
                case NSRecord n -> n.getTarget();
                case SRVRecord x -> x.getTarget();
                default -> null;
            };
            if (target != null) {
                Zone z = set.find(target);
                if (z != null && z.delegation(target) == null) {
                    glue(z.node(target), s);
                    for (int t : new int[] {Type.A, Type.AAAA}) {
                        if (z.node(target).containsKey(t)) {
                            signatures(z.node(target), t, target, sign && z.signed(), s.additional);
                        }
                    }
                }
            }
        }
    }
}
