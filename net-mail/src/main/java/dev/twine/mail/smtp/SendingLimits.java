package dev.twine.mail.smtp;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How much mail one user, and one client address, may send per hour: messages (counted at each
 * {@code MAIL FROM} the server accepts) and recipients (each {@code RCPT TO} that gets past the
 * relay check, whether the address exists or not: guessing addresses costs too). Over a limit,
 * {@code MAIL} gets {@code 451 4.7.1} and {@code RCPT} {@code 452 4.7.1} (RFC 5321 §4.5.3.1.10:
 * the client keeps the recipients it has and sends the rest later), so mail is delayed, never
 * lost. As Postfix's anvil rates, a cap bounds what a stolen password or a compromised host can
 * send before someone notices.
 *
 * <pre>{@code
 * SendingLimits limits = SendingLimits.builder()
 *         .perUser(200, 1_000)         // each user: 200 messages and 1,000 recipients an hour
 *         .perAddress(500, 2_000)      // each client address (IPv6: /64), logged in or not
 *         .build();
 * SmtpServer.builder().domain("example.org").delivery(delivery).sendingLimits(limits)...;
 * }</pre>
 *
 * <p>Each count refills steadily (a token bucket of an hour's allowance), so a user who used it
 * all may send one more message after an hour's share of it has passed, rather than waiting for
 * the top of the hour. A transaction abandoned after its {@code MAIL} still counts. One instance
 * given to several servers (port 25 and submission) counts their mail together. Counts live in
 * memory and start afresh when the process does. Thread-safe.
 */
public final class SendingLimits {
    private static final Duration HOUR = Duration.ofHours(1);
    /** Above this many tracked users or addresses, the ones back at full allowance are forgotten. */
    private static final int PRUNE_AT = 10_000;

    private final int userMessages;
    private final int userRecipients;
    private final int addressMessages;
    private final int addressRecipients;
    private final Clock clock;
    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

    private SendingLimits(Builder b) {
        this.userMessages = b.userMessages;
        this.userRecipients = b.userRecipients;
        this.addressMessages = b.addressMessages;
        this.addressRecipients = b.addressRecipients;
        this.clock = b.clock;
    }

    /** A builder; every limit is off until set. */
    public static Builder builder() {
        return new Builder();
    }

    /** No limits: what a server has unless told otherwise. */
    public static SendingLimits none() {
        return builder().build();
    }

    /**
     * Takes one message from the allowances of {@code user} (null if not logged in) and
     * {@code client}; null if both had one left, else the reply refusing it (nothing taken).
     */
    Reply takeMessage(String user, SocketAddress client) {
        return take(user, client, userMessages, addressMessages, 'm', 451, "messages");
    }

    /** {@link #takeMessage} for one recipient. */
    Reply takeRecipient(String user, SocketAddress client) {
        return take(user, client, userRecipients, addressRecipients, 'r', 452, "recipients");
    }

    private Reply take(String user, SocketAddress client, int perUser, int perAddress, char kind, int code, String what) {
        String address = perAddress > 0 ? block(client) : null;
        String userKey = perUser > 0 && user != null ? kind + "u:" + user : null;
        String addressKey = address != null ? kind + "a:" + address : null;
        long now = clock.millis();
        if (userKey != null && !bucket(userKey, perUser).has(now)) {
            return Reply.of(code, "4.7.1 Error: too many " + what + " from user " + user + " this hour; try again later");
        }
        if (addressKey != null && !bucket(addressKey, perAddress).has(now)) {
            return Reply.of(code, "4.7.1 Error: too many " + what + " from " + address + " this hour; try again later");
        }
        // both have one: take it from each (another session may have taken it meanwhile; then
        // this one goes a little over, which a limit of this kind can bear)
        if (userKey != null) {
            bucket(userKey, perUser).take(now);
        }
        if (addressKey != null) {
            bucket(addressKey, perAddress).take(now);
        }
        if (buckets.size() > PRUNE_AT) {
            buckets.values().removeIf(b -> b.full(now));
        }
        return null;
    }

    private Bucket bucket(String key, int perHour) {
        return buckets.computeIfAbsent(key, k -> new Bucket(perHour, clock.millis()));
    }

    /** The client's address as counted: IPv4 whole, IPv6 by its /64 (one site's hosts share it). */
    static String block(SocketAddress client) {
        if (!(client instanceof InetSocketAddress a) || a.getAddress() == null) {
            return String.valueOf(client);
        }
        InetAddress ip = a.getAddress();
        byte[] b = ip.getAddress();
        if (b.length == 16) {
            Arrays.fill(b, 8, 16, (byte) 0);
            try {
                return InetAddress.getByAddress(b).getHostAddress() + "/64";
            } catch (java.net.UnknownHostException e) {
                throw new AssertionError(e); // 16 bytes are always an address
            }
        }
        return ip.getHostAddress();
    }

    /** One allowance: up to {@code capacity} tokens, refilled at {@code capacity} an hour. */
    private static final class Bucket {
        private final int capacity;
        private final java.util.concurrent.locks.ReentrantLock lock = new java.util.concurrent.locks.ReentrantLock();
        private double tokens;
        private long updated;

        Bucket(int capacity, long now) {
            this.capacity = capacity;
            this.tokens = capacity;
            this.updated = now;
        }

        private void refill(long now) {
            if (now > updated) {
                tokens = Math.min(capacity, tokens + (now - updated) * (double) capacity / HOUR.toMillis());
                updated = now;
            }
        }

        boolean has(long now) {
            lock.lock();
            try {
                refill(now);
                return tokens >= 1;
            } finally {
                lock.unlock();
            }
        }

        void take(long now) {
            lock.lock();
            try {
                refill(now);
                tokens -= 1;
            } finally {
                lock.unlock();
            }
        }

        boolean full(long now) {
            lock.lock();
            try {
                refill(now);
                return tokens >= capacity;
            } finally {
                lock.unlock();
            }
        }
    }

    /** Configuration for {@link SendingLimits}. */
    public static final class Builder {
        private int userMessages;
        private int userRecipients;
        private int addressMessages;
        private int addressRecipients;
        private Clock clock = Clock.systemUTC();

        private Builder() {}

        /**
         * Each authenticated user's hourly allowance; 0 turns that count off.
         *
         * @throws IllegalArgumentException if negative
         */
        public Builder perUser(int messages, int recipients) {
            this.userMessages = checked(messages);
            this.userRecipients = checked(recipients);
            return this;
        }

        /**
         * Each client address's hourly allowance (an IPv6 /64 is one address), whether or not it
         * logged in; 0 turns that count off.
         *
         * @throws IllegalArgumentException if negative
         */
        public Builder perAddress(int messages, int recipients) {
            this.addressMessages = checked(messages);
            this.addressRecipients = checked(recipients);
            return this;
        }

        /** The clock the allowances refill by; the system clock by default (tests: a manual one). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        private static int checked(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("a limit must not be negative: " + n);
            }
            return n;
        }

        /** Builds the limits. */
        public SendingLimits build() {
            return new SendingLimits(this);
        }
    }
}
