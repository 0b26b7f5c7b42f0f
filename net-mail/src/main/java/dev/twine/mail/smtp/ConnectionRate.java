package dev.twine.mail.smtp;

import java.net.SocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * How many connections one client address (an IPv6 /64) may open per minute, as Postfix's anvil
 * counts them for {@code smtpd_client_connection_rate_limit}: each connection counts, refused or
 * not, in a minute that begins at the address's first connection (anvil's
 * {@code anvil_rate_time_unit}); over the limit a connection is refused until that minute is over.
 * Counts live in memory; thread-safe.
 */
final class ConnectionRate {
    private static final Duration UNIT = Duration.ofMinutes(1);
    /** Above this many addresses, those whose minute is over are forgotten. */
    private static final int PRUNE_AT = 10_000;

    private final int perMinute;
    private final ConcurrentHashMap<String, Window> windows = new ConcurrentHashMap<>();

    /** @param perMinute connections per address and minute; 0 for no limit */
    ConnectionRate(int perMinute) {
        this.perMinute = perMinute;
    }

    /** The limit; 0 for none. */
    int perMinute() {
        return perMinute;
    }

    /** Counts a connection from {@code client} at {@code now}; whether it is within the rate. */
    boolean admit(SocketAddress client, Instant now) {
        if (perMinute == 0) {
            return true;
        }
        if (windows.size() > PRUNE_AT) {
            windows.values().removeIf(w -> w.over(now));
        }
        return windows.computeIfAbsent(SendingLimits.block(client), k -> new Window()).count(now) <= perMinute;
    }

    /** One address's minute. */
    private static final class Window {
        private final ReentrantLock lock = new ReentrantLock();
        private Instant start = Instant.MIN;
        private int count;

        /** Counts one connection; the count in this minute, this one included. */
        int count(Instant now) {
            lock.lock();
            try {
                if (!now.isBefore(start.plus(UNIT))) {
                    start = now;
                    count = 0;
                }
                return ++count;
            } finally {
                lock.unlock();
            }
        }

        boolean over(Instant now) {
            lock.lock();
            try {
                return !now.isBefore(start.plus(UNIT));
            } finally {
                lock.unlock();
            }
        }
    }
}
