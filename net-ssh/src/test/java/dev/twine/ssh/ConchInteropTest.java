package dev.twine.ssh;

import dev.twine.ssh.internal.ConchCommand;
import dev.twine.ssh.internal.ConchSftpCommand;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code twine conch} against OpenSSH's {@code sshd} (unprivileged, a free loopback port, its own
 * config and host key): exit statuses, streams, -L/-R/-D carrying real TCP, known_hosts
 * accept-new and a changed key, an ssh-agent login, and a terminal session driven in tmux.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ConchInteropTest {

    @TempDir
    static Path dir;
    OpenSshd sshd;
    Path key;
    Path keys;
    Path home;

    /** What one run of the command did. */
    record Ran(int status, String out, String err) {
    }

    @BeforeAll
    void start() throws Exception {
        sshd = OpenSshd.start(dir, "AllowTcpForwarding yes");
        keys = Files.createDirectories(dir.resolve("keys"));
        key = Peers.keygen(keys, "ed25519", "id_conch");
        sshd.authorize(key);
        home = Files.createDirectories(dir.resolve("home")); // no ~/.ssh: nothing found by default
    }

    @AfterAll
    void stop() throws Exception {
        if (sshd != null) {
            sshd.close();
        }
    }

    private Ran conch(Map<String, String> env, String stdin, String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = new ConchCommand(env, home).run(List.of(args),
                new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Ran(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private List<String> login(String... more) {
        List<String> a = new ArrayList<>(List.of("-p", String.valueOf(sshd.port), "-i", key.toString(),
                "-o", "UserKnownHostsFile=" + sshd.knownHosts));
        a.addAll(List.of(more));
        return a;
    }

    private Ran conch(String stdin, List<String> args) throws Exception {
        return conch(Map.of(), stdin, args.toArray(String[]::new));
    }

    @Test
    void remoteExitStatusIsConchsOwnWithStreamsSeparated() throws Exception {
        Ran ok = conch("", login("127.0.0.1", "true"));
        assertEquals(0, ok.status(), ok.err());
        Ran three = conch("piped in\n", login("127.0.0.1", "cat;", "echo", "oops", ">&2;", "exit", "3"));
        assertEquals(3, three.status(), three.err());
        assertEquals("piped in\n", three.out());
        assertEquals("oops\n", three.err());
    }

    @Test
    void refusedLoginAndUnreachableHostExit255() throws Exception {
        Path stranger = Peers.keygen(keys, "ed25519", "id_stranger");
        Ran denied = conch("", List.of("-p", String.valueOf(sshd.port), "-i", stranger.toString(),
                "-o", "UserKnownHostsFile=" + sshd.knownHosts, "127.0.0.1", "true"));
        assertEquals(255, denied.status());
        assertTrue(denied.err().contains("Permission denied"), denied.err());
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        Ran refused = conch("", List.of("-p", String.valueOf(closed), "-i", key.toString(), "127.0.0.1", "true"));
        assertEquals(255, refused.status());
        assertTrue(refused.err().contains("connect to host 127.0.0.1 port " + closed), refused.err());
        Ran bad = conch("", List.of("-Z", "127.0.0.1"));
        assertEquals(255, bad.status());
        assertTrue(bad.err().startsWith("twine conch: unknown option -- Z\nUsage: twine conch"), bad.err());
    }

    @Test
    void acceptNewAddsTheHostThenAChangedKeyIsRefusedAsOpenSshDoes() throws Exception {
        Path kh = dir.resolve("kh-accept-new");
        List<String> args = List.of("-p", String.valueOf(sshd.port), "-i", key.toString(), "-o", "UserKnownHostsFile=" + kh);
        Ran strict = conch("", concat(args, "127.0.0.1", "true"));
        assertEquals(255, strict.status());
        assertTrue(strict.err().contains("No ED25519 host key is known for [127.0.0.1]:" + sshd.port), strict.err());
        assertTrue(strict.err().endsWith("Host key verification failed.\n"), strict.err());

        Ran learned = conch("", concat(args, "-o", "StrictHostKeyChecking=accept-new", "127.0.0.1", "echo", "hi"));
        assertEquals(0, learned.status(), learned.err());
        assertEquals("hi\n", learned.out());
        assertTrue(learned.err().contains("added ED25519 host key for '[127.0.0.1]:" + sshd.port + "'"), learned.err());
        String listed = Files.readString(sshd.knownHosts).strip();
        assertEquals(listed.substring(0, listed.lastIndexOf(' ')), Files.readString(kh).strip(), "the line OpenSSH would write");
        Ran again = conch("", concat(args, "127.0.0.1", "true"));
        assertEquals(0, again.status(), again.err());
        assertEquals("", again.err());

        // the server's key replaced: what known_hosts lists is now another ED25519 key
        Path impostor = Peers.keygen(keys, "ed25519", "id_impostor");
        Files.writeString(kh, "[127.0.0.1]:" + sshd.port + " " + Files.readString(Path.of(impostor + ".pub")));
        for (String checking : List.of("yes", "accept-new")) {
            Ran changed = conch("", concat(args, "-o", "StrictHostKeyChecking=" + checking, "127.0.0.1", "true"));
            assertEquals(255, changed.status(), checking);
            List<String> lines = changed.err().lines().toList();
            assertEquals("@".repeat(59), lines.get(0));
            assertEquals("@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @", lines.get(1));
            assertTrue(changed.err().contains("Offending ED25519 key in " + kh + ":1\n"), changed.err());
            assertEquals("Host key verification failed.", lines.getLast());
        }
        Ran anyway = conch("", concat(args, "-o", "StrictHostKeyChecking=no", "127.0.0.1", "true"));
        assertEquals(0, anyway.status(), "StrictHostKeyChecking=no goes on, as OpenSSH does: " + anyway.err());
    }

    private static List<String> concat(List<String> a, String... more) {
        return Stream.concat(a.stream(), Stream.of(more)).toList();
    }

    @Test
    void localAndRemoteForwardingCarryATcpExchange() throws Exception {
        try (ServerSocket echo = lineServer("pong ")) {
            int local = freePort();
            int remote = freePort();
            Background conch = new Background(login("-N", "-L", local + ":127.0.0.1:" + echo.getLocalPort(),
                    "-R", remote + ":127.0.0.1:" + echo.getLocalPort(), "127.0.0.1"));
            try {
                assertEquals("pong through -L", exchange(local, "through -L", conch));
                assertEquals("pong through -R", exchange(remote, "through -R", conch));
            } finally {
                conch.stop();
            }
        }
    }

    @Test
    void dynamicForwardingServesCurlSocks5Hostname() throws Exception {
        String curl = Peers.require("/usr/bin/curl");
        try (ServerSocket web = httpServer("served over socks\n")) {
            int socks = freePort();
            Background conch = new Background(login("-N", "-D", String.valueOf(socks), "127.0.0.1"));
            try {
                awaitListening(socks, conch);
                Peers.Run r = Peers.run(List.of(curl, "-sS", "--max-time", "30", "--socks5-hostname",
                        "127.0.0.1:" + socks, "http://localhost:" + web.getLocalPort() + "/"), null, Duration.ofSeconds(60));
                assertEquals(0, r.exit(), r.toString());
                assertEquals("served over socks\n", r.out());
            } finally {
                conch.stop();
            }
        }
    }

    /** {@code conch -N ...} on a thread of its own, stopped by interruption as Ctrl-C stops {@code ssh -N}. */
    private final class Background {
        final java.util.concurrent.atomic.AtomicReference<Object> ended = new java.util.concurrent.atomic.AtomicReference<>();
        final Thread thread;

        Background(List<String> args) {
            thread = Thread.ofVirtual().start(() -> {
                try {
                    ended.set(conch("", args));
                } catch (InterruptedException e) {
                    ended.set("interrupted");
                } catch (Exception e) {
                    ended.set(e);
                }
            });
        }

        /** Fails the test if the command ended on its own (it should forward until stopped). */
        void check() {
            if (ended.get() != null) {
                fail("conch -N ended: " + ended.get());
            }
        }

        void stop() throws InterruptedException {
            thread.interrupt();
            thread.join(Duration.ofSeconds(20));
        }
    }

    @Test
    void conchSftpPutsListsAndGetsWithSftpsOutputShape() throws Exception {
        Path remote = Files.createDirectories(dir.resolve("sftp-remote"));
        Files.writeString(remote.resolve("there.txt"), "from the server\n");
        Path here = Files.createDirectories(dir.resolve("sftp-local"));
        Path upload = Files.writeString(here.resolve("up.txt"), "from conch\n");
        Path batch = Files.writeString(dir.resolve("batch"), String.join("\n",
                "cd " + remote,
                "pwd",
                "put " + upload,
                "ls",
                "mkdir sub",
                "rename up.txt sub/moved.txt",
                "ls -l sub",
                "get there.txt " + here.resolve("got.txt"),
                "-rm nosuch.txt",
                "rm sub/moved.txt",
                "quit", ""));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = new ConchSftpCommand(Map.of(), home).run(List.of("-P", String.valueOf(sshd.port), "-i", key.toString(),
                "-o", "UserKnownHostsFile=" + sshd.knownHosts, "-b", batch.toString(), "127.0.0.1"),
                new ByteArrayInputStream(new byte[0]), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String o = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, o + err);
        assertTrue(o.startsWith("sftp> cd " + remote + "\nsftp> pwd\nRemote working directory: " + remote + "\n"), o);
        assertTrue(o.contains("sftp> ls\nthere.txt  up.txt     \n"), "names in columns: " + o);
        assertTrue(o.lines().anyMatch(l -> l.startsWith("-rw") && l.endsWith(" moved.txt")), "ls -l is the server's long form: " + o);
        assertEquals("from the server\n", Files.readString(here.resolve("got.txt")));
        assertTrue(Files.isDirectory(remote.resolve("sub")));
        assertTrue(!Files.exists(remote.resolve("sub/moved.txt")) && !Files.exists(remote.resolve("up.txt")));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("nosuch.txt"), err.toString(StandardCharsets.UTF_8));

        // without -b: a failure does not end the session, and progress lines are printed
        ByteArrayOutputStream out2 = new ByteArrayOutputStream();
        ByteArrayOutputStream err2 = new ByteArrayOutputStream();
        int again = new ConchSftpCommand(Map.of(), home).run(List.of("-P", String.valueOf(sshd.port), "-i", key.toString(),
                "-o", "UserKnownHostsFile=" + sshd.knownHosts, "127.0.0.1"),
                new ByteArrayInputStream(("cd " + remote + "\nrm nosuch\nput " + upload + "\n").getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out2, true, StandardCharsets.UTF_8), new PrintStream(err2, true, StandardCharsets.UTF_8));
        assertEquals(0, again, err2.toString(StandardCharsets.UTF_8));
        assertTrue(out2.toString(StandardCharsets.UTF_8).contains("Uploading " + upload + " to " + remote + "/up.txt\n"),
                out2.toString(StandardCharsets.UTF_8));
        assertTrue(err2.toString(StandardCharsets.UTF_8).startsWith("Connected to 127.0.0.1.\n"));
        assertEquals("from conch\n", Files.readString(remote.resolve("up.txt")));
    }

    @Test
    void loginThroughARealSshAgent() throws Exception {
        String agent = Peers.require("/usr/bin/ssh-agent");
        String add = Peers.require("/usr/bin/ssh-add");
        Path sock = dir.resolve("agent.sock");
        Path agentKey = Peers.keygen(keys, "ecdsa", "id_in_agent");
        sshd.authorize(agentKey);
        Process p = new ProcessBuilder(agent, "-D", "-a", sock.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("agent.log").toFile()).start();
        try {
            long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (!Files.exists(sock) && System.nanoTime() < end) {
                Thread.sleep(50);
            }
            ProcessBuilder pb = new ProcessBuilder(add, agentKey.toString()).redirectErrorStream(true);
            pb.environment().put("SSH_AUTH_SOCK", sock.toString());
            Process adding = pb.start();
            String said = new String(adding.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, adding.waitFor(), said);
            // no -i, and a home without ~/.ssh: the agent's key is the only one
            Ran r = conch(Map.of("SSH_AUTH_SOCK", sock.toString()), "", "-p", String.valueOf(sshd.port),
                    "-o", "UserKnownHostsFile=" + sshd.knownHosts, "127.0.0.1", "echo", "via agent");
            assertEquals(0, r.status(), r.err());
            assertEquals("via agent\n", r.out());
            Ran none = conch(Map.of(), "", "-p", String.valueOf(sshd.port), "-o", "UserKnownHostsFile=" + sshd.knownHosts,
                    "127.0.0.1", "true");
            assertEquals(255, none.status());
            assertTrue(none.err().contains("no key to log in with"), none.err());
        } finally {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void terminalSessionInTmuxIsRawSizedResizedRestoredAndEscapable() throws Exception {
        String tmux = Peers.require("/usr/bin/tmux");
        Path socket = dir.resolve("tmux.sock");
        String java = ProcessHandle.current().info().command().orElseThrow();
        String classPath = Stream.of(System.getProperty("jdk.module.path", ""), System.getProperty("java.class.path", ""),
                        codeSource(ConchCommand.class), codeSource(ConchMain.class))
                .filter(s -> !s.isEmpty()).collect(Collectors.joining(File.pathSeparator));
        Path script = dir.resolve("tty-session.sh");
        String conch = "'" + java + "' -cp '" + classPath + "' " + ConchMain.class.getName() + " -p " + sshd.port + " -i "
                + key + " -o UserKnownHostsFile=" + sshd.knownHosts + " 127.0.0.1";
        Files.writeString(script, String.join("\n",
                "stty -g > " + dir.resolve("stty.before"),
                conch,
                "echo CONCH-EXIT=$?",
                "stty -g > " + dir.resolve("stty.after"),
                conch,
                "echo ESCAPED-EXIT=$?",
                "sleep 600", ""));
        List<String> base = List.of(tmux, "-S", socket.toString());
        run(concat(base, "new-session", "-d", "-x", "100", "-y", "30", "sh " + script));
        try {
            awaitPrompt(base);
            keys(base, "stty size; tty; echo RAW-$((40+2))");
            String pane = awaitPane(base, "RAW-42");
            assertTrue(pane.contains("30 100"), pane);
            assertTrue(pane.contains("/dev/pts/"), "the remote shell has a terminal: " + pane);
            run(concat(base, "resize-window", "-x", "120", "-y", "40"));
            awaitPaneLater(base, () -> keys(base, "clear; stty size"), "40 120");
            keys(base, "exit 7");
            String end = awaitPane(base, "CONCH-EXIT=7");
            assertTrue(end.contains("Connection to 127.0.0.1 closed."), end);
            awaitFile(dir.resolve("stty.after"));
            assertEquals(Files.readString(dir.resolve("stty.before")), Files.readString(dir.resolve("stty.after")),
                    "the terminal is as it was");

            // the second session: ~. at the start of a line closes it, with ssh's 255
            awaitPrompt(base);
            run(concat(base, "send-keys", "-t", "0", "Enter"));
            run(concat(base, "send-keys", "-t", "0", "~."));
            String escaped = awaitPane(base, "ESCAPED-EXIT=255");
            assertTrue(escaped.contains("Connection to 127.0.0.1 closed by ~."), escaped);
        } finally {
            new ProcessBuilder(concat(base, "kill-server")).start().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static String codeSource(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void keys(List<String> base, String line) {
        try {
            run(concat(base, "send-keys", "-t", "0", line, "Enter"));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String run(List<String> command) throws Exception {
        Peers.Run r = Peers.run(command, null, Duration.ofSeconds(30));
        if (r.exit() != 0) {
            fail(command + ": " + r);
        }
        return r.out();
    }

    /** Polls the pane until its last line is a shell prompt (ending in # or $): the remote shell is ready. */
    private static void awaitPrompt(List<String> base) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        String pane = "";
        while (System.nanoTime() < end) {
            pane = run(concat(base, "capture-pane", "-p", "-t", "0")).strip();
            if (pane.endsWith("#") || pane.endsWith("$")) {
                return;
            }
            Thread.sleep(200);
        }
        fail("no shell prompt in the pane:\n" + pane);
    }

    /** Polls the pane until it shows one of {@code wanted} (a remote shell answers in its own time). */
    private static String awaitPane(List<String> base, String... wanted) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        String pane = "";
        while (System.nanoTime() < end) {
            pane = run(concat(base, "capture-pane", "-p", "-t", "0"));
            for (String w : wanted) {
                if (pane.contains(w)) {
                    return pane;
                }
            }
            Thread.sleep(200);
        }
        fail("the pane never showed " + List.of(wanted) + ":\n" + pane);
        return pane;
    }

    /** Repeats {@code action} until the pane shows {@code wanted}: a window change reaches the server in its own time. */
    private static void awaitPaneLater(List<String> base, Runnable action, String wanted) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        String pane = "";
        while (System.nanoTime() < end) {
            action.run();
            Thread.sleep(500);
            pane = run(concat(base, "capture-pane", "-p", "-t", "0"));
            if (pane.contains(wanted)) {
                return;
            }
        }
        fail("the pane never showed " + wanted + ":\n" + pane);
    }

    private static void awaitFile(Path f) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!(Files.exists(f) && Files.size(f) > 0) && System.nanoTime() < end) {
            Thread.sleep(100);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void awaitListening(int port, Background conch) throws Exception {
        if (!Peers.awaitListening(port, Duration.ofSeconds(60), () -> conch.ended.get() == null)) {
            conch.check();
            fail("nothing listens on " + port);
        }
    }

    /** Connects (waiting for the forwarding to listen), sends a line, returns the answer. */
    private static String exchange(int port, String line, Background conch) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        IOException last = null;
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                s.setSoTimeout(30_000);
                s.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
                String answer = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
                if (answer != null) {
                    return answer;
                }
            } catch (IOException notYet) {
                last = notYet; // not forwarding yet
            }
            conch.check();
            if (System.nanoTime() > end) {
                fail("no answer through port " + port + " (last: " + last + ")");
            }
            Thread.sleep(200);
        }
    }

    /** A loopback server answering each connection's first line with {@code prefix + line}. */
    private static ServerSocket lineServer(String prefix) throws IOException {
        ServerSocket server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    String l = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
                    s.getOutputStream().write((prefix + l + "\n").getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    // closed, or a probe that sent nothing
                }
            }
        });
        return server;
    }

    /** A loopback HTTP/1.0 server answering every request with {@code body}. */
    private static ServerSocket httpServer(String body) throws IOException {
        ServerSocket server = new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"));
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    BufferedReader r = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
                    for (String l = r.readLine(); l != null && !l.isEmpty(); l = r.readLine()) {
                        // the request and its headers
                    }
                    s.getOutputStream().write(("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length()
                            + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    // closed
                }
            }
        });
        return server;
    }
}
