package dev.twine.samples;

import dev.twine.core.ServicePlugin.Arguments;
import java.time.Duration;
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
