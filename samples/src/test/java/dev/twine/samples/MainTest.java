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
