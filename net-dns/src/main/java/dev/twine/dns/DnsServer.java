package dev.twine.dns;

import dev.twine.core.AddressBlock;
import dev.twine.core.Binding;
import dev.twine.core.ConnectionHandler;
import dev.twine.core.DatagramHandler;
import dev.twine.core.Endpoint;
import dev.twine.core.Metrics;
import dev.twine.core.Service;
import dev.twine.dns.internal.AuthorityChain;
import dev.twine.dns.internal.DnsListener;
import dev.twine.dns.internal.Exchanger;
import dev.twine.dns.internal.Forwarder;
import dev.twine.dns.internal.Records;
import dev.twine.dns.internal.Responder;
import dev.twine.dns.internal.Secondary;
import dev.twine.dns.internal.Signer;
import dev.twine.dns.internal.TsigKeys;
import dev.twine.dns.internal.ZoneAuthority;
import dev.twine.dns.internal.ZoneFileException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A DNS server over UDP and TCP answering from {@link DnsAuthority authorities}: zone files (RFC
 * 1035 master files), a caching forwarder to an upstream resolver, and any of your own, asked in
 * the order they were added (what {@code twine dns} runs is zone files, then the forwarder).
 *
 * <pre>{@code
 * DnsServer dns = DnsServer.builder()
 *         .authority(registry)                        // a DnsAuthority of your own, asked first
 *         .zone(Path.of("example.com.zone"))           // then the zone files
 *         .listen("udp:5300:interface=127.0.0.1").listen("tcp:5300:interface=127.0.0.1")
 *         .build();
 * dns.start();
 * }</pre>
 *
 * <h2>The chain</h2>
 * Every {@link Builder#authority}, {@link Builder#zone} and {@link Builder#forward} call adds
 * one authority to the chain, in call order; all zone files form one authority, placed where
 * the first {@code zone(...)} was called, so CNAMEs are followed across them. The first authority
 * that does not answer {@link DnsAnswer.NotMine} answers; a name none claims is REFUSED. The
 * server does the wire work for all of them: malformed queries (FORMERR, NOTIMP, BADVERS), EDNS,
 * truncation with TC over UDP, TCP framing, and AXFR, which it answers from the zone files to
 * {@link Builder#allowTransfer} clients. Answers from the zone files are cached in wire form
 * when the zone files come first in the chain; no other authority's answers are cached.
 *
 * <h2>Reloading</h2>
 * {@link #reload()} re-reads every zone file and swaps them in at once; queries in flight finish
 * on the zones they started with. A file that does not parse keeps the old zones in force and
 * the error (file and line) is logged and kept in {@link #lastReloadError()}. With
 * {@link Builder#watch(Duration)} the files' modification times are polled; with
 * {@link Builder#reloadOnSighup(boolean)} a SIGHUP reloads (installed through
 * {@code sun.misc.Signal}; where the platform has no SIGHUP this is a no-op).
 *
 * <h2>Secondary zones</h2>
 * {@link Builder#secondary(String, InetSocketAddress, String)} serves a zone fetched from a
 * primary (AXFR, then IXFR when its SOA serial grows, on the SOA's timers and at once on the
 * primary's NOTIFY), stored in the {@link Builder#secondaryDirectory} before it is served; it is
 * answered SERVFAIL while it has no version, or once it expired. The refreshes run in the
 * background from {@link #start()} until {@link #close()}.
 *
 * <h2>Forwarding is not open</h2>
 * With {@link Builder#forward}, names no earlier authority claims are forwarded only for clients
 * in {@link Builder#forwardAllow} (loopback only unless set) and only when the query asks for
 * recursion (RD set); other such queries are answered REFUSED, as an authoritative-only server
 * answers them. Names the zones serve are answered for every client, RD or not.
 *
 * <h2>Embedding</h2>
 * {@link #datagramHandler()} and {@link #handler()} are the UDP and TCP request paths, for a
 * core {@code Server} of your own or for tests over in-memory connections; they work without
 * {@link #start()}.
 *
 * <h2>Ports</h2>
 * A {@code tcp:0} and a {@code udp:0} endpoint on the same interface get the same free port, as
 * DNS clients expect UDP and TCP on one port.
 */
public final class DnsServer implements Service {
    private final DnsListener listener;

    private DnsServer(DnsListener listener) {
        this.listener = listener;
    }

    /** Starts a configuration. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String name() {
        return "dns";
    }

    /**
     * Binds every endpoint and starts serving; returns once bound.
     *
     * @throws IOException naming an endpoint that cannot be bound
     */
    @Override
    public void start() throws IOException {
        listener.start();
    }

    @Override
    public List<Binding> bindings() {
        return listener.bindings();
    }

    /**
     * The UDP request path: a query datagram in, its response out (empty to drop it, as for a
     * datagram too short to be a query). Never throws for bad input. Its
     * {@link DatagramHandler#tryHandle} gives the zone files' cached answers at once (without
     * blocking), and is empty for anything else, which its {@code handle} answers. Usable before
     * {@link #start()}.
     */
    public DatagramHandler datagramHandler() {
        return listener.datagramHandler();
    }

    /**
     * The TCP request path (RFC 7766): 2-byte length-prefixed queries in, responses out,
     * pipelined, until the client closes, idles or sends a frame that is no query. Usable before
     * {@link #start()}.
     */
    public ConnectionHandler handler() {
        return listener.connectionHandler();
    }

    /** The port of the first endpoint, once started. */
    public int port() {
        return listener.bindings().get(0).port();
    }

    /**
     * Re-reads every zone file now (what the launcher does on SIGHUP). Blocks while the files are
     * parsed; queries keep being answered from the old zones until the new ones are in force.
     *
     * @return true once the new zones are in force (also when there are no zone files)
     * @throws IOException if a file is bad, naming the file and line (also kept as
     *     {@link #lastReloadError()}); the old zones stay in force
     */
    @Override
    public boolean reload() throws IOException {
        if (!listener.reload()) {
            throw new IOException(lastReloadError().orElse("zone reload failed"));
        }
        return true;
    }

    /** Why the last reload failed (file and line), or empty if it succeeded or none was tried. */
    public Optional<String> lastReloadError() {
        return listener.lastReloadError();
    }

    /** Zone reloads that succeeded since start (the initial load not counted). */
    public long reloads() {
        return listener.reloads();
    }

    @Override
    public void shutdown(Duration grace) throws InterruptedException {
        listener.shutdown(grace);
    }

    @Override
    public void close() {
        listener.close();
    }

    @Override
    public void awaitTermination() throws InterruptedException {
        listener.awaitTermination();
    }

    /** Configures a {@link DnsServer}. */
    public static final class Builder {
        /** Where the zone files and the forwarder stand in the chain, among users' authorities. */
        private enum Slot { ZONES, FORWARDER }

        private final List<Object> chain = new ArrayList<>();
        private final List<Path> zones = new ArrayList<>();
        private final List<Endpoint> endpoints = new ArrayList<>();
        private final List<InetAddress> transfers = new ArrayList<>();
        private final List<InetSocketAddress> notify = new ArrayList<>();
        private Path transferKeys;
        /** The secondary zones: origin, primary and key name (or null), in call order. */
        private final List<SecondarySpec> secondaries = new ArrayList<>();
        private Path secondaryDirectory;
        private Path keyDirectory;
        private boolean nsec3;
        private InetSocketAddress forward;
        private final List<AddressBlock> forwardAllow = new ArrayList<>();
        private Duration watch = Duration.ZERO;
        private Metrics metrics;
        private boolean sighup;
        private int cacheSize = 10_000;
        private Duration upstreamTimeout = Duration.ofSeconds(2);
        private Clock clock = Clock.systemUTC();
        private int rateLimit = 200;
        private int slip = 2;
        private int v4Prefix = 24;
        private int v6Prefix = 56;

        private Builder() {}

        /**
         * Adds an authority to the chain, after those added so far (a {@link DnsAuthority#chain}
         * adds its members in order).
         */
        public Builder authority(DnsAuthority authority) {
            chain.add(Objects.requireNonNull(authority, "authority"));
            return this;
        }

        /**
         * Adds a zone file (BIND master format); the zone's origin is its SOA record's owner. All
         * zone files are one authority, in the chain where the first was added.
         */
        public Builder zone(Path file) {
            zones.add(Objects.requireNonNull(file, "file"));
            if (!chain.contains(Slot.ZONES)) {
                chain.add(Slot.ZONES);
            }
            return this;
        }

        /**
         * Adds an endpoint: {@code udp:PORT[:interface=ADDR]} or {@code tcp:PORT[:interface=ADDR]}
         * (or {@code tls:}/{@code unix:} for streams).
         *
         * @throws IllegalArgumentException for a bad endpoint
         */
        public Builder listen(String endpoint) {
            endpoints.add(Endpoint.parseServer(endpoint));
            return this;
        }

        /**
         * Adds the forwarder to the chain (once; another call changes its upstream): names the
         * authorities before it leave are forwarded to this resolver, its answers cached.
         */
        public Builder forward(InetSocketAddress upstream) {
            if (upstream.isUnresolved()) {
                throw new IllegalArgumentException("the upstream resolver must be an IP address: " + upstream);
            }
            this.forward = upstream;
            if (!chain.contains(Slot.FORWARDER)) {
                chain.add(Slot.FORWARDER);
            }
            return this;
        }

        /**
         * Lets clients in this address block use the forwarder: {@code ADDR/PREFIX} or one
         * address ({@code 192.0.2.0/24}, {@code 2001:db8::/48}, {@code 10.0.0.7}). Repeatable;
         * when never called, only loopback clients ({@code 127.0.0.0/8} and {@code ::1}) may.
         * Has no effect without {@link #forward}.
         *
         * @throws IllegalArgumentException if {@code cidr} is not a literal address with an
         *     optional prefix length (host names are not looked up)
         */
        public Builder forwardAllow(String cidr) {
            forwardAllow.add(AddressBlock.parse(cidr));
            return this;
        }

        /** The forwarder's cache bound in questions (default 10,000), least recently used dropped. */
        public Builder cacheSize(int entries) {
            if (entries < 1) {
                throw new IllegalArgumentException("cache size must be positive: " + entries);
            }
            this.cacheSize = entries;
            return this;
        }

        /** How long one upstream attempt waits (default 2 s; two attempts). */
        public Builder upstreamTimeout(Duration timeout) {
            if (timeout.isZero() || timeout.isNegative()) {
                throw new IllegalArgumentException("upstream timeout must be positive: " + timeout);
            }
            this.upstreamTimeout = timeout;
            return this;
        }

        /**
         * Registers the server's series in {@code metrics} (service {@code dns}): TCP connections,
         * datagrams, bytes and handler errors; responses by rcode, question type, transport and
         * zone ({@code twine_dns_responses_total}); responses the rate limit held back
         * ({@code twine_dns_rate_limited_total}).
         *
         * @param metrics the registry
         * @return this builder
         */
        public Builder metrics(Metrics metrics) {
            this.metrics = Objects.requireNonNull(metrics, "metrics");
            return this;
        }

        /**
         * Response rate limiting over UDP (on by default, 200): at most this many responses per
         * second to one client prefix (see {@link #rateLimitPrefixes}) for one response (a
         * positive or NODATA answer counts by its question; NXDOMAIN, REFUSED and other errors by
         * their rcode alone). Responses past the rate are dropped, or sent truncated (see
         * {@link #rateLimitSlip}), so a spoofed flood cannot turn the server into an amplifier.
         * TCP and clients that return a valid DNS cookie (RFC 7873) are not limited. Zero turns
         * it off.
         *
         * @throws IllegalArgumentException if negative
         */
        public Builder rateLimit(int responsesPerSecond) {
            if (responsesPerSecond < 0) {
                throw new IllegalArgumentException("rate limit must not be negative: " + responsesPerSecond);
            }
            this.rateLimit = responsesPerSecond;
            return this;
        }

        /**
         * Of the responses the rate limit holds back, every {@code slip}-th is sent truncated (TC
         * set, no records; a real client retries over TCP) and the rest dropped: 2 by default
         * (as NSD and Knot), 1 truncates them all, 0 drops them all. A client that sent a DNS
         * client cookie gets BADCOOKIE with a server cookie instead of the truncated answer.
         *
         * @throws IllegalArgumentException if negative
         */
        public Builder rateLimitSlip(int slip) {
            if (slip < 0) {
                throw new IllegalArgumentException("slip must not be negative: " + slip);
            }
            this.slip = slip;
            return this;
        }

        /**
         * The prefix lengths clients are grouped by for the rate limit (default /24 and /56).
         *
         * @throws IllegalArgumentException if a length is outside 0..32 or 0..128
         */
        public Builder rateLimitPrefixes(int ipv4, int ipv6) {
            if (ipv4 < 0 || ipv4 > 32 || ipv6 < 0 || ipv6 > 128) {
                throw new IllegalArgumentException("prefix lengths must be 0..32 and 0..128: /" + ipv4 + ", /" + ipv6);
            }
            this.v4Prefix = ipv4;
            this.v6Prefix = ipv6;
            return this;
        }

        /**
         * The clock the forwarder's cache counts TTLs on, the rate limit counts seconds on and
         * DNS cookies are stamped with (tests pass a manual one).
         */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Allows zone transfers (AXFR over TCP) to this client address; none by default. */
        public Builder allowTransfer(InetAddress client) {
            transfers.add(Objects.requireNonNull(client, "client"));
            return this;
        }

        /**
         * Sends NOTIFY (RFC 1996) to this secondary after every reload that changes a zone's
         * serial, so it fetches the zone (IXFR or AXFR, which {@link #allowTransfer} must let it
         * do) without waiting for its refresh timer. Repeatable. NOTIFY goes over UDP in the
         * background, retried three times two seconds apart; a secondary that never answers is
         * logged.
         *
         * @throws IllegalArgumentException if the address is unresolved (host names are not looked up)
         */
        public Builder notifySecondary(InetSocketAddress secondary) {
            if (secondary.isUnresolved()) {
                throw new IllegalArgumentException("a secondary to notify must be an IP address: " + secondary);
            }
            notify.add(secondary);
            return this;
        }

        /**
         * Requires zone transfers (AXFR, IXFR) to be signed with TSIG (RFC 8945) by one of the keys
         * in {@code file}, besides coming from an {@link #allowTransfer} address; the transfer is
         * signed with the same key, and NOTIFY messages with the file's first key. The file holds
         * BIND/NSD {@code key} clauses as {@code tsig-keygen} writes them:
         * {@code key "name" { algorithm hmac-sha256; secret "BASE64"; };}. A transfer unsigned,
         * signed with another key, with a bad MAC or out of the 5-minute window is NOTAUTH.
         * The file is read by {@link #build()}.
         */
        public Builder transferKeys(Path file) {
            this.transferKeys = Objects.requireNonNull(file, "file");
            return this;
        }

        /** One {@link #secondary} call. */
        private record SecondarySpec(String zone, InetSocketAddress primary, String key) {}

        /**
         * Serves {@code zone} as a secondary (RFC 1034 §4.3.5) of {@code primary}, unsigned.
         *
         * @see #secondary(String, InetSocketAddress, String)
         */
        public Builder secondary(String zone, InetSocketAddress primary) {
            return secondary(zone, primary, null);
        }

        /**
         * Serves {@code zone} as a secondary of {@code primary}: fetched by AXFR when the server
         * starts, then kept current by IXFR (RFC 1995; AXFR when the primary sends the whole zone
         * or IXFR fails) whenever the primary's SOA serial is newer (RFC 1982). The SOA is checked
         * every SOA refresh interval, every retry interval after a failure, and at once on a
         * NOTIFY (RFC 1996) from the primary's address (NOTIFY from others is REFUSED). A zone
         * that could not be refreshed for its SOA expire interval, or was never transferred, is
         * answered SERVFAIL. Each version is stored in the {@link #secondaryDirectory} before it
         * is served, so a restarted server serves it at once. The timers run on {@link #clock}.
         * The zone is served as zone files are (answers, DNSSEC, AXFR and IXFR out, NOTIFY to
         * {@link #notifySecondary}); repeatable for several zones.
         *
         * @param zone the zone's origin ({@code example.com})
         * @param primary the primary's IP address and port
         * @param tsigKey the name of a key in {@link #transferKeys} that signs the SOA queries and
         *     transfers and that NOTIFY must carry (RFC 8945), or null for none
         * @throws IllegalArgumentException if the zone is not a domain name or the primary's
         *     address is unresolved (host names are not looked up)
         */
        public Builder secondary(String zone, InetSocketAddress primary, String tsigKey) {
            if (primary.isUnresolved()) {
                throw new IllegalArgumentException("a primary must be an IP address: " + primary);
            }
            Records.nameOrThrow(zone);
            secondaries.add(new SecondarySpec(zone, primary, tsigKey));
            if (!chain.contains(Slot.ZONES)) {
                chain.add(Slot.ZONES);
            }
            return this;
        }

        /**
         * Where secondary zones are stored, one master file per zone ({@code example.com.zone}),
         * each replaced atomically and durably after a transfer; required with {@link #secondary}.
         * The file's modification time is the zone's last successful refresh, from which its expiry
         * counts after a restart. The directory is created if missing.
         */
        public Builder secondaryDirectory(Path dir) {
            this.secondaryDirectory = Objects.requireNonNull(dir, "dir");
            return this;
        }

        /**
         * Signs the zone files online (RFC 4033–4035) with the keys in {@code keyDirectory}: BIND
         * key files {@code K<zone>+<alg>+<id>.key} and {@code .private} as {@code dnssec-keygen}
         * writes them, ECDSAP256SHA256 (13) or ED25519 (15). A zone with keys there gets its
         * DNSKEY set, an NSEC chain (or NSEC3, see {@link #signWithNsec3}) and an RRSIG over every
         * authoritative RRset, made when the zone is loaded or reloaded and again every 7 days on
         * {@link #clock} (valid from an hour before signing for 14 days); a key with the SEP flag
         * (257) signs the DNSKEY set, the others (256) the rest, keys of one kind sign everything.
         * When a zone is signed again with an unchanged serial, its serial is raised by one
         * (RFC 1982), so secondaries fetch the new signatures. Zones without keys are served as
         * they are. The keys are read by {@link #build()} and at each reload.
         */
        public Builder sign(Path keyDirectory) {
            this.keyDirectory = Objects.requireNonNull(keyDirectory, "keyDirectory");
            return this;
        }

        /**
         * With {@link #sign}: deny existence with NSEC3 (RFC 5155) instead of NSEC, with RFC 9276's
         * parameters (SHA-1, no extra iterations, no salt, no opt-out). Default false.
         */
        public Builder signWithNsec3(boolean on) {
            this.nsec3 = on;
            return this;
        }

        /** Polls the zone files' modification times this often and reloads on change; zero (default) = never. */
        public Builder watch(Duration interval) {
            if (interval.isNegative()) {
                throw new IllegalArgumentException("watch interval must not be negative: " + interval);
            }
            this.watch = interval;
            return this;
        }

        /** Whether SIGHUP reloads the zones (default false). */
        public Builder reloadOnSighup(boolean on) {
            this.sighup = on;
            return this;
        }

        /**
         * Loads the zone files and makes the (unstarted) server.
         *
         * @throws IllegalStateException if no endpoint or no authority was given
         * @throws IllegalArgumentException for a bad zone file (the message names file and line)
         */
        public DnsServer build() {
            if (endpoints.isEmpty()) {
                throw new IllegalStateException("listen(...) is required");
            }
            if (chain.isEmpty()) {
                throw new IllegalStateException("authority(...), zone(...) or forward(...) is required");
            }
            if (!secondaries.isEmpty() && secondaryDirectory == null) {
                throw new IllegalStateException("secondaryDirectory(...) is required with secondary(...)");
            }
            TsigKeys keys = null;
            if (transferKeys != null) {
                try {
                    keys = TsigKeys.load(transferKeys);
                } catch (IOException e) {
                    throw new IllegalArgumentException(transferKeys + ": " + e.getMessage(), e);
                }
            }
            ZoneAuthority files = null;
            if (!zones.isEmpty() || !secondaries.isEmpty()) {
                try {
                    files = new ZoneAuthority(zones, secondaries.stream().map(z -> Records.nameOrThrow(z.zone())).toList(),
                            keyDirectory == null ? null : new Signer(keyDirectory, clock, nsec3));
                } catch (ZoneFileException e) {
                    throw new IllegalArgumentException(e.getMessage(), e);
                }
            }
            DnsListener[] listener = new DnsListener[1]; // a secondary's new version is announced by the listener
            List<Secondary> secondaryZones = secondaries(files, keys, () -> listener[0].zonesChanged());
            List<DnsAuthority> members = new ArrayList<>();
            for (Object slot : chain) {
                members.add(switch (slot) {
                    case DnsAuthority a -> a;
                    case Slot.ZONES -> files;
                    case Slot.FORWARDER -> forwarder();
                    default -> throw new AssertionError(slot);
                });
            }
            Set<InetAddress> mayTransfer = Set.copyOf(transfers);
            Responder responder = Responder.of(AuthorityChain.of(members), mayTransfer::contains, clock,
                    rateLimit, slip, v4Prefix, v6Prefix);
            if (keys != null) {
                responder = responder.requiringTsig(keys);
            }
            responder = responder.withSecondaries(secondaryZones);
            if (metrics != null) {
                responder = responder.counting(metrics, files);
            }
            listener[0] = new DnsListener(responder, files, endpoints, watch, sighup, metrics, notify,
                    keys == null ? null : keys.first(), secondaryZones, keyDirectory == null ? null : clock);
            return new DnsServer(listener[0]);
        }

        private List<Secondary> secondaries(ZoneAuthority zones, TsigKeys keys, Runnable changed) {
            List<Secondary> out = new ArrayList<>();
            if (secondaries.isEmpty()) {
                return out;
            }
            try {
                Files.createDirectories(secondaryDirectory);
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot create the secondary directory " + secondaryDirectory + ": " + e.getMessage(), e);
            }
            for (SecondarySpec s : secondaries) {
                if (s.key() != null && keys == null) {
                    throw new IllegalStateException("transferKeys(...) is required for the key " + s.key() + " of secondary " + s.zone());
                }
                org.xbill.DNS.Name origin = Records.nameOrThrow(s.zone());
                out.add(new Secondary(origin, s.primary(), s.key() == null ? null : keys.named(s.key()),
                        Secondary.fileIn(secondaryDirectory, origin), zones, clock, Duration.ofSeconds(2), changed));
            }
            return out;
        }

        private Forwarder forwarder() {
            List<AddressBlock> recursion = forwardAllow.isEmpty() ? AddressBlock.loopback() : List.copyOf(forwardAllow);
            return new Forwarder(new Exchanger(List.of(forward), upstreamTimeout, 2),
                    peer -> recursion.stream().anyMatch(b -> b.contains(peer)), clock, cacheSize);
        }
    }
}
