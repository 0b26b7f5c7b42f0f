package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.spi.ServicePlugin;
import dev.twine.dns.RecordType;
import dev.twine.dns.Resolver;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The {@code twine dns} plugin: its options, its errors and its demo. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DnsPluginTest {
    @TempDir
    Path dir;

    @Test
    void moduleProvidesThePluginToTheLaunchersServiceLoader() throws Exception {
        ModuleDescriptor d = DnsPlugin.class.getModule().getDescriptor();
        if (d == null) {
            try (InputStream in = DnsPlugin.class.getResourceAsStream("/module-info.class")) {
                d = ModuleDescriptor.read(in);
            }
        }
        assertEquals("dev.twine.dns", d.name());
        assertTrue(d.provides().stream().anyMatch(p -> p.service().equals(ServicePlugin.class.getName())
                && p.providers().equals(List.of(DnsPlugin.class.getName()))), d.provides().toString());
        assertEquals(java.util.Set.of("dev.twine.dns"),
                d.exports().stream().map(ModuleDescriptor.Exports::source).collect(java.util.stream.Collectors.toSet()));
        assertEquals("dns", new DnsPlugin().name());
    }

    @Test
    void optionsMatchTheDesignsCommandLine() {
        List<String> names = new DnsPlugin().options().stream().map(ServicePlugin.Option::name).toList();
        assertEquals(List.of("--zone", "--listen", "--forward", "--forward-allow", "--allow-transfer", "--tsig-keys", "--notify",
                "--secondary", "--primary", "--secondary-dir", "--sign", "--sign-nsec3", "--watch", "--rrl-rate", "--rrl-slip"), names);
        // --zone is no longer required by itself: a server of secondary zones only has none
        assertTrue(new DnsPlugin().options().stream().noneMatch(ServicePlugin.Option::required));
    }

    @Test
    void keygenWritesBindKeyFilesThatSignAndPrintsTheDs() throws Exception {
        ServicePlugin.Tool tool = new DnsPlugin().tools().get(0);
        assertEquals("keygen", tool.name());
        ServicePlugin.ToolAction keygen = tool.action();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        Path keys = dir.resolve("keys");
        int status = keygen.run(Peers.args(Map.of("--zone", List.of("signed.test"), "--algorithm", List.of("ed25519"),
                "--ksk", List.of(), "--dir", List.of(keys.toString()))), new java.io.PrintStream(out, true));
        assertEquals(0, status);
        List<String> lines = out.toString().lines().toList();
        assertTrue(lines.get(0).matches(".*/Ksigned\\.test\\.\\+015\\+\\d{5}\\.key") && Files.exists(Path.of(lines.get(0))), lines.toString());
        assertTrue(Files.readString(Path.of(lines.get(1))).startsWith("Private-key-format: v1.3\nAlgorithm: 15 (ED25519)\n"));
        assertTrue(lines.get(2).contains("DS") && lines.get(2).contains(" 15 2 "), lines.toString());
        // and what it wrote signs a zone
        Path zone = dir.resolve("signed.test.zone");
        Files.writeString(zone, OnlineSigningTest.ZONE);
        assertTrue(new ZoneAuthority(List.of(zone), List.of(), new Signer(keys, java.time.Clock.systemUTC(), false)).current()
                .find(org.xbill.DNS.Name.fromConstantString("signed.test.")).signed());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> keygen.run(Peers.args(Map.of(
                "--zone", List.of("signed.test"), "--algorithm", List.of("rsasha256"), "--dir", List.of(keys.toString()))), System.out));
        assertTrue(bad.getMessage().startsWith("--algorithm: "), bad.getMessage());
    }

    @Test
    void badZoneFileNamesFileAndLine() throws Exception {
        TestZones.copyTo(dir);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new DnsPlugin().create(Peers.args(Map.of("--zone", List.of(dir.resolve("bad.zone").toString())))));
        assertTrue(e.getMessage().contains("bad.zone:6"), e.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> new DnsPlugin().create(Peers.args(Map.of("--zone", List.of(dir.resolve("none.zone").toString())))));
        assertEquals("--zone: no such file: " + dir.resolve("none.zone"), missing.getMessage(),
                "worded as every other missing file is");
    }

    @Test
    void badOptionValuesNameTheOption() throws Exception {
        TestZones.copyTo(dir);
        String zone = dir.resolve("example.test.zone").toString();
        for (String[] bad : new String[][] {{"--forward", "resolver.example:53"}, {"--forward", "127.0.0.1"},
                {"--forward", "127.0.0.1:99999"}, {"--allow-transfer", "somehost"}, {"--listen", "bogus:1"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new DnsPlugin().create(Peers.args(Map.of("--zone", List.of(zone), bad[0], List.of(bad[1])))));
            assertTrue(e.getMessage().contains(bad[0]), bad[0] + ": " + e.getMessage());
        }
    }

    @Test
    void demoServesItsZoneAndPrintsTheDigLine() throws Exception {
        // twine demo --port-base 0: a free port, so the test never depends on 5300 being free
        ServicePlugin.Demo demo = new DnsPlugin().demo(dir, usual -> 0).orElseThrow();
        assertTrue(Files.exists(dir.resolve("demo.test.zone")), "the demo zone is written straight into the data directory it is given");
        demo.service().start();
        try {
            int port = demo.service().bindings().get(0).port();
            String text = demo.instructions().apply(demo.service());
            assertTrue(text.contains("dig @127.0.0.1 -p " + port + " www.demo.test A"), text);
            Resolver r = Resolver.builder().server("127.0.0.1", port).build();
            assertEquals(2, r.lookupMx("demo.test").size());
            assertEquals(1, r.lookup("www.demo.test", RecordType.AAAA).size());
            assertEquals(1, r.lookup("x.apps.demo.test", RecordType.A).size());
        } finally {
            demo.service().close();
        }
    }
}
