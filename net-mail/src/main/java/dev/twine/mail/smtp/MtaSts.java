package dev.twine.mail.smtp;

import dev.twine.core.DurableFiles;
import dev.twine.core.Tls;
import dev.twine.dns.DnsException;
import dev.twine.dns.DnsRecord;
import dev.twine.dns.RecordType;
import dev.twine.dns.Resolver;
import java.io.IOException;
import java.io.InputStream;
import java.net.IDN;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * MTA-STS (RFC 8461) for outbound mail: whether a domain asks senders for verified TLS to the MX
 * hosts it names. {@link #policy} looks up the domain's {@code _mta-sts} TXT record through
 * net-dns, fetches the policy from {@code https://mta-sts.<domain>/.well-known/mta-sts.txt} with
 * the JDK's {@link HttpClient} (a verified certificate, no redirects, {@code text/plain}, at most
 * 64 KiB, bounded by a timeout), and keeps it in a cache directory, one file per domain, so that
 * a restart keeps it; a cached policy is used until its {@code max_age} runs out and refetched
 * when the TXT record's {@code id} changes. The {@link RelayQueue} asks it for each recipient
 * domain ({@link RelayQueue.Builder#mtaSts}).
 *
 * <pre>{@code
 * MtaSts sts = MtaSts.builder().resolver(resolver).cache(Path.of("/var/spool/twine/mta-sts")).build();
 * Optional<MtaSts.Policy> p = sts.policy("example.org");
 * boolean mayUse = p.isEmpty() || p.get().matches("mx1.example.org");
 * }</pre>
 *
 * <h2>Error handling</h2>
 * A domain without a policy, and one whose policy cannot be had now (DNS or HTTPS failing, a
 * malformed policy) with none cached, has no policy: mail goes as it would without MTA-STS
 * (RFC 8461 §5.1: a failed fetch must not make mail undeliverable). Failures are logged; none is
 * thrown. A cache file that cannot be written is logged and the policy still used. A name that
 * is not a DNS host name (an address literal, a name with characters no host name has) has no
 * policy and is never looked up, fetched or made into a cache file name; an internationalized
 * name is looked up by its A-labels.
 *
 * <h2>Threads</h2>
 * Safe for concurrent use. The lookups and the fetch for one domain run one at a time, so that
 * deliveries to a domain racing for its first policy fetch it once; other domains do not wait for
 * them, so a policy host that takes its whole timeout delays only the mail for its own domain.
 */
public final class MtaSts {
    private static final System.Logger LOG = System.getLogger(MtaSts.class.getName());
    /** RFC 8461 §3.3: a policy is at most 64 KiB. */
    private static final int MAX_POLICY = 64 * 1024;
    /** RFC 8461 §3.2: max_age is at most 31557600 seconds (about a year). */
    private static final long MAX_AGE = 31_557_600;
    /** Locks the domains hash to: a few domains share one, no domain waits for most others. */
    private static final int LOCKS = 64;
    /** A DNS host name: LDH labels of 1 to 63 characters, not starting or ending in '-' (RFC 1123 §2.1). */
    private static final Pattern HOST_NAME = Pattern.compile(
            "(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*");

    /** What a policy asks (RFC 8461 §5). */
    public enum Mode {
        /** Only matching MX hosts, only over verified TLS; otherwise the mail waits. */
        ENFORCE,
        /** Deliver as without a policy, but report (log) what enforcing would refuse. */
        TESTING,
        /** No policy (the domain withdrew it). */
        NONE
    }

    /**
     * A domain's policy (RFC 8461 §3.2).
     *
     * @param id the TXT record's id it was fetched for
     * @param mode what it asks
     * @param mx the MX patterns: host names, or {@code *.} and a domain for any one label under it
     * @param maxAge how long it may be cached
     * @param fetched when it was fetched
     */
    public record Policy(String id, Mode mode, List<String> mx, Duration maxAge, Instant fetched) {
        /** Checks that nothing is null; copies the patterns. */
        public Policy {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(mode, "mode");
            mx = List.copyOf(mx);
            Objects.requireNonNull(maxAge, "maxAge");
            Objects.requireNonNull(fetched, "fetched");
        }

        /**
         * Whether {@code host} (an MX host name) is one the policy names (RFC 8461 §4.1): equal
         * ignoring case, or one label followed by a {@code *.} pattern's domain.
         */
        public boolean matches(String host) {
            String h = stripDot(host).toLowerCase(Locale.ROOT);
            for (String p : mx) {
                String pattern = p.toLowerCase(Locale.ROOT);
                if (pattern.startsWith("*.")) {
                    int dot = h.indexOf('.');
                    if (dot > 0 && h.substring(dot + 1).equals(pattern.substring(2))) {
                        return true;
                    }
                } else if (h.equals(pattern)) {
                    return true;
                }
            }
            return false;
        }

        /** Whether it is still valid at {@code now}. */
        boolean fresh(Instant now) {
            return now.isBefore(fetched.plus(maxAge));
        }
    }

    private final Resolver resolver;
    private final Path cache;
    private final HttpClient http;
    private final Duration timeout;
    private final Clock clock;
    private final ReentrantLock[] locks = new ReentrantLock[LOCKS];

    private MtaSts(Builder b) {
        for (int i = 0; i < LOCKS; i++) {
            locks[i] = new ReentrantLock();
        }
        this.resolver = b.resolver;
        this.cache = b.cache.toAbsolutePath();
        this.timeout = b.timeout;
        this.clock = b.clock;
        HttpClient.Builder hb = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER) // RFC 8461 §3.3
                .connectTimeout(timeout)
                .sslContext(b.tls.context());
        if (b.proxy != null) {
            hb.proxy(b.proxy);
        }
        this.http = hb.build();
    }

    /** A builder; {@link Builder#resolver} and {@link Builder#cache} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The policy of {@code domain}, if it has one now: the cached one while its TXT id is
     * unchanged and it is fresh, else a newly fetched one, else (the lookup or fetch failing) a
     * fresh cached one. Blocks for the DNS lookup and, when needed, the HTTPS fetch (each bounded
     * by the timeout); see the class description for what runs at once.
     *
     * @return the policy, or empty if the domain has none (or none to be had now)
     * @throws InterruptedException if interrupted while waiting
     */
    public Optional<Policy> policy(String domain) throws InterruptedException {
        String d;
        try {
            // a U-label's policy is published under its A-label (RFC 8461 §3: DNS names)
            d = IDN.toASCII(stripDot(domain), IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        if (!HOST_NAME.matcher(d).matches()) {
            return Optional.empty();
        }
        ReentrantLock lock = locks[Math.floorMod(d.hashCode(), LOCKS)];
        lock.lockInterruptibly();
        try {
            Instant now = clock.instant();
            Optional<Policy> cached = cached(d).filter(p -> p.fresh(now));
            Optional<String> id;
            try {
                id = txtId(d);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.INFO, "MTA-STS " + d + ": TXT lookup failed: " + e.getMessage());
                return usable(cached);
            }
            if (id.isEmpty()) {
                // RFC 8461 §3.1: no record; a cached policy still holds until it expires (§5.1)
                return usable(cached);
            }
            if (cached.isPresent() && cached.get().id().equals(id.get())) {
                return usable(cached);
            }
            try {
                Policy fetched = fetch(d, id.get(), now);
                store(d, fetched);
                return usable(Optional.of(fetched));
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "MTA-STS " + d + ": policy fetch failed: " + e.getMessage());
                return usable(cached);
            }
        } finally {
            lock.unlock();
        }
    }

    /** A policy of mode none is no policy (RFC 8461 §5): kept in the cache, never returned. */
    private static Optional<Policy> usable(Optional<Policy> p) {
        return p.filter(policy -> policy.mode() != Mode.NONE);
    }

    /** The id of the {@code v=STSv1} TXT record at {@code _mta-sts.<domain>} (RFC 8461 §3.1). */
    private Optional<String> txtId(String domain) throws IOException, InterruptedException {
        List<DnsRecord.Txt> records;
        try {
            records = resolver.lookup("_mta-sts." + domain, RecordType.TXT, DnsRecord.Txt.class);
        } catch (DnsException e) {
            if (e.isNameError()) {
                return Optional.empty();
            }
            throw e;
        }
        List<String> ids = new ArrayList<>();
        for (DnsRecord.Txt t : records) {
            String text = String.join("", t.strings());
            if (!text.startsWith("v=STSv1")) {
                continue;
            }
            for (String field : text.split(";")) {
                String f = field.strip();
                if (f.startsWith("id=") && f.substring(3).matches("[A-Za-z0-9]{1,32}")) {
                    ids.add(f.substring(3));
                }
            }
        }
        // RFC 8461 §3.1: more than one record is as none
        return ids.size() == 1 ? Optional.of(ids.get(0)) : Optional.empty();
    }

    private Policy fetch(String domain, String id, Instant now) throws IOException, InterruptedException {
        URI uri = URI.create("https://mta-sts." + domain + "/.well-known/mta-sts.txt");
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
        HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = response.body()) {
            if (response.statusCode() != 200) {
                throw new IOException(uri + ": HTTP " + response.statusCode());
            }
            String type = response.headers().firstValue("content-type").orElse("");
            if (!type.toLowerCase(Locale.ROOT).split(";", 2)[0].strip().equals("text/plain")) {
                throw new IOException(uri + ": content type '" + type + "', not text/plain");
            }
            byte[] bytes = body.readNBytes(MAX_POLICY + 1);
            if (bytes.length > MAX_POLICY) {
                throw new IOException(uri + ": policy larger than 64 KiB");
            }
            return parse(id, new String(bytes, StandardCharsets.UTF_8), now);
        }
    }

    /**
     * Parses a policy's text (RFC 8461 §3.2): {@code key: value} lines ending in CRLF or LF;
     * {@code version: STSv1}, {@code mode}, {@code max_age} and (unless the mode is none) at least
     * one {@code mx} are required; unknown keys are ignored.
     *
     * @throws IOException naming what is wrong
     */
    static Policy parse(String id, String text, Instant fetched) throws IOException {
        String version = null;
        Mode mode = null;
        Long maxAge = null;
        List<String> mx = new ArrayList<>();
        for (String line : text.split("\r?\n")) {
            if (line.isBlank()) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new IOException("MTA-STS policy: not a key: value line: " + line);
            }
            String key = line.substring(0, colon).strip();
            String value = line.substring(colon + 1).strip();
            switch (key) {
                case "version" -> version = value;
                case "mode" -> mode = switch (value) {
                    case "enforce" -> Mode.ENFORCE;
                    case "testing" -> Mode.TESTING;
                    case "none" -> Mode.NONE;
                    default -> throw new IOException("MTA-STS policy: unknown mode " + value);
                };
                case "max_age" -> {
                    if (!value.matches("[0-9]{1,10}") || Long.parseLong(value) > MAX_AGE) {
                        throw new IOException("MTA-STS policy: bad max_age " + value);
                    }
                    maxAge = Long.parseLong(value);
                }
                case "mx" -> {
                    if (!value.matches("(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?\\.?")) {
                        throw new IOException("MTA-STS policy: bad mx " + value);
                    }
                    mx.add(stripDot(value));
                }
                default -> { } // RFC 8461 §3.2: other keys are ignored
            }
        }
        if (!"STSv1".equals(version) || mode == null || maxAge == null || mx.isEmpty() && mode != Mode.NONE) {
            throw new IOException("MTA-STS policy: version STSv1, mode, max_age and mx are required");
        }
        return new Policy(id, mode, mx, Duration.ofSeconds(maxAge), fetched);
    }

    /** The cached policy of {@code domain}: its file holds {@code id}, {@code fetched} and the policy text. */
    private Optional<Policy> cached(String domain) {
        Path f = cache.resolve(domain + ".policy");
        try {
            String[] parts = Files.readString(f, StandardCharsets.UTF_8).split("\n", 3);
            return Optional.of(parse(parts[0].substring(3), parts[2], Instant.ofEpochMilli(Long.parseLong(parts[1].substring(8)))));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "MTA-STS " + domain + ": unreadable cache file " + f + ": " + e);
            return Optional.empty();
        }
    }

    private void store(String domain, Policy p) {
        StringBuilder sb = new StringBuilder();
        sb.append("id ").append(p.id()).append('\n').append("fetched ").append(p.fetched().toEpochMilli()).append('\n');
        sb.append("version: STSv1\n").append("mode: ").append(p.mode().name().toLowerCase(Locale.ROOT)).append('\n');
        p.mx().forEach(m -> sb.append("mx: ").append(m).append('\n'));
        sb.append("max_age: ").append(p.maxAge().toSeconds()).append('\n');
        try {
            Files.createDirectories(cache);
            DurableFiles.replace(cache.resolve(domain + ".policy"), sb.toString().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "MTA-STS " + domain + ": cannot cache the policy: " + e);
        }
    }

    private static String stripDot(String name) {
        return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    }

    /** Configuration for {@link MtaSts}. */
    public static final class Builder {
        private Resolver resolver;
        private Path cache;
        private Tls tls = Tls.client();
        private ProxySelector proxy;
        private Duration timeout = Duration.ofSeconds(30);
        private Clock clock = Clock.systemUTC();

        private Builder() {}

        /** The resolver for the {@code _mta-sts} TXT records. */
        public Builder resolver(Resolver resolver) {
            this.resolver = Objects.requireNonNull(resolver, "resolver");
            return this;
        }

        /** The directory that keeps the policies across restarts (created when first needed). */
        public Builder cache(Path dir) {
            this.cache = Objects.requireNonNull(dir, "dir");
            return this;
        }

        /**
         * The trust for the policy hosts' certificates ({@code mta-sts.<domain>}, checked by
         * name): {@link Tls#client()}, the JDK's trust store, by default.
         */
        public Builder tls(Tls tls) {
            this.tls = Objects.requireNonNull(tls, "tls");
            return this;
        }

        /** An HTTP proxy for the policy fetches (HTTPS through {@code CONNECT}); none by default. */
        public Builder proxy(ProxySelector proxy) {
            this.proxy = Objects.requireNonNull(proxy, "proxy");
            return this;
        }

        /** Bounds connecting and the whole fetch; 30 seconds by default. */
        public Builder timeout(Duration timeout) {
            if (!timeout.isPositive()) {
                throw new IllegalArgumentException("timeout must be positive: " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        /** The clock for max_age; the system clock by default. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Builds it.
         *
         * @throws IllegalStateException if {@link #resolver} or {@link #cache} was not given
         */
        public MtaSts build() {
            if (resolver == null) {
                throw new IllegalStateException("resolver(...) is required");
            }
            if (cache == null) {
                throw new IllegalStateException("cache(...) is required");
            }
            return new MtaSts(this);
        }
    }
}
