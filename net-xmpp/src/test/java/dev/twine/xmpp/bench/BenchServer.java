package dev.twine.xmpp.bench;

import dev.twine.core.Binding;
import dev.twine.core.ConnectionLimits;
import dev.twine.core.auth.UsersFile;
import dev.twine.xmpp.XmppServer;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * Starts Twine's XMPP server for ci/bench-xmpp without TLS (so both servers are measured on the
 * same plaintext streams): {@code BenchServer DOMAIN USERS_FILE DATA_DIR PORT}. Prints the
 * launcher's {@code listening ...} line and runs until killed.
 */
public final class BenchServer {
    private BenchServer() {}

    public static void main(String[] args) throws Exception {
        XmppServer server = XmppServer.builder().domain(args[0]).users(UsersFile.load(Path.of(args[1])))
                .dataDirectory(Path.of(args[2])).listen("tcp:" + args[3] + ":interface=127.0.0.1")
                .maxConnections(30_000).limits(ConnectionLimits.none()).build(); // 10,000 idle sessions from one address
        server.start();
        for (Binding b : server.bindings()) {
            System.out.println(b.listeningLine());
        }
        System.out.flush();
        Runtime.getRuntime().addShutdownHook(new Thread(server::close));
        new CountDownLatch(1).await();
    }
}
