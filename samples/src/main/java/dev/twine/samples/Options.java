package dev.twine.samples;

import dev.twine.core.Server;
import dev.twine.core.ServicePlugin;
import dev.twine.core.ServicePlugin.Arguments;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/** Small parsers for option values, with messages that name the option. */
final class Options {
    private Options() {}

    /**
     * Parses {@code 30s}, {@code 5m}, {@code 2h}, {@code 500ms}, or an ISO-8601 duration
     * ({@code PT30S}); {@code 0} means none.
     *
     * @throws IllegalArgumentException naming the option
     */
    static Duration duration(String option, String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        try {
            if (v.equals("0")) {
                return Duration.ZERO;
            }
            if (v.startsWith("pt") || v.startsWith("p")) {
                return nonNegative(option, Duration.parse(value.trim()));
            }
            int i = 0;
            while (i < v.length() && Character.isDigit(v.charAt(i))) {
                i++;
            }
            long n = Long.parseLong(v.substring(0, i));
            return nonNegative(option, switch (v.substring(i)) {
                case "ms" -> Duration.ofMillis(n);
                case "s", "" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> throw new IllegalArgumentException();
            });
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(option + ": '" + value + "' is not a duration (examples: 500ms, 30s, 5m, 1h, 0 for none)");
        }
    }

    private static Duration nonNegative(String option, Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException(option + ": duration must not be negative");
        }
        return d;
    }

    /**
     * The options every sample server takes: where to listen, how many connections at once, and
     * how long a silent connection may stay.
     */
    static List<ServicePlugin.Option> serverOptions(String listen, String maxConnections, String idleTimeout) {
        return List.of(
                ServicePlugin.Option.value("--listen", "EP",
                                "Endpoint to listen on (repeatable); add :interface=0.0.0.0 to serve every interface.")
                        .asRepeatable().withDefault(listen),
                ServicePlugin.Option.value("--max-connections", "N", "Most connections served at once; more wait in the listen backlog.")
                        .withDefault(maxConnections),
                ServicePlugin.Option.value("--idle-timeout", "DURATION", "Close a connection that sends nothing for this long (0 = never).")
                        .withDefault(idleTimeout));
    }

    /** A server from {@code builder} configured with {@link #serverOptions}'s values. */
    static Server server(Server.Builder builder, Arguments args) {
        args.values("--listen").forEach(builder::listen);
        return builder.maxConnections(positive(args, "--max-connections"))
                .readTimeout(duration("--idle-timeout", args.require("--idle-timeout")))
                .build();
    }

    /** A positive integer option. */
    static int positive(Arguments args, String option) {
        String v = args.require(option);
        try {
            int n = Integer.parseInt(v.trim());
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(option + ": '" + v + "' is not a positive whole number");
    }
}
