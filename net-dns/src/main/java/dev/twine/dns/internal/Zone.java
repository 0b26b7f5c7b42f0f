package dev.twine.dns.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Master;
import org.xbill.DNS.NSEC3PARAMRecord;
import org.xbill.DNS.NSEC3Record;
import org.xbill.DNS.NSECRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Type;
import org.xbill.DNS.utils.base32;

/**
 * One zone loaded from an RFC 1035 master file: its records by owner and type, and every name
 * that exists in it (owners and the empty non-terminals above them, RFC 4592 §2.2.2). Immutable.
 * Names compare case-insensitively (dnsjava's {@link Name#equals}), while records keep the case
 * the file gave them.
 */
public final class Zone {
    private final Name origin;
    private final SOARecord soa;
    private final Map<Name, Map<Integer, List<Record>>> nodes;
    private final Set<Name> names;
    private final List<Record> records;
    private final Path source;
    /** The NSEC chain by owner, in canonical order (RFC 4034 §6.1); empty if the zone has none. */
    private final NavigableMap<Name, NSECRecord> nsec = new TreeMap<>();
    /** The apex's NSEC3PARAM (RFC 5155 §4), or null: then the zone has no NSEC3 chain. */
    private final NSEC3PARAMRecord nsec3param;
    /** The NSEC3 chain by the hash in its owner's first label (base32hex, lower case, so in hash order). */
    private final NavigableMap<String, NSEC3Record> nsec3 = new TreeMap<>();

    private Zone(Path source, SOARecord soa, Map<Name, Map<Integer, List<Record>>> nodes, Set<Name> names,
            List<Record> records) {
        this.source = source;
        this.origin = soa.getName();
        this.soa = soa;
        this.nodes = nodes;
        this.names = names;
        this.records = records;
        NSEC3PARAMRecord param = null;
        for (Record r : records) {
            switch (r) {
                case NSECRecord n -> nsec.put(n.getName(), n);
                case NSEC3Record n -> nsec3.put(n.getName().getLabelString(0).toLowerCase(Locale.ROOT), n);
                case NSEC3PARAMRecord p when p.getName().equals(origin) && p.getFlags() == 0 -> param = p;
                default -> { }
            }
        }
        this.nsec3param = param;
    }

    /**
     * Parses a master file (BIND syntax: {@code $ORIGIN}, {@code $TTL}, {@code $INCLUDE}, relative
     * names, parentheses). The zone's origin is the owner of its SOA record, which must come first.
     *
     * @throws ZoneFileException naming the file (and the line, where the parser knows it)
     */
    public static Zone load(Path file) throws ZoneFileException {
        List<Record> all = new ArrayList<>();
        try (Master m = new Master(file.toString(), null, -1)) {
            Record r;
            while ((r = m.nextRecord()) != null) {
                all.add(r);
                if (all.size() > 5_000_000) {
                    throw new ZoneFileException(file + ": more than 5,000,000 records");
                }
            }
        } catch (ZoneFileException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            String msg = String.valueOf(e.getMessage());
            // dnsjava's tokenizer says "FILE:LINE: problem"; add the file when it did not
            throw new ZoneFileException(msg.startsWith(file.toString()) ? msg : file + ": " + msg);
        }
        return of(file, all);
    }

    /**
     * A zone from records, the first of which is the SOA.
     *
     * @throws ZoneFileException if the records do not make a zone
     */
    public static Zone of(Path source, List<Record> all) throws ZoneFileException {
        if (all.isEmpty() || !(all.get(0) instanceof SOARecord soa)) {
            throw new ZoneFileException(source + ": the first record must be the zone's SOA");
        }
        Name origin = soa.getName();
        Map<Name, Map<Integer, List<Record>>> nodes = new HashMap<>();
        Set<Name> names = new HashSet<>();
        List<Record> kept = new ArrayList<>();
        for (Record r : all) {
            if (r.getDClass() != DClass.IN) {
                throw new ZoneFileException(source + ": " + r.getName() + ": only class IN is served");
            }
            if (!r.getName().subdomain(origin)) {
                throw new ZoneFileException(source + ": " + r.getName() + " is outside the zone " + origin);
            }
            if (r.getType() == Type.SOA && !r.getName().equals(origin)) {
                throw new ZoneFileException(source + ": SOA for " + r.getName() + " inside the zone " + origin);
            }
            if ((r.getType() == Type.TXT || r.getType() == Type.SPF) && r.rdataToWireCanonical().length == 0) {
                // RFC 1035 §3.3.14 (and RFC 7208 §3.1 for SPF, the same format): TXT-DATA is one
                // or more character-strings, so never empty. dnsjava takes "name IN TXT" with
                // nothing (or only a comment) after it as a TXT of no strings, which would go out
                // with RDLENGTH 0 and which it prints back as "", one empty string: another record
                throw new ZoneFileException(source + ": " + r.getName() + ": " + Type.string(r.getType())
                        + " record without a string (RFC 1035 §3.3.14 needs at least one; \"\" is the empty one)");
            }
            if (r.getType() == Type.SOA && r != soa) {
                continue; // a second SOA at the apex (as AXFR files end): keep the first
            }
            List<Record> set = nodes.computeIfAbsent(r.getName(), n -> new LinkedHashMap<>())
                    .computeIfAbsent(r.getType(), t -> new ArrayList<>());
            if (!set.contains(r)) {
                set.add(r);
                kept.add(r);
            }
            // the owner and every name between it and the origin exist (RFC 4592 §2.2.2)
            for (Name n = r.getName(); names.add(n) && !n.equals(origin); n = parent(n)) {
                // walk up until a name already known
            }
        }
        for (Map.Entry<Name, Map<Integer, List<Record>>> e : nodes.entrySet()) {
            Map<Integer, List<Record>> node = e.getValue();
            long others = node.keySet().stream().filter(t -> t != Type.RRSIG && t != Type.NSEC).count();
            if (node.containsKey(Type.CNAME) && (others > 1 || node.get(Type.CNAME).size() > 1)) {
                // RFC 1034 §3.6.2: a CNAME is the only data at its name, but for its DNSSEC
                // records (RFC 4035 §2.5: RRSIG and NSEC)
                throw new ZoneFileException(source + ": " + e.getKey() + " has a CNAME and other data");
            }
            node.replaceAll((t, l) -> List.copyOf(l));
        }
        return new Zone(source, soa, Map.copyOf(nodes), Set.copyOf(names), List.copyOf(kept));
    }

