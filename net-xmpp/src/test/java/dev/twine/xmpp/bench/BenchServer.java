package dev.twine.xmpp.bench;

import dev.twine.core.Binding;
import dev.twine.core.ConnectionLimits;
import dev.twine.core.Tls;
import dev.twine.core.auth.UsersFile;
import dev.twine.xmpp.S2sConnector;
import dev.twine.xmpp.XmppServer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Starts Twine's XMPP server for ci/bench-xmpp without TLS on client streams (so both servers are
 * measured on the same plaintext streams): {@code BenchServer DOMAIN USERS_FILE DATA_DIR PORT}.
 * With {@code TLS_DIR S2S_PORT DOMAIN=HOST:PORT...} after those it also federates, as the s2s row
 * needs: a self-signed certificate for DOMAIN made in TLS_DIR, server streams on S2S_PORT with
 * STARTTLS (dialback, as with self-signed certificates), and the given routes to the peer servers.
 * Prints the launcher's {@code listening ...} lines and runs until killed.
 */
public final class BenchServer {
    private BenchServer() {}

    public static void main(String[] args) throws Exception {
        XmppServer.Builder b = XmppServer.builder().domain(args[0]).users(UsersFile.load(Path.of(args[1])))
                .dataDirectory(Path.of(args[2])).listen("tcp:" + args[3] + ":interface=127.0.0.1")
                .maxConnections(30_000).limits(ConnectionLimits.none()); // 10,000 idle sessions from one address
        if (args.length > 5) {
            Path tls = Path.of(args[4]);
            Map<String, String> routes = new LinkedHashMap<>();
            for (int i = 6; i < args.length; i++) {
                int eq = args[i].indexOf('=');
                routes.put(args[i].substring(0, eq), "tcp:" + args[i].substring(eq + 1));
            }
            b.tls(Tls.selfSigned(tls.resolve("cert.pem"), tls.resolve("key.pem"), List.of(args[0])))
                    .requireTls(false) // clients stay plaintext; server streams use STARTTLS, offered by both
                    .s2sListen("tcp:" + args[5] + ":interface=127.0.0.1").s2sConnector(S2sConnector.routes(routes));
        }
        XmppServer server = b.build();
        server.start();
        for (Binding bd : server.bindings()) {
            System.out.println(bd.listeningLine());
        }
        System.out.flush();
        Runtime.getRuntime().addShutdownHook(new Thread(server::close));
        new CountDownLatch(1).await();
    }
}
