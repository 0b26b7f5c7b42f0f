package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.twine.core.Tls;
import dev.twine.core.auth.UsersFile;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Helpers for tests against real peers: finding them, a self-signed certificate, running scripts. */
final class Interop {
    private Interop() {}

    /** Fails in CI, skips elsewhere, when a peer is missing. */
    static void requirePeer(boolean present, String what) {
        if ("true".equals(System.getenv("CI"))) {
            assertTrue(present, what + " is missing (see ci/peers/xmpp.txt)");
        }
        assumeTrue(present, what + " is not installed");
    }

    static boolean run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static boolean slixmppPresent() {
        return Files.isExecutable(Path.of("/usr/bin/python3")) && run(List.of("/usr/bin/python3", "-c", "import slixmpp"));
    }

    /** cert.pem and key.pem for localhost (SAN localhost and 127.0.0.1) in {@code dir}. */
    static void selfSigned(Path dir) {
        requirePeer(run(List.of("openssl", "version")), "openssl");
        assertTrue(run(List.of("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout", dir.resolve("key.pem").toString(), "-out", dir.resolve("cert.pem").toString())), "openssl req failed");
    }

    /** A TLS server on localhost with alice and bob (and more users: name, secret, ...), started; caller closes. */
    static XmppServer server(Path dir, String aliceSecret, String bobSecret, String... more) throws Exception {
        selfSigned(dir);
        Path users = dir.resolve("users");
        Files.createFile(users);
        UsersFile.addUser(users, "alice", aliceSecret.toCharArray());
        UsersFile.addUser(users, "bob", bobSecret.toCharArray());
        for (int i = 0; i + 1 < more.length; i += 2) {
            UsersFile.addUser(users, more[i], more[i + 1].toCharArray());
        }
        XmppServer s = XmppServer.builder().domain("localhost").users(UsersFile.load(users)).dataDirectory(dir.resolve("data"))
                .tls(Tls.server(dir.resolve("cert.pem"), dir.resolve("key.pem")))
                .listen("tcp:0:interface=127.0.0.1").componentListen("tcp:0:interface=127.0.0.1", "comp-secret").build();
        s.start();
        return s;
    }

    /** A finished script run: exit code and output. */
    record Result(int exit, String output) {
        boolean ok(String step) {
            return output.lines().anyMatch(l -> l.equals("ok " + step) || l.startsWith("ok " + step + " "));
        }
    }

    /** Runs a command with a time limit, killing it (by its own handle) if it overruns. */
    static Result exec(List<String> command, long seconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            byte[][] out = new byte[1][];
            Thread reader = Thread.ofVirtual().start(() -> {
                try (InputStream in = p.getInputStream()) {
                    out[0] = in.readAllBytes();
                } catch (IOException e) {
                    out[0] = new byte[0];
                }
            });
            boolean finished = p.waitFor(seconds, TimeUnit.SECONDS);
            if (!finished) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            reader.join(10_000);
            String text = out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8);
            return new Result(finished ? p.exitValue() : -1, text);
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }
    }

    /** A test resource copied to a file so an external interpreter can run it. */
    static Path script(Path dir, String name) throws IOException {
        Path target = dir.resolve(name);
        try (InputStream in = Interop.class.getResourceAsStream("/interop/" + name)) {
            Files.copy(in, target);
        }
        return target;
    }

    static List<String> python(Path script, Object... args) {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", script.toString()));
        for (Object a : args) {
            cmd.add(String.valueOf(a));
        }
        return cmd;
    }
}
