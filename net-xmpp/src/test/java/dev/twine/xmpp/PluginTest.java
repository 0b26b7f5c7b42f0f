package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Service;
import dev.twine.core.spi.ServicePlugin;
import dev.twine.xmpp.internal.XmppPlugin;
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

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PluginTest {
    @TempDir
    Path dir;

    /** Arguments as the launcher would parse them, defaults included. */
    private static ServicePlugin.Arguments args(Map<String, List<String>> given) {
        Map<String, List<String>> all = new HashMap<>(given);
        for (ServicePlugin.Option o : new XmppPlugin().options()) {
            if (!all.containsKey(o.name()) && o.defaultValue() != null) {
                all.put(o.name(), List.of(o.defaultValue()));
            }
        }
        return new ServicePlugin.Arguments() {
            @Override
            public List<String> values(String option) {
                return all.getOrDefault(option, List.of());
            }

            @Override
            public Optional<String> value(String option) {
                return values(option).stream().findFirst();
            }

            @Override
            public boolean flag(String option) {
                return all.containsKey(option);
            }
        };
    }

    @Test
    void withoutACertificateStartTlsUsesASelfSignedOneKeptUnderTheDataDirectory() throws Exception {
        Path users = dir.resolve("users");
        dev.twine.core.auth.UsersFile.addUser(users, "alice", "pw-alice".toCharArray());
        Path data = dir.resolve("d");
        Map<String, List<String>> given = Map.of("--domain", List.of("localhost"), "--users", List.of(users.toString()),
                "--data", List.of(data.toString()), "--listen", List.of("tcp:0:interface=127.0.0.1"));
        Service s = new XmppPlugin().create(args(given));
        Path cert = data.resolve("tls/cert.pem");
        String first = Files.readString(cert);
        try {
            s.start();
            try (XmppClient c = XmppClient.builder("alice@localhost", "pw-alice".toCharArray())
                    .endpoint("tcp:127.0.0.1:" + s.bindings().get(0).port())
                    .tls(dev.twine.core.Tls.client(cert)).connect()) {
                assertTrue(c.isSecure());
            }
        } finally {
            s.close();
        }
        new XmppPlugin().create(args(given)).close();
        assertEquals(first, Files.readString(cert), "the next start reuses the certificate");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new XmppPlugin().create(args(Map.of(
                "--domain", List.of("localhost"), "--users", List.of(users.toString()), "--data", List.of(data.toString()),
                "--tls-cert", List.of(cert.toString())))));
        assertTrue(e.getMessage().contains("--tls-cert and --tls-key go together"), e.getMessage());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> new XmppPlugin().create(args(Map.of(
                "--domain", List.of("localhost"), "--users", List.of(users.toString()), "--data", List.of(data.toString()),
                "--resume-timeout", List.of("soon")))));
        assertTrue(bad.getMessage().contains("--resume-timeout"), bad.getMessage());
    }

    @Test
    void limitOptionsAreOfferedWithDefaultsAndBadValuesNameTheOption() throws Exception {
        Map<String, String> defaults = new HashMap<>();
        for (ServicePlugin.Option o : new XmppPlugin().options()) {
            defaults.put(o.name(), o.defaultValue());
        }
        assertEquals("50", defaults.get("--max-connections-per-address"));
        assertEquals("10", defaults.get("--max-preauth-per-address"));
        assertTrue(defaults.containsKey("--preauth-timeout") && defaults.containsKey("--auth-max-failures"), defaults.toString());
        assertEquals("1000", defaults.get("--roster-limit"));
        assertEquals("0", defaults.get("--idle-timeout"));
        assertEquals("1000", defaults.get("--muc-max-rooms"));
        assertEquals("10000", defaults.get("--archive-limit"));
        assertEquals("200", defaults.get("--muc-max-occupants"));
        assertEquals("50", defaults.get("--muc-history"));
        Files.createFile(dir.resolve("users"));
        for (String[] bad : new String[][] {{"--roster-limit", "0"}, {"--roster-limit", "lots"}, {"--max-preauth", "-1"},
                {"--idle-timeout", "soon"}, {"--auth-address-penalty", "10/forever"}, {"--muc-max-rooms", "0"}, {"--archive-limit", "none"},
                {"--muc-history", "-1"}, {"--muc-domain", "bad domain/"}, {"--muc-domain", "example.org"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new XmppPlugin().create(args(Map.of(
                    "--domain", List.of("example.org"), "--users", List.of(dir.resolve("users").toString()),
                    "--data", List.of(dir.resolve("data").toString()), "--allow-plaintext", List.of(), bad[0], List.of(bad[1])))));
            assertTrue(e.getMessage().contains(bad[0]), e.getMessage());
        }
    }

    @Test
    void pepAndVcardLimitOptionsHaveDefaultsAndBadValuesNameTheOption() throws Exception {
        Map<String, String> defaults = new HashMap<>();
        for (ServicePlugin.Option o : new XmppPlugin().options()) {
            defaults.put(o.name(), o.defaultValue());
        }
        assertEquals("256", defaults.get("--pep-max-items"));
        assertEquals("131072", defaults.get("--pep-max-item-bytes"));
        assertEquals("100", defaults.get("--pep-max-nodes"));
        assertEquals("131072", defaults.get("--vcard-max-bytes"));
        Files.createFile(dir.resolve("users"));
        for (String[] bad : new String[][] {{"--pep-max-items", "0"}, {"--pep-max-item-bytes", "big"}, {"--pep-max-nodes", "-3"},
                {"--vcard-max-bytes", "0"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new XmppPlugin().create(args(Map.of(
                    "--domain", List.of("example.org"), "--users", List.of(dir.resolve("users").toString()),
                    "--data", List.of(dir.resolve("data").toString()), "--allow-plaintext", List.of(), bad[0], List.of(bad[1])))));
            assertTrue(e.getMessage().contains(bad[0]), e.getMessage());
        }
    }

    @Test
    void federationOptionsOpenTheServerPortAndBadValuesNameTheOption() throws Exception {
        java.util.Set<String> names = new java.util.HashSet<>();
        for (ServicePlugin.Option o : new XmppPlugin().options()) {
            names.add(o.name());
        }
        assertTrue(names.containsAll(List.of("--s2s-listen", "--s2s-route", "--dns", "--s2s-secret", "--s2s-require-valid-cert",
                "--s2s-dialback-allow", "--s2s-trust")), names.toString());
        Files.createFile(dir.resolve("users"));
        Map<String, List<String>> base = Map.of("--domain", List.of("example.org"), "--users", List.of(dir.resolve("users").toString()),
                "--data", List.of(dir.resolve("data").toString()), "--allow-plaintext", List.of(),
                "--listen", List.of("tcp:0:interface=127.0.0.1"));
        for (String[] bad : new String[][] {{"--s2s-route", "other.test"}, {"--s2s-route", "other.test=host"}, {"--dns", "localhost"},
                {"--s2s-trust", dir.resolve("missing.pem").toString()}}) {
            Map<String, List<String>> given = new HashMap<>(base);
            given.put(bad[0], List.of(bad[1]));
            given.put("--s2s-listen", List.of("tcp:0:interface=127.0.0.1"));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new XmppPlugin().create(args(given)));
            assertTrue(e.getMessage().contains(bad[0]), e.getMessage());
        }
        Map<String, List<String>> good = new HashMap<>(base);
        good.put("--s2s-listen", List.of("tcp:0:interface=127.0.0.1"));
        good.put("--s2s-route", List.of("other.test=127.0.0.1:5269"));
        good.put("--s2s-secret", List.of("s3cret"));
        Service s = new XmppPlugin().create(args(good));
        try {
            s.start();
            assertTrue(s.bindings().stream().anyMatch(b -> b.service().equals("xmpp-server")), s.bindings().toString());
        } finally {
            s.close();
        }
    }

    @Test
    void uploadOptionsOpenTheUploadPortAndBadValuesNameTheOption() throws Exception {
        Files.createFile(dir.resolve("users"));
        Map<String, List<String>> base = Map.of("--domain", List.of("example.org"), "--users", List.of(dir.resolve("users").toString()),
                "--data", List.of(dir.resolve("data").toString()), "--allow-plaintext", List.of(),
                "--listen", List.of("tcp:0:interface=127.0.0.1"));
        for (String[] bad : new String[][] {{"--upload-url", "ftp://files.example.org"}, {"--upload-listen", "tcp:x"},
                {"--upload-max-size", "lots"}, {"--upload-expire", "0"}, {"--upload-domain", "example.org"}}) {
            Map<String, List<String>> given = new HashMap<>(base);
            given.putIfAbsent("--upload-listen", List.of("tcp:0:interface=127.0.0.1"));
            given.put(bad[0], List.of(bad[1]));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new XmppPlugin().create(args(given)));
            assertTrue(e.getMessage().contains(bad[0]), e.getMessage());
        }
        Map<String, List<String>> good = new HashMap<>(base);
        good.put("--upload-listen", List.of("tcp:0:interface=127.0.0.1"));
        Service s = new XmppPlugin().create(args(good));
        try {
            s.start();
            assertTrue(s.bindings().stream().anyMatch(b -> b.service().equals("xmpp-upload")), s.bindings().toString());
        } finally {
            s.close();
        }
    }

    @Test
    void missingUsersFileIsAnArgumentErrorNamingTheFile() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new XmppPlugin().create(args(Map.of(
                "--domain", List.of("example.org"), "--users", List.of(dir.resolve("nope").toString()),
                "--data", List.of(dir.toString()), "--allow-plaintext", List.of()))));
        assertTrue(e.getMessage().contains("--users") && e.getMessage().contains("nope"), e.getMessage());
    }

    @Test
    void pluginStartsAServerThatPrintsListeningLinesAndServesClients() throws Exception {
        Interop.selfSigned(dir);
        Path users = dir.resolve("users");
        Files.createFile(users);
        dev.twine.core.auth.UsersFile.addUser(users, "alice", "pw-alice".toCharArray());
        Service s = new XmppPlugin().create(args(Map.of("--domain", List.of("localhost"), "--users", List.of(users.toString()),
                "--data", List.of(dir.resolve("data").toString()), "--listen", List.of("tcp:0:interface=127.0.0.1"),
                "--component-listen", List.of("tcp:0:interface=127.0.0.1"), "--component-secret", List.of("x"),
                "--tls-cert", List.of(dir.resolve("cert.pem").toString()), "--tls-key", List.of(dir.resolve("key.pem").toString()))));
        try {
            s.start();
            List<String> lines = s.bindings().stream().map(b -> b.listeningLine()).toList();
            assertEquals(2, lines.size(), lines.toString());
            assertTrue(lines.get(0).startsWith("listening xmpp tcp 127.0.0.1:"), lines.toString());
            assertTrue(lines.get(1).startsWith("listening xmpp-component tcp 127.0.0.1:"), lines.toString());
            try (XmppClient c = XmppClient.builder("alice@localhost", "pw-alice".toCharArray())
                    .endpoint("tcp:127.0.0.1:" + s.bindings().get(0).port())
                    .tls(dev.twine.core.Tls.client(dir.resolve("cert.pem"))).connect()) {
                assertTrue(c.isSecure());
            }
        } finally {
            s.shutdown(Duration.ofSeconds(2));
            s.close();
        }
    }

    @Test
    void demoMakesTwoUsersAndACertificate() throws Exception {
        Optional<ServicePlugin.Demo> demo = new XmppPlugin().demo(dir, ServicePlugin.DemoPorts.usual());
        assertTrue(demo.isPresent());
        List<String> passwords = Files.readAllLines(dir.resolve("passwords.txt"));
        assertEquals(2, passwords.size(), passwords.toString());
        assertTrue(passwords.get(0).startsWith("alice@localhost  password "), passwords.toString());
        assertTrue(Files.exists(dir.resolve("cert.pem")) && Files.exists(dir.resolve("key.pem")));
        demo.get().service().close();
    }
}
