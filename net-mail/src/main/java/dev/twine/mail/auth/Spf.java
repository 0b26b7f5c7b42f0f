package dev.twine.mail.auth;

import dev.twine.dns.DnsException;
import dev.twine.dns.DnsRecord;
import dev.twine.dns.RecordType;
import dev.twine.dns.Resolver;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The Sender Policy Framework check (RFC 7208): whether a client address may send mail for a
 * domain, by the domain's {@code v=spf1} TXT record, looked up through net-dns's
 * {@link Resolver}. Every mechanism ({@code all}, {@code include}, {@code a}, {@code mx},
 * {@code ptr}, {@code ip4}, {@code ip6}, {@code exists}), the {@code redirect} and {@code exp}
 * modifiers, the macros of §7 with their transformers, and the processing limits of §4.6.4: at
 * most 10 terms that query DNS, at most 2 lookups with no answer ("void"), at most 10 names per
 * {@code mx} and {@code ptr}.
 *
 * <pre>{@code
 * Spf spf = Spf.builder().resolver(Resolver.builder().server("127.0.0.1", 53).build()).build();
 * SpfResult r = spf.check(InetAddress.getByName("192.0.2.25"), "mail.example.org", "alice@example.org");
 * if (r.result() == AuthResult.FAIL) {
 *     System.out.println("550 5.7.23 " + r.explanation());
 * }
 * System.out.println(r.resultsEntry());            // spf=pass smtp.mailfrom=alice@example.org
 * }</pre>
 *
 * <h2>Blocking and errors</h2>
 * A check blocks for its DNS lookups, each bounded by the resolver's timeout, and all of them
 * together by {@link Builder#timeout} (RFC 7208 §4.6.4 asks for at least 20 seconds). Nothing
 * in the DNS or the records makes it throw: a lookup that fails or the time limit is
 * {@code temperror}, a bad record or a limit passed {@code permerror}. Thread-safe.
 */
public final class Spf {
    /** RFC 7208 §4.6.4: terms that cause DNS queries, per check_host() evaluation in all. */
    static final int MAX_DNS_TERMS = 10;
    /** RFC 7208 §4.6.4: lookups answered with no records or NXDOMAIN. */
    static final int MAX_VOID_LOOKUPS = 2;
    /** RFC 7208 §4.6.4: MX names (for mx) and PTR names (for ptr and %{p}) looked at. */
    static final int MAX_NAMES = 10;

    private final Resolver resolver;
    private final Duration timeout;

    private Spf(Builder b) {
        this.resolver = b.resolver;
        this.timeout = b.timeout;
    }

    /** A builder; {@link Builder#resolver} is required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The SPF result for a message from {@code client}: the MAIL FROM identity (RFC 7208 §2.4),
     * or the HELO identity when MAIL FROM is the null sender (§2.4: then the sender is
     * {@code postmaster@helo}). A HELO name that is an address literal or not a domain with two
     * labels gives {@code none} for the null sender.
     *
     * @param client the client's address
     * @param helo the name given in EHLO/HELO
     * @param mailFrom the reverse path, empty for {@code <>}
     * @throws InterruptedException if interrupted during a lookup
     */
    public SpfResult check(InetAddress client, String helo, String mailFrom) throws InterruptedException {
        Objects.requireNonNull(client, "client");
        Objects.requireNonNull(helo, "helo");
        Objects.requireNonNull(mailFrom, "mailFrom");
        if (mailFrom.isEmpty()) {
            String h = helo.strip();
            return checkHost(client, "helo", h, h, "postmaster@" + h, h);
        }
        String domain = Addresses.domainOf(mailFrom);
        return checkHost(client, "mailfrom", mailFrom, domain == null ? "" : domain, mailFrom, helo.strip());
    }

    private SpfResult checkHost(InetAddress client, String identity, String checked, String domain, String sender,
            String helo) throws InterruptedException {
        String d = domain.toLowerCase(Locale.ROOT);
        if (d.endsWith(".")) {
            d = d.substring(0, d.length() - 1);
        }
        Evaluation e = new Evaluation(resolver, client, sender, helo, System.nanoTime() + timeout.toNanos());
        if (!SpfRecord.isDomain(d)) {
            // RFC 7208 §4.3: a malformed or single-label domain is "none"
            return new SpfResult(AuthResult.NONE, identity, checked, "", "", "no domain to check");
        }
        Evaluation.Outcome o = e.checkHost(d);
        return new SpfResult(o.result(), identity, checked, d, o.result() == AuthResult.FAIL ? o.explanation() : "", o.reason());
    }

    /** A configuration. */
    public static final class Builder {
        private Resolver resolver;
        private Duration timeout = Duration.ofSeconds(20);

        private Builder() {}

        /** Where the records are looked up. */
        public Builder resolver(Resolver resolver) {
            this.resolver = Objects.requireNonNull(resolver, "resolver");
            return this;
        }

        /**
         * The most time one check may take with all its lookups; positive. Default 20 seconds
         * (RFC 7208 §4.6.4). A check that runs out is {@code temperror}.
         */
        public Builder timeout(Duration timeout) {
            if (timeout.isZero() || timeout.isNegative()) {
                throw new IllegalArgumentException("timeout must be positive: " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        /**
         * The check.
         *
         * @throws IllegalStateException naming the missing builder method
         */
        public Spf build() {
            if (resolver == null) {
                throw new IllegalStateException("resolver(...) is required");
            }
            return new Spf(this);
        }
    }

    /** One check_host() evaluation with its nested ones: the limits are counted across them all. */
    static final class Evaluation {
        record Outcome(AuthResult result, String explanation, String reason) {}

        /** Ends the evaluation with a result (a limit, an error). */
        static final class Stop extends Exception {
            final AuthResult result;

            Stop(AuthResult result, String reason) {
                super(reason, null, false, false);
                this.result = result;
            }
        }

        private final Resolver resolver;
        private final InetAddress client;
        private final String sender;
        private final String helo;
        private final long deadline;
        private int dnsTerms;
        private int voids;
        private String validatedName;

        Evaluation(Resolver resolver, InetAddress client, String sender, String helo, long deadline) {
            this.resolver = resolver;
            this.client = client;
            this.sender = sender;
            this.helo = helo;
            this.deadline = deadline;
        }

        Outcome checkHost(String domain) throws InterruptedException {
            try {
                return evaluate(domain, 0);
            } catch (Stop s) {
                return new Outcome(s.result, "", s.getMessage());
            }
        }

        /** RFC 7208 §4: check_host(ip, domain, sender) for {@code domain}. */
        private Outcome evaluate(String domain, int depth) throws Stop, InterruptedException {
            SpfRecord record = SpfRecord.parse(domain, txt(domain));
            if (record == null) {
                return new Outcome(AuthResult.NONE, "", "no SPF record for " + domain);
            }
            Macros macros = new Macros(this, domain);
            for (SpfRecord.Mechanism m : record.mechanisms()) {
                if (m.kind().queriesDns()) {
                    countDnsTerm();
                }
                if (matches(m, macros, domain, depth)) {
                    AuthResult r = m.qualifier();
                    String explanation = r == AuthResult.FAIL ? explanation(record, macros, domain) : "";
                    return new Outcome(r, explanation, domain + ": " + m.text() + " matched");
                }
            }
            if (record.redirect() != null) {
                // RFC 7208 §6.1: exp= of this record does not apply to the redirected one
                countDnsTerm();
                String target = macros.expandDomain(record.redirect());
                Outcome o = evaluate(target, depth + 1);
                if (o.result() == AuthResult.NONE) {
                    throw new Stop(AuthResult.PERMERROR, "redirect=" + target + " has no SPF record");
                }
                return o;
            }
            return new Outcome(AuthResult.NEUTRAL, "", domain + ": nothing matched");
        }

        private boolean matches(SpfRecord.Mechanism m, Macros macros, String domain, int depth)
                throws Stop, InterruptedException {
            switch (m.kind()) {
                case ALL:
                    return true;
                case IP4:
                case IP6:
                    return m.network().contains(client);
                case INCLUDE: {
                    String target = macros.expandDomain(m.target());
                    // RFC 7208 §5.2: pass matches; fail, softfail, neutral do not; none is permerror
                    Outcome o = evaluate(target, depth + 1);
                    return switch (o.result()) {
                        case PASS -> true;
                        case FAIL, SOFTFAIL, NEUTRAL -> false;
                        case TEMPERROR -> throw new Stop(AuthResult.TEMPERROR, o.reason());
                        case NONE -> throw new Stop(AuthResult.PERMERROR, "include:" + target + " has no SPF record");
                        default -> throw new Stop(AuthResult.PERMERROR, o.reason());
                    };
                }
                case A: {
                    String target = m.target() == null ? domain : macros.expandDomain(m.target());
                    return anyInNetwork(addresses(target, true), m);
                }
                case MX: {
                    String target = m.target() == null ? domain : macros.expandDomain(m.target());
                    List<DnsRecord.Mx> mx = lookup(target, RecordType.MX, DnsRecord.Mx.class, true);
                    if (mx.size() > MAX_NAMES) {
                        throw new Stop(AuthResult.PERMERROR, "mx:" + target + " has more than " + MAX_NAMES + " MX records");
                    }
                    for (DnsRecord.Mx x : mx) {
                        String host = trimDot(x.exchange());
                        if (!host.isEmpty() && anyInNetwork(addresses(host, false), m)) {
                            return true;
                        }
                    }
                    return false;
                }
                case PTR: {
                    String target = m.target() == null ? domain : macros.expandDomain(m.target());
                    for (String name : validatedNames()) {
                        if (name.equals(target) || name.endsWith("." + target)) {
                            return true;
                        }
                    }
                    return false;
                }
                case EXISTS: {
                    // RFC 7208 §5.7: an A query whatever the client's address family
                    String target = macros.expandDomain(m.target());
                    return !lookup(target, RecordType.A, DnsRecord.A.class, true).isEmpty();
                }
                default:
                    throw new IllegalStateException(m.kind().toString());
            }
        }

        private boolean anyInNetwork(List<InetAddress> addresses, SpfRecord.Mechanism m) {
            for (InetAddress a : addresses) {
                if (m.network().withAddress(a).contains(client)) {
                    return true;
                }
            }
            return false;
        }

        /**
         * The addresses of {@code name} of the client's family (A for IPv4, AAAA for IPv6, RFC
         * 7208 §5). {@code counted}: whether an empty answer counts as a void lookup (the
         * mechanism's own lookup; an MX host's is not, §4.6.4 counts per mechanism).
         */
        private List<InetAddress> addresses(String name, boolean counted) throws Stop, InterruptedException {
            List<InetAddress> out = new ArrayList<>();
            if (client instanceof Inet4Address) {
                for (DnsRecord.A a : lookup(name, RecordType.A, DnsRecord.A.class, counted)) {
                    out.add(a.address());
                }
            } else {
                for (DnsRecord.Aaaa a : lookup(name, RecordType.AAAA, DnsRecord.Aaaa.class, counted)) {
                    out.add(a.address());
                }
            }
            return out;
        }

        /**
         * RFC 7208 §5.5: the client's validated names: each PTR name (at most 10) whose
         * addresses include the client's. A DNS error here makes no name, not an error.
         */
        List<String> validatedNames() throws Stop, InterruptedException {
            List<String> out = new ArrayList<>();
            List<DnsRecord.Ptr> ptrs;
            try {
                ptrs = resolver.lookup(reverseName(client), RecordType.PTR, DnsRecord.Ptr.class);
            } catch (IOException e) {
                return out;
            }
            checkTime();
            for (DnsRecord.Ptr p : ptrs.subList(0, Math.min(MAX_NAMES, ptrs.size()))) {
                String name = trimDot(p.target()).toLowerCase(Locale.ROOT);
                try {
                    if (addresses(name, false).contains(client)) {
                        out.add(name);
                    }
                } catch (Stop s) {
                    if (s.result != AuthResult.TEMPERROR || System.nanoTime() - deadline > 0) {
                        throw s;
                    }
                    // one name that cannot be looked up is skipped (§5.5)
                }
            }
            return out;
        }

        /** %{p} (RFC 7208 §7.3): a validated name, the target domain's own if there is one, else "unknown". */
        String validatedName(String domain) throws Stop, InterruptedException {
            if (validatedName == null) {
                List<String> names = validatedNames();
                String best = "unknown";
                for (String n : names) {
                    if (n.equals(domain)) {
                        best = n;
                        break;
                    }
                    if (n.endsWith("." + domain) && best.equals("unknown")) {
                        best = n;
                    }
                }
                validatedName = best.equals("unknown") && !names.isEmpty() ? names.get(0) : best;
            }
            return validatedName;
        }

        /** The {@code exp=} text (RFC 7208 §6.2), or the default one: any problem gives the default. */
        private String explanation(SpfRecord record, Macros macros, String domain) throws InterruptedException {
            String fallback = "SPF record of " + domain + " does not authorise " + client.getHostAddress() + " for " + sender;
            if (record.exp() == null) {
                return fallback;
            }
            try {
                String target = macros.expandDomain(record.exp());
                List<DnsRecord.Txt> txt = resolver.lookup(target, RecordType.TXT, DnsRecord.Txt.class);
                if (txt.size() != 1) {
                    return fallback;
                }
                String text = macros.expand(txt.get(0).text(), true);
                // it goes into a reply line, which RFC 5321 §4.5.3.1.5 bounds at 512 octets
                return text.chars().allMatch(c -> c >= 0x20 && c < 0x7f) ? text.substring(0, Math.min(400, text.length())) : fallback;
            } catch (Stop | IOException | RuntimeException e) {
                return fallback;
            }
        }

        private void countDnsTerm() throws Stop {
            if (++dnsTerms > MAX_DNS_TERMS) {
                throw new Stop(AuthResult.PERMERROR, "more than " + MAX_DNS_TERMS + " DNS-querying terms");
            }
        }

        private void checkTime() throws Stop {
            if (System.nanoTime() - deadline > 0) {
                throw new Stop(AuthResult.TEMPERROR, "time limit passed");
            }
        }

        /** The {@code v=spf1} records of {@code domain}'s TXT records; null for NXDOMAIN. */
        private List<String> txt(String domain) throws Stop, InterruptedException {
            List<String> out = new ArrayList<>();
            try {
                for (DnsRecord r : resolver.lookup(domain, RecordType.TXT)) {
                    if (r instanceof DnsRecord.Txt t) {
                        out.add(t.text());
                    }
                }
            } catch (DnsException e) {
                if (e.isNameError()) {
                    return null;
                }
                throw new Stop(AuthResult.TEMPERROR, "TXT lookup of " + domain + ": " + e.getMessage());
            } catch (IOException e) {
                throw new Stop(AuthResult.TEMPERROR, "TXT lookup of " + domain + ": " + e);
            }
            checkTime();
            return out;
        }

        /** A lookup for a mechanism; an empty answer or NXDOMAIN is a void lookup when {@code counted}. */
        <T extends DnsRecord> List<T> lookup(String name, RecordType type, Class<T> cls, boolean counted)
                throws Stop, InterruptedException {
            checkTime();
            List<T> out;
            try {
                out = resolver.lookup(name, type, cls);
            } catch (DnsException e) {
                if (!e.isNameError()) {
                    throw new Stop(AuthResult.TEMPERROR, type + " lookup of " + name + ": " + e.getMessage());
                }
                out = List.of();
            } catch (IOException e) {
                throw new Stop(AuthResult.TEMPERROR, type + " lookup of " + name + ": " + e);
            }
            checkTime();
            if (out.isEmpty() && counted && ++voids > MAX_VOID_LOOKUPS) {
                throw new Stop(AuthResult.PERMERROR, "more than " + MAX_VOID_LOOKUPS + " void lookups");
            }
            return out;
        }

        InetAddress client() {
            return client;
        }

        String sender() {
            return sender;
        }

        String helo() {
            return helo;
        }
    }

    /** The PTR query name of an address: {@code 4.3.2.1.in-addr.arpa}, or 32 nibbles under {@code ip6.arpa}. */
    static String reverseName(InetAddress a) {
        return Dnsbl.reversed(a) + (a instanceof Inet4Address ? ".in-addr.arpa" : ".ip6.arpa");
    }

    static String trimDot(String name) {
        return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    }

    /** An address with a prefix length: what ip4, ip6 and the a/mx dual CIDR lengths compare with. */
    record Network(InetAddress base, int v4Prefix, int v6Prefix) {
        /** The same prefix lengths around another address (an a or mx mechanism's answer). */
        Network withAddress(InetAddress address) {
            return new Network(address, v4Prefix, v6Prefix);
        }

        /** Whether {@code ip} is of the base's family and in the network (RFC 7208 §5.6). */
        boolean contains(InetAddress ip) {
            if (base == null || (base instanceof Inet4Address) != (ip instanceof Inet4Address)) {
                return false;
            }
            int bits = ip instanceof Inet4Address ? v4Prefix : v6Prefix;
            byte[] x = base.getAddress();
            byte[] y = ip.getAddress();
            for (int i = 0; i < bits; i++) {
                int mask = 0x80 >> (i % 8);
                if ((x[i / 8] & mask) != (y[i / 8] & mask)) {
                    return false;
                }
            }
            return true;
        }

        static InetAddress literal(String text, boolean v6) {
            boolean shape = v6 ? text.matches("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*") : text.matches("\\d{1,3}(\\.\\d{1,3}){3}");
            if (!shape) {
                return null;
            }
            try {
                InetAddress a = InetAddress.getByName(text);
                return v6 == (a instanceof Inet6Address) ? a : null;
            } catch (UnknownHostException e) {
                return null;
            }
        }
    }
}
