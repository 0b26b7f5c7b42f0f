package dev.twine.samples;

import dev.twine.core.Server;
import dev.twine.core.Service;
import dev.twine.core.spi.ServicePlugin;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * {@code twine echo}: sends every byte back (RFC 862). The whole protocol is one line: the
 * connection's input copied to its output, flushing whenever the input waits.
 */
public final class EchoPlugin implements ServicePlugin {
    /** The echo server, as a user would write it. */
    static Server.Builder server() {
        return Server.builder("echo").handler(conn -> conn.input().transferTo(conn.output()));
    }

    /** The echo server on {@code endpoints}. */
    static Server.Builder server(List<String> endpoints) {
        Server.Builder b = server();
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
        return Options.serverOptions("tcp:7000:interface=127.0.0.1", "10000", "5m");
    }

    @Override
    public Service create(Arguments args) {
        return Options.server(server(), args);
    }

    @Override
    public Optional<Demo> demo(Path dataDir, DemoPorts ports) {
        Server s = server(List.of("tcp:" + ports.port(7000) + ":interface=127.0.0.1")).build();
        return Optional.of(new Demo(s, started -> "echo: nc 127.0.0.1 " + ((Server) started).port() + "   (type a line, it comes back)"));
    }
}
