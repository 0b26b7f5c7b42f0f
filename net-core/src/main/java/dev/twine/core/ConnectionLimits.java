package dev.twine.core;

import dev.twine.core.internal.AddressKey;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Caps on concurrent connections per client address and on connections that have not yet
 * authenticated, so that a flood from one address never locks out the others.
 *
 * <pre>{@code
 * ConnectionLimits limits = ConnectionLimits.builder()
 *         .perAddress(50)                          // any state, per address
 *         .preauth(1_000)                          // not yet authenticated, all addresses
 *         .preauthPerAddress(10)                   // not yet authenticated, per address
 *         .preauthTimeout(Duration.ofSeconds(60))  // total time allowed before authenticating
 *         .build();
 * Server.builder("imap").listen("tcp:1143").limits(limits)
 *         .overLimit(conn -> conn.output().write("* BYE [UNAVAILABLE] too many connections\r\n"
 *                 .getBytes(StandardCharsets.US_ASCII)))
 *         .handler(...);
 * }</pre>
 *
 * <p>A {@link Server} given these limits takes a {@link Permit} for each connection it accepts and
 * refuses the connection when none is granted. A handler calls
 * {@link Connection#markAuthenticated()} once its peer has logged in (or, for a protocol without
 * logins, has shown it is a real client: SMTP's first {@code MAIL}); that moves the connection out
 * of the pre-authentication counts and lifts the {@linkplain Builder#preauthTimeout pre-auth
 * deadline}. Code that accepts connections itself (an SSH library's acceptor) uses
 * {@link #tryAdmit(SocketAddress)} directly, the same way.
 *
 * <p>An address is an IPv4 address, or the /64 prefix of an IPv6 address (one customer usually
 * holds a whole /64, so counting single IPv6 addresses would be no limit at all); IPv4-mapped IPv6
 * addresses count as IPv4. Connections that have no IP address (Unix domain sockets, in-memory
 * pairs) count only towards the global pre-auth cap.
 *
 * <p>Thread-safe; memory is one small entry per address that has a connection open now.
 */
public final class ConnectionLimits {
    private static final ConnectionLimits NONE = new ConnectionLimits(new Builder());
    private static final Optional<Permit> NO_LIMITS = Optional.of(new Permit(NONE, null));

    private final int perAddress;
    private final int preauth;
    private final int preauthPerAddress;
    private final Duration preauthTimeout;
    private final ConcurrentHashMap<AddressKey, Counts> byAddress = new ConcurrentHashMap<>();
    private final AtomicInteger preauthNow = new AtomicInteger();

    private ConnectionLimits(Builder b) {
        this.perAddress = b.perAddress;
        this.preauth = b.preauth;
        this.preauthPerAddress = b.preauthPerAddress;
        this.preauthTimeout = b.preauthTimeout;
    }

    /** Starts describing limits; every cap starts at zero, meaning none. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A new instance with the limits Twine's login servers (SMTP, IMAP, POP3, XMPP) start from: 50
     * concurrent connections per address (Postfix's {@code smtpd_client_connection_count_limit}),
     * 10 of them unauthenticated, 1,000 unauthenticated in all, and 60 s to authenticate. Each call
     * counts on its own; share one instance between servers to count them together.
     */
    public static ConnectionLimits defaults() {
        return builder().perAddress(50).preauthPerAddress(10).preauth(1_000)
                .preauthTimeout(Duration.ofSeconds(60)).build();
    }

    /** No caps and no pre-auth deadline: what a {@link Server} has unless told otherwise. */
    public static ConnectionLimits none() {
        return NONE;
    }

    /** Concurrent connections allowed per address; 0 means no cap. */
    public int perAddress() {
        return perAddress;
    }

    /** Concurrent unauthenticated connections allowed in all; 0 means no cap. */
    public int preauth() {
        return preauth;
    }

    /** Concurrent unauthenticated connections allowed per address; 0 means no cap. */
    public int preauthPerAddress() {
        return preauthPerAddress;
    }

    /** How long a connection may stay unauthenticated in all; zero means forever. */
    public Duration preauthTimeout() {
        return preauthTimeout;
    }

    /**
     * Admits a new, unauthenticated connection from {@code peer} if no cap is reached. Does not
     * block.
     *
     * @param peer the client's address; one without an IP address is only held to the global
     *     pre-auth cap
     * @return the permit, to be {@linkplain Permit#close() closed} when the connection ends; empty
     *     if the connection must be refused
     */
    public Optional<Permit> tryAdmit(SocketAddress peer) {
        Objects.requireNonNull(peer, "peer");
        if (this == NONE) {
            return NO_LIMITS; // nothing is counted, so one permit serves every connection
        }
        if (preauth > 0) {
            int n;
            do {
                n = preauthNow.get();
                if (n >= preauth) {
                    return Optional.empty();
                }
            } while (!preauthNow.compareAndSet(n, n + 1));
        } else {
            preauthNow.incrementAndGet();
        }
        AddressKey key = AddressKey.of(peer);
        // the permit keeps the address's counts, whose key the map holds, rather than a key of its
        // own: connections from one address share one
        Counts[] admitted = {null};
        if (key != null) {
            byAddress.compute(key, (k, c) -> {
                Counts counts = c != null ? c : new Counts(k);
                if ((perAddress == 0 || counts.total < perAddress)
                        && (preauthPerAddress == 0 || counts.preauth < preauthPerAddress)) {
                    counts.total++;
                    counts.preauth++;
                    admitted[0] = counts;
                }
                return counts.total == 0 ? null : counts;
            });
            if (admitted[0] == null) {
                preauthNow.decrementAndGet();
                return Optional.empty();
            }
        }
        return Optional.of(new Permit(this, admitted[0]));
    }

    /**
     * Connections open now from {@code peer}'s address (or its /64), authenticated or not; 0 for
     * an address without IP.
     */
    public int connectionsFrom(SocketAddress peer) {
        AddressKey key = AddressKey.of(peer);
        Counts c = key != null ? byAddress.get(key) : null;
        return c != null ? c.total : 0;
    }

    /** Unauthenticated connections open now, from every address. */
    public int preauthConnections() {
        return preauthNow.get();
    }

    @Override
    public String toString() {
        return "ConnectionLimits[perAddress=" + perAddress + ", preauth=" + preauth
                + ", preauthPerAddress=" + preauthPerAddress + ", preauthTimeout=" + preauthTimeout + "]";
    }

    private void leavePreauth(Counts counts) {
        preauthNow.decrementAndGet();
        if (counts != null) {
            byAddress.computeIfPresent(counts.key, (k, c) -> {
                c.preauth--;
                return c;
            });
        }
    }

    private void release(Counts counts, boolean wasPreauth) {
        if (wasPreauth) {
            preauthNow.decrementAndGet();
        }
        if (counts != null) {
            byAddress.computeIfPresent(counts.key, (k, c) -> {
                c.total--;
                if (wasPreauth) {
                    c.preauth--;
                }
                return c.total == 0 ? null : c;
            });
        }
    }

    /**
     * One admitted connection's place in the counts. Both methods are idempotent and may be
     * called from any thread.
     */
    public static final class Permit implements AutoCloseable {
        private static final int AUTHENTICATED = 1;
        private static final int CLOSED = 2;
        private static final java.lang.invoke.VarHandle STATE;

        static {
            try {
                STATE = java.lang.invoke.MethodHandles.lookup().findVarHandle(Permit.class, "state", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final ConnectionLimits limits;
        /** The counts of the connection's address (which stay in the map while it is open), or null. */
        private final Counts counts;
        /** {@link #AUTHENTICATED} and {@link #CLOSED} bits: one field rather than two atomics per connection. */
        private volatile int state;

        private Permit(ConnectionLimits limits, Counts counts) {
            this.limits = limits;
            this.counts = counts;
        }

        /** The connection has authenticated: it leaves the pre-auth counts. */
        public void authenticated() {
            if (limits == NONE) {
                return;
            }
            int s;
            do {
                s = state;
                if (s != 0) {
                    return; // closed, or out of the pre-auth counts already
                }
            } while (!STATE.compareAndSet(this, s, AUTHENTICATED));
            limits.leavePreauth(counts);
        }

        /** Whether {@link #authenticated()} was called. */
        public boolean isAuthenticated() {
            return (state & AUTHENTICATED) != 0;
        }

        /** The connection has ended: its place is given back. */
        @Override
        public void close() {
            if (limits != NONE) {
                int before = (int) STATE.getAndBitwiseOr(this, AUTHENTICATED | CLOSED);
                if ((before & CLOSED) == 0) {
                    limits.release(counts, (before & AUTHENTICATED) == 0);
                }
            }
        }
    }

    /** Counts for one address; changed only inside {@code compute}, so under the map's lock. */
    private static final class Counts {
        final AddressKey key;
        int total;
        int preauth;

        Counts(AddressKey key) {
            this.key = key;
        }
    }

    /** Describes {@link ConnectionLimits}; every cap is 0 (none) until set. */
    public static final class Builder {
        private int perAddress;
        private int preauth;
        private int preauthPerAddress;
        private Duration preauthTimeout = Duration.ZERO;

        private Builder() {}

        /**
         * Concurrent connections allowed from one address (IPv6: one /64), authenticated or not;
         * 0 means no cap.
         *
         * @throws IllegalArgumentException if negative
         */
        public Builder perAddress(int max) {
            this.perAddress = nonNegative(max, "perAddress");
            return this;
        }

        /**
         * Concurrent connections that have not authenticated yet, from every address together
         * (OpenSSH's {@code MaxStartups}); 0 means no cap.
         *
         * @throws IllegalArgumentException if negative
         */
        public Builder preauth(int max) {
            this.preauth = nonNegative(max, "preauth");
            return this;
        }

        /**
         * Concurrent connections that have not authenticated yet, from one address (OpenSSH's
         * {@code PerSourceMaxStartups}); 0 means no cap.
         *
         * @throws IllegalArgumentException if negative
         */
        public Builder preauthPerAddress(int max) {
            this.preauthPerAddress = nonNegative(max, "preauthPerAddress");
            return this;
        }

        /**
         * How long a connection may take, in all, from being accepted to authenticating (OpenSSH's
         * {@code LoginGraceTime}); reads after that throw {@link java.net.SocketTimeoutException}
         * however steadily bytes arrive. Zero means no limit.
         *
         * @throws IllegalArgumentException if negative
         */
        public Builder preauthTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "preauthTimeout");
            if (timeout.isNegative()) {
                throw new IllegalArgumentException("preauthTimeout must not be negative: " + timeout);
            }
            this.preauthTimeout = timeout;
            return this;
        }

        /** The limits. */
        public ConnectionLimits build() {
            return new ConnectionLimits(this);
        }

        private static int nonNegative(int n, String what) {
            if (n < 0) {
                throw new IllegalArgumentException(what + " must not be negative: " + n);
            }
            return n;
        }
    }
}
