package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Twine's server against slixmpp's blocking (XEP-0191) and client state indication (XEP-0352)
 * plugins (Debian python3-slixmpp), over loopback with real TLS.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SlixmppMobileInteropTest {
    @TempDir
    Path dir;

    @Test
    void slixmppBlocksAndUnblocksAContactAndItsInactiveClientGetsOnlyTheLatestPresence() throws Exception {
        Interop.requirePeer(Interop.slixmppPresent(), "python3-slixmpp");
        try (XmppServer server = Interop.server(dir, "alice-pw", "bob-pw")) {
            Path script = Interop.script(dir, "slixmpp_mobile.py");
            Interop.Result run = Interop.exec(Interop.python(script, "127.0.0.1", server.port(), "localhost",
                    dir.resolve("cert.pem"), "alice-pw", "bob-pw"), 150);
            for (String step : new String[] {"login", "rosters-both", "blocklist-empty", "blocked-and-pushed", "unavailable-on-block",
                    "refused-from-blocked", "not-acceptable-to-blocked", "unblocked", "csi-offered", "csi-coalesced", "done"}) {
                assertTrue(run.ok(step), "step " + step + " failed:\n" + run.output());
            }
            assertEquals(0, run.exit(), run.output());
        }
    }
}
