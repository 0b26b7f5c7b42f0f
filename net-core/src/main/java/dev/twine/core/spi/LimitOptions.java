package dev.twine.core.spi;

import dev.twine.core.ConnectionLimits;
import dev.twine.core.spi.ServicePlugin.Arguments;
import dev.twine.core.spi.ServicePlugin.Option;
import dev.twine.core.auth.AuthPolicy;
import dev.twine.core.internal.Durations;
import java.time.Duration;
import java.util.List;

/**
 * The command-line options every {@code twine} server shares for its abuse limits, so that each
 * plugin offers them under the same names with the same grammar:
 *
 * <pre>
 * --max-connections-per-address N   concurrent connections from one address (IPv6: one /64); 0 = no cap
 * --max-preauth N                   concurrent connections not yet logged in, in all; 0 = no cap
 * --max-preauth-per-address N       concurrent connections not yet logged in, per address; 0 = no cap
 * --preauth-timeout D               time a connection has to log in, in all; 0 = forever
 * --auth-failure-delay D            delay after a connection's first failed login, doubling; 0 = none
 * --auth-max-failures N             failed logins per connection before it is closed; 0 = no limit
 * --auth-address-penalty N/W/D      N failures from one address within W: refused for D; 0 = off
 * --auth-user-penalty N/W/D         the same per user name, from the addresses that failed for it
 * </pre>
 *
 * A plugin adds {@link #connectionOptions(ConnectionLimits)} and {@link #authOptions()} to its
 * own options and builds its {@link ConnectionLimits} and {@link AuthPolicy} with
 * {@link #connectionLimits(Arguments)} and {@link #authPolicy(Arguments)}.
 */
public final class LimitOptions {
    static final String PER_ADDRESS = "--max-connections-per-address";
    static final String PREAUTH = "--max-preauth";
    static final String PREAUTH_PER_ADDRESS = "--max-preauth-per-address";
    static final String PREAUTH_TIMEOUT = "--preauth-timeout";
    static final String FAILURE_DELAY = "--auth-failure-delay";
    static final String MAX_FAILURES = "--auth-max-failures";
    static final String ADDRESS_PENALTY = "--auth-address-penalty";
    static final String USER_PENALTY = "--auth-user-penalty";

    private LimitOptions() {}

    /**
     * The connection-limit options, with {@code defaults} as their default values.
     *
     * @param defaults the limits a server has when none of the options is given
     */
    public static List<Option> connectionOptions(ConnectionLimits defaults) {
        return List.of(
                Option.value(PER_ADDRESS, "N", "Most concurrent connections from one client address (an IPv6 /64); 0 for no cap.")
                        .withDefault(Integer.toString(defaults.perAddress())),
                Option.value(PREAUTH, "N", "Most concurrent connections that have not logged in yet, from all addresses; 0 for no cap.")
                        .withDefault(Integer.toString(defaults.preauth())),
                Option.value(PREAUTH_PER_ADDRESS, "N", "Most concurrent connections that have not logged in yet, from one address; 0 for no cap.")
                        .withDefault(Integer.toString(defaults.preauthPerAddress())),
                Option.value(PREAUTH_TIMEOUT, "D", "How long a connection may take in all to log in, however busy it is; 0 for no limit.")
                        .withDefault(Durations.format(defaults.preauthTimeout())));
    }

    /** The failed-login options, with the {@link AuthPolicy#defaults()} as defaults. */
    public static List<Option> authOptions() {
        return List.of(
                Option.value(FAILURE_DELAY, "D", "Delay before answering a connection's first failed login; it doubles with each"
                        + " further failure, up to 8 times; 0 for none.").withDefault("1s"),
                Option.value(MAX_FAILURES, "N", "Failed logins a connection may make before it is closed; 0 for no limit.")
                        .withDefault("3"),
                Option.value(ADDRESS_PENALTY, "N/WINDOW/DURATION", "After N failed logins from one address within WINDOW,"
                        + " refuse every login from it for DURATION; 0 to turn off.").withDefault("10/10m/5m"),
                Option.value(USER_PENALTY, "N/WINDOW/DURATION", "After N failed logins as one user within WINDOW, refuse"
                        + " that user for DURATION from the addresses that failed for it; 0 to turn off.").withDefault("20/10m/5m"));
    }

    /**
     * The connection limits the options describe.
     *
     * @throws IllegalArgumentException naming the option whose value is bad
     */
    public static ConnectionLimits connectionLimits(Arguments arguments) {
        return ConnectionLimits.builder()
                .perAddress(arguments.count(PER_ADDRESS))
                .preauth(arguments.count(PREAUTH))
                .preauthPerAddress(arguments.count(PREAUTH_PER_ADDRESS))
                .preauthTimeout(arguments.duration(PREAUTH_TIMEOUT))
                .build();
    }

    /**
     * The failed-login policy the options describe.
     *
     * @throws IllegalArgumentException naming the option whose value is bad
     */
    public static AuthPolicy authPolicy(Arguments arguments) {
        Duration delay = arguments.duration(FAILURE_DELAY);
        AuthPolicy.Builder b = AuthPolicy.builder()
                .failureDelay(delay)
                .maxFailureDelay(delay.multipliedBy(8))
                .maxFailuresPerConnection(arguments.count(MAX_FAILURES));
        long[] a = penalty(arguments, ADDRESS_PENALTY);
        b.addressPenalty((int) a[0], Duration.ofMillis(a[1]), Duration.ofMillis(a[2]));
        long[] u = penalty(arguments, USER_PENALTY);
        b.userPenalty((int) u[0], Duration.ofMillis(u[1]), Duration.ofMillis(u[2]));
        return b.build();
    }

    /** {@code N/WINDOW/DURATION}, or {@code 0} for none: {count, window ms, duration ms}. */
    private static long[] penalty(Arguments arguments, String option) {
        String v = arguments.require(option).trim();
        if (v.equals("0")) {
            return new long[] {0, 0, 0};
        }
        String[] parts = v.split("/", -1);
        String usage = option + ": '" + v + "' is not N/WINDOW/DURATION (for example 10/10m/5m) or 0";
        if (parts.length != 3) {
            throw new IllegalArgumentException(usage);
        }
        int n;
        try {
            n = Integer.parseInt(parts[0].trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(usage);
        }
        Duration window = Durations.parse(option, parts[1]);
        Duration duration = Durations.parse(option, parts[2]);
        if (n < 1 || window.isZero() || duration.isZero()) {
            throw new IllegalArgumentException(usage);
        }
        return new long[] {n, window.toMillis(), duration.toMillis()};
    }
}
