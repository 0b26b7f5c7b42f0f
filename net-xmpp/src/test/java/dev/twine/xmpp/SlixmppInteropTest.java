package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Twine's server against slixmpp (Debian python3-slixmpp), over loopback with real TLS. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SlixmppInteropTest {
    @TempDir
    Path dir;

    @Test
    void slixmppUsersLogInWithScramOverStartTlsChatSubscribeAndGetOfflineMessages() throws Exception {
        Interop.requirePeer(Interop.slixmppPresent(), "python3-slixmpp");
        try (XmppServer server = Interop.server(dir, "alice-pw", "bob-pw")) {
            Path flow = Interop.script(dir, "slixmpp_flow.py");
            Interop.Result online = Interop.exec(Interop.python(flow, "online", "127.0.0.1", server.port(), "localhost",
                    dir.resolve("cert.pem"), "alice-pw", "bob-pw"), 120);
            for (String step : new String[] {"login-scram-starttls", "rosters-both", "presence-seen", "message-to-bob", "reply-to-alice", "done"}) {
                assertTrue(online.ok(step), "step " + step + " failed:\n" + online.output());
            }
            assertEquals(0, online.exit(), online.output());
            // the waiting message is on disk before bob comes back
            String stored = Files.readString(dir.resolve("data/offline/bob.xml"));
            assertTrue(stored.contains("while you were away"), stored);
            assertTrue(Files.readString(dir.resolve("data/roster/alice.xml")).contains("subscription='both'"));

            Interop.Result offline = Interop.exec(Interop.python(flow, "offline", "127.0.0.1", server.port(), "localhost",
                    dir.resolve("cert.pem"), "alice-pw", "bob-pw"), 90);
            assertTrue(offline.ok("offline-delivered"), offline.output());
            assertEquals(0, offline.exit(), offline.output());
            assertTrue(Files.notExists(dir.resolve("data/offline/bob.xml")));
        }
    }

    @Test
    void threeSlixmppUsersChatInARoomAndARejoinGetsTheHistory() throws Exception {
        Interop.requirePeer(Interop.slixmppPresent(), "python3-slixmpp");
        try (XmppServer server = Interop.server(dir, "alice-pw", "bob-pw", "carol", "carol-pw")) {
            Path muc = Interop.script(dir, "slixmpp_muc.py");
            Interop.Result run = Interop.exec(Interop.python(muc, "127.0.0.1", server.port(), "localhost",
                    dir.resolve("cert.pem"), "alice-pw", "bob-pw", "carol-pw"), 120);
            for (String step : new String[] {"login", "alice-created-room", "three-in-room", "everyone-heard", "private-message",
                    "carol-left", "history-on-rejoin", "done"}) {
                assertTrue(run.ok(step), "step " + step + " failed:\n" + run.output());
            }
            assertEquals(0, run.exit(), run.output());
        }
    }

    @Test
    void slixmppPagesThroughAnArchiveOf500Messages() throws Exception {
        Interop.requirePeer(Interop.slixmppPresent(), "python3-slixmpp");
        try (XmppServer server = Interop.server(dir, "alice-pw", "bob-pw")) {
            Path mam = Interop.script(dir, "slixmpp_mam.py");
            Interop.Result run = Interop.exec(Interop.python(mam, "127.0.0.1", server.port(), "localhost",
                    dir.resolve("cert.pem"), "alice-pw", "bob-pw"), 150);
            for (String step : new String[] {"login", "delivered", "paged-500", "backwards-50", "done"}) {
                assertTrue(run.ok(step), "step " + step + " failed:\n" + run.output());
            }
            assertEquals(0, run.exit(), run.output());
        }
    }

    @Test
    void slixmppComponentConnectsWithTheSharedSecretAndEchoesToAUser() throws Exception {
        Interop.requirePeer(Interop.slixmppPresent(), "python3-slixmpp");
        try (XmppServer server = Interop.server(dir, "alice-pw", "bob-pw")) {
            Path comp = Interop.script(dir, "slixmpp_component.py");
            Process p = new ProcessBuilder(Interop.python(comp, "127.0.0.1", server.componentPort(), "echo.localhost", "comp-secret"))
                    .redirectErrorStream(true).start();
            try {
                java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()));
                String first = out.readLine();
                assertEquals("ok connected", first);
                XmppClient alice = XmppClient.builder("alice@localhost/j", "alice-pw".toCharArray())
                        .endpoint("tcp:127.0.0.1:" + server.port())
                        .tls(dev.twine.core.Tls.client(dir.resolve("cert.pem"))).connect();
                try (alice) {
                    assertTrue(alice.isSecure());
                    alice.sendMessage(Jid.parse("bot@echo.localhost"), "marco");
                    Element reply = alice.await(e -> e.childText("body").orElse("").equals("echo: marco"), Fixture.WAIT).orElseThrow();
                    assertEquals("bot@echo.localhost", reply.attributeOrEmpty("from"));
                }
                assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            } finally {
                p.destroyForcibly();
            }
        }
    }
}
