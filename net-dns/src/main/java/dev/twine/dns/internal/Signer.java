package dev.twine.dns.internal;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.math.BigInteger;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECPrivateKeySpec;
import java.security.spec.EdECPrivateKeySpec;
import java.security.spec.NamedParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantLock;
import org.xbill.DNS.DClass;
import org.xbill.DNS.DNSKEYRecord;
import org.xbill.DNS.DNSSEC;
import org.xbill.DNS.Master;
import org.xbill.DNS.NSEC3PARAMRecord;
import org.xbill.DNS.NSEC3Record;
import org.xbill.DNS.NSECRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Type;
import org.xbill.DNS.utils.base32;

/**
 * Online signing (RFC 4033–4035): each zone for which the key directory holds BIND key files
 * ({@code K<zone>+<alg>+<id>.key} and {@code .private}, as {@code dnssec-keygen} writes them) is
 * signed as it is loaded: its DNSKEY set added, an NSEC chain (RFC 4034 §4) or an NSEC3 chain
 * with RFC 9276's parameters (SHA-1, no iterations, no salt, no opt-out), and an RRSIG over every
 * authoritative RRset, valid from an hour ago for {@link #VALIDITY}. Keys with the SEP flag
 * (257, a KSK) sign the DNSKEY set, the others (256, a ZSK) everything else; keys of one kind only
 * (a CSK) sign everything. ECDSAP256SHA256 (13) and ED25519 (15). When a zone is signed again
 * with the serial it already had (a re-signing, or a reload of an unchanged file), its serial is
 * raised by one so secondaries fetch the new signatures. Zones without keys are served as they
 * are. Safe for concurrent use.
 */
public final class Signer {
    private static final System.Logger LOG = System.getLogger("dev.twine.dns");
    /** How long a signature is valid after it was made. */
    public static final Duration VALIDITY = Duration.ofDays(14);
    /** How often zones are signed again: half the validity, so no signature comes near its expiry. */
    public static final Duration RESIGN = VALIDITY.dividedBy(2);
    /** How far in the past the inception lies, for validators whose clocks are behind (RFC 4035 §5.3.1). */
    static final Duration SKEW = Duration.ofHours(1);
    private static final base32 BASE32HEX = new base32(base32.Alphabet.BASE32HEX, false, false);

    private final Path keyDirectory;
    private final Clock clock;
    private final boolean nsec3;
    private final ReentrantLock lock = new ReentrantLock();
    /** The serial each zone was last signed with. */
    private final Map<Name, Long> signed = new HashMap<>();

    /** One key: its DNSKEY record and private key. */
    record Key(DNSKEYRecord dnskey, PrivateKey privateKey) {
        boolean ksk() {
            return (dnskey.getFlags() & 0x1) != 0; // RFC 4034 §2.1.1: the SEP flag
        }
    }

    /**
     * @param keyDirectory where the BIND key files are
     * @param clock what signatures' inception and expiry count from
     * @param nsec3 NSEC3 (RFC 5155, RFC 9276 parameters) rather than NSEC
     */
    public Signer(Path keyDirectory, Clock clock, boolean nsec3) {
        this.keyDirectory = keyDirectory;
        this.clock = clock;
        this.nsec3 = nsec3;
    }

    /**
     * {@code z} signed with its keys from the directory, or {@code z} itself if it has none there.
     *
     * @throws ZoneFileException naming the key file that cannot be read or used
     */
    Zone sign(Zone z) throws ZoneFileException {
        List<Key> keys = keys(keyDirectory, z.origin());
        if (keys.isEmpty()) {
            return z;
        }
        long serial = z.soa().getSerial();
        lock.lock();
        try {
            Long before = signed.get(z.origin());
            if (before != null && !Journal.newer(serial, before)) {
                serial = (before + 1) & 0xFFFFFFFFL; // RFC 1982 §3.1: new signatures, a newer serial
            }
            signed.put(z.origin(), serial);
        } finally {
            lock.unlock();
        }
        try {
            Zone out = Zone.of(z.source(), sign(z, keys, serial, clock.instant(), nsec3));
            LOG.log(Level.INFO, "dns: signed {0} with {1} key(s), serial {2}", z.origin(), keys.size(), serial);
            return out;
        } catch (GeneralSecurityException | DNSSEC.DNSSECException | IOException e) {
            throw new ZoneFileException(z.source() + ": cannot sign " + z.origin() + ": " + e.getMessage());
        }
    }

