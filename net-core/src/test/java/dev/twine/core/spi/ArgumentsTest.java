package dev.twine.core.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.ConnectionLimits;
import dev.twine.core.auth.AuthPolicy;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * If a plugin reads its options through the typed accessors of {@link ServicePlugin.Arguments}
 * and {@link LimitOptions}, then good values come back typed and every bad one is one message
 * naming the option.
 */
class ArgumentsTest {
    private static ServicePlugin.Arguments args(Map<String, String> values) {
        return new ServicePlugin.Arguments() {
            @Override
            public List<String> values(String option) {
                return value(option).map(List::of).orElse(List.of());
            }

            @Override
            public Optional<String> value(String option) {
                return Optional.ofNullable(values.get(option));
            }

            @Override
            public boolean flag(String option) {
                return values.containsKey(option);
            }
        };
    }

    private static String error(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void numbersAndSizes() {
        ServicePlugin.Arguments a = args(Map.of("--n", "7", "--zero", "0", "--size", "25m", "--bad", "seven"));
        assertEquals(7, a.positive("--n"));
        assertEquals(0, a.count("--zero"));
        assertEquals(25L * 1024 * 1024, a.byteSize("--size"));
        assertEquals("--zero: '0' is not a whole number of 1 or more", error(() -> a.positive("--zero")));
        assertEquals("--bad: 'seven' is not a whole number of 0 or more", error(() -> a.count("--bad")));
        assertEquals("--bad: 'seven' is not a size (examples: 1048576, 512k, 25m, 1g)", error(() -> a.byteSize("--bad")));
        assertEquals("missing required option --nope", error(() -> a.count("--nope")));
    }

    @Test
    void hostPortsInTheEndpointGrammar() {
        ServicePlugin.Arguments a = args(Map.of("--dns", "127.0.0.1:5353", "--v6", "[::1]:53", "--bad", "nowhere"));
        assertEquals(InetSocketAddress.createUnresolved("127.0.0.1", 5353), a.hostPort("--dns").orElseThrow());
        assertEquals(53, a.hostPort("--v6").orElseThrow().getPort());
        assertTrue(a.hostPort("--absent").isEmpty());
        assertTrue(error(() -> a.hostPort("--bad")).startsWith("--bad: 'nowhere' is not HOST:PORT"));
    }

    @Test
    void usersFileErrorsNameTheOptionAndTheLine(@TempDir Path dir) throws Exception {
        Path good = Files.writeString(dir.resolve("users"), "alice:{PLAIN}secret\n");
        Path bad = Files.writeString(dir.resolve("bad"), "alice:{PLAIN}secret\nnot a user line\n");
        assertTrue(args(Map.of("--users", good.toString())).usersFile("--users").find("alice").isPresent());
        String missing = error(() -> args(Map.of("--users", dir.resolve("none").toString())).usersFile("--users"));
        assertEquals("--users: no such file: " + dir.resolve("none"), missing);
        String malformed = error(() -> args(Map.of("--users", bad.toString())).usersFile("--users"));
        assertTrue(malformed.startsWith("--users: ") && malformed.contains(":2"), malformed);
    }

    @Test
    void directoriesAreMadeAndCheckedBeforeTheServerStarts(@TempDir Path dir) throws Exception {
        Path made = dir.resolve("a/b/maildir");
        assertEquals(made, args(Map.of("--maildir", made.toString())).directory("--maildir"));
        assertTrue(Files.isDirectory(made), "made with its parents");
        assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(made)));
        assertEquals(made, args(Map.of("--maildir", made.toString())).directory("--maildir"), "an existing one is fine");
        Path file = Files.writeString(dir.resolve("plain"), "x");
        assertEquals("--maildir: not a directory: " + file,
                error(() -> args(Map.of("--maildir", file.toString())).directory("--maildir")));
        assertEquals("--maildir: cannot create " + file.resolve("sub") + ": Not a directory", // the OS's words
                error(() -> args(Map.of("--maildir", file.resolve("sub").toString())).directory("--maildir")));
        // the default a plugin computes is checked the same way, named by the option
        Path sibling = dir.resolve("maildir-queue");
        assertEquals(sibling, args(Map.of()).directory("--queue", sibling));
        assertEquals("--queue: not a directory: " + file, error(() -> args(Map.of()).directory("--queue", file)));
    }

    @Test
    void readableFilesAreWordedAsTheUsersFileIs(@TempDir Path dir) throws Exception {
        Path zone = Files.writeString(dir.resolve("db.example"), "x");
        assertEquals(List.of(zone), args(Map.of("--zone", zone.toString())).readableFiles("--zone"));
        assertEquals("--zone: no such file: " + dir.resolve("none"),
                error(() -> args(Map.of("--zone", dir.resolve("none").toString())).readableFiles("--zone")));
        assertEquals("--zone: " + dir + " is a directory, not a file",
                error(() -> args(Map.of("--zone", dir.toString())).readableFiles("--zone")));
        assertEquals("--users: no such file: " + dir.resolve("none"),
                error(() -> args(Map.of("--users", dir.resolve("none").toString())).usersFile("--users")), "the same words");
    }

    @Test
    void tlsOptionsGoTogether() {
        assertTrue(args(Map.of()).serverTls("--tls-cert", "--tls-key").isEmpty());
        assertEquals("--tls-cert and --tls-key go together",
                error(() -> args(Map.of("--tls-cert", "c.pem")).serverTls("--tls-cert", "--tls-key")));
    }

    @Test
    void limitOptionsBuildTheLimitsAndThePolicy() {
        Map<String, String> m = new java.util.HashMap<>();
        for (ServicePlugin.Option o : LimitOptions.connectionOptions(ConnectionLimits.builder().perAddress(50)
                .preauthPerAddress(10).preauthTimeout(Duration.ofSeconds(60)).build())) {
            m.put(o.name(), o.defaultValue());
        }
        for (ServicePlugin.Option o : LimitOptions.authOptions()) {
            m.put(o.name(), o.defaultValue());
        }
        ConnectionLimits limits = LimitOptions.connectionLimits(args(m));
        assertEquals(50, limits.perAddress());
        assertEquals(10, limits.preauthPerAddress());
        assertEquals(Duration.ofSeconds(60), limits.preauthTimeout());
        AuthPolicy policy = LimitOptions.authPolicy(args(m));
        assertEquals(AuthPolicy.defaults().toString(), policy.toString(), "the option defaults are the policy defaults");
        m.put("--auth-address-penalty", "5/1m");
        assertEquals("--auth-address-penalty: '5/1m' is not N/WINDOW/DURATION (for example 10/10m/5m) or 0",
                error(() -> LimitOptions.authPolicy(args(m))));
        m.put("--auth-address-penalty", "0");
        assertTrue(LimitOptions.authPolicy(args(m)).toString().contains("address=none"));
    }
}
