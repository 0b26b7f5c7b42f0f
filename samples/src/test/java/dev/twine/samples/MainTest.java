package dev.twine.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.Portal;
import dev.twine.core.auth.Principal;
import dev.twine.core.auth.UsernamePassword;
import dev.twine.core.auth.UsersFile;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void theLauncherAsksForPlatformPollersUnlessTheJvmWasGivenAMode() {
        String before = System.getProperty("jdk.pollerMode");
        try {
            // the JDK reads the property once, when its poller starts (long ago in this JVM):
            // setting it here changes nothing else
            System.clearProperty("jdk.pollerMode");
            Main.platformPollers();
            assertEquals("1", System.getProperty("jdk.pollerMode"), "no -Djdk.pollerMode: platform pollers");
            System.setProperty("jdk.pollerMode", "2");
            Main.platformPollers();
            assertEquals("2", System.getProperty("jdk.pollerMode"), "the operator's mode is kept");
        } finally {
            if (before == null) {
                System.clearProperty("jdk.pollerMode");
            } else {
                System.setProperty("jdk.pollerMode", before);
            }
        }
    }

    @Test
    void helpListsEveryPluginAndTheBuiltInCommands() {
        assertEquals(0, run("--help"));
        String text = out.toString(StandardCharsets.UTF_8);
        for (String cmd : new String[] {"echo", "chat", "demo", "user", "help"}) {
            assertTrue(text.contains("  " + cmd + " "), cmd + " missing from:\n" + text);
        }
    }

    @Test
    void everyCommandHasHelp() {
        for (String cmd : new String[] {"echo", "chat", "demo", "user"}) {
            out.reset();
            assertEquals(0, run(cmd, "--help"), cmd);
            assertTrue(out.toString(StandardCharsets.UTF_8).contains("Usage: twine " + cmd), cmd);
        }
    }

    @Test
    void commandPluginsAreListedHelpedAndGetTheirArgumentsAsTyped() {
        assertEquals(0, run("--help"));
        String listing = out.toString(StandardCharsets.UTF_8);
        assertTrue(listing.contains("  conch ") && listing.contains("  conch-sftp "), listing);
        out.reset();
        assertEquals(0, run("conch", "--help"));
        assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("Usage: twine conch [-p PORT] [-l USER] [-i KEY]"));
        out.reset();
        assertEquals(0, run("help", "conch-sftp"));
        assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("Usage: twine conch-sftp [-P PORT]"));
        // ssh's grammar, not picocli's: a clustered unknown letter is the command's to refuse, with ssh's 255
        assertEquals(255, run("conch", "-NZ", "host"));
        assertTrue(err().startsWith("twine conch: unknown option -- Z\n"), err());
    }

    @Test
    void badEndpointExitsTwoWithOneLineNamingIt() {
        assertEquals(2, run("echo", "--listen", "tcp:99999"));
        assertEquals("twine echo: bad endpoint 'tcp:99999': port 99999 is out of range 0-65535", err().strip());
    }

    @Test
    void unknownOptionExitsTwoAndPointsAtHelp() {
        assertEquals(2, run("chat", "--frobnicate"));
        assertTrue(err().contains("Unknown option: '--frobnicate'"), err());
        assertTrue(err().contains("Try 'twine chat --help'."), err());
    }

    @Test
    void aManholeWithoutItsKeysOrOnABadEndpointExitsTwoWithOneLine() {
        assertEquals(2, run("echo", "--listen", "tcp:0:interface=127.0.0.1", "--manhole", "tcp:0",
                "--manhole-keys", "/nonexistent/authorized_keys"));
        assertEquals("twine echo: --manhole-keys: cannot read /nonexistent/authorized_keys"
                + " (the keys that may log in to the manhole)", err().strip());
        out.reset();
        err.reset();
        assertEquals(2, run("echo", "--listen", "tcp:0:interface=127.0.0.1", "--manhole", "udp:53",
                "--manhole-keys", "/dev/null"));
        assertEquals("twine echo: --manhole: a manhole listens on a tcp: endpoint, not udp:53", err().strip());
    }

    @Test
    void badDurationExitsTwo() {
        assertEquals(2, run("echo", "--idle-timeout", "soon"));
        assertTrue(err().contains("--idle-timeout: 'soon' is not a duration"), err());
    }

    @Test
    void helpForAnUnknownCommandExitsTwoWithOneLine() {
        assertEquals(2, run("help", "nosuch"));
        assertEquals("twine: Unknown subcommand 'nosuch'.\nTry 'twine help'.", err().strip());
    }

    @Test
    @org.junit.jupiter.api.Timeout(value = 180, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
    void demoSkipsAServiceWhosePortIsTakenWithOneLineAndRunsTheRest(@TempDir Path dir) throws Exception {
        java.net.ServerSocket taken = null;
        try {
            taken = new java.net.ServerSocket(2525, 1, java.net.InetAddress.getByName("127.0.0.1"));
        } catch (java.io.IOException alreadyTaken) {
            // another program holds 2525: taken all the same
        }
        try {
            int[] code = {-1};
            Thread demo = Thread.ofVirtual().start(() -> code[0] = run("demo", "--data", dir.toString()));
            long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(150);
            while (!out.toString(StandardCharsets.UTF_8).contains("Stop with Ctrl-C.") && demo.isAlive()
                    && System.nanoTime() - end < 0) {
                Thread.sleep(50);
            }
            String o = out.toString(StandardCharsets.UTF_8);
            assertTrue(o.contains("Stop with Ctrl-C."), "the demo runs: " + o + err());
            assertTrue(err().contains("twine demo: skipping mail: ") && err().contains("2525"), err());
            assertFalse(o.contains("listening smtp"), o);
            assertFalse(o.contains("mail: user demo@"), "no instructions for a skipped service: " + o);
            if (o.contains("listening echo tcp 127.0.0.1:7000")) {
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", 7000)) {
                    s.setSoTimeout(10_000);
                    s.getOutputStream().write("still here\n".getBytes(StandardCharsets.US_ASCII));
                    assertEquals("still here", new java.io.BufferedReader(new java.io.InputStreamReader(
                            s.getInputStream(), StandardCharsets.US_ASCII)).readLine(), "the other services answer");
                }
            } else {
                assertTrue(err().contains("twine demo: skipping echo"), "echo runs or says why not: " + o + err());
            }
            demo.interrupt();
            demo.join(java.time.Duration.ofSeconds(60));
            assertFalse(demo.isAlive(), "the demo stops when its thread is interrupted");
        } finally {
            if (taken != null) {
                taken.close();
            }
        }
    }

    @Test
    void demoWithPortBaseZeroRunsEveryServiceOnFreePorts(@TempDir Path dir) throws Exception {
        int[] code = {-1};
        Thread demo = Thread.ofVirtual().start(() -> code[0] = run("demo", "--data", dir.toString(), "--port-base", "0"));
        long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(150);
        while (!out.toString(StandardCharsets.UTF_8).contains("Stop with Ctrl-C.") && demo.isAlive()
                && System.nanoTime() - end < 0) {
            Thread.sleep(50);
        }
        String o = out.toString(StandardCharsets.UTF_8);
        try {
            assertTrue(o.contains("Stop with Ctrl-C."), "the demo runs: " + o + err());
            assertFalse(err().contains("skipping"), "nothing skipped on free ports: " + err());
            for (String service : List.of("echo", "chat", "dns", "smtp", "submission", "imap", "pop3", "ssh", "xmpp")) {
                assertTrue(o.contains("listening " + service + " "), service + " listens: " + o);
            }
            assertFalse(o.contains("127.0.0.1:7000\n") || o.contains("127.0.0.1:2525\n"), "not on the usual ports: " + o);
        } finally {
            demo.interrupt();
            demo.join(java.time.Duration.ofSeconds(60));
        }
        assertFalse(demo.isAlive(), "the demo stops when its thread is interrupted");
    }

    @Test
    void badPortBaseExitsTwo() {
        assertEquals(2, run("demo", "--port-base", "seventy"));
        assertTrue(err().contains("--port-base"), err());
    }

    @Test
    void badPerAddressCapExitsTwo() {
        assertEquals(2, run("echo", "--max-connections-per-address", "-3"));
        assertTrue(err().contains("--max-connections-per-address: '-3' is not a whole number of 0 or more"), err());
    }

    @Test
    void portInUseExitsOneNamingTheEndpoint() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            assertEquals(1, run("echo", "--listen", "tcp:" + port + ":interface=127.0.0.1"));
            assertTrue(err().contains("cannot listen on tcp:127.0.0.1:" + port), err());
        }
    }

    @Test
    void userAddPasswdRemoveEditTheUsersFile(@TempDir Path dir) throws Exception {
        Path users = dir.resolve("users");
        assertEquals(0, withStdin("s3cret\n", () -> run("user", "add", "--users", users.toString(), "--password-stdin", "carol")), err());
        Portal portal = Portal.builder().users(UsersFile.load(users)).build();
        Principal p = portal.authenticate(new UsernamePassword("carol", "s3cret"));
        assertEquals("carol", p.name());
        assertTrue(Files.readString(users).startsWith("carol:{SCRAM-SHA-256}4096,"));

        assertEquals(2, withStdin("again\n", () -> run("user", "add", "--users", users.toString(), "--password-stdin", "carol")));
        assertTrue(err().contains("carol"), err());

        assertEquals(0, withStdin("n3w\n", () -> run("user", "passwd", "--users", users.toString(), "--password-stdin", "carol")));
        assertEquals("carol", Portal.builder().users(UsersFile.load(users)).build()
                .authenticate(new UsernamePassword("carol", "n3w")).name());

        assertEquals(0, run("user", "remove", "--users", users.toString(), "carol"));
        assertFalse(Files.readString(users).contains("carol"));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "a temp file was left behind");
        }
    }

    @Test
    void userWithoutNameOrPasswordSourceExitsTwo(@TempDir Path dir) {
        assertEquals(2, run("user", "add", "--users", dir.resolve("u").toString()));
        err.reset();
        // no console in a test and no --password-stdin
        assertEquals(2, run("user", "add", "--users", dir.resolve("u").toString(), "dave"));
        assertTrue(err().contains("--password-stdin"), err());
    }

    private static int withStdin(String input, java.util.function.IntSupplier body) {
        InputStream saved = System.in;
        System.setIn(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)));
        try {
            return body.getAsInt();
        } finally {
            System.setIn(saved);
        }
    }
}