    /** The keys in {@code dir} for {@code origin}: each {@code K<origin>+<alg>+<id>.key} with its {@code .private}. */
    static List<Key> keys(Path dir, Name origin) throws ZoneFileException {
        List<Key> out = new ArrayList<>();
        String prefix = "k" + origin.toString().toLowerCase(java.util.Locale.ROOT) + "+";
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "K*.key")) {
            for (Path f : files) {
                if (f.getFileName().toString().toLowerCase(java.util.Locale.ROOT).startsWith(prefix)) {
                    out.add(key(f, origin));
                }
            }
        } catch (IOException e) {
            throw new ZoneFileException(dir + ": cannot read the key directory: " + e.getMessage());
        }
        out.sort(java.util.Comparator.comparing(k -> k.dnskey().getFootprint()));
        return out;
    }

    private static Key key(Path file, Name origin) throws ZoneFileException {
        DNSKEYRecord dnskey = null;
        try (Master m = new Master(file.toString(), origin, 3600)) { // dnssec-keygen writes no TTL
            for (Record r = m.nextRecord(); r != null; r = m.nextRecord()) {
                if (r instanceof DNSKEYRecord k && r.getName().equals(origin)) {
                    dnskey = k;
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new ZoneFileException(file + ": " + e.getMessage());
        }
        if (dnskey == null) {
            throw new ZoneFileException(file + ": no DNSKEY record for " + origin);
        }
        String base = file.toString();
        Path priv = Path.of(base.substring(0, base.length() - ".key".length()) + ".private");
        Map<String, String> fields = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(priv)) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    fields.put(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
                }
            }
        } catch (IOException e) {
            throw new ZoneFileException(priv + ": cannot read: " + e.getMessage());
        }
        String material = fields.get("PrivateKey");
        String alg = fields.getOrDefault("Algorithm", "").split("\\s+")[0];
        if (material == null || !alg.equals(String.valueOf(dnskey.getAlgorithm()))) {
            throw new ZoneFileException(priv + ": not a private key of algorithm " + dnskey.getAlgorithm()
                    + " (expected the lines Algorithm: and PrivateKey:)");
        }
        try {
            byte[] raw = Base64.getDecoder().decode(material);
            PrivateKey pk = switch (dnskey.getAlgorithm()) {
                case DNSSEC.Algorithm.ECDSAP256SHA256 -> KeyFactory.getInstance("EC").generatePrivate(
                        new ECPrivateKeySpec(new BigInteger(1, raw), ((ECPublicKey) dnskey.getPublicKey()).getParams()));
                case DNSSEC.Algorithm.ED25519 -> KeyFactory.getInstance("Ed25519").generatePrivate(
                        new EdECPrivateKeySpec(NamedParameterSpec.ED25519, raw));
                default -> throw new ZoneFileException(file + ": algorithm " + dnskey.getAlgorithm()
                        + " is not served (ECDSAP256SHA256 = 13 and ED25519 = 15 are)");
            };
            return new Key(dnskey, pk);
        } catch (GeneralSecurityException | IllegalArgumentException | DNSSEC.DNSSECException e) {
            throw new ZoneFileException(priv + ": bad key: " + e.getMessage());
        }
    }

    /** The signed zone's records, SOA first. */
    static List<Record> sign(Zone z, List<Key> keys, long serial, Instant now, boolean nsec3)
            throws GeneralSecurityException, DNSSEC.DNSSECException, IOException {
        Name origin = z.origin();
        SOARecord old = z.soa();
        SOARecord soa = new SOARecord(origin, DClass.IN, old.getTTL(), old.getHost(), old.getAdmin(), serial,
                old.getRefresh(), old.getRetry(), old.getExpire(), old.getMinimum());
        long negativeTtl = Math.min(soa.getTTL(), soa.getMinimum()); // RFC 9077 §3
        // the RRsets by owner in canonical order (RFC 4034 §6.1), the old DNSSEC records left out
        TreeMap<Name, Map<Integer, List<Record>>> nodes = new TreeMap<>();
        for (Record r : z.records()) {
            int t = r.getType();
            if (t == Type.RRSIG || t == Type.NSEC || t == Type.NSEC3 || t == Type.NSEC3PARAM || t == Type.DNSKEY) {
                continue;
            }
            nodes.computeIfAbsent(r.getName(), n -> new LinkedHashMap<>())
                    .computeIfAbsent(t, x -> new ArrayList<>()).add(t == Type.SOA ? soa : r);
        }
        Map<Integer, List<Record>> apex = nodes.get(origin);
        for (Key k : keys) {
            apex.computeIfAbsent(Type.DNSKEY, x -> new ArrayList<>()).add(
                    new DNSKEYRecord(origin, DClass.IN, soa.getTTL(), k.dnskey().getFlags(), k.dnskey().getProtocol(),
                            k.dnskey().getAlgorithm(), k.dnskey().getKey()));
        }
        NSEC3PARAMRecord param = nsec3 ? new NSEC3PARAMRecord(origin, DClass.IN, 0, NSEC3Record.SHA1_DIGEST_ID, 0, 0, new byte[0]) : null;
        if (param != null) {
            apex.put(Type.NSEC3PARAM, new ArrayList<>(List.of(param))); // RFC 5155 §4: TTL 0 recommended
        }
        // authoritative names: not below a zone cut (glue is not signed, RFC 4035 §2.2)
        List<Name> cuts = new ArrayList<>();
        List<Name> names = new ArrayList<>();
        for (Map.Entry<Name, Map<Integer, List<Record>>> e : nodes.entrySet()) {
            Name n = e.getKey();
            if (cuts.stream().anyMatch(c -> n.subdomain(c) && !n.equals(c))) {
                continue;
            }
            if (!n.equals(origin) && e.getValue().containsKey(Type.NS)) {
                cuts.add(n);
            }
            names.add(n);
        }
        List<Record> out = new ArrayList<>();
        List<Record> denial = new ArrayList<>();
        if (param == null) {
            for (int i = 0; i < names.size(); i++) {
                Name n = names.get(i);
                TreeSet<Integer> types = new TreeSet<>(nodes.get(n).keySet());
                types.add(Type.RRSIG);
                types.add(Type.NSEC);
                denial.add(new NSECRecord(n, DClass.IN, negativeTtl, names.get((i + 1) % names.size()),
                        types.stream().mapToInt(Integer::intValue).toArray()));
            }
        } else {
            // RFC 5155 §7.1: every authoritative name and every empty non-terminal above it gets one
            TreeMap<String, Name> hashed = new TreeMap<>();
            Map<Name, int[]> typesOf = new HashMap<>();
            for (Name n : names) {
                TreeSet<Integer> types = new TreeSet<>(nodes.get(n).keySet());
                boolean unsignedCut = cuts.contains(n) && !types.contains(Type.DS);
                if (!unsignedCut) {
                    types.add(Type.RRSIG);
                }
                typesOf.put(n, types.stream().mapToInt(Integer::intValue).toArray());
                for (Name up = n; !up.equals(origin); up = Zone.parent(up)) {
                    typesOf.putIfAbsent(up, new int[0]);
                }
            }
            for (Name n : typesOf.keySet()) {
                hashed.put(BASE32HEX.toString(param.hashName(n)).toLowerCase(java.util.Locale.ROOT), n);
            }
            List<String> order = new ArrayList<>(hashed.keySet());
            for (int i = 0; i < order.size(); i++) {
                Name owner = Name.fromString(order.get(i), origin);
                byte[] next = param.hashName(hashed.get(order.get((i + 1) % order.size())));
                denial.add(new NSEC3Record(owner, DClass.IN, negativeTtl, NSEC3Record.SHA1_DIGEST_ID, 0, 0, new byte[0], next,
                        typesOf.get(hashed.get(order.get(i)))));
            }
        }
        Instant inception = now.minus(SKEW);
        Instant expiry = now.plus(VALIDITY);
        boolean split = keys.stream().anyMatch(Key::ksk) && keys.stream().anyMatch(k -> !k.ksk());
        for (Name n : names) {
            for (Map.Entry<Integer, List<Record>> set : nodes.get(n).entrySet()) {
                out.addAll(set.getValue());
                if (cuts.contains(n) && set.getKey() != Type.DS) {
                    continue; // RFC 4035 §2.2: the NS set at a cut is the child's, not signed here
                }
                out.addAll(signatures(set.getValue(), keys, split, set.getKey() == Type.DNSKEY, inception, expiry));
            }
        }
        // glue below the cuts, as it was, unsigned
        for (Map.Entry<Name, Map<Integer, List<Record>>> e : nodes.entrySet()) {
            if (!names.contains(e.getKey())) {
                e.getValue().values().forEach(out::addAll);
            }
        }
        for (Record d : denial) {
            out.add(d);
            out.addAll(signatures(List.of(d), keys, split, false, inception, expiry));
        }
        out.remove(soa);
        out.add(0, soa);
        return out;
    }

    /** RFC 4035 §2.2: the RRSIGs over one RRset, by the KSKs for DNSKEY and the ZSKs otherwise (all keys when one kind only). */
    private static List<Record> signatures(List<Record> set, List<Key> keys, boolean split, boolean dnskey, Instant inception,
            Instant expiry) throws DNSSEC.DNSSECException {
        List<Record> out = new ArrayList<>();
        RRset rrset = new RRset(set.toArray(Record[]::new));
        for (Key k : keys) {
            if (!split || k.ksk() == dnskey) {
                out.add(DNSSEC.sign(rrset, k.dnskey(), k.privateKey(), inception, expiry));
            }
        }
        return out;
    }
}
