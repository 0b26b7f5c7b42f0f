package dev.twine.core.internal;

import java.time.Duration;
import java.util.Locale;

/** The duration grammar of command-line options ({@code ServicePlugin.Arguments#duration}). */
public final class Durations {
    private Durations() {}

    /**
     * Parses {@code 500ms}, {@code 30s}, {@code 5m}, {@code 2h}, a bare number of seconds, an
     * ISO-8601 duration ({@code PT30S}), or {@code 0} for none.
     *
     * @throws IllegalArgumentException naming {@code option}
     */
    public static Duration parse(String option, String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        Duration d;
        try {
            if (v.equals("0")) {
                return Duration.ZERO;
            }
            if (v.startsWith("p")) {
                d = Duration.parse(value.trim());
            } else {
                int i = 0;
                while (i < v.length() && Character.isDigit(v.charAt(i))) {
                    i++;
                }
                long n = Long.parseLong(v.substring(0, i));
                d = switch (v.substring(i)) {
                    case "ms" -> Duration.ofMillis(n);
                    case "s", "" -> Duration.ofSeconds(n);
                    case "m" -> Duration.ofMinutes(n);
                    case "h" -> Duration.ofHours(n);
                    default -> throw new IllegalArgumentException();
                };
            }
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(option + ": '" + value + "' is not a duration (examples: 500ms, 30s, 5m, 1h, PT10M, 0 for none)");
        }
        if (d.isNegative()) {
            throw new IllegalArgumentException(option + ": duration must not be negative");
        }
        return d;
    }

    /** The shortest form of {@code d} that {@link #parse} reads back: {@code 0}, {@code 500ms}, {@code 30s}, {@code 5m}, {@code 2h}. */
    public static String format(Duration d) {
        if (d.isZero()) {
            return "0";
        }
        long ms = d.toMillis();
        if (ms % 1000 != 0) {
            return ms + "ms";
        }
        long s = ms / 1000;
        if (s % 3600 == 0) {
            return s / 3600 + "h";
        }
        return s % 60 == 0 ? s / 60 + "m" : s + "s";
    }
}
