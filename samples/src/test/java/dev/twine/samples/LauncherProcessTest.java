package dev.twine.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher as its own process, as an operator runs it: SIGHUP (sent by log rotation and
 * service managers) is a reload, not death; {@code --metrics-listen} serves counters that curl
 * fetches and that move with the traffic; SIGTERM stops it with exit code 0.
 */
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LauncherProcessTest {
    private static final Pattern LISTENING = Pattern.compile("listening (\\S+) tcp 127\\.0\\.0\\.1:(\\d+)");

    @Test
    void survivesSighupServesMetricsAndStopsCleanly() throws Exception {
        Path curl = EchoInteropTest.tool("curl");
        String java = ProcessHandle.current().info().command().orElseThrow();
        String modulePath = System.getProperty("jdk.module.path");
        assertTrue(modulePath != null && !modulePath.isEmpty(), "tests run on the module path");
        Process p = new ProcessBuilder(List.of(java, "-p", modulePath, "-m", "dev.twine.samples/dev.twine.samples.Main",
                "echo", "--listen", "tcp:0:interface=127.0.0.1", "--metrics-listen", "tcp:0:interface=127.0.0.1",
                "--log-level", "info"))
                .redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            Map<String, Integer> ports = listening(out, 2);
            assertEquals("ping", echo(ports.get("echo"), "ping"));
            new ProcessBuilder("kill", "-HUP", Long.toString(p.pid())).start().waitFor(10, TimeUnit.SECONDS);
            String afterHup = out.readLine();
            assertTrue(afterHup != null && afterHup.contains("SIGHUP"), "the reload is logged: " + afterHup);
            assertTrue(p.isAlive(), "SIGHUP did not end the launcher");
            assertEquals("pong", echo(ports.get("echo"), "pong"));
            Process scrape = new ProcessBuilder(curl.toString(), "-sS", "http://127.0.0.1:" + ports.get("metrics") + "/metrics")
                    .redirectErrorStream(true).start();
            String metrics = new String(scrape.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(scrape.waitFor(30, TimeUnit.SECONDS));
            assertTrue(metrics.contains("twine_connections_total{service=\"echo\"} 2\n"), metrics);
            assertTrue(metrics.contains("# TYPE process_start_time_seconds gauge"), metrics);
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "stopped on SIGTERM");
            assertEquals(0, p.exitValue());
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void theManholeEvaluatesCodeInsideTheRunningLauncher(@TempDir Path dir) throws Exception {
        Path ssh = EchoInteropTest.tool("ssh");
        Path keygen = EchoInteropTest.tool("ssh-keygen");
        Path key = dir.resolve("id_ed25519");
        Process kg = new ProcessBuilder(keygen.toString(), "-q", "-t", "ed25519", "-N", "", "-f", key.toString())
                .redirectErrorStream(true).start();
        assertTrue(kg.waitFor(30, TimeUnit.SECONDS) && kg.exitValue() == 0, "ssh-keygen");
        Path authorized = Files.writeString(dir.resolve("authorized_keys"), Files.readString(Path.of(key + ".pub")));
        Path hostKey = dir.resolve("manhole_host_key");
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder(List.of(java, "--add-modules", "jdk.jshell", "-p", System.getProperty("jdk.module.path"),
                "-m", "dev.twine.samples/dev.twine.samples.Main",
                "echo", "--listen", "tcp:0:interface=127.0.0.1", "--manhole", "tcp:0",
                "--manhole-keys", authorized.toString(), "--manhole-host-key", hostKey.toString()))
                .redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            Map<String, Integer> ports = listening(out, 2);
            assertEquals("ping", echo(ports.get("echo"), "ping"));
            Path knownHosts = Files.writeString(dir.resolve("known_hosts"),
                    "[127.0.0.1]:" + ports.get("manhole") + " " + Files.readString(Path.of(hostKey + ".pub")));
            Process session = new ProcessBuilder(ssh.toString(), "-F", "/dev/null", "-o", "BatchMode=yes",
                    "-o", "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR",
                    "-o", "IdentitiesOnly=yes", "-i", key.toString(), "-p", String.valueOf(ports.get("manhole")),
                    System.getProperty("user.name") + "@127.0.0.1",
                    "((dev.twine.core.Server) server(\"echo\")).connectionCount() + \" \" + server(\"echo\").bindings().get(0).port()")
                    .redirectErrorStream(true).start();
            String answer = new String(session.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(session.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, session.exitValue(), answer);
            assertEquals("\"0 " + ports.get("echo") + "\"\n", answer, "live figures of the running echo server");
            p.destroy();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue());
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void servesASocketPassedBySystemd(@TempDir Path dir) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        String modulePath = System.getProperty("jdk.module.path");
        // what systemd does for a socket unit with FileDescriptorName=echo: bind, listen, then start
        // the service with the socket as file descriptor 3 and LISTEN_* naming it
        Path script = dir.resolve("activate.py");
        Files.writeString(script, """
                import os, socket, sys
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                s.listen(16)
                print("port", s.getsockname()[1], flush=True)
                if s.fileno() != 3:
                    os.dup2(s.fileno(), 3)
                os.set_inheritable(3, True)
                env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="echo")
                os.execve(sys.argv[1], sys.argv[1:], env)
                """);
        Process p = new ProcessBuilder(List.of("/usr/bin/python3", script.toString(), java,
                "--add-exports", "java.base/sun.nio.ch=dev.twine.core", "--add-opens", "java.base/sun.nio.ch=dev.twine.core",
                "-p", modulePath, "-m", "dev.twine.samples/dev.twine.samples.Main", "echo", "--listen", "systemd:name=echo"))
                .redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String first = out.readLine();
            assertTrue(first != null && first.startsWith("port "), "the activator's port: " + first);
            int port = Integer.parseInt(first.substring(5).strip());
            String listening = out.readLine();
            assertEquals("listening echo tcp 127.0.0.1:" + port, listening);
            assertEquals("activated", echo(port, "activated"));
            p.destroy();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue());
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void underNohupSaysThatSighupWillNotReload() throws Exception {
        Path nohup = EchoInteropTest.tool("nohup");
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder(List.of(nohup.toString(), java, "-p", System.getProperty("jdk.module.path"),
                "-m", "dev.twine.samples/dev.twine.samples.Main", "echo", "--listen", "tcp:0:interface=127.0.0.1"))
                .redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            List<String> seen = new ArrayList<>();
            for (String line; (line = out.readLine()) != null && !line.startsWith("listening "); ) {
                seen.add(line);
            }
            assertTrue(seen.stream().anyMatch(l -> l.contains("SIGHUP is ignored in this process")), seen.toString());
            p.destroy();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
    }

    /** Reads the launcher's output up to its {@code count}-th {@code listening} line: service name to port. */
    private static Map<String, Integer> listening(BufferedReader out, int count) throws Exception {
        Map<String, Integer> ports = new HashMap<>();
        List<String> seen = new ArrayList<>();
        while (ports.size() < count) {
            String line = out.readLine();
            if (line == null) {
                fail("the launcher ended before listening: " + seen);
            }
            seen.add(line);
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                ports.put(m.group(1), Integer.parseInt(m.group(2)));
            }
        }
        return ports;
    }

    private static String echo(int port, String line) throws Exception {
        try (Socket s = new Socket(InetAddress.getByName("127.0.0.1"), port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write((line + "\n").getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
        }
    }
}
