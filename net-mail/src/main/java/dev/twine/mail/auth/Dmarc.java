package dev.twine.mail.auth;

import dev.twine.dns.DnsException;
import dev.twine.dns.DnsRecord;
import dev.twine.dns.RecordType;
import dev.twine.dns.Resolver;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * DMARC policy evaluation (RFC 7489): the author domain's policy record, looked up at
 * {@code _dmarc.<From domain>} and then at {@code _dmarc.<organizational domain>} (§6.6.3),
 * and whether an SPF or DKIM pass is for an aligned domain (§3.1: strict, the same domain;
 * relaxed, the default, the same organizational domain). The organizational domain (§3.2) comes
 * from a Public Suffix List file when {@linkplain Builder#publicSuffixList one is given}, else
 * from a built-in set of suffixes (every top-level domain and the common second-level ones such
 * as {@code co.uk}); no copy of the list ships with Twine, so that its data and licence stay
 * the operator's choice and the list can be as fresh as they keep it.
 *
 * <pre>{@code
 * Dmarc dmarc = Dmarc.builder().resolver(resolver).build();
 * DmarcResult r = dmarc.evaluate("example.com", spf.check(client, helo, mailFrom), dkim.verify(message));
 * if (r.disposition() == Dmarc.Policy.REJECT) {
 *     throw new SmtpException(Reply.of(550, "5.7.1 Rejected by DMARC policy of " + r.fromDomain()));
 * }
 * }</pre>
 *
 * <h2>Blocking and errors</h2>
 * {@link #evaluate} blocks for at most two TXT lookups (each bounded by the resolver's timeout).
 * It never throws for anything in the DNS: a lookup that fails is {@code temperror}, a bad
 * record {@code permerror}. Thread-safe.
 */
public final class Dmarc {
    /** A domain owner's requested handling of failing mail ({@code p=}, {@code sp=}). */
    public enum Policy {
        /** Deliver as usual (monitoring). */
        NONE,
        /** Deliver as suspicious: into a junk folder, or marked. */
        QUARANTINE,
        /** Refuse it during the SMTP transaction. */
        REJECT;

        /** The tag value: {@code none}, {@code quarantine}, {@code reject}. */
        public String token() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** RFC 7489 §6.6.4: the next milder policy, for a message left out of the {@code pct=} sample. */
        Policy milder() {
            return this == REJECT ? QUARANTINE : NONE;
        }
    }

    private final Resolver resolver;
    private final PublicSuffixes suffixes;
    private final RandomGenerator random;

    private Dmarc(Builder b) {
        this.resolver = b.resolver;
        this.suffixes = b.suffixes;
        this.random = b.random;
    }

    /** A builder; {@link Builder#resolver} is required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * RFC 7489 §3.2: the organizational domain of {@code domain}: its public suffix with one
     * label more ({@code mail.example.co.uk} gives {@code example.co.uk}).
     */
    public String organizationalDomain(String domain) {
        return suffixes.organizationalDomain(Objects.requireNonNull(domain, "domain"));
    }

    /**
     * The DMARC result for a message whose {@code From:} domain is {@code fromDomain}.
     *
     * @param fromDomain the author domain; null or empty when the message has no single
     *     {@code From:} address with a domain (the result is then {@code none})
     * @param spf the message's SPF result, or null if SPF was not checked
     * @param dkim the message's DKIM results (possibly none)
     * @throws InterruptedException if interrupted during a lookup
     */
    public DmarcResult evaluate(String fromDomain, SpfResult spf, List<DkimResult> dkim) throws InterruptedException {
        if (fromDomain == null || fromDomain.isEmpty()) {
            return new DmarcResult(AuthResult.NONE, "", Policy.NONE, Policy.NONE, "no single From domain");
        }
        String from = Spf.trimDot(fromDomain.toLowerCase(Locale.ROOT));
        String org = organizationalDomain(from);
        Map<String, String> tags;
        boolean inherited = false;
        try {
            tags = record(from);
            if (tags == null && !org.equals(from)) {
                tags = record(org);
                inherited = true;
            }
        } catch (IOException e) {
            return new DmarcResult(AuthResult.TEMPERROR, from, Policy.NONE, Policy.NONE, "policy lookup failed: " + e.getMessage());
        }
        if (tags == null) {
            return new DmarcResult(AuthResult.NONE, from, Policy.NONE, Policy.NONE, "");
        }
        Policy p = policy(tags.get("p"));
        Policy sp = tags.containsKey("sp") ? policy(tags.get("sp")) : p;
        if (p == null || sp == null) {
            // §6.6.3: a record without a valid p= (or with a bad sp=) counts as p=none when it asks for reports
            if (!tags.getOrDefault("rua", "").contains(":")) {
                return new DmarcResult(AuthResult.PERMERROR, from, Policy.NONE, Policy.NONE, "no valid p= in the policy record");
            }
            p = Policy.NONE;
            sp = Policy.NONE;
        }
        Policy policy = inherited ? sp : p;
        boolean strictSpf = "s".equalsIgnoreCase(tags.get("aspf"));
        boolean strictDkim = "s".equalsIgnoreCase(tags.get("adkim"));
        for (DkimResult r : dkim) {
            if (r.result() == AuthResult.PASS && aligned(r.domain(), from, strictDkim)) {
                return new DmarcResult(AuthResult.PASS, from, policy, Policy.NONE, "");
            }
        }
        if (spf != null && spf.result() == AuthResult.PASS && aligned(spf.domain(), from, strictSpf)) {
            return new DmarcResult(AuthResult.PASS, from, policy, Policy.NONE, "");
        }
        int pct = percent(tags.get("pct"));
        RandomGenerator sample = random == null ? ThreadLocalRandom.current() : random;
        Policy disposition = pct >= 100 || sample.nextInt(100) < pct ? policy : policy.milder();
        return new DmarcResult(AuthResult.FAIL, from, policy, disposition, "");
    }

    /** RFC 7489 §3.1.1, §3.1.2: strict, the same domain; relaxed, the same organizational domain. */
    private boolean aligned(String authenticated, String from, boolean strict) {
        String d = Spf.trimDot(authenticated.toLowerCase(Locale.ROOT));
        if (d.isEmpty()) {
            return false;
        }
        return strict ? d.equals(from) : organizationalDomain(d).equals(organizationalDomain(from));
    }

    /**
     * The tags of the one DMARC record at {@code _dmarc.domain}, or null when there is none or
     * more than one (§6.6.3: then no policy applies).
     *
     * @throws IOException when the lookup failed (not for NXDOMAIN)
     */
    private Map<String, String> record(String domain) throws IOException, InterruptedException {
        List<Map<String, String>> found = new ArrayList<>();
        try {
            for (DnsRecord.Txt t : resolver.lookup("_dmarc." + domain, RecordType.TXT).stream()
                    .filter(DnsRecord.Txt.class::isInstance).map(DnsRecord.Txt.class::cast).toList()) {
                Map<String, String> tags = tags(t.text());
                if (tags != null) {
                    found.add(tags);
                }
            }
        } catch (DnsException e) {
            if (e.isNameError()) {
                return null;
            }
            throw e;
        }
        return found.size() == 1 ? found.get(0) : null;
    }

    /** RFC 7489 §6.4: {@code v=DMARC1} first, then {@code tag=value} pairs split by {@code ;}; null if not DMARC. */
    static Map<String, String> tags(String text) {
        Map<String, String> tags = new HashMap<>();
        boolean first = true;
        for (String part : text.split(";")) {
            String p = part.strip();
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            if (eq <= 0) {
                if (first) {
                    return null;
                }
                continue;
            }
            String name = p.substring(0, eq).strip().toLowerCase(Locale.ROOT);
            String value = p.substring(eq + 1).strip();
            if (first && !(name.equals("v") && value.equals("DMARC1"))) {
                return null;
            }
            first = false;
            tags.putIfAbsent(name, value);
        }
        return first ? null : tags;
    }

    private static Policy policy(String value) {
        if (value == null) {
            return null;
        }
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "none" -> Policy.NONE;
            case "quarantine" -> Policy.QUARANTINE;
            case "reject" -> Policy.REJECT;
            default -> null;
        };
    }

    /** {@code pct=}: 0 to 100, 100 when absent or bad (§6.3). */
    private static int percent(String value) {
        if (value == null || !value.matches("\\d{1,3}")) {
            return 100;
        }
        return Math.min(100, Integer.parseInt(value));
    }

    /** A configuration. */
    public static final class Builder {
        private Resolver resolver;
        private PublicSuffixes suffixes = PublicSuffixes.builtIn();
        private RandomGenerator random;

        private Builder() {}

        /** Where the policy records are looked up. */
        public Builder resolver(Resolver resolver) {
            this.resolver = Objects.requireNonNull(resolver, "resolver");
            return this;
        }

        /**
         * The organizational domains from a Public Suffix List file (the format of
         * {@code https://publicsuffix.org/list/public_suffix_list.dat}), in place of the built-in set.
         *
         * @throws IOException if the file cannot be read or has no rules, naming it
         */
        public Builder publicSuffixList(Path file) throws IOException {
            this.suffixes = PublicSuffixes.load(Objects.requireNonNull(file, "file"));
            return this;
        }

        /**
         * What picks the messages a {@code pct=} below 100 applies the policy to: it is asked
         * for {@code nextInt(100)}, and must be thread-safe when the evaluator is shared.
         * Default: {@link ThreadLocalRandom}.
         */
        public Builder random(RandomGenerator random) {
            this.random = Objects.requireNonNull(random, "random");
            return this;
        }

        /**
         * The evaluator.
         *
         * @throws IllegalStateException naming the missing builder method
         */
        public Dmarc build() {
            if (resolver == null) {
                throw new IllegalStateException("resolver(...) is required");
            }
            return new Dmarc(this);
        }
    }
}
