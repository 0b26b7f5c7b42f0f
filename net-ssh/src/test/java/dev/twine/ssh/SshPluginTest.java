package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Service;
import dev.twine.core.spi.ServicePlugin;
import dev.twine.core.auth.UsersFile;
import dev.twine.ssh.internal.SshPlugin;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The {@code twine ssh} plugin: options, errors, and the service it makes. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SshPluginTest {

    @TempDir
    Path dir;

    /** Arguments as the launcher would pass them: given values, else the options' defaults. */
    private static ServicePlugin.Arguments args(ServicePlugin plugin, Map<String, String> given) {
        Map<String, String> values = new HashMap<>();
        for (ServicePlugin.Option o : plugin.options()) {
            if (o.defaultValue() != null) {
                values.put(o.name(), o.defaultValue());
            }
        }
        values.putAll(given);
        return new ServicePlugin.Arguments() {
            @Override
            public List<String> values(String option) {
                return values.containsKey(option) ? List.of(values.get(option)) : List.of();
            }

            @Override
            public Optional<String> value(String option) {
                return Optional.ofNullable(values.get(option));
            }

            @Override
            public boolean flag(String option) {
                return false; // the ssh plugin has no flags
            }
        };
    }

    @Test
    void moduleProvidesThePluginToTheLauncher() {
        var provides = SshPlugin.class.getModule().getDescriptor().provides();
        assertTrue(provides.stream().anyMatch(p -> p.service().equals(ServicePlugin.class.getName())
                && p.providers().contains(SshPlugin.class.getName())), provides.toString());
    }

    @Test
    void createdServiceListensAndServesTheSampleShell() throws Exception {
        Path users = dir.resolve("users");
        UsersFile.addUser(users, "bob", "secret".toCharArray());
        SshPlugin plugin = new SshPlugin();
        Service service = plugin.create(args(plugin, Map.of(
                "--users", users.toString(),
                "--listen", "tcp:0:interface=127.0.0.1",
                "--host-key", dir.resolve("hk").toString(),
                "--sftp-root", dir.resolve("files/%u").toString())));
        service.start();
        try {
            int port = service.bindings().getFirst().port();
            assertTrue(service.bindings().getFirst().listeningLine().startsWith("listening ssh tcp 127.0.0.1:"));
            Path knownHosts = dir.resolve("kh");
            Files.writeString(knownHosts, "[127.0.0.1]:" + port + " " + Files.readString(dir.resolve("hk.pub")));
            try (SshClient c = SshClient.builder("127.0.0.1", port).user("bob").password("secret")
                    .knownHosts(knownHosts).connect()) {
                ExecResult r = c.exec("whoami");
                assertEquals("bob\n", r.stdoutText());
                c.upload(knownHosts, "uploaded");
            }
            // --sftp-root's %u: bob's own directory, made on his first SFTP session
            assertEquals(Files.readString(knownHosts), Files.readString(dir.resolve("files/bob/uploaded")));
        } finally {
            service.shutdown(Duration.ofSeconds(2));
        }
    }

    @Test
    void badOptionValuesNameTheOption() throws Exception {
        Path users = dir.resolve("users");
        UsersFile.addUser(users, "bob", "secret".toCharArray());
        SshPlugin plugin = new SshPlugin();
        IllegalArgumentException a = assertThrows(IllegalArgumentException.class, () -> plugin.create(
                args(plugin, Map.of("--users", users.toString(), "--max-sessions", "lots"))));
        assertTrue(a.getMessage().contains("--max-sessions"), a.getMessage());
        IllegalArgumentException b = assertThrows(IllegalArgumentException.class, () -> plugin.create(
                args(plugin, Map.of("--users", users.toString(), "--idle-timeout", "soon"))));
        assertTrue(b.getMessage().contains("--idle-timeout"), b.getMessage());
        IllegalArgumentException c = assertThrows(IllegalArgumentException.class, () -> plugin.create(
                args(plugin, Map.of("--users", dir.resolve("nope").toString()))));
        assertTrue(c.getMessage().contains("--users"), c.getMessage());
        IllegalArgumentException d = assertThrows(IllegalArgumentException.class, () -> plugin.create(
                args(plugin, Map.of("--users", users.toString(), "--listen", "udp:53"))));
        assertTrue(d.getMessage().contains("--listen"), d.getMessage());
        IllegalArgumentException root = assertThrows(IllegalArgumentException.class, () -> plugin.create(
                args(plugin, Map.of("--users", users.toString(), "--sftp-root", dir.resolve("%h").toString()))));
        assertTrue(root.getMessage().startsWith("--sftp-root "), root.getMessage());
        IllegalArgumentException fwd = assertThrows(IllegalArgumentException.class, () -> plugin.create(
                args(plugin, Map.of("--users", users.toString(), "--allow-forwarding", "local,x11"))));
        assertTrue(fwd.getMessage().startsWith("--allow-forwarding: 'x11'"), fwd.getMessage());
        for (Path cas : List.of(dir.resolve("no-such-ca.pub"), java.nio.file.Files.writeString(dir.resolve("empty-ca.pub"), "\n"))) {
            IllegalArgumentException ca = assertThrows(IllegalArgumentException.class, () -> plugin.create(
                    args(plugin, Map.of("--users", users.toString(), "--trusted-user-ca-keys", cas.toString()))));
            assertTrue(ca.getMessage().startsWith("--trusted-user-ca-keys " + cas), ca.getMessage());
        }
        // a malformed users file is a bad argument too (exit 2), not a failure (exit 1)
        Path garbage = java.nio.file.Files.writeString(dir.resolve("garbage"), "bob:{NOSUCH}x\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plugin.create(
                args(plugin, Map.of("--users", garbage.toString()))));
        assertTrue(e.getMessage().startsWith("--users: " + garbage + ":1:"), e.getMessage());
    }

    @Test
    void sharedLimitOptionsAreOfferedWithSafeDefaultsAndCheckedByName() throws Exception {
        SshPlugin plugin = new SshPlugin();
        Map<String, String> defaults = new HashMap<>();
        for (ServicePlugin.Option o : plugin.options()) {
            defaults.put(o.name(), o.defaultValue());
        }
        assertEquals("30s", defaults.get("--preauth-timeout"));
        assertEquals("10", defaults.get("--max-preauth-per-address"));
        assertEquals("100", defaults.get("--max-preauth"));
        assertEquals("50", defaults.get("--max-connections-per-address"));
        assertEquals("3", defaults.get("--auth-max-failures"));
        assertTrue(defaults.containsKey("--auth-failure-delay") && defaults.containsKey("--auth-address-penalty"),
                defaults.toString());
        Path users = dir.resolve("users");
        UsersFile.addUser(users, "bob", "secret".toCharArray());
        for (String[] bad : new String[][] {{"--preauth-timeout", "soon"}, {"--max-preauth-per-address", "-1"},
                {"--auth-max-failures", "many"}, {"--auth-address-penalty", "10/10m"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plugin.create(
                    args(plugin, Map.of("--users", users.toString(), bad[0], bad[1]))));
            assertTrue(e.getMessage().contains(bad[0]), bad[0] + ": " + e.getMessage());
        }
    }

    /** {@code --max-preauth-per-address 1}: a second silent connection from the same address is closed at once. */
    @Test
    void preauthLimitFromTheCommandLineReachesTheServer() throws Exception {
        Path users = dir.resolve("users");
        UsersFile.addUser(users, "bob", "secret".toCharArray());
        SshPlugin plugin = new SshPlugin();
        Service service = plugin.create(args(plugin, Map.of(
                "--users", users.toString(),
                "--listen", "tcp:0:interface=127.0.0.1",
                "--host-key", dir.resolve("hk").toString(),
                "--max-preauth-per-address", "1")));
        service.start();
        try (java.net.Socket first = new java.net.Socket("127.0.0.1", service.bindings().getFirst().port());
                java.net.Socket second = new java.net.Socket("127.0.0.1", service.bindings().getFirst().port())) {
            first.setSoTimeout(20_000);
            second.setSoTimeout(20_000);
            first.getInputStream().read(); // the server has seen the first one
            byte[] buf = new byte[4096];
            int n;
            try {
                while ((n = second.getInputStream().read(buf)) != -1) {
                    assertTrue(n > 0);
                }
            } catch (java.net.SocketException reset) {
                // closed: as good as the end of the stream
            }
        } finally {
            service.close();
        }
    }

    @Test
    void durationsAreAcceptedInShortAndIsoForms() throws Exception {
        Path users = dir.resolve("users");
        UsersFile.addUser(users, "bob", "secret".toCharArray());
        SshPlugin plugin = new SshPlugin();
        for (String d : List.of("30s", "10m", "2h", "PT10M", "0")) {
            Service s = plugin.create(args(plugin, Map.of("--users", users.toString(), "--idle-timeout", d)));
            assertEquals("ssh", s.name());
        }
    }

    @Test
    void demoMakesAUserAndPrintsTheSshLine() throws Exception {
        SshPlugin plugin = new SshPlugin();
        ServicePlugin.Demo demo = plugin.demo(dir, ServicePlugin.DemoPorts.usual()).orElseThrow();
        assertTrue(Files.exists(dir.resolve("users")));
        assertTrue(Files.readString(dir.resolve("users")).startsWith("demo:"));
        // the instructions need a started service: check them without binding port 2222 by
        // asking the text for a service that reports a fixed binding
        Service fake = new Service() {
            @Override
            public String name() {
                return "ssh";
            }

            @Override
            public void start() {
            }

            @Override
            public List<dev.twine.core.Binding> bindings() {
                return List.of(new dev.twine.core.Binding("ssh", "tcp", new java.net.InetSocketAddress("127.0.0.1", 2222)));
            }

            @Override
            public void shutdown(Duration grace) {
            }

            @Override
            public void close() {
            }

            @Override
            public void awaitTermination() {
            }
        };
        String text = demo.instructions().apply(fake);
        assertTrue(text.contains("ssh -p 2222 demo@127.0.0.1"), text);
        String password = Files.readString(dir.resolve("demo-password")).strip();
        assertTrue(text.contains(password), text);
    }
}
