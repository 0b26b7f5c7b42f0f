package dev.twine.samples;

import dev.twine.core.Server;
import dev.twine.core.Service;
import dev.twine.core.spi.ServicePlugin;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** {@code twine chat}: a multi-user line chat server, for {@code nc} or {@code telnet}. */
public final class ChatPlugin implements ServicePlugin {
    static Server.Builder server() {
        return Server.builder("chat").handler(new ChatRoom());
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
        return Options.serverOptions("tcp:7001:interface=127.0.0.1", "1000", "30m");
    }

    @Override
    public Service create(Arguments args) {
        return Options.server(server(), args);
    }

    @Override
    public Optional<Demo> demo(Path dataDir, DemoPorts ports) {
        Server s = server().listen("tcp:" + ports.port(7001) + ":interface=127.0.0.1").build();
        return Optional.of(new Demo(s, started -> "chat: nc 127.0.0.1 " + ((Server) started).port()
                + "   (in two terminals: pick a name in each, then talk)"));
    }
}
