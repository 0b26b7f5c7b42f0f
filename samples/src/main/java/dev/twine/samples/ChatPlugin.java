package dev.twine.samples;

import dev.twine.core.Server;
import dev.twine.core.Service;
import dev.twine.core.ServicePlugin;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** {@code twine chat}: a multi-user line chat server, for {@code nc} or {@code telnet}. */
public final class ChatPlugin implements ServicePlugin {
    static Server.Builder server(List<String> endpoints) {
        Server.Builder b = Server.builder("chat").handler(new ChatRoom());
        endpoints.forEach(b::listen);
        return b;
    }

    @Override
    public String name() {
        return "chat";
    }

    @Override
    public String summary() {
        return "Multi-user line chat server: connect with nc or telnet, pick a name, talk.";
    }

    @Override
    public List<Option> options() {
        return List.of(
                Option.value("--listen", "EP", "Endpoint to listen on, e.g. tcp:7001 (repeatable).")
                        .asRepeatable().withDefault("tcp:7001:interface=127.0.0.1"),
                Option.value("--max-connections", "N", "Most users at once; more wait in the listen backlog.")
                        .withDefault("1000"),
                Option.value("--idle-timeout", "DURATION", "Disconnect a user silent for this long (0 = never).")
                        .withDefault("30m"));
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
        Server s = server(List.of("tcp:7001:interface=127.0.0.1")).build();
        return Optional.of(new Demo(s, started -> "chat: nc 127.0.0.1 " + ((Server) started).port()
                + "   (in two terminals: pick a name in each, then talk)"));
    }
}
