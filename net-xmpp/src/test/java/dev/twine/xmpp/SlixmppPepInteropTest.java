package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** PEP, avatars, nicknames, vCards and bookmarks against slixmpp's plugins (Debian python3-slixmpp), over loopback with real TLS. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SlixmppPepInteropTest {
    @TempDir
    Path dir;

    @Test
    void aContactIsNotifiedOfAnAvatarAndFetchesItAndVcardsAndBookmarksComeBack() throws Exception {
        Interop.requirePeer(Interop.slixmppPresent(), "python3-slixmpp");
        try (XmppServer server = Interop.server(dir, "alice-pw", "bob-pw")) {
            Path pep = Interop.script(dir, "slixmpp_pep.py");
            Interop.Result run = Interop.exec(Interop.python(pep, "127.0.0.1", server.port(), "localhost",
                    dir.resolve("cert.pem"), "alice-pw", "bob-pw"), 120);
            for (String step : new String[] {"login", "subscribed", "avatar-notified", "avatar-fetched", "nick", "vcard", "bookmarks", "done"}) {
                assertTrue(run.ok(step), "step " + step + " failed:\n" + run.output());
            }
            assertEquals(0, run.exit(), run.output());
            // what was acknowledged is on disk
            assertTrue(Files.readString(dir.resolve("data/vcard/alice.xml")).contains("Alice Liddell"));
            try (var nodes = Files.list(dir.resolve("data/pep/alice"))) {
                assertEquals(4, nodes.filter(p -> p.toString().endsWith(".xml")).count(), "avatar data and metadata, nick, bookmarks");
            }
        }
    }
}
