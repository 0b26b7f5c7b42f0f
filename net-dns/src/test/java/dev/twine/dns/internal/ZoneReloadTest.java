package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.dns.DnsServer;
import dev.twine.dns.RecordType;
import dev.twine.dns.Resolver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Zones reload on request, on change (--watch) and on SIGHUP; a bad file keeps the old zone. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ZoneReloadTest {
    @TempDir
    Path dir;

    private static String zone(String serial, String address) {
        return """
                $ORIGIN reload.test.
                $TTL 60
                @   IN SOA ns1 admin %s 3600 600 604800 60
                    IN NS ns1
                ns1 IN A 192.0.2.1
                www IN A %s
                """.formatted(serial, address);
    }

    private static String www(Resolver r) throws Exception {
        return r.lookupAddresses("www.reload.test").get(0).getHostAddress();
    }

    @Test
    void badZoneFileAtStartNamesFileAndLine() throws Exception {
        TestZones.copyTo(dir);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DnsServer.builder().zone(dir.resolve("bad.zone")).listen("udp:0").build());
        assertTrue(e.getMessage().contains("bad.zone:6:"), e.getMessage());
    }

    @Test
    void recordOutsideItsZoneIsRejected() throws Exception {
        Path f = dir.resolve("outside.zone");
        Files.writeString(f, zone("1", "192.0.2.2") + "www.elsewhere.test. IN A 192.0.2.3\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DnsServer.builder().zone(f).listen("udp:0").build());
        assertTrue(e.getMessage().contains("outside the zone"), e.getMessage());
    }

    @Test
    void txtWithNoStringIsRejectedNotServedEmpty() throws Exception {
        // if a TXT has nothing after its type (here a comment ate its string), then the file is
        // refused: RFC 1035 §3.3.14 needs at least one character-string, and written back the
        // record would read as one empty string, another record
        Path f = dir.resolve("emptytxt.zone");
        Files.writeString(f, zone("1", "192.0.2.2") + "txt IN TXT ;\"the string\"\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DnsServer.builder().zone(f).listen("udp:0").build());
        assertTrue(e.getMessage().contains("txt.reload.test.: TXT record without a string"), e.getMessage());
        Files.writeString(f, zone("1", "192.0.2.2") + "txt IN TXT \"\"\n");
        DnsServer.builder().zone(f).listen("udp:0").build().close();
    }

    @Test
    void reloadSwapsZonesAndABadFileKeepsTheOld() throws Exception {
        Path f = dir.resolve("reload.zone");
        Files.writeString(f, zone("1", "192.0.2.10"));
        DnsServer s = DnsServer.builder().zone(f).listen("udp:0:interface=127.0.0.1").listen("tcp:0:interface=127.0.0.1").build();
        s.start();
        try {
            Resolver r = Resolver.builder().server("127.0.0.1", s.port()).build();
            assertEquals("192.0.2.10", www(r));
            Files.writeString(f, zone("2", "192.0.2.11"));
            assertTrue(s.reload());
            assertEquals("192.0.2.11", www(r));
            Files.writeString(f, zone("3", "192.0.2.12") + "broken IN A not-an-address\n");
            java.io.IOException bad = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, s::reload);
            assertTrue(bad.getMessage().contains("reload.zone:7:"), bad.getMessage());
            assertTrue(s.lastReloadError().orElseThrow().contains("reload.zone:7:"), s.lastReloadError().orElseThrow());
            assertEquals("192.0.2.11", www(r));
        } finally {
            s.close();
        }
    }

    @Test
    void watchReloadsAChangedFile() throws Exception {
        Path f = dir.resolve("reload.zone");
        Files.writeString(f, zone("1", "192.0.2.20"));
        DnsServer s = DnsServer.builder().zone(f).listen("udp:0:interface=127.0.0.1").watch(Duration.ofMillis(50)).build();
        s.start();
        try {
            Resolver r = Resolver.builder().server("127.0.0.1", s.port()).build();
            assertEquals("192.0.2.20", www(r));
            Files.writeString(f, zone("2", "192.0.2.21"));
            Files.setLastModifiedTime(f, FileTime.from(Instant.now().plusSeconds(5)));
            for (int i = 0; i < 200 && s.reloads() == 0; i++) {
                Thread.sleep(25);
            }
            assertEquals(1, s.reloads());
            assertEquals("192.0.2.21", www(r));
        } finally {
            s.close();
        }
    }

    @Test
    void watchReloadsWhenAnIncludedFileChanges() throws Exception {
        Path f = dir.resolve("reload.zone");
        Path inc = dir.resolve("hosts.inc");
        Files.writeString(inc, "extra IN A 192.0.2.50\n");
        Files.writeString(f, zone("1", "192.0.2.20") + "$INCLUDE hosts.inc\n");
        DnsServer s = DnsServer.builder().zone(f).listen("udp:0:interface=127.0.0.1").watch(Duration.ofMillis(50)).build();
        s.start();
        try {
            Resolver r = Resolver.builder().server("127.0.0.1", s.port()).build();
            assertEquals("192.0.2.50", r.lookupAddresses("extra.reload.test").get(0).getHostAddress());
            Files.writeString(inc, "extra IN A 192.0.2.51\n");
            Files.setLastModifiedTime(inc, FileTime.from(Instant.now().plusSeconds(5)));
            for (int i = 0; i < 200 && s.reloads() == 0; i++) {
                Thread.sleep(25);
            }
            assertEquals(1, s.reloads());
            assertEquals("192.0.2.51", r.lookupAddresses("extra.reload.test").get(0).getHostAddress());
        } finally {
            s.close();
        }
    }

    @Test
    void sighupReloadsTheZones() throws Exception {
        Path f = dir.resolve("reload.zone");
        Files.writeString(f, zone("1", "192.0.2.30"));
        DnsServer s = DnsServer.builder().zone(f).listen("udp:0:interface=127.0.0.1").reloadOnSighup(true).build();
        s.start();
        try {
            org.junit.jupiter.api.Assumptions.assumeTrue(DnsListener.sighupInstalled(), "SIGHUP cannot be handled in this JVM");
            Resolver r = Resolver.builder().server("127.0.0.1", s.port()).build();
            assertEquals("192.0.2.30", www(r));
            Files.writeString(f, zone("2", "192.0.2.31"));
            Peers.Run kill = Peers.run(10, List.of("kill", "-HUP", String.valueOf(ProcessHandle.current().pid())));
            assertEquals(0, kill.exit(), kill.output());
            for (int i = 0; i < 1200 && s.reloads() == 0; i++) { // up to 30 s on a loaded machine
                Thread.sleep(25);
            }
            assertEquals(1, s.reloads());
            assertEquals("192.0.2.31", www(r));
        } finally {
            s.close();
        }
    }

    @Test
    void queriesDuringReloadsAllGetAnswers() throws Exception {
        Path f = dir.resolve("reload.zone");
        Files.writeString(f, zone("1", "192.0.2.40"));
        DnsServer s = DnsServer.builder().zone(f).listen("udp:0:interface=127.0.0.1").build();
        s.start();
        try {
            Resolver r = Resolver.builder().server("127.0.0.1", s.port()).timeout(Duration.ofSeconds(2)).attempts(1).build();
            for (int i = 0; i < 50; i++) {
                Files.writeString(f, zone(String.valueOf(i + 2), "192.0.2." + (41 + i % 2)));
                assertTrue(s.reload());
                String got = www(r);
                assertEquals("192.0.2." + (41 + i % 2), got);
                assertEquals(1, r.lookup("ns1.reload.test", RecordType.A).size());
            }
        } finally {
            s.close();
        }
    }
}
