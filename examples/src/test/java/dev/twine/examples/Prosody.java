package dev.twine.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A Prosody (Debian {@code prosody}) of a test's own: its config, data and log in a temp dir,
 * client and component ports on 127.0.0.1 picked free, no TLS and no s2s, the VirtualHost
 * {@code localhost} with the given users (plaintext accounts, so PLAIN and SCRAM-SHA-1 both
 * work), and one external component (XEP-0114) with its secret. As root it runs as the
 * {@code prosody} user (it refuses root); it is stopped by its own process handle.
 */
final class Prosody implements AutoCloseable {
    static final String HOST = "localhost";

    final int c2sPort;
    final int componentPort;
    private final Path dir;
    private final Process process;

    private Prosody(Path dir, int c2sPort, int componentPort, Process process) {
        this.dir = dir;
        this.c2sPort = c2sPort;
        this.componentPort = componentPort;
        this.process = process;
    }

    /**
     * Starts Prosody with {@code users} (name to password) on {@link #HOST} and the component
     * {@code component} with {@code secret}; returns once both ports accept connections.
     * Fails in CI, skips elsewhere, when Prosody is missing.
     */
    static Prosody start(Path dir, Map<String, String> users, String component, String secret) throws Exception {
        String prosody = ExamplePeers.require("/usr/bin/prosody");
        boolean root = "root".equals(System.getProperty("user.name"));
        int c2s = freePort();
        int comp = freePort();
        Path accounts = Files.createDirectories(dir.resolve("data").resolve(HOST).resolve("accounts"));
        for (Map.Entry<String, String> u : users.entrySet()) {
            Files.writeString(accounts.resolve(u.getKey() + ".dat"), "return {\n\t[\"password\"] = " + lua(u.getValue()) + ";\n};\n");
        }
        Files.writeString(dir.resolve("prosody.cfg.lua"), """
                pidfile = %1$s
                data_path = %2$s
                plugin_paths = { }
                modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "presence"; "message"; "posix" }
                modules_disabled = { "s2s"; "tls"; "limits"; "c2s_limits" }
                log = { debug = %3$s }
                c2s_ports = { %4$d }
                c2s_interfaces = { "127.0.0.1" }
                component_ports = { %5$d }
                component_interfaces = { "127.0.0.1" }
                s2s_ports = { }
                http_ports = { }
                https_ports = { }
                c2s_direct_tls_ports = { }
                s2s_direct_tls_ports = { }
                c2s_require_encryption = false
                allow_unencrypted_plain_auth = true
                authentication = "internal_plain"
                VirtualHost "%6$s"
                Component %7$s
                    component_secret = %8$s
                """.formatted(lua(dir.resolve("prosody.pid").toString()), lua(dir.resolve("data").toString()),
                lua(dir.resolve("prosody.log").toString()), c2s, comp, HOST, lua(component), lua(secret)));
        List<String> command = new ArrayList<>();
        if (root) {
            assertEquals(0, ExamplePeers.run(List.of("chown", "-R", "prosody:prosody", dir.toString()), null, Duration.ofSeconds(10)).exit());
            command.addAll(List.of(ExamplePeers.require("/usr/bin/setpriv"), "--reuid=prosody", "--regid=prosody", "--init-groups"));
        }
        command.addAll(List.of(prosody, "--config", dir.resolve("prosody.cfg.lua").toString(), "-F"));
        Process p = ExamplePeers.start(command, dir.resolve("stdout.log"));
        Prosody started = new Prosody(dir, c2s, comp, p);
        try {
            started.awaitPort(c2s);
            started.awaitPort(comp);
        } catch (RuntimeException | Error | IOException e) {
            started.close();
            throw e;
        }
        return started;
    }

    /** Prosody's own log so far, for failure messages. */
    String log() {
        try {
            return Files.readString(dir.resolve("stdout.log")) + Files.readString(dir.resolve("prosody.log"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        ExamplePeers.stop(process);
    }

    /** Polls until {@code port} accepts a connection: Prosody says nothing else when it is ready. */
    private void awaitPort(int port) throws IOException, InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < until) {
            if (!process.isAlive()) {
                fail("prosody exited with " + process.exitValue() + ":\n" + log());
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                return;
            } catch (IOException notYet) {
                Thread.sleep(50); // an external process: nothing to wait on but its port
            }
        }
        fail("prosody did not listen on " + port + " within 20 s:\n" + log());
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** A Lua string literal. */
    private static String lua(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }
}