    /** Whether the zone is signed: its apex has a DNSKEY set (RFC 4035 §2.1). */
    public boolean signed() {
        return node(origin).containsKey(Type.DNSKEY);
    }

    /** Whether its denial of existence is NSEC3 (RFC 5155) rather than NSEC. */
    public boolean usesNsec3() {
        return nsec3param != null && !nsec3.isEmpty();
    }

    /** The NSEC owned by {@code name} or, if none, the one before it that covers it (RFC 4034 §4.1.1). */
    NSECRecord nsecFor(Name name) {
        Map.Entry<Name, NSECRecord> e = nsec.floorEntry(name);
        return e != null ? e.getValue() : nsec.isEmpty() ? null : nsec.lastEntry().getValue();
    }

    /** The NSEC3 whose owner is {@code name}'s hash, or null (RFC 5155 §7.2.1 "matches"). */
    NSEC3Record nsec3Matching(Name name) {
        return nsec3.get(hash(name));
    }

    /**
     * The NSEC3 whose owner hash comes before {@code name}'s and whose next hash comes after it,
     * the last one wrapping round (RFC 5155 §7.2.1 "covers"); null if the hash matches or there is
     * no chain.
     */
    NSEC3Record nsec3Covering(Name name) {
        String h = hash(name);
        if (h == null || nsec3.containsKey(h)) {
            return null;
        }
        Map.Entry<String, NSEC3Record> e = nsec3.lowerEntry(h);
        return e != null ? e.getValue() : nsec3.lastEntry().getValue();
    }

    private String hash(Name name) {
        if (nsec3param == null) {
            return null;
        }
        try {
            return BASE32HEX.toString(nsec3param.hashName(name)).toLowerCase(Locale.ROOT);
        } catch (java.security.NoSuchAlgorithmException e) {
            return null; // an unknown hash algorithm: no NSEC3 proof can be given (RFC 5155 §8.1)
        }
    }

    private static final base32 BASE32HEX = new base32(base32.Alphabet.BASE32HEX, false, false);

    static Name parent(Name n) {
        return new Name(n, 1);
    }

    /** The zone's apex. */
    public Name origin() {
        return origin;
    }

    /** The SOA record. */
    public SOARecord soa() {
        return soa;
    }

    /** The file it came from. */
    public Path source() {
        return source;
    }

    /** Every record, SOA first, in file order (for AXFR). */
    public List<Record> records() {
        return records;
    }

    /** The records at {@code name} by type, or an empty map if it owns none. */
    public Map<Integer, List<Record>> node(Name name) {
        Map<Integer, List<Record>> n = nodes.get(name);
        return n == null ? Collections.emptyMap() : n;
    }

    /** Whether {@code name} exists: it owns records or has descendants that do. */
    public boolean exists(Name name) {
        return names.contains(name);
    }

    /**
     * The zone cut at or above {@code name} (below the apex) nearest the apex, or null: a name
     * owning NS records that is not the apex (RFC 1034 §4.2.1). Data at or below it is not
     * authoritative (glue).
     */
    public Name delegation(Name name) {
        int below = name.labels() - origin.labels();
        for (int i = below - 1; i >= 0; i--) {
            Name n = i == 0 ? name : new Name(name, i);
            if (node(n).containsKey(Type.NS)) {
                return n;
            }
        }
        return null;
    }
}
