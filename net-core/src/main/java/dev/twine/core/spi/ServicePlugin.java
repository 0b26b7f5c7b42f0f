package dev.twine.core.spi;

import dev.twine.core.Service;
import dev.twine.core.Tls;
import dev.twine.core.Metrics;
import dev.twine.core.internal.ArgumentValues;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * A {@code twine} subcommand contributed by a module, found with {@link java.util.ServiceLoader}
 * (declare it with {@code provides dev.twine.core.spi.ServicePlugin with ...} in {@code module-info}),
 * the way {@code twistd} finds its plugins. The launcher turns {@link #options()} into a command
 * line with {@code --help}, parses it, and calls {@link #create} with the result; it then starts
 * the service, prints a {@code listening ...} line per binding, and shuts it down gracefully on
 * SIGINT or SIGTERM.
 */
public interface ServicePlugin {
    /** The subcommand: {@code echo}, {@code dns}, {@code mail}. */
    String name();

    /** One line for {@code twine help}. */
    String summary();

    /** The options the subcommand takes. */
    List<Option> options();

    /**
     * Makes the (not yet started) service from parsed arguments.
     *
     * @throws IllegalArgumentException for bad arguments or bad files: the message is shown as it
     *     is (it should name the option or the file and line) and the launcher exits with 2
     * @throws Exception for anything else; the launcher exits with 1
     */
    Service create(Arguments arguments) throws Exception;

    /**
     * The service as {@code twine demo} runs it, with demo data under {@code dataDir} (created as
     * needed), or empty if this plugin has no demo.
     *
     * @param dataDir where the demo keeps its data
     * @param ports the port of each endpoint the demo listens on: ask it once per port, giving the
     *     usual one ({@code ports.port(2525)}); {@code twine demo --port-base N} moves them
     * @return the demo, or empty
     * @throws Exception if the demo data cannot be made
     */
    default Optional<Demo> demo(Path dataDir, DemoPorts ports) throws Exception {
        return Optional.empty();
    }

    /** The ports a demo listens on, as {@code twine demo} chooses them. */
    @FunctionalInterface
    interface DemoPorts {
        /**
         * The port for one endpoint.
         *
         * @param usual the demo's usual port for it
         * @return the port to listen on: {@code usual}, or the next one from {@code --port-base}
         *     ({@code 0} when the base is 0: a free port each)
         */
        int port(int usual);

        /**
         * Every demo on its usual ports.
         *
         * @return ports that are what the demos ask for
         */
        static DemoPorts usual() {
            return usual -> usual;
        }
    }

    /**
     * One-shot commands under this plugin's name besides serving ({@code twine dns keygen ...}),
     * each with its own options and {@code --help}; none by default.
     */
    default List<Command> commands() {
        return List.of();
    }

    /**
     * A one-shot command of a plugin, run by the launcher as {@code twine PLUGIN NAME OPTIONS}:
     * its options parsed as a server's are, output to the given stream, an exit status back.
     *
     * <pre>{@code
     * Command hello = new Command() {
     *     public String name() { return "hello"; }
     *     public String summary() { return "print a greeting"; }
     *     public List<Option> options() { return List.of(Option.value("--to", "NAME", "whom to greet").asRequired()); }
     *     public int run(Arguments args, PrintStream out) { out.println("hello " + args.require("--to")); return 0; }
     * };
     * }</pre>
     */
    interface Command {
        /** The subcommand's name, {@code keygen}. */
        String name();

        /** One line for {@code --help}. */
        String summary();

        /** The options it takes. */
        List<Option> options();

        /**
         * Runs the command on the caller's thread, blocking until it is done.
         *
         * @param arguments the options given, read through the typed accessors
         * @param out where its output goes (standard output under the launcher)
         * @return the exit status, 0 for success
         * @throws IllegalArgumentException for a bad option value, naming the option: the launcher
         *     prints the message and exits with 2
         * @throws Exception for any other failure: printed, exit 1
         */
        int run(Arguments arguments, java.io.PrintStream out) throws Exception;
    }

    /**
     * A demo: the service and, once it is started, how to connect to it with standard clients.
     *
     * @param instructions given the started service, a few lines telling how to try it
     */
    record Demo(Service service, Function<Service, String> instructions) {}

    /**
     * One command-line option.
     *
     * @param name the long name with dashes, {@code --listen}
     * @param label the value's placeholder, {@code EP}; null for a flag
     * @param description one sentence for {@code --help}
     * @param repeatable whether it may be given several times
     * @param required whether it must be given
     * @param defaultValue the value when not given, or null
     */
    record Option(String name, String label, String description, boolean repeatable, boolean required, String defaultValue) {
        /** An optional option taking one value. */
        public static Option value(String name, String label, String description) {
            return new Option(name, label, description, false, false, null);
        }

        /** A flag: present or not. */
        public static Option flag(String name, String description) {
            return new Option(name, null, description, false, false, null);
        }

        /** This option, repeatable. */
        public Option asRepeatable() {
            return new Option(name, label, description, true, required, defaultValue);
        }

        /** This option, required. */
        public Option asRequired() {
            return new Option(name, label, description, repeatable, true, defaultValue);
        }

        /** This option with a default value. */
        public Option withDefault(String value) {
            return new Option(name, label, description, repeatable, required, value);
        }

        /** Whether this is a flag. */
        public boolean isFlag() {
            return label == null;
        }
    }

    /** Parsed arguments, by option name (with its dashes). */
    interface Arguments {
        /** The values given for a repeatable option (its default if none was given), possibly empty. */
        List<String> values(String option);

        /** The value given for an option, or its default. */
        Optional<String> value(String option);

        /**
         * The value of a required option, or one with a default.
         *
         * @throws IllegalArgumentException if it has none
         */
        default String require(String option) {
            return value(option).orElseThrow(() -> new IllegalArgumentException("missing required option " + option));
        }

        /** Whether a flag was given. */
        boolean flag(String option);

        /**
         * The value of a required option, or one with a default, as a duration: {@code 500ms},
         * {@code 30s}, {@code 5m}, {@code 2h}, a bare number of seconds, an ISO-8601 duration
         * ({@code PT10M}), or {@code 0} for none. One grammar for every subcommand.
         *
         * @throws IllegalArgumentException naming the option if it has no value or the value is
         *     not a non-negative duration
         */
        default java.time.Duration duration(String option) {
            return dev.twine.core.internal.Durations.parse(option, require(option));
        }

        /**
         * The value of a required option, or one with a default, as a whole number of 1 or more.
         *
         * @throws IllegalArgumentException naming the option if it is missing or not such a number
         */
        default int positive(String option) {
            return ArgumentValues.integer(option, require(option), 1);
        }

        /**
         * The value of a required option, or one with a default, as a whole number of 0 or more
         * (a cap where 0 means none).
         *
         * @throws IllegalArgumentException naming the option if it is missing or not such a number
         */
        default int count(String option) {
            return ArgumentValues.integer(option, require(option), 0);
        }

        /**
         * The value of a required option, or one with a default, as a size in bytes:
         * {@code 1048576}, {@code 512k}, {@code 25m}, {@code 1g} (powers of 1024).
         *
         * @throws IllegalArgumentException naming the option if it is missing or not a size
         */
        default long byteSize(String option) {
            return ArgumentValues.byteSize(option, require(option));
        }

        /**
         * The value of an option as {@code HOST:PORT} ({@code [IPV6]:PORT} for IPv6), in the client
         * endpoint grammar, not resolved; empty if not given.
         *
         * @throws IllegalArgumentException naming the option if the value is malformed
         */
        default Optional<java.net.InetSocketAddress> hostPort(String option) {
            return value(option).map(v -> ArgumentValues.hostPort(option, v));
        }

        /**
         * The users file a required option names, loaded.
         *
         * @throws IllegalArgumentException naming the option, the file and, for a bad line, its
         *     number, if it is missing, unreadable or malformed
         */
        default dev.twine.core.auth.UsersFile usersFile(String option) {
            return ArgumentValues.usersFile(option, Path.of(require(option)));
        }

        /**
         * A required option (or one with a default) naming a directory the server writes into
         * (a Maildir, a queue, a data directory): made with its parents if missing (new
         * directories 0700), then checked, so that a bad one stops the start with one line
         * instead of failing every request later.
         *
         * @return the directory, as an absolute path
         * @throws IllegalArgumentException naming the option and the path if it is missing, not a
         *     directory, cannot be made, or cannot be written
         */
        default Path directory(String option) {
            return ArgumentValues.writableDirectory(option, Path.of(require(option)));
        }

        /**
         * As {@link #directory(String)} for an optional option: the directory it names, or
         * {@code ifAbsent} when it was not given (a default the plugin computes, such as a
         * sibling of another directory), checked the same way.
         *
         * @throws IllegalArgumentException naming the option and the path, as above
         */
        default Path directory(String option, Path ifAbsent) {
            return ArgumentValues.writableDirectory(option, value(option).map(Path::of).orElse(ifAbsent));
        }

        /**
         * The files a repeatable option names (its default if none was given), each checked to
         * exist and be readable: zone files, key files.
         *
         * @throws IllegalArgumentException naming the option and the file ({@code --zone: no such
         *     file: db.example}), worded as for {@link #usersFile}
         */
        default List<Path> readableFiles(String option) {
            return values(option).stream().map(v -> ArgumentValues.readableFile(option, Path.of(v))).toList();
        }

        /**
         * The registry the launcher serves with {@code --metrics-listen EP}, for the plugin to pass
         * to its servers' builders ({@code .metrics(m)}), so their connection and protocol counters
         * are exported.
         *
         * @return the launcher's registry, or empty when no metrics endpoint was asked for
         */
        default Optional<Metrics> metrics() {
            return Optional.empty();
        }

        /**
         * A server TLS pair from a certificate option and a key option given together, or empty
         * if neither is given.
         *
         * @throws IllegalArgumentException naming the options if only one is given or the files
         *     are bad
         */
        default Optional<Tls> serverTls(String certOption, String keyOption) {
            Optional<String> cert = value(certOption);
            Optional<String> key = value(keyOption);
            if (cert.isPresent() != key.isPresent()) {
                throw new IllegalArgumentException(certOption + " and " + keyOption + " go together");
            }
            return cert.map(c -> ArgumentValues.serverTls(certOption, Path.of(c), keyOption, Path.of(key.get())));
        }
    }
}
