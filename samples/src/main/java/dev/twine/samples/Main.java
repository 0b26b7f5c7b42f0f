package dev.twine.samples;

import dev.twine.core.Binding;
import dev.twine.core.Metrics;
import dev.twine.core.Server;
import dev.twine.core.Service;
import dev.twine.core.auth.UsersFile;
import dev.twine.core.spi.CommandPlugin;
import dev.twine.core.spi.ServicePlugin;
import dev.twine.ssh.Manhole;
import dev.twine.core.Services;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * The {@code twine} command: one subcommand per {@link ServicePlugin} found on the module path,
 * one per {@link CommandPlugin} (clients such as {@code conch}, which parse their own arguments),
 * plus {@code demo}, {@code user} and {@code help}. ({@code twine test} is handled by the
 * {@code ./twine} script, which runs the build.)
 *
 * <p>Exit codes: 0 after a clean shutdown, 2 on bad arguments or bad files, 1 on other failures.
 */
public final class Main {
    static final Duration GRACE = Duration.ofSeconds(10);

    private static final System.Logger LAUNCHER_LOG = System.getLogger("dev.twine.launcher");

    private Main() {}

    /**
     * Libraries whose routine INFO lines (MINA SSHD's start-up and per-session notes) are kept out
     * of an operator's log: they log warnings and errors only. Held here, since java.util.logging
     * keeps its loggers only weakly and would forget the level.
     */
    private static final List<java.util.logging.Logger> QUIET_LIBRARIES = List.of(
            java.util.logging.Logger.getLogger("org.apache.sshd"),
            // MINA logs its start-up through the class name of Twine's subclass of its server
            java.util.logging.Logger.getLogger("dev.twine.ssh.internal.MinaSshServer$Sshd"));

