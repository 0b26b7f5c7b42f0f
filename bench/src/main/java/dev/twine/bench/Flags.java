package dev.twine.bench;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code --name value} arguments of a benchmark main: every option takes one value, unknown
 * options and missing values are errors (exit 2), so a typo never silently runs the wrong benchmark.
 */
final class Flags {
    /** Thrown for a bad command line; the main prints the message and usage, then exits 2. */
    static final class BadArgument extends Exception {
        BadArgument(String message) {
            super(message);
        }
    }

    private final Map<String, String> values = new HashMap<>();

    private Flags() {
    }

    static Flags parse(String[] args, Set<String> known) throws BadArgument {
        Flags flags = new Flags();
        List<String> list = List.of(args);
        for (int i = 0; i < list.size(); i++) {
            String arg = list.get(i);
            if (!arg.startsWith("--")) {
                throw new BadArgument("unexpected argument: " + arg);
            }
            String name = arg.substring(2);
            String value;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (i + 1 < list.size() && !list.get(i + 1).startsWith("--")) {
                value = list.get(++i);
            } else {
                throw new BadArgument("--" + name + " needs a value");
            }
            if (!known.contains(name)) {
                throw new BadArgument("unknown option: --" + name);
            }
            if (flags.values.put(name, value) != null) {
                throw new BadArgument("--" + name + " given twice");
            }
        }
        return flags;
    }

    boolean has(String name) {
        return values.containsKey(name);
    }

    String string(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    int integer(String name, int fallback, int min, int max) throws BadArgument {
        String raw = values.get(name);
        if (raw == null) {
            return fallback;
        }
        int value;
        try {
            value = Integer.parseInt(raw.replace("_", "").replace(",", ""));
        } catch (NumberFormatException e) {
            throw new BadArgument("--" + name + ": not a whole number: " + raw);
        }
        if (value < min || value > max) {
            throw new BadArgument("--" + name + ": " + value + " is outside " + min + ".." + max);
        }
        return value;
    }

    /** A duration given as seconds ({@code 10}, {@code 2.5}) or with a unit ({@code 500ms}, {@code 10s}, {@code 2m}). */
    Duration duration(String name, Duration fallback, Duration max) throws BadArgument {
        String raw = values.get(name);
        if (raw == null) {
            return fallback;
        }
        Duration value;
        try {
            if (raw.endsWith("ms")) {
                value = Duration.ofMillis(Long.parseLong(raw.substring(0, raw.length() - 2)));
            } else if (raw.endsWith("m")) {
                value = Duration.ofSeconds(Long.parseLong(raw.substring(0, raw.length() - 1)) * 60);
            } else {
                String seconds = raw.endsWith("s") ? raw.substring(0, raw.length() - 1) : raw;
                value = Duration.ofNanos(Math.round(Double.parseDouble(seconds) * 1e9));
            }
        } catch (NumberFormatException e) {
            throw new BadArgument("--" + name + ": not a duration: " + raw);
        }
        if (value.isNegative() || value.compareTo(max) > 0) {
            throw new BadArgument("--" + name + ": " + raw + " is outside 0.." + max.toSeconds() + "s");
        }
        return value;
    }
}
