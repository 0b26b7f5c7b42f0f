package dev.twine.ssh;

import dev.twine.core.Binding;
import dev.twine.core.Endpoint;
import dev.twine.core.Service;
import dev.twine.core.auth.AuthPolicy;
import dev.twine.core.auth.Portal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A manhole: an SSH endpoint into a running process where an operator gets a JShell session
 * whose code runs inside that process, with live objects bound to names, as Twisted's manhole
 * gives a Python prompt inside a running reactor. Typing {@code server("smtp")} there returns
 * the running SMTP server itself, not a copy or a report.
 *
 * <pre>{@code
 * Manhole manhole = Manhole.builder()
 *         .listen("tcp:2223")                       // loopback unless interface= says otherwise
 *         .authorizedKeys(Path.of(System.getProperty("user.home"), ".ssh/authorized_keys"))
 *         .hostKey(Path.of("manhole_host_key"))
 *         .services(mailService)                    // `services` and server("name")
 *         .bind("queue", relayQueue)                // any object, under a Java name
 *         .build();
 * manhole.start();
 * // then: ssh -p 2223 localhost 'server("smtp").bindings()'    or    ssh -p 2223 localhost
 * }</pre>
 *
 * <h2>Who gets in</h2>
 * Only public keys: the keys in {@link Builder#authorizedKeys} (an OpenSSH {@code
 * authorized_keys} file, options such as {@code from=} honoured) for the one user name of
 * {@link Builder#user} (by default the operating system user running the process). Passwords are
 * always refused. The endpoint is loopback-only unless its {@code interface=} names another
 * address, unlike other endpoints: whoever logs in can do anything the process can.
 *
 * <h2>The session</h2>
 * A {@code shell} request (plain {@code ssh -p PORT host}) starts the JShell tool with its
 * commands ({@code /vars}, {@code /methods}, {@code /exit}...) and, with a terminal, its line
 * editing, history and completion. An {@code exec} request ({@code ssh host 'CODE'}) evaluates
 * the code as JShell snippets, prints the value of each expression on its own line, and exits 0,
 * or 1 at the first snippet that does not compile or throws (reported on standard error). Each
 * session starts with {@code java.util.*}, {@code java.time.*} and {@code dev.twine.core.*}
 * imported and every binding declared as a variable of its nearest public type.
 *
 * <p>Code runs in this JVM (JShell's local execution): it sees and changes the live objects.
 * What it prints with {@code System.out} and {@code System.err}, from the session's thread and
 * any thread it starts, goes to that session only; other threads keep printing where they did.
 * A disconnect ends the session; Ctrl-C in a terminal stops the running snippet.
 *
 * <h2>Error handling</h2>
 * {@link Builder#build()} throws {@link IllegalStateException} if the {@code jdk.jshell} module is
 * not in the process (a launcher on the module path adds it with {@code requires jdk.jshell} or
 * {@code --add-modules jdk.jshell}) or no authorized keys file was given, and {@link
 * IllegalArgumentException} for a binding name that is not a Java identifier. An exception
 * thrown by typed code is reported in the session and ends nothing else.
 */
public final class Manhole implements Service {

    private final SshServer ssh;

    private Manhole(SshServer ssh) {
        this.ssh = ssh;
    }

    /**
     * Starts configuring a manhole.
     *
     * @return a builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The object bound to {@code name} in the manhole session the calling thread runs for: what
     * the variables declared at the start of each session read. Code typed in a session may call
     * it too.
     *
     * @param name a binding's name
     * @return the bound object
     * @throws IllegalStateException if the calling thread does not run for a manhole session, or
     *     nothing is bound to {@code name}
     */
    public static Object bound(String name) {
        return ManholeShell.bound(name);
    }

    @Override
    public String name() {
        return ssh.name();
    }

    @Override
    public void start() throws Exception {
        ssh.start();
    }

    /**
     * The port the manhole listens on, once started.
     *
     * @return the port
     */
    public int port() {
        return ssh.port();
    }

    @Override
    public List<Binding> bindings() {
        return ssh.bindings();
    }

    @Override
    public void shutdown(Duration grace) throws InterruptedException {
        ssh.shutdown(grace);
    }

    @Override
    public void close() {
        ssh.close();
    }

    @Override
    public void awaitTermination() throws InterruptedException {
        ssh.awaitTermination();
    }

    /** Configures a {@link Manhole}. Not thread-safe. */
    public static final class Builder {
        private String name = "manhole";
        private String listen = "tcp:2223:interface=127.0.0.1";
        private Path authorizedKeys;
        private String user = System.getProperty("user.name");
        private Path hostKey = Path.of("manhole_host_key");
        private AuthPolicy policy = AuthPolicy.defaults();
        private final Map<String, Object> bindings = new LinkedHashMap<>();
        private final List<String> definitions = new ArrayList<>();

        private Builder() {
        }

        /** The service name in {@code listening} lines and logs; default {@code "manhole"}. */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /**
         * Where to listen (default {@code tcp:2223:interface=127.0.0.1}). A {@code tcp:PORT}
         * endpoint without {@code interface=} listens on loopback only, not on every interface as
         * other endpoints do.
         *
         * @param endpoint a {@code tcp:} endpoint
         * @return this builder
         * @throws IllegalArgumentException if the endpoint is malformed or not {@code tcp:}
         */
        public Builder listen(String endpoint) {
            if (!(Endpoint.parseServer(endpoint) instanceof Endpoint.Tcp tcp)) {
                throw new IllegalArgumentException("a manhole listens on a tcp: endpoint, not " + endpoint);
            }
            this.listen = tcp.host().isEmpty() ? endpoint + ":interface=127.0.0.1" : endpoint;
            return this;
        }

        /**
         * The OpenSSH {@code authorized_keys} file whose keys may log in (required). It is read at
         * every login, so edits take effect at once.
         */
        public Builder authorizedKeys(Path file) {
            this.authorizedKeys = Objects.requireNonNull(file, "file");
            return this;
        }

        /** The one user name that may log in; default the system property {@code user.name}. */
        public Builder user(String user) {
            this.user = Objects.requireNonNull(user, "user");
            return this;
        }

        /** The host key file, generated on first start as {@link SshServer.Builder#hostKey} does. */
        public Builder hostKey(Path file) {
            this.hostKey = Objects.requireNonNull(file, "file");
            return this;
        }

        /** The failed-login policy (default {@link AuthPolicy#defaults()}). */
        public Builder policy(AuthPolicy policy) {
            this.policy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /**
         * Binds an object to a name that every session declares as a variable, typed as the
         * nearest public class or interface of the object that code outside its module can see.
         *
         * @param name a Java identifier
         * @param value the live object
         * @return this builder
         */
        public Builder bind(String name, Object value) {
            bindings.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /**
         * Binds a running service tree: {@code services} is {@code root}, and the method {@code
         * server(String name)} finds the service of that name in it through {@link
         * Service#members()} (throwing {@link java.util.NoSuchElementException} that lists the
         * names there are).
         *
         * @param root the process's services
         * @return this builder
         */
        public Builder services(Service root) {
            bind("services", root);
            definitions.add("""
                    Service server(String name) {
                        var names = new ArrayList<String>();
                        var todo = new ArrayDeque<Service>(List.of(services));
                        while (!todo.isEmpty()) {
                            Service s = todo.poll();
                            if (s.name().equals(name)) {
                                // a wrapper of the same name gives way to what it wraps
                                Service inner = s;
                                while (inner.members().size() == 1 && inner.members().get(0).name().equals(name)) {
                                    inner = inner.members().get(0);
                                }
                                return inner;
                            }
                            names.add(s.name());
                            todo.addAll(s.members());
                        }
                        throw new NoSuchElementException("no service named " + name + "; there are " + names);
                    }
                    """);
            return this;
        }

        /**
         * Adds Java source (imports, methods, classes, variables) that every session evaluates
         * at its start, after the bindings: helpers an operator should find already there.
         *
         * @param snippets JShell snippets
         * @return this builder
         */
        public Builder define(String snippets) {
            definitions.add(Objects.requireNonNull(snippets, "snippets"));
            return this;
        }

        /**
         * Builds the manhole.
         *
         * @return the manhole, not started
         * @throws IllegalStateException without {@link #authorizedKeys}, or if the {@code
         *     jdk.jshell} module is not in the process
         * @throws IllegalArgumentException if a binding's name is not a Java identifier
         */
        public Manhole build() {
            if (authorizedKeys == null) {
                throw new IllegalStateException("authorizedKeys(...) is required: a manhole admits public keys only");
            }
            // checked before ManholeShell is loaded: its code links against jdk.jshell
            if (ModuleLayer.boot().findModule("jdk.jshell").isEmpty()) {
                throw new IllegalStateException("a manhole needs the jdk.jshell module in the process"
                        + " (requires jdk.jshell, or --add-modules jdk.jshell)");
            }
            ManholeShell shell = ManholeShell.create(bindings, definitions);
            Portal portal = Portal.builder()
                    .publicKeys(AuthorizedKeysDirectory.ofFile(user, authorizedKeys))
                    .policy(policy)
                    .build();
            return new Manhole(SshServer.builder()
                    .name(name)
                    .listen(listen)
                    .portal(portal)
                    .hostKey(hostKey)
                    .handler(shell)
                    .maxSessions(16)
                    .idleTimeout(Duration.ofHours(1))
                    .build());
        }
    }
}
