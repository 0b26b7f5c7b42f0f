package dev.twine.core.auth;

import dev.twine.core.internal.AddressKey;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * What happens after a failed login, the same for every protocol: a delay that grows with each
 * failure on a connection, a disconnect after a few, and penalties for an address (and for a user
 * name) that fails too often, like OpenSSH 9.8's {@code PerSourcePenalties}.
 *
 * <pre>{@code
 * AuthPolicy policy = AuthPolicy.builder()
 *         .failureDelay(Duration.ofSeconds(1))       // 1 s, 2 s, 4 s... after each failure
 *         .maxFailureDelay(Duration.ofSeconds(8))
 *         .maxFailuresPerConnection(3)               // then the protocol disconnects
 *         .addressPenalty(10, Duration.ofMinutes(10), Duration.ofMinutes(5))
 *         .userPenalty(20, Duration.ofMinutes(10), Duration.ofMinutes(5))
 *         .build();
 * Portal portal = Portal.builder().users(users).policy(policy).build();
 *
 * // in a protocol session, one LoginAttempts per connection:
 * LoginAttempts attempts = portal.policy().open("imap", conn.remoteAddress());
 * try {
 *     attempts.admit(user);                          // refused while penalised
 *     Principal p = portal.authenticate(new UsernamePassword(user, password));
 *     attempts.succeeded(user);
 *     conn.markAuthenticated();
 * } catch (LoginRefusedException e) {
 *     reply("NO [UNAVAILABLE] try again later");     // temporary, right password or not
 *     if (!e.mayRetry()) { reply("* BYE"); return; }
 * } catch (AuthenticationException e) {
 *     boolean again = attempts.failed(user);         // sleeps the delay first
 *     reply("NO [AUTHENTICATIONFAILED] authentication failed");
 *     if (!again) { reply("* BYE too many failures"); return; }
 * }
 * }</pre>
 *
 * <h2>Penalties</h2>
 * <ul>
 *   <li><b>Address</b>: when an address (an IPv6 /64) has failed {@code N} times within the window,
 *       every login from it is refused for the penalty's duration, on every protocol that shares
 *       this policy, whatever the credentials.</li>
 *   <li><b>User</b>: when a user name has failed {@code N} times within the window, from any
 *       addresses, logins as that user are refused for the duration, but only from addresses that
 *       themselves failed for that user within the window. A guesser spread over many addresses
 *       gets one try from each; the real user, from an address with no failures, is never locked
 *       out.</li>
 * </ul>
 * Addresses without IP (Unix domain sockets) are not penalised, only delayed and disconnected.
 * Memory is bounded: at most {@link Builder#maxTracked(int)} addresses and as many user names are
 * remembered; past that, the least recently failing ones that are not penalised are forgotten.
 *
 * <h2>Logs</h2>
 * Logger {@code dev.twine.auth}, one line per event, with the address first so that fail2ban's
 * {@code <HOST>} matches it ({@code failregex = login (failed|refused): service=\S+ address=<HOST> }):
 * <pre>
 * INFO    login: service=imap address=192.0.2.7 user=alice
 * INFO    login failed: service=imap address=192.0.2.7 user=alice failures=2
 * WARNING login refused: service=imap address=192.0.2.7 user=alice reason=address-penalty retry-after=PT4M10S
 * WARNING address penalised: address=192.0.2.7 failures=10 within=PT10M for=PT5M
 * WARNING user penalised: user=alice failures=20 within=PT10M for=PT5M
 * </pre>
 * User names are logged as sent, with anything but printable ASCII replaced by {@code ?} and cut
 * at 64 characters; {@code -} when none was sent.
 *
 * <p>Thread-safe: one policy serves every connection of every protocol that shares it.
 */
public final class AuthPolicy {
    private static final System.Logger LOG = System.getLogger("dev.twine.auth");
    private static final AuthPolicy UNLIMITED = builder()
            .failureDelay(Duration.ZERO).maxFailureDelay(Duration.ZERO).maxFailuresPerConnection(0)
            .addressPenalty(0, Duration.ZERO, Duration.ZERO).userPenalty(0, Duration.ZERO, Duration.ZERO).build();

    final Duration failureDelay;
    final Duration maxFailureDelay;
    final int maxFailuresPerConnection;
    private final Penalty addressPenalty;
    private final Penalty userPenalty;
    final Clock clock;
    final System.Logger log;
    private final int maxTracked;
    private final ConcurrentHashMap<AddressKey, Failures> addresses = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, UserFailures> users = new ConcurrentHashMap<>();

    private AuthPolicy(Builder b) {
        this.failureDelay = b.failureDelay;
        this.maxFailureDelay = b.maxFailureDelay;
        this.maxFailuresPerConnection = b.maxFailuresPerConnection;
        this.addressPenalty = b.addressPenalty;
        this.userPenalty = b.userPenalty;
        this.clock = b.clock;
        this.log = b.log;
        this.maxTracked = b.maxTracked;
    }

    /** Starts describing a policy, from the {@linkplain #defaults() defaults}. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A new policy with the defaults: a delay of 1 s after a connection's first failure, doubling
     * up to 8 s; a disconnect after 3 failures; an address refused for 5 minutes after 10 failures
     * within 10 minutes; a user name likewise after 20 (from the addresses that failed for it).
     */
    public static AuthPolicy defaults() {
        return builder().build();
    }

    /** No delays, no disconnects, no penalties: for tests and for trusted, local use only. */
    public static AuthPolicy unlimited() {
        return UNLIMITED;
    }

    /**
     * The login attempts of one connection. Not thread-safe: one connection's logins happen one
     * after the other, on its own thread.
     *
     * @param service the protocol, for the log ({@code "imap"}, {@code "smtp"})
     * @param peer the client's address
     */
    public LoginAttempts open(String service, SocketAddress peer) {
        return new LoginAttempts(this, Objects.requireNonNull(service, "service"), peer);
    }

    /** The delay before replying to a connection's {@code failures}th failure (1-based). */
    Duration delayAfter(int failures) {
        if (failureDelay.isZero() || failures < 1) {
            return Duration.ZERO;
        }
        Duration d = failureDelay;
        for (int i = 1; i < failures && d.compareTo(maxFailureDelay) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(maxFailureDelay) > 0 ? maxFailureDelay : d;
    }

    /**
     * Why a login from {@code key} as {@code user} (null if not known yet) must be refused now,
     * or null if it may be tried; {@code remaining[0]} gets the penalty's time left in millis.
     */
    String refusal(AddressKey key, String user, long[] remaining) {
        long now = clock.millis();
        if (key != null && addressPenalty.active()) {
            Failures f = addresses.get(key);
            if (f != null) {
                long until = f.penalisedUntil();
                if (until > now) {
                    remaining[0] = until - now;
                    return "address-penalty";
                }
            }
        }
        if (user != null && key != null && userPenalty.active()) {
            UserFailures u = users.get(userKey(user));
            if (u != null) {
                long until = u.penalisedUntilFor(key, now - userPenalty.window.toMillis());
                if (until > now) {
                    remaining[0] = until - now;
                    return "user-penalty";
                }
            }
        }
        return null;
    }

    /** Counts a failure from {@code key} as {@code user} (either may be null) and starts penalties. */
    void recordFailure(AddressKey key, String addressText, String user) {
        long now = clock.millis();
        if (key != null && addressPenalty.active() && room(addresses, now)) {
            Failures f = addresses.computeIfAbsent(key, k -> new Failures(addressPenalty.count));
            if (f.add(now, addressPenalty)) {
                log.log(Level.WARNING, "address penalised: address={0} failures={1} within={2} for={3}",
                        addressText, addressPenalty.count, addressPenalty.window, addressPenalty.duration);
            }
        }
        if (user != null && key != null && userPenalty.active() && room(users, now)) {
            UserFailures u = users.computeIfAbsent(userKey(user), k -> new UserFailures(userPenalty.count));
            if (u.add(now, key, userPenalty)) {
                log.log(Level.WARNING, "user penalised: user={0} failures={1} within={2} for={3}",
                        printable(user), userPenalty.count, userPenalty.window, userPenalty.duration);
            }
        }
    }

    /**
     * Whether one more entry may be added to {@code map}; when it is full, first forgets entries
     * that are neither penalised nor failed within their window.
     */
    private boolean room(ConcurrentHashMap<?, ? extends Failures> map, long now) {
        if (map.size() < maxTracked) {
            return true;
        }
        long window = Math.max(addressPenalty.window.toMillis(), userPenalty.window.toMillis());
        for (Iterator<? extends Failures> it = map.values().iterator(); it.hasNext(); ) {
            Failures f = it.next();
            if (f.penalisedUntil() <= now && f.newest() < now - window) {
                it.remove();
            }
        }
        return map.size() < maxTracked;
    }

    private static String userKey(String user) {
        return user.toLowerCase(Locale.ROOT);
    }

    /** A user name or address as it may appear in a log line. */
    static String printable(String s) {
        if (s == null || s.isEmpty()) {
            return "-";
        }
        StringBuilder sb = new StringBuilder(Math.min(s.length(), 64));
        for (int i = 0; i < s.length() && i < 64; i++) {
            char c = s.charAt(i);
            sb.append(c > ' ' && c < 0x7f && c != '"' ? c : '?');
        }
        return sb.toString();
    }

    /** The address as fail2ban sees it: the IP without port. */
    static String addressText(SocketAddress peer) {
        if (peer instanceof InetSocketAddress isa && isa.getAddress() != null) {
            return isa.getAddress().getHostAddress();
        }
        return printable(String.valueOf(peer));
    }

    @Override
    public String toString() {
        return "AuthPolicy[delay=" + failureDelay + ".." + maxFailureDelay + ", maxFailuresPerConnection="
                + maxFailuresPerConnection + ", address=" + addressPenalty + ", user=" + userPenalty + "]";
    }

    /** N failures within a window start a penalty of a duration; N = 0 means never. */
    record Penalty(int count, Duration window, Duration duration) {
        boolean active() {
            return count > 0 && !duration.isZero();
        }

        @Override
        public String toString() {
            return active() ? count + " within " + window + " -> " + duration : "none";
        }
    }

    /** The recent failure times of one address: a ring of the last N. */
    static class Failures {
        /** Guards every field, including a subclass's; held for a few field updates only. */
        final ReentrantLock lock = new ReentrantLock();
        private final long[] times;
        private int next;
        private int size;
        private long penalisedUntil;

        Failures(int capacity) {
            this.times = new long[capacity];
        }

        /** Adds a failure at {@code now}; true if that starts a penalty. */
        final boolean add(long now, Penalty p) {
            lock.lock();
            try {
                times[next] = now;
                next = (next + 1) % times.length;
                size = Math.min(size + 1, times.length);
                if (size == times.length && penalisedUntil <= now && now - times[next] <= p.window.toMillis()) {
                    penalisedUntil = now + p.duration.toMillis();
                    return true;
                }
                return false;
            } finally {
                lock.unlock();
            }
        }

        final long penalisedUntil() {
            lock.lock();
            try {
                return penalisedUntil;
            } finally {
                lock.unlock();
            }
        }

        final long newest() {
            lock.lock();
            try {
                return size == 0 ? 0 : times[(next + times.length - 1) % times.length];
            } finally {
                lock.unlock();
            }
        }
    }

    /** A user name's failures, and which addresses failed for it lately. */
    static final class UserFailures extends Failures {
        private static final int MAX_ADDRESSES = 256;
        private final Map<AddressKey, Long> lastFailureByAddress = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<AddressKey, Long> eldest) {
                return size() > MAX_ADDRESSES;
            }
        };

        UserFailures(int capacity) {
            super(capacity);
        }

        boolean add(long now, AddressKey key, Penalty p) {
            lock.lock();
            try {
                lastFailureByAddress.put(key, now);
            } finally {
                lock.unlock();
            }
            return add(now, p);
        }

        /** The penalty's end for logins from {@code key}: only addresses that failed since {@code since}. */
        long penalisedUntilFor(AddressKey key, long since) {
            Long last;
            lock.lock();
            try {
                last = lastFailureByAddress.get(key); // an access-ordered map: get changes it too
            } finally {
                lock.unlock();
            }
            return last != null && last >= since ? penalisedUntil() : 0;
        }
    }

    /** Describes an {@link AuthPolicy}; starts from the defaults. */
    public static final class Builder {
        private Duration failureDelay = Duration.ofSeconds(1);
        private Duration maxFailureDelay = Duration.ofSeconds(8);
        private int maxFailuresPerConnection = 3;
        private Penalty addressPenalty = new Penalty(10, Duration.ofMinutes(10), Duration.ofMinutes(5));
        private Penalty userPenalty = new Penalty(20, Duration.ofMinutes(10), Duration.ofMinutes(5));
        private Clock clock = Clock.systemUTC();
        private System.Logger log = LOG;
        private int maxTracked = 100_000;

        private Builder() {}

        /**
         * The delay before answering a connection's first failed login; each further failure on
         * the same connection doubles it, up to {@link #maxFailureDelay}. Default 1 s; zero means
         * none.
         */
        public Builder failureDelay(Duration delay) {
            this.failureDelay = nonNegative(delay, "failureDelay");
            return this;
        }

        /** The longest delay after a failure; default 8 s. */
        public Builder maxFailureDelay(Duration delay) {
            this.maxFailureDelay = nonNegative(delay, "maxFailureDelay");
            return this;
        }

        /**
         * Failed logins one connection may make before the protocol closes it; default 3 (RFC 6120
         * §6.4.5 asks for at least 2); 0 means no limit.
         */
        public Builder maxFailuresPerConnection(int max) {
            if (max < 0) {
                throw new IllegalArgumentException("maxFailuresPerConnection must not be negative: " + max);
            }
            this.maxFailuresPerConnection = max;
            return this;
        }

        /**
         * After {@code failures} failed logins from one address within {@code window}, every login
         * from it is refused for {@code duration}. Default 10 within 10 minutes, for 5 minutes;
         * {@code failures} 0 turns it off.
         */
        public Builder addressPenalty(int failures, Duration window, Duration duration) {
            this.addressPenalty = penalty(failures, window, duration, "addressPenalty");
            return this;
        }

        /**
         * After {@code failures} failed logins as one user name (from any addresses) within
         * {@code window}, logins as that user are refused for {@code duration} from the addresses
         * that failed for it within the window. Default 20 within 10 minutes, for 5 minutes;
         * {@code failures} 0 turns it off.
         */
        public Builder userPenalty(int failures, Duration window, Duration duration) {
            this.userPenalty = penalty(failures, window, duration, "userPenalty");
            return this;
        }

        /** The clock delays and penalties are measured on; a {@code ManualClock} in tests. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Where events are logged instead of {@code dev.twine.auth}; for tests of the lines. */
        Builder logger(System.Logger log) {
            this.log = Objects.requireNonNull(log, "log");
            return this;
        }

        /** How many addresses, and how many user names, are remembered at most; default 100,000. */
        public Builder maxTracked(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxTracked must be positive: " + max);
            }
            this.maxTracked = max;
            return this;
        }

        /**
         * The policy.
         *
         * @throws IllegalArgumentException if the maximum delay is shorter than the first one
         */
        public AuthPolicy build() {
            if (maxFailureDelay.compareTo(failureDelay) < 0) {
                throw new IllegalArgumentException("maxFailureDelay " + maxFailureDelay
                        + " is shorter than failureDelay " + failureDelay);
            }
            return new AuthPolicy(this);
        }

        private static Penalty penalty(int failures, Duration window, Duration duration, String what) {
            if (failures < 0) {
                throw new IllegalArgumentException(what + ": failures must not be negative: " + failures);
            }
            nonNegative(window, what + " window");
            nonNegative(duration, what + " duration");
            if (failures > 0 && (window.isZero() || duration.isZero())) {
                throw new IllegalArgumentException(what + ": window and duration must be positive");
            }
            return new Penalty(failures, window, duration);
        }

        private static Duration nonNegative(Duration d, String what) {
            Objects.requireNonNull(d, what);
            if (d.isNegative()) {
                throw new IllegalArgumentException(what + " must not be negative: " + d);
            }
            return d;
        }
    }
}
