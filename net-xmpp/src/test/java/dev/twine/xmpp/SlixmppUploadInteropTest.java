package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Tls;
import dev.twine.core.auth.UsersFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP File Upload against slixmpp's xep_0363 plugin (Debian python3-slixmpp, its PUT through
 * python3-aiohttp), over loopback with real TLS on both the XMPP stream and the HTTPS side: the
 * file slixmpp uploads is fetched back by its GET URL with Python's urllib and compared byte for byte.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SlixmppUploadInteropTest {
    @TempDir
    Path dir;

    @Test
    void slixmppUploadsAFileThatIsFetchedBackByItsGetUrl() throws Exception {
        Interop.requirePeer(Interop.slixmppPresent() && Interop.run(java.util.List.of("/usr/bin/python3", "-c", "import aiohttp")),
                "python3-slixmpp and python3-aiohttp");
        Interop.selfSigned(dir);
        Path users = dir.resolve("users");
        Files.createFile(users);
        UsersFile.addUser(users, "alice", "alice-pw".toCharArray());
        byte[] bytes = new byte[300_000]; // more than one read, less than the maximum
        new Random(363).nextBytes(bytes);
        Path file = dir.resolve("photo album.bin");
        Files.write(file, bytes);
        try (XmppServer server = XmppServer.builder().domain("localhost").users(UsersFile.load(users)).dataDirectory(dir.resolve("data"))
                .tls(Tls.server(dir.resolve("cert.pem"), dir.resolve("key.pem")))
                .listen("tcp:0:interface=127.0.0.1").fileUploadListen("tls:0:interface=127.0.0.1")
                .fileUploadLimits(1 << 20, 10 << 20, 100 << 20, 10, Duration.ofMinutes(1), Duration.ofDays(1)).build()) {
            server.start();
            Path script = Interop.script(dir, "slixmpp_upload.py");
            Interop.Result run = Interop.exec(Interop.python(script, "127.0.0.1", server.port(), "localhost",
                    dir.resolve("cert.pem"), "alice-pw", file), 120);
            for (String step : new String[] {"login", "uploaded", "fetched", "too-large-client", "too-large-server", "done"}) {
                assertTrue(run.ok(step), "step " + step + " failed:\n" + run.output());
            }
            assertEquals(0, run.exit(), run.output());
            // what was acknowledged is on disk, whole
            try (Stream<Path> stored = Files.list(dir.resolve("data/upload"))) {
                Path content = stored.filter(p -> !p.toString().endsWith(".meta")).findFirst().orElseThrow();
                assertArrayEquals(bytes, Files.readAllBytes(content));
            }
        }
    }
}