    /** Runs the command line and exits with its code. */
    public static void main(String[] args) {
        platformPollers();
        System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tFT%1$tT %4$s %3$s: %5$s%6$s%n");
        LogHandler.install(System.err);
        // MINA and dnsjava log through slf4j, which the launcher sends to java.util.logging
        QUIET_LIBRARIES.forEach(l -> l.setLevel(java.util.logging.Level.WARNING));
        int code = run(args, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    /**
     * The JDK's I/O pollers on platform threads, unless the JVM was told otherwise
     * ({@code -Djdk.pollerMode=N}). On Linux, JDK 22 and later start virtual "sub-pollers" that wait,
     * pinned, for the class that starts them to finish initialising: a
     * {@code jdk.VirtualThreadPinned} event at every start of every server. Under {@code dnsperf}
     * the DNS server also spent about a tenth more CPU per query with them. Twine's TCP connections
     * do not use these pollers (their readiness loops are Twine's own); accept loops, UDP receive
     * loops and outbound connects do. The JDK reads the property once, when the first virtual
     * thread waits for a socket, so this runs first; a JDK without the property ignores it.
     */
    static void platformPollers() {
        if (System.getProperty("jdk.pollerMode") == null) {
            System.setProperty("jdk.pollerMode", "1");
        }
    }

    /** Runs the command line; returns the exit code. Services block until a signal stops them. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, System.in, out, err);
    }

    /** As {@link #run(String[], PrintStream, PrintStream)}, with the standard input a command reads. */
    static int run(String[] args, java.io.InputStream in, PrintStream out, PrintStream err) {
        Map<String, CommandPlugin> commands = commands();
        Optional<Integer> ran = runCommand(commands, args, in, out, err);
        if (ran.isPresent()) {
            return ran.get();
        }
        Map<String, ServicePlugin> plugins = plugins();
        CommandLine cl = commandLine(plugins);
        commands.values().forEach(c -> cl.addSubcommand(c.name(), new CommandLine(commandSpec(c))));
        cl.setOut(new java.io.PrintWriter(out, true));
        cl.setErr(new java.io.PrintWriter(err, true));
        ParseResult parsed;
        try {
            parsed = cl.parseArgs(args);
        } catch (ParameterException e) {
            err.println("twine: " + e.getMessage());
            CommandLine bad = e.getCommandLine();
            String name = bad.getCommandSpec().qualifiedName(" ");
            err.println("Try '" + name + " --help'.");
            return 2;
        }
        Integer helped;
        try {
            helped = CommandLine.executeHelpRequest(parsed);
        } catch (ParameterException e) {
            // `twine help nosuch`: picocli's help command throws for an unknown subcommand
            err.println("twine: " + e.getMessage());
            err.println("Try 'twine help'.");
            return 2;
        }
        if (helped != null) {
            return helped;
        }
        if (!parsed.hasSubcommand()) {
            cl.usage(out);
            return 0;
        }
        ParseResult sub = parsed.subcommand();
        String name = sub.commandSpec().name();
        try {
            logLevel(sub);
            if (name.equals("user")) {
                return UserCommand.run(sub, out, err);
            }
            if (name.equals("demo")) {
                Path dir = Path.of(sub.matchedOptionValue("--data", "twine-data"));
                return demo(plugins, dir, demoPorts(sub), out, err);
            }
            ServicePlugin plugin = plugins.get(name);
            if (sub.hasSubcommand()) {
                ParseResult toolArgs = sub.subcommand();
                ServicePlugin.Tool tool = plugin.tools().stream()
                        .filter(t -> t.name().equals(toolArgs.commandSpec().name())).findFirst().orElseThrow();
                name = name + " " + tool.name();
                return tool.action().run(arguments(plugin.name(), tool.options(), toolArgs, Optional.empty(),
                        new LinkedHashMap<>()), out);
            }
            for (ServicePlugin.Option o : plugin.options()) {
                if (o.required() && !sub.hasMatchedOption(o.name())) {
                    err.println("twine: Missing required option: '" + o.name() + "=" + o.label() + "'");
                    err.println("Try 'twine " + name + " --help'.");
                    return 2;
                }
            }
            Optional<Metrics> metrics = sub.hasMatchedOption("--metrics-listen") ? Optional.of(Metrics.create()) : Optional.empty();
            Map<String, Object> live = new LinkedHashMap<>();
            Service service = plugin.create(arguments(plugin.name(), plugin.options(), sub, metrics, live));
            if (metrics.isPresent()) {
                service = Services.group(service.name(), List.of(service, metricsServer(metrics.get(), sub)));
            }
            if (sub.hasMatchedOption("--manhole")) {
                service = Services.group(service.name(), List.of(service, manhole(service, live, sub)));
            }
            return serve(service, List.of(), out, err);
        } catch (IllegalArgumentException e) {
            err.println("twine " + name + ": " + e.getMessage());
            return 2;
        } catch (Exception e) {
            err.println("twine " + name + ": " + e.getMessage());
            return 1;
        }
    }

    /** The {@link CommandPlugin}s on the module path, by name. */
    static Map<String, CommandPlugin> commands() {
        Map<String, CommandPlugin> byName = new java.util.TreeMap<>();
        for (CommandPlugin c : ServiceLoader.load(CommandPlugin.class)) {
            if (byName.putIfAbsent(c.name(), c) != null) {
                throw new IllegalStateException("two commands are named '" + c.name() + "'");
            }
        }
        return byName;
    }

    /**
     * {@code twine NAME ARGS...} for a command plugin, which parses its own arguments; also
     * {@code twine NAME --help} and {@code twine help NAME}. Empty when {@code args} name none.
     */
    private static Optional<Integer> runCommand(Map<String, CommandPlugin> commands, String[] args, java.io.InputStream in,
            PrintStream out, PrintStream err) {
        if (args.length == 2 && args[0].equals("help") && commands.containsKey(args[1])) {
            out.print(commands.get(args[1]).usage());
            return Optional.of(0);
        }
        CommandPlugin command = args.length == 0 ? null : commands.get(args[0]);
        if (command == null) {
            return Optional.empty();
        }
        List<String> rest = List.of(args).subList(1, args.length);
        if (rest.equals(List.of("--help"))) {
            out.print(command.usage());
            return Optional.of(0);
        }
        try {
            return Optional.of(command.run(rest, in, out, err));
        } catch (Exception e) {
            err.println("twine " + command.name() + ": " + e.getMessage());
            return Optional.of(1);
        } finally {
            out.flush();
        }
    }

    /** A command plugin as {@code twine --help} lists it (it parses its own arguments). */
    private static CommandSpec commandSpec(CommandPlugin c) {
        CommandSpec spec = CommandSpec.create().name(c.name());
        spec.usageMessage().description(c.summary());
        return spec;
    }

    static Map<String, ServicePlugin> plugins() {
        List<ServicePlugin> found = new ArrayList<>();
        ServiceLoader.load(ServicePlugin.class).forEach(found::add);
        found.sort(Comparator.comparing(ServicePlugin::name));
        Map<String, ServicePlugin> byName = new LinkedHashMap<>();
        for (ServicePlugin p : found) {
            if (byName.putIfAbsent(p.name(), p) != null) {
                throw new IllegalStateException("two plugins are named '" + p.name() + "'");
            }
        }
        return byName;
    }

    static CommandLine commandLine(Map<String, ServicePlugin> plugins) {
        CommandSpec root = CommandSpec.create().name("twine").mixinStandardHelpOptions(true).version("Twine 0.1.0");
        root.usageMessage()
                .description("Twine: servers and clients for real network protocols, one virtual thread per connection.")
                .footer("", "Also: ./twine test   build and run every test.",
                        "      ./twine run FILE.java   run a one-file program on the built modules.",
                        "Endpoints: tcp:PORT[:interface=ADDR] (without interface: every interface),",
                        "  tls:PORT[:cert=FILE:key=FILE], udp:PORT, unix:PATH, systemd:name=NAME;",
                        "  add :proxy=v2[:proxy-from=CIDR] behind a PROXY-protocol load balancer.",
                        "Exit codes: 0 clean shutdown, 2 bad arguments or files, 1 failure.");
        CommandLine cl = new CommandLine(root);
        cl.addSubcommand("help", new CommandLine.HelpCommand());
        CommandSpec demo = CommandSpec.create().name("demo").mixinStandardHelpOptions(true);
        demo.usageMessage().description("Start every sample service on 127.0.0.1 with demo data, and print how to connect.");
        demo.addOption(OptionSpec.builder("--port-base").paramLabel("N").type(String.class)
                .description("Put the demos on ports N, N+1, ... instead of their usual ones (0: any free ports).").build());
        demo.addOption(OptionSpec.builder("--data").paramLabel("DIR").description("Where demo data goes (default: ./twine-data).")
                .type(String.class).build());
        addLauncherOptions(demo, false);
        cl.addSubcommand("demo", new CommandLine(demo));
        for (ServicePlugin p : plugins.values()) {
            CommandLine pc = new CommandLine(spec(p));
            for (ServicePlugin.Tool t : p.tools()) {
                CommandSpec ts = CommandSpec.create().name(t.name()).mixinStandardHelpOptions(true);
                ts.usageMessage().description(t.summary());
                t.options().forEach(o -> ts.addOption(optionSpec(o, true)));
                pc.addSubcommand(t.name(), new CommandLine(ts));
            }
            cl.addSubcommand(p.name(), pc);
        }
        cl.addSubcommand("user", UserCommand.commandLine());
        return cl;
    }

    private static CommandSpec spec(ServicePlugin p) {
        CommandSpec spec = CommandSpec.create().name(p.name()).mixinStandardHelpOptions(true);
        spec.usageMessage().description(p.summary());
        addLauncherOptions(spec, true);
        // picocli would ask a plugin's required options of its tools too: those are checked in run
        boolean required = p.tools().isEmpty();
        for (ServicePlugin.Option o : p.options()) {
            spec.addOption(optionSpec(o, required));
        }
        return spec;
    }

    private static OptionSpec optionSpec(ServicePlugin.Option o, boolean required) {
        OptionSpec.Builder b = OptionSpec.builder(o.name()).description(o.description() + (o.defaultValue() != null ? " (default: " + o.defaultValue() + ")" : ""));
        if (o.isFlag()) {
            b.arity("0").type(boolean.class);
        } else if (o.repeatable()) {
            b.paramLabel(o.label()).arity("1").type(List.class).auxiliaryTypes(String.class);
        } else {
            b.paramLabel(o.label()).arity("1").type(String.class);
        }
        b.required(required && o.required());
        return b.build();
    }

    /** The options every server command has, whatever its plugin declares. */
    private static void addLauncherOptions(CommandSpec spec, boolean metrics) {
        spec.addOption(OptionSpec.builder("--log-level").paramLabel("LEVEL").type(String.class)
                .description("error, warning, info (default), debug or trace; TWINE_LOG sets the default.").build());
        if (metrics) {
            spec.addOption(OptionSpec.builder("--metrics-listen").paramLabel("EP").type(String.class)
                    .description("Serve Prometheus metrics at http://EP/metrics (e.g. tcp:9100:interface=127.0.0.1).").build());
            spec.addOption(OptionSpec.builder("--manhole").paramLabel("EP").type(String.class)
                    .description("Open an SSH endpoint (tcp:PORT: loopback unless interface= says otherwise) giving"
                            + " a JShell session inside this process, with the running services bound to names"
                            + " (services, server(\"smtp\"), users). Public-key login only, as the user running"
                            + " the process.").build());
            spec.addOption(OptionSpec.builder("--manhole-keys").paramLabel("FILE").type(String.class)
                    .description("The authorized_keys file for --manhole (default: ~/.ssh/authorized_keys).").build());
            spec.addOption(OptionSpec.builder("--manhole-host-key").paramLabel("FILE").type(String.class)
                    .description("The manhole's Ed25519 host key, generated if missing (default: manhole_host_key).").build());
        }
    }

    /**
     * The {@code --manhole} endpoint: {@code services} is the running tree, and what the plugin
     * read through the typed arguments (its users file) is bound too.
     */
    private static Service manhole(Service services, Map<String, Object> live, ParseResult sub) {
        Path keys = sub.hasMatchedOption("--manhole-keys") ? Path.of(sub.matchedOptionValue("--manhole-keys", ""))
                : Path.of(System.getProperty("user.home"), ".ssh", "authorized_keys");
        if (!java.nio.file.Files.isReadable(keys)) {
            throw new IllegalArgumentException("--manhole-keys: cannot read " + keys + " (the keys that may log in to the manhole)");
        }
        Manhole.Builder b;
        try {
            b = Manhole.builder().listen(sub.matchedOptionValue("--manhole", ""));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--manhole: " + e.getMessage());
        }
        b.authorizedKeys(keys)
                .hostKey(Path.of(sub.matchedOptionValue("--manhole-host-key", "manhole_host_key")))
                .services(services);
        live.forEach(b::bind);
        if (ModuleLayer.boot().findModule("jdk.jshell").isEmpty()) {
            // not required by the launcher, so that it runs on a JRE without it
            throw new IllegalArgumentException("--manhole needs the jdk.jshell module: run java with --add-modules jdk.jshell"
                    + " on a JDK (./twine does)");
        }
        return b.build();
    }

    /**
     * Sets the level of every logger under the root (Twine's, MINA's and dnsjava's through slf4j)
     * from {@code --log-level}, else {@code TWINE_LOG}, else info.
     *
     * @throws IllegalArgumentException for an unknown level
     */
    private static void logLevel(ParseResult sub) {
        String given = sub.hasMatchedOption("--log-level") ? sub.matchedOptionValue("--log-level", "info")
                : System.getenv().getOrDefault("TWINE_LOG", "info");
        java.util.logging.Level level = switch (given.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "error" -> java.util.logging.Level.SEVERE;
            case "warning", "warn" -> java.util.logging.Level.WARNING;
            case "info" -> java.util.logging.Level.INFO;
            case "debug" -> java.util.logging.Level.FINE;
            case "trace" -> java.util.logging.Level.FINEST;
            default -> throw new IllegalArgumentException("--log-level: '" + given + "' is not error, warning, info, debug or trace");
        };
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        root.setLevel(level);
        for (java.util.logging.Handler h : root.getHandlers()) {
            h.setLevel(level);
        }
    }

    /** The {@code --metrics-listen} endpoint: the registry over HTTP, plus the process's own figures. */
    private static Service metricsServer(Metrics metrics, ParseResult sub) {
        long start = ProcessHandle.current().info().startInstant().map(java.time.Instant::getEpochSecond).orElse(0L);
        metrics.gauge("process_start_time_seconds", "When the process started, in seconds since the epoch.", () -> start);
        Runtime rt = Runtime.getRuntime();
        metrics.gauge("jvm_memory_used_bytes", "Java heap in use.", () -> rt.totalMemory() - rt.freeMemory(), "area", "heap");
        return Server.builder("metrics")
                .listen(sub.matchedOptionValue("--metrics-listen", ""))
                .readTimeout(Duration.ofSeconds(30))
                .maxConnections(64)
                .handler(metrics.httpHandler())
                .build();
    }

    /**
     * The view of the command line that a plugin ({@code options}: its own) or one of its tools
     * ({@code options}: the tool's) gets. What it loads through a typed accessor worth looking at
     * live (the users file) is put in {@code live}, for the manhole to bind.
     */
    private static ServicePlugin.Arguments arguments(String command, List<ServicePlugin.Option> options, ParseResult sub,
            Optional<Metrics> metrics, Map<String, Object> live) {
        Map<String, ServicePlugin.Option> declared = new LinkedHashMap<>();
        options.forEach(o -> declared.put(o.name(), o));
        return new ServicePlugin.Arguments() {
            private ServicePlugin.Option option(String name) {
                ServicePlugin.Option o = declared.get(name);
                if (o == null) {
                    throw new IllegalStateException("plugin '" + command + "' asked for undeclared option " + name);
                }
                return o;
            }

            @Override
            public List<String> values(String name) {
                ServicePlugin.Option o = option(name);
                List<String> given = sub.matchedOptionValue(name, List.of());
                if (given.isEmpty() && o.defaultValue() != null) {
                    return List.of(o.defaultValue());
                }
                return List.copyOf(given);
            }

            @Override
            public Optional<String> value(String name) {
                ServicePlugin.Option o = option(name);
                if (o.repeatable()) {
                    List<String> v = values(name);
                    return v.isEmpty() ? Optional.empty() : Optional.of(v.get(v.size() - 1));
                }
                return Optional.ofNullable(sub.matchedOptionValue(name, o.defaultValue()));
            }

            @Override
            public boolean flag(String name) {
                option(name);
                return sub.hasMatchedOption(name);
            }

            @Override
            public Optional<Metrics> metrics() {
                return metrics;
            }

            @Override
            public UsersFile usersFile(String option) {
                UsersFile users = ServicePlugin.Arguments.super.usersFile(option);
                live.put("users", users);
                return users;
            }
        };
    }

    /**
     * {@code --port-base N}: the demos' ports are N, N+1, ... in the order they ask (0: a free port
     * each); without it, each demo's usual ports.
     *
     * @throws IllegalArgumentException if N is not a port number, or the ports would run past 65535
     */
    private static ServicePlugin.DemoPorts demoPorts(ParseResult sub) {
        if (!sub.hasMatchedOption("--port-base")) {
            return ServicePlugin.DemoPorts.usual();
        }
        String given = sub.matchedOptionValue("--port-base", "");
        int base;
        try {
            base = Integer.parseInt(given.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--port-base: '" + given + "' is not a port number");
        }
        if (base < 0 || base > 65535 - 64) {
            throw new IllegalArgumentException("--port-base: " + base + " is not 0 or a port from 1 to " + (65535 - 64));
        }
        int[] next = {base};
        return usual -> base == 0 ? 0 : next[0]++;
    }

    private static int demo(Map<String, ServicePlugin> plugins, Path dir, ServicePlugin.DemoPorts ports, PrintStream out,
            PrintStream err) throws Exception {
        List<Service> services = new ArrayList<>();
        List<ServicePlugin.Demo> demos = new ArrayList<>();
        for (ServicePlugin p : plugins.values()) {
            Optional<ServicePlugin.Demo> d;
            try {
                d = p.demo(dir.resolve(p.name()), ports);
            } catch (Exception e) {
                // one demo that cannot make its data (no openssl, say) must not keep the rest from running
                err.println("twine demo: skipping " + p.name() + ": " + e.getMessage());
                continue;
            }
            if (d.isPresent()) {
                SkippedIfUnbound member = new SkippedIfUnbound(p.name(), d.get().service(), err);
                demos.add(new ServicePlugin.Demo(member, s -> d.get().instructions().apply(d.get().service())));
                services.add(member);
            }
        }
        Service all = Services.group("demo", services);
        List<Supplier<String>> howTo = demos.stream()
                .map(d -> (Supplier<String>) () -> ((SkippedIfUnbound) d.service()).started()
                        ? d.instructions().apply(d.service()) : null)
                .toList();
        return serve(all, howTo, out, err);
    }

    /**
     * A demo service that, when it cannot start (its port is taken by a local service, as 2525 or
     * 7000 may be), says so in one line and stays out of the way, so the other demos still run.
     */
    private static final class SkippedIfUnbound implements Service {
        private final String plugin;
        private final Service service;
        private final PrintStream err;
        private volatile boolean started;

        SkippedIfUnbound(String plugin, Service service, PrintStream err) {
            this.plugin = plugin;
            this.service = service;
            this.err = err;
        }

        boolean started() {
            return started;
        }

        @Override
        public String name() {
            return service.name();
        }

        @Override
        public void start() throws Exception {
            try {
                service.start();
                started = true;
            } catch (IOException | UncheckedIOException e) {
                String why = e instanceof UncheckedIOException u ? u.getCause().getMessage() : e.getMessage();
                err.println("twine demo: skipping " + plugin + ": " + why);
                service.close();
            }
        }

        @Override
        public List<Binding> bindings() {
            return started ? service.bindings() : List.of();
        }

        @Override
        public void shutdown(Duration grace) throws InterruptedException {
            if (started) {
                service.shutdown(grace);
            }
        }

        @Override
        public void close() {
            service.close();
        }

        @Override
        public void awaitTermination() throws InterruptedException {
            if (started) {
                service.awaitTermination();
            }
        }
    }

    private static int serve(Service service, List<Supplier<String>> instructions, PrintStream out, PrintStream err) throws Exception {
        try {
            service.start();
        } catch (IOException e) {
            err.println("twine " + service.name() + ": " + e.getMessage());
            return 1;
        } catch (UncheckedIOException e) {
            err.println("twine " + service.name() + ": " + e.getCause().getMessage());
            return 1;
        }
        CountDownLatch stop = new CountDownLatch(1);
        Signals.onTermination(stop::countDown);
        // log rotation and service managers send SIGHUP routinely: reload, never die of it
        Signals.onReload(() -> {
            try {
                boolean reloaded = service.reload();
                LAUNCHER_LOG.log(System.Logger.Level.INFO, "SIGHUP: " + (reloaded ? "reloaded" : "nothing to reload"));
            } catch (IOException | RuntimeException e) {
                LAUNCHER_LOG.log(System.Logger.Level.WARNING, "SIGHUP: reload failed, still running as before: " + e.getMessage());
            }
        });
        for (Binding b : service.bindings()) {
            out.println(b.listeningLine());
        }
        if (!instructions.isEmpty()) {
            out.println();
            out.println("Try:");
            for (Supplier<String> i : instructions) {
                String text = i.get();
                if (text != null) {
                    out.println("  " + text);
                }
            }
            out.println();
            out.println("Stop with Ctrl-C.");
        }
        out.flush();
        // a platform thread: it only waits, and a virtual one racing a server thread for the first
        // use of a lock class waited pinned for its initialiser (a jdk.VirtualThreadPinned event)
        Thread.ofPlatform().daemon().name("await-" + service.name()).start(() -> {
            try {
                service.awaitTermination();
            } catch (InterruptedException ignored) {
                // the main thread stops us
            }
            stop.countDown();
        });
        try {
            stop.await();
        } catch (InterruptedException e) {
            service.close(); // nothing may stay bound after the launcher is done
            throw e;
        }
        service.shutdown(GRACE);
        return 0;
    }
}
