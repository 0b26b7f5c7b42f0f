package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Server;
import dev.twine.core.Service;
import dev.twine.core.Services;
import dev.twine.core.auth.AuthPolicy;
import dev.twine.ssh.internal.HostKeys;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The manhole against OpenSSH's {@code ssh}: code typed over SSH runs inside this JVM on the live
 * objects, its output reaches that session only, and only the authorized key of the one user gets
 * in.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ManholeTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final String USER = "operator";

    @TempDir
    static Path dir;
    final AtomicInteger counter = new AtomicInteger(41);
    Server echo;
    Manhole manhole;
    Path key;
    Path stranger;
    Path knownHosts;

    @BeforeAll
    void start() throws Exception {
        Peers.require("/usr/bin/ssh");
        Path keys = Files.createDirectories(dir.resolve("keys"));
        key = Peers.keygen(keys, "ed25519", "id_operator");
        stranger = Peers.keygen(keys, "ed25519", "id_stranger");
        Path authorized = dir.resolve("authorized_keys");
        Files.writeString(authorized, Files.readString(Path.of(key + ".pub")));
        echo = Server.builder("echo").listen("tcp:0:interface=127.0.0.1")
                .handler(c -> c.input().transferTo(c.output())).build();
        echo.start();
        Service services = Services.group("demo", List.of(echo));
        Path hostKey = dir.resolve("manhole_host_key");
        manhole = Manhole.builder()
                .listen("tcp:0")
                .authorizedKeys(authorized)
                .user(USER)
                .hostKey(hostKey)
                .policy(AuthPolicy.unlimited())
                .services(services)
                .bind("counter", counter)
                .define("int twice(int x) { return 2 * x; }")
                .build();
        manhole.start();
        knownHosts = dir.resolve("known_hosts");
        List<String> lines = new ArrayList<>();
        for (Path pub : List.of(Path.of(hostKey + ".pub"), Path.of(HostKeys.rsaPath(hostKey) + ".pub"))) {
            lines.add("[127.0.0.1]:" + manhole.port() + " " + Files.readString(pub).strip());
        }
        Files.write(knownHosts, lines);
    }

    @AfterAll
    void stop() throws Exception {
        if (manhole != null) {
            manhole.close();
        }
        if (echo != null) {
            echo.close();
        }
    }

    private List<String> ssh(String user, Path identity, String... args) {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/ssh", "-F", "/dev/null",
                "-o", "UserKnownHostsFile=" + knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", identity.toString(),
                "-p", String.valueOf(manhole.port())));
        cmd.addAll(List.of(args));
        cmd.add(user + "@127.0.0.1");
        return cmd;
    }

    private List<String> exec(String code) {
        List<String> cmd = ssh(USER, key);
        cmd.add(code);
        return cmd;
    }

    @Test
    void anExpressionReadsAndChangesTheLiveObject() throws Exception {
        Peers.Run r = Peers.run(exec("counter.incrementAndGet()"), null, LIMIT);
        assertEquals(0, r.exit(), r.toString());
        assertEquals("42\n", r.out());
        assertEquals(42, counter.get(), "the session changed this JVM's object, not a copy");
        counter.set(41);
    }

    @Test
    void theRunningServicesAreThereByName() throws Exception {
        Peers.Run r = Peers.run(exec("server(\"echo\").bindings().get(0).port(); twice(21); services.name()"), null, LIMIT);
        assertEquals(0, r.exit(), r.toString());
        assertEquals(echo.port() + "\n42\n\"demo\"\n", r.out());
        Peers.Run missing = Peers.run(exec("server(\"smtp\")"), null, LIMIT);
        assertEquals(1, missing.exit(), missing.toString());
        assertTrue(missing.err().contains("no service named smtp; there are [demo, echo]"), missing.toString());
    }

    @Test
    void printedOutputGoesToTheSessionAndNowhereElse() throws Exception {
        PrintStream before = System.out;
        ByteArrayOutputStream process = new ByteArrayOutputStream();
        System.setOut(new PrintStream(process, true, StandardCharsets.UTF_8));
        try {
            Peers.Run r = Peers.run(exec("System.out.println(\"from the manhole \" + counter.get());"
                    + " var t = new Thread(() -> System.err.println(\"from its thread\")); t.start(); t.join();"), null, LIMIT);
            assertEquals(0, r.exit(), r.toString());
            assertEquals("from the manhole 41\n", r.out());
            assertEquals("from its thread\n", r.err());
            System.out.println("the process's own line");
        } finally {
            System.setOut(before);
        }
        assertEquals("the process's own line\n", process.toString(StandardCharsets.UTF_8));
    }

    @Test
    void compileErrorsAndExceptionsAreReportedWithStatusOne() throws Exception {
        Peers.Run bad = Peers.run(exec("counter.noSuchMethod()"), null, LIMIT);
        assertEquals(1, bad.exit(), bad.toString());
        assertTrue(bad.err().contains("error: cannot find symbol"), bad.toString());
        Peers.Run thrown = Peers.run(exec("Integer.parseInt(\"x\")"), null, LIMIT);
        assertEquals(1, thrown.exit(), thrown.toString());
        assertTrue(thrown.err().contains("exception java.lang.NumberFormatException: For input string: \"x\""), thrown.toString());
    }

    @Test
    void theShellRunsTheJShellToolWithATerminal() throws Exception {
        List<String> cmd = ssh(USER, key, "-tt");
        Peers.Run r = Peers.run(cmd, "counter.get() * 10\n/vars\n/exit\n", LIMIT);
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.out().contains("410"), r.toString());
        assertTrue(r.out().contains("AtomicInteger counter = 41"), r.toString());
    }

    @Test
    void theShellWithoutATerminalReadsLines() throws Exception {
        List<String> cmd = ssh(USER, key, "-T");
        Peers.Run r = Peers.run(cmd, "twice(counter.get())\n", LIMIT);
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.out().contains("82"), r.toString());
    }

    @Test
    void onlyTheAuthorizedKeyOfTheOneUserGetsIn() throws Exception {
        Peers.Run strangerKey = Peers.run(ssh(USER, stranger, "counter.get()"), null, LIMIT);
        assertEquals(255, strangerKey.exit(), strangerKey.toString());
        Peers.Run otherUser = Peers.run(ssh("root", key, "counter.get()"), null, LIMIT);
        assertEquals(255, otherUser.exit(), otherUser.toString());
        List<String> password = new ArrayList<>(List.of(Peers.require("/usr/bin/sshpass"), "-p", "anything", "/usr/bin/ssh",
                "-F", "/dev/null", "-o", "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=yes",
                "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive",
                "-o", "LogLevel=ERROR", "-p", String.valueOf(manhole.port()), USER + "@127.0.0.1", "counter.get()"));
        Peers.Run pw = Peers.run(password, null, LIMIT);
        assertNotEquals(0, pw.exit(), pw.toString());
        assertFalse(pw.out().contains("41"), pw.toString());
        assertEquals(41, counter.get());
    }

    @Test
    void listensOnLoopbackUnlessToldOtherwise() {
        assertEquals("127.0.0.1", ((java.net.InetSocketAddress) manhole.bindings().get(0).address()).getAddress().getHostAddress());
    }

    @Test
    void bindingNamesMustBeJavaNames() {
        Manhole.Builder b = Manhole.builder().authorizedKeys(dir.resolve("none")).bind("not a name", 1);
        assertThrows(IllegalArgumentException.class, b::build);
        assertThrows(IllegalStateException.class, () -> Manhole.builder().build());
        assertThrows(IllegalStateException.class, () -> Manhole.bound("counter"), "outside a session");
    }

    @Test
    void visibleTypesAreTheNearestPublicExportedOnes() {
        assertEquals("java.util.List", ManholeShell.visibleType(List.of(1, 2, 3).getClass()));
        assertEquals("java.util.concurrent.atomic.AtomicInteger", ManholeShell.visibleType(AtomicInteger.class));
        assertEquals("dev.twine.core.Service", ManholeShell.visibleType(Services.group("g", List.of()).getClass()));
    }
}
