package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Tls;
import dev.twine.core.auth.UsersFile;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Client direct TLS (XEP-0368, what {@code _xmpps-client._tcp} records point at): a {@code tls:}
 * client endpoint with the server's own certificate, ALPN {@code xmpp-client}; slixmpp users log
 * in there without STARTTLS and chat.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SlixmppDirectTlsTest {
    @TempDir
    Path dir;

    @Test
    void slixmppUsersLogInOverDirectTlsWithAlpnXmppClientAndChat() throws Exception {
        Interop.requirePeer(Interop.slixmppPresent(), "python3-slixmpp");
        Interop.selfSigned(dir);
        Path users = dir.resolve("users");
        UsersFile.addUser(users, "alice", "alice-pw".toCharArray());
        UsersFile.addUser(users, "bob", "bob-pw".toCharArray());
        try (XmppServer server = XmppServer.builder().domain("localhost").users(UsersFile.load(users))
                .dataDirectory(dir.resolve("data")).tls(Tls.server(dir.resolve("cert.pem"), dir.resolve("key.pem")))
                .listen("tls:0:interface=127.0.0.1").build()) {
            server.start();
            Interop.Result run = Interop.exec(Interop.python(Interop.script(dir, "slixmpp_direct_tls.py"), "127.0.0.1",
                    server.port(), "localhost", dir.resolve("cert.pem"), "alice-pw", "bob-pw"), 90);
            for (String step : new String[] {"login-direct-tls", "alpn xmpp-client", "message-to-bob", "reply-to-alice", "done"}) {
                assertTrue(run.ok(step), "step " + step + " failed:\n" + run.output());
            }
            assertEquals(0, run.exit(), run.output());
        }
    }
}
