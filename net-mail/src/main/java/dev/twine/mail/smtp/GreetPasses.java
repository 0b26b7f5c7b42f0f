package dev.twine.mail.smtp;

import java.net.SocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The client addresses (IPv6: /64) that passed the pre-greeting test lately: for a day after
 * passing, an address is greeted at once, as Postfix's postscreen remembers a pass for
 * {@code postscreen_greet_ttl} (one day), so a real mail server pays the delay once a day, not
 * once a message. In memory; thread-safe.
 */
final class GreetPasses {
    static final Duration TTL = Duration.ofDays(1);
    /** Above this many addresses, the expired passes are forgotten. */
    private static final int PRUNE_AT = 10_000;

    private final ConcurrentHashMap<String, Instant> passed = new ConcurrentHashMap<>();

    /** Whether {@code client} passed the test less than {@link #TTL} before {@code now}. */
    boolean hasPassed(SocketAddress client, Instant now) {
        Instant at = passed.get(SendingLimits.block(client));
        return at != null && now.isBefore(at.plus(TTL));
    }

    /** Records that {@code client} passed the test at {@code now}. */
    void pass(SocketAddress client, Instant now) {
        if (passed.size() > PRUNE_AT) {
            passed.values().removeIf(at -> !now.isBefore(at.plus(TTL)));
        }
        passed.put(SendingLimits.block(client), now);
    }
}
