package dev.twine.samples;

import dev.twine.core.Server;
import dev.twine.core.Service;
import dev.twine.core.ServicePlugin;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * {@code twine echo}: sends every byte back (RFC 862). The whole protocol is one line: the
 * connection's input copied to its output, flushing whenever the input waits.
 */
public final class EchoPlugin implements ServicePlugin {
    /** The echo handler, as a user would write it. */
    static Server.Builder server(List<String> endpoints) {
        Server.Builder b = Server.builder("echo")
                .handler(conn -> conn.input().transferTo(conn.output()));
        endpoints.forEach(b::listen);
        return b;
    }

    @Override
    public String name() {
        return "echo";
    }

    @Override
    public String summary() {
        return "Echo server (RFC 862): sends back every byte it receives.";
    }

    @Override
    public List<Option> options() {
        return List.of(
                Option.value("--listen", "EP", "Endpoint to listen on, e.g. tcp:7000 or tcp:7000:interface=0.0.0.0 (repeatable).")
                        .asRepeatable().withDefault("tcp:7000:interface=127.0.0.1"),
                Option.value("--max-connections", "N", "Most connections served at once; more wait in the listen backlog.")
                        .withDefault("10000"),
                Option.value("--idle-timeout", "DURATION", "Close a connection that sends nothing for this long (0 = never).")
                        .withDefault("5m"));
    }

    @Override
    public Service create(Arguments args) {
        return server(args.values("--listen"))
                .maxConnections(Options.positive(args, "--max-connections"))
                .readTimeout(Options.duration("--idle-timeout", args.require("--idle-timeout")))
                .build();
    }

    @Override
    public Optional<Demo> demo(Path dataDir) {
        Server s = server(List.of("tcp:7000:interface=127.0.0.1")).build();
        return Optional.of(new Demo(s, started -> "echo: nc 127.0.0.1 " + ((Server) started).port() + "   (type a line, it comes back)"));
    }
}
