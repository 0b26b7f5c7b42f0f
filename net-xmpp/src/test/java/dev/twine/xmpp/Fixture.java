package dev.twine.xmpp;

import dev.twine.core.Connection;
import dev.twine.core.auth.UsersFile;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** A server over in-memory connections with users alice, bob and carol (password "secret-NAME"). */
final class Fixture implements AutoCloseable {
    static final Duration WAIT = Duration.ofSeconds(10);
    final Path dir;
    final Path users;
    final XmppServer server;
    private final List<AutoCloseable> open = new ArrayList<>();

    private final boolean owned;

    Fixture() throws IOException {
        this(Files.createTempDirectory("twine-xmpp-"), true);
    }

    /** A server on an existing directory, which closing leaves in place (for restarts). */
    Fixture(Path dir) throws IOException {
        this(dir, false);
    }

    /** A server on an existing directory, with extra settings, which closing leaves in place. */
    Fixture(Path dir, java.util.function.UnaryOperator<XmppServer.Builder> settings) throws IOException {
        this(dir, false, settings);
    }

    /** A server with extra settings (a clock, resumption limits). */
    Fixture(java.util.function.UnaryOperator<XmppServer.Builder> settings) throws IOException {
        this(Files.createTempDirectory("twine-xmpp-"), true, settings);
    }

    private Fixture(Path dir, boolean owned) throws IOException {
        this(dir, owned, b -> b);
    }

    private Fixture(Path dir, boolean owned, java.util.function.UnaryOperator<XmppServer.Builder> settings) throws IOException {
        this.dir = dir;
        this.owned = owned;
        users = dir.resolve("users");
        if (!Files.exists(users)) {
            Files.createFile(users);
            for (String u : List.of("alice", "bob", "carol")) {
                UsersFile.addUser(users, u, ("secret-" + u).toCharArray());
            }
        }
        server = settings.apply(XmppServer.builder().domain("example.org").users(UsersFile.load(users)).dataDirectory(dir.resolve("data"))
                .limits(16 * 1024, 8, 16)).build();
    }

    /** A raw in-memory connection to the server's client-stream handler. */
    Connection raw(Chunking chunking) {
        MemoryConnections.Served s = MemoryConnections.serve(server.clientHandler(), chunking);
        open.add(s);
        return s.client();
    }

    /** A raw in-memory connection to the client-stream handler, with the handler's side for tests that wait for it. */
    MemoryConnections.Served served(Chunking chunking) {
        MemoryConnections.Served s = MemoryConnections.serve(server.clientHandler(), chunking);
        open.add(s);
        return s;
    }

    /** A component stream connection. */
    Connection rawComponent(Chunking chunking) {
        MemoryConnections.Served s = MemoryConnections.serve(server.componentHandler(), chunking);
        open.add(s);
        return s.client();
    }

    XmppClient login(String user, String resource, Chunking chunking) throws IOException {
        XmppClient c = XmppClient.builder(user + "@example.org/" + resource, ("secret-" + user).toCharArray())
                .connection(raw(chunking)).requireTls(false).timeout(WAIT).connect();
        open.add(c);
        return c;
    }

    /** Writes raw text to a connection. */
    static void write(Connection c, String s) throws IOException {
        c.output().write(s.getBytes(StandardCharsets.UTF_8));
        c.flush();
    }

    /** Reads until {@code marker} appears or the stream ends; returns all text read. */
    static String readUntil(Connection c, String marker) throws IOException {
        c.readTimeout(WAIT);
        StringBuilder sb = new StringBuilder();
        byte[] buf = new byte[4096];
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        while (true) {
            int n = c.input().read(buf);
            if (n < 0) {
                return bytes.toString(StandardCharsets.UTF_8);
            }
            bytes.write(buf, 0, n);
            sb.setLength(0);
            sb.append(bytes.toString(StandardCharsets.UTF_8));
            if (sb.indexOf(marker) >= 0) {
                return sb.toString();
            }
        }
    }

    /** Reads everything until the server closes the connection. */
    static String readToEnd(Connection c) throws IOException {
        return readUntil(c, "\u0000never\u0000");
    }

    static String header() {
        return "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
                + "to='example.org' version='1.0'>";
    }

    @Override
    public void close() throws IOException {
        server.close(); // ends sessions waiting for resumption, so closing their connections is quick
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (Exception ignored) {
                // best effort
            }
        }
        if (!owned) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
