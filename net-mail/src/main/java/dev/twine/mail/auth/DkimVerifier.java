package dev.twine.mail.auth;

import dev.twine.dns.DnsException;
import dev.twine.dns.DnsRecord;
import dev.twine.dns.RecordType;
import dev.twine.dns.Resolver;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Verifies the DKIM signatures of a message (RFC 6376 §6): each {@code DKIM-Signature} field's
 * tags are checked, its key fetched as the TXT record at {@code selector._domainkey.domain}
 * through net-dns's {@link Resolver}, the body hash and the signature verified, for
 * {@code rsa-sha256} and {@code ed25519-sha256} (RFC 8463), simple and relaxed canonicalisation,
 * with {@code l=}, {@code x=}, and the key record's {@code k=}, {@code h=}, {@code s=} and
 * {@code t=s}. {@code rsa-sha1} is not accepted (RFC 8301 §3.1): such a signature is
 * {@code neutral}.
 *
 * <pre>{@code
 * DkimVerifier dkim = DkimVerifier.builder().resolver(Resolver.builder().server("127.0.0.1", 53).build()).build();
 * for (DkimResult r : dkim.verify(message)) {
 *     System.out.println(r.resultsEntry());         // dkim=pass header.d=example.org header.s=mail ...
 * }
 * }</pre>
 *
 * <h2>Blocking and errors</h2>
 * {@link #verify} blocks for the key lookups (one per signature, at most
 * {@link Builder#maxSignatures} signatures, each bounded by the resolver's timeout). It never
 * throws for anything in the message or the DNS: each outcome is a {@link DkimResult} (see its
 * {@code result} for which failure is which). Thread-safe.
 */
public final class DkimVerifier {
    private static final System.Logger LOG = System.getLogger(DkimVerifier.class.getName());

    private final Resolver resolver;
    private final Clock clock;
    private final int maxSignatures;

    private DkimVerifier(Builder b) {
        this.resolver = b.resolver;
        this.clock = b.clock;
        this.maxSignatures = b.maxSignatures;
    }

    /** A builder; {@link Builder#resolver} is required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The result of each signature of {@code message} (header section, empty line, body), in the
     * order the fields appear; empty when it has none (DKIM's {@code none}). Signatures past
     * {@link Builder#maxSignatures} are not looked at.
     *
     * @throws InterruptedException if the thread is interrupted during a lookup
     */
    public List<DkimResult> verify(byte[] message) throws InterruptedException {
        MessageText text = MessageText.parse(message);
        List<DkimResult> results = new ArrayList<>();
        for (MessageText.Field f : text.fields("dkim-signature")) {
            if (results.size() == maxSignatures) {
                break;
            }
            results.add(verify(text, f));
        }
        return List.copyOf(results);
    }

    private DkimResult verify(MessageText text, MessageText.Field field) throws InterruptedException {
        String raw = field.raw();
        String value = raw.substring(raw.indexOf(':') + 1);
        Map<String, String> tags = DkimCore.tags(value);
        if (tags == null) {
            return new DkimResult(AuthResult.NEUTRAL, "", "", "", "", "malformed tag list");
        }
        String d = tags.getOrDefault("d", "").toLowerCase(Locale.ROOT);
        String s = tags.getOrDefault("s", "");
        String a = tags.getOrDefault("a", "");
        String b = DkimCore.compact(tags.getOrDefault("b", ""));
        Outcome o = new Outcome(d, s, a, b.length() > 8 ? b.substring(0, 8) : b);
        if (!"1".equals(tags.get("v"))) {
            return o.of(AuthResult.NEUTRAL, "v= is not 1");
        }
        for (String required : List.of("a", "b", "bh", "d", "h", "s")) {
            if (!tags.containsKey(required) || tags.get(required).isEmpty()) {
                return o.of(AuthResult.NEUTRAL, "no " + required + "= tag");
            }
        }
        DkimAlgorithm algorithm = DkimAlgorithm.ofTag(a);
        if (algorithm == null) {
            return o.of(AuthResult.NEUTRAL, "algorithm " + a + " not supported");
        }
        String[] c = tags.getOrDefault("c", "simple/simple").toLowerCase(Locale.ROOT).split("/", -1);
        if (c.length > 2 || !List.of("simple", "relaxed").contains(c[0]) || (c.length == 2 && !List.of("simple", "relaxed").contains(c[1]))) {
            return o.of(AuthResult.NEUTRAL, "canonicalization " + tags.get("c") + " not supported");
        }
        boolean relaxedHeaders = c[0].equals("relaxed");
        boolean relaxedBody = c.length == 2 && c[1].equals("relaxed");
        List<String> h = DkimCore.headerNames(tags.get("h"));
        if (!h.contains("from")) {
            return o.of(AuthResult.NEUTRAL, "From is not signed"); // RFC 6376 §5.4
        }
        String i = tags.get("i");
        String iDomain = i == null ? d : Addresses.domainOf(i);
        if (iDomain == null || !(iDomain.equals(d) || iDomain.endsWith("." + d))) {
            return o.of(AuthResult.NEUTRAL, "i= is not in d="); // RFC 6376 §6.1.1
        }
        long bodyLimit = -1;
        try {
            if (tags.containsKey("l")) {
                bodyLimit = Long.parseLong(DkimCore.compact(tags.get("l")));
            }
            if (tags.containsKey("x")) {
                long x = Long.parseLong(DkimCore.compact(tags.get("x")));
                if (tags.containsKey("t") && x < Long.parseLong(DkimCore.compact(tags.get("t")))) {
                    return o.of(AuthResult.NEUTRAL, "x= before t=");
                }
                if (x < clock.instant().getEpochSecond()) {
                    return o.of(AuthResult.FAIL, "signature expired");
                }
            }
        } catch (NumberFormatException e) {
            return o.of(AuthResult.NEUTRAL, "l=, t= or x= is not a number");
        }
        byte[] bh;
        byte[] signature;
        try {
            bh = Base64.getDecoder().decode(DkimCore.compact(tags.get("bh")));
            signature = Base64.getDecoder().decode(b);
        } catch (IllegalArgumentException e) {
            return o.of(AuthResult.NEUTRAL, "bh= or b= is not base64");
        }
        // the key (RFC 6376 §6.1.2)
        String keyName = s + "._domainkey." + d;
        List<DnsRecord.Txt> records;
        try {
            records = resolver.lookup(keyName, RecordType.TXT, DnsRecord.Txt.class);
        } catch (DnsException e) {
            if (e.isNameError()) {
                return o.of(AuthResult.PERMERROR, "no key for signature");
            }
            return o.of(AuthResult.TEMPERROR, "key lookup failed");
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "DKIM key lookup for {0} failed: {1}", keyName, e.toString());
            return o.of(AuthResult.TEMPERROR, "key lookup failed");
        }
        if (records.isEmpty()) {
            return o.of(AuthResult.PERMERROR, "no key for signature");
        }
        Map<String, String> key = DkimCore.tags(String.join("", records.get(0).strings()));
        if (key == null || (key.containsKey("v") && !key.get("v").equals("DKIM1"))) {
            return o.of(AuthResult.PERMERROR, "bad key record");
        }
        if (!key.getOrDefault("k", "rsa").equalsIgnoreCase(algorithm.keyType())) {
            return o.of(AuthResult.PERMERROR, "key type does not match the algorithm");
        }
        if (key.containsKey("h") && !List.of(DkimCore.compact(key.get("h")).split(":")).contains("sha256")) {
            return o.of(AuthResult.PERMERROR, "key does not allow sha256");
        }
        if (key.containsKey("s") && !List.of(DkimCore.compact(key.get("s")).split(":")).stream()
                .anyMatch(x -> x.equals("*") || x.equals("email"))) {
            return o.of(AuthResult.PERMERROR, "key not for email");
        }
        if (key.containsKey("t") && List.of(DkimCore.compact(key.get("t")).split(":")).contains("s") && !iDomain.equals(d)) {
            return o.of(AuthResult.PERMERROR, "key requires i= in d= itself");
        }
        String p = DkimCore.compact(key.getOrDefault("p", ""));
        if (p.isEmpty()) {
            return o.of(AuthResult.PERMERROR, "key revoked");
        }
        PublicKey publicKey;
        try {
            publicKey = DkimKeys.publicKey(algorithm, Base64.getDecoder().decode(p));
        } catch (IllegalArgumentException e) {
            publicKey = null;
        }
        if (publicKey == null) {
            return o.of(AuthResult.PERMERROR, "bad key");
        }
        if (algorithm == DkimAlgorithm.RSA_SHA256 && DkimKeys.rsaBits(publicKey) < 1024) {
            return o.of(AuthResult.PERMERROR, "RSA key shorter than 1024 bits"); // RFC 8301 §3.2
        }
        // the body (RFC 6376 §6.1.3)
        byte[] body = text.body(relaxedBody);
        if (bodyLimit >= 0) {
            if (bodyLimit > body.length) {
                return o.of(AuthResult.FAIL, "body shorter than l=");
            }
            body = java.util.Arrays.copyOf(body, (int) bodyLimit);
        }
        if (!MessageDigest.isEqual(bh, DkimCore.sha256(body))) {
            return o.of(AuthResult.FAIL, "body hash did not verify");
        }
        byte[] data = DkimCore.signedData(text, h, relaxedHeaders, withoutB(raw));
        try {
            if (!DkimCore.verify(algorithm, publicKey, data, signature)) {
                return o.of(AuthResult.FAIL, "signature did not verify");
            }
        } catch (GeneralSecurityException e) {
            return o.of(AuthResult.PERMERROR, "bad key");
        }
        return o.of(AuthResult.PASS, "");
    }

    /** The field with the value of its {@code b=} tag removed, the rest as written (RFC 6376 §3.7). */
    static String withoutB(String raw) {
        String field = raw.endsWith("\r\n") ? raw.substring(0, raw.length() - 2) : raw.endsWith("\n") ? raw.substring(0, raw.length() - 1) : raw;
        int start = field.indexOf(':') + 1;
        while (start <= field.length()) {
            int end = field.indexOf(';', start);
            if (end < 0) {
                end = field.length();
            }
            int eq = field.indexOf('=', start);
            if (eq >= 0 && eq < end && field.substring(start, eq).strip().equals("b")) {
                return field.substring(0, eq + 1) + field.substring(end) + "\r\n";
            }
            start = end + 1;
        }
        return field + "\r\n";
    }

    private record Outcome(String d, String s, String a, String b) {
        DkimResult of(AuthResult r, String reason) {
            return new DkimResult(r, d, s, a, b, reason);
        }
    }

    /** A verifier configuration. */
    public static final class Builder {
        private Resolver resolver;
        private Clock clock = Clock.systemUTC();
        private int maxSignatures = 5;

        private Builder() {}

        /** Where key records are looked up. */
        public Builder resolver(Resolver resolver) {
            this.resolver = Objects.requireNonNull(resolver, "resolver");
            return this;
        }

        /** The clock that {@code x=} (expiry) is checked against (tests). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** At most this many signatures of one message are verified (default 5), bounding a message's lookups. */
        public Builder maxSignatures(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("maxSignatures must be at least 1: " + n);
            }
            this.maxSignatures = n;
            return this;
        }

        /**
         * The verifier.
         *
         * @throws IllegalStateException if {@code resolver(...)} was not given
         */
        public DkimVerifier build() {
            if (resolver == null) {
                throw new IllegalStateException("resolver(...) is required");
            }
            return new DkimVerifier(this);
        }
    }
}
