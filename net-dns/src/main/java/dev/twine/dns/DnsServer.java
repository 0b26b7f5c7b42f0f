package dev.twine.dns;

import dev.twine.core.Binding;
import dev.twine.core.Endpoint;
import dev.twine.core.Service;
import dev.twine.dns.internal.AddressBlock;
import dev.twine.dns.internal.DnsListener;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * An authoritative DNS server for zones in RFC 1035 master files, over UDP and TCP, optionally
 * forwarding other names to an upstream resolver with a cache (what {@code twine dns} runs).
 *
 * <pre>{@code
 * DnsServer dns = DnsServer.builder()
 *         .zone(Path.of("example.com.zone"))
 *         .listen("udp:5300:interface=127.0.0.1").listen("tcp:5300:interface=127.0.0.1")
 *         .build();
 * dns.start();
 * }</pre>
 *
 * <h2>Reloading</h2>
 * {@link #reload()} re-reads every zone file and swaps them in at once; queries in flight finish
 * on the zones they started with. A file that does not parse keeps the old zones in force and
 * the error (file and line) is logged and kept in {@link #lastReloadError()}. With
 * {@link Builder#watch(Duration)} the files' modification times are polled; with
 * {@link Builder#reloadOnSighup(boolean)} a SIGHUP reloads (installed through
 * {@code sun.misc.Signal}; where the platform has no SIGHUP this is a no-op).
 *
 * <h2>Forwarding is not open</h2>
 * With {@link Builder#forward}, names outside the zones are forwarded only for clients in
 * {@link Builder#forwardAllow} (loopback only unless set) and only when the query asks for
 * recursion (RD set); other such queries are answered REFUSED, as an authoritative-only server
 * answers them. Names inside the zones are answered for every client, RD or not.
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

    /** The port of the first endpoint, once started. */
    public int port() {
        return listener.bindings().get(0).port();
    }

    /**
     * Re-reads every zone file now. Blocks while the files are parsed.
     *
     * @return true if the new zones are in force; false if a file is bad, in which case the old
     *     zones stay and {@link #lastReloadError()} says why
     */
    public boolean reload() {
        return listener.reload();
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
        private final List<Path> zones = new ArrayList<>();
        private final List<Endpoint> endpoints = new ArrayList<>();
        private final List<InetAddress> transfers = new ArrayList<>();
        private InetSocketAddress forward;
        private final List<AddressBlock> forwardAllow = new ArrayList<>();
        private Duration watch = Duration.ZERO;
        private boolean sighup;
        private int cacheSize = 10_000;
        private Duration upstreamTimeout = Duration.ofSeconds(2);
        private Clock clock = Clock.systemUTC();

        private Builder() {}

        /** Adds a zone file (BIND master format); the zone's origin is its SOA record's owner. */
        public Builder zone(Path file) {
            zones.add(Objects.requireNonNull(file, "file"));
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

        /** Forwards names outside the zones to this resolver, caching its answers. */
        public Builder forward(InetSocketAddress upstream) {
            if (upstream.isUnresolved()) {
                throw new IllegalArgumentException("the upstream resolver must be an IP address: " + upstream);
            }
            this.forward = upstream;
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

        /** The clock the forwarder's cache counts TTLs on (tests pass a manual one). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Allows zone transfers (AXFR over TCP) to this client address; none by default. */
        public Builder allowTransfer(InetAddress client) {
            transfers.add(Objects.requireNonNull(client, "client"));
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
         * Loads the zones and makes the (unstarted) server.
         *
         * @throws IllegalArgumentException for a bad zone file (the message names file and line),
         *     no zone, or no endpoint
         */
        public DnsServer build() {
            if (zones.isEmpty()) {
                throw new IllegalArgumentException("no zone file given (--zone)");
            }
            if (endpoints.isEmpty()) {
                throw new IllegalArgumentException("no endpoint given (--listen)");
            }
            return new DnsServer(new DnsListener(zones, endpoints, transfers, forward,
                    forwardAllow.isEmpty() ? AddressBlock.LOOPBACK : forwardAllow, watch, sighup, cacheSize,
                    upstreamTimeout, clock));
        }
    }
}
