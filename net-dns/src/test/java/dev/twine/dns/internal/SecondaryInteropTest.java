package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Service;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import java.util.logging.StreamHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Twine as a secondary of NSD and of Knot, through {@code twine dns --secondary}: the first
 * version by AXFR at start, then after a change on the primary its NOTIFY (signed) makes Twine
 * check at once and fetch the difference by IXFR, with TSIG (hmac-sha256) on every message.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SecondaryInteropTest {
    static final String SECRET = SecondaryTest.SECRET;

    static {
        // Twine logs through System.Logger, which goes to java.util.logging here: read its records
        SecondaryInteropTest.class.getModule().addReads(ModuleLayer.boot().findModule("java.logging").orElseThrow());
    }

    @TempDir
    Path dir;

    /** Twine's log lines (java.util.logging, where System.Logger goes here), read by {@link #log()}. */
    final java.io.ByteArrayOutputStream logged = new java.io.ByteArrayOutputStream();
    Object capture;

    @BeforeEach
    void listen() throws Exception {
        StreamHandler h = new StreamHandler(logged, new SimpleFormatter());
        capture = h;
        Logger.getLogger("dev.twine.dns").addHandler(h);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
    }

    @AfterEach
    void stopListening() {
        Logger.getLogger("dev.twine.dns").removeHandler((StreamHandler) capture);
    }

    private String log() {
        ((StreamHandler) capture).flush();
        return logged.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Writes version {@code serial} of the primary's zone, its time moved on so the primary sees a change. */
    private static void write(Path file, int serial, String www) throws Exception {
        Files.writeString(file, SecondaryTest.zone(serial, www));
        Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(serial * 10L)));
    }

    private Service twineSecondary(int port, int primaryPort) throws Exception {
        Path keys = dir.resolve("twine.keys");
        Files.writeString(keys, "key \"sec-key\" { algorithm hmac-sha256; secret \"" + SECRET + "\"; };\n");
        Service twine = new DnsPlugin().create(Peers.args(Map.of("--secondary", List.of("sec.test"),
                "--primary", List.of("127.0.0.1:" + primaryPort + ":key=sec-key"), "--tsig-keys", List.of(keys.toString()),
                "--secondary-dir", List.of(dir.resolve("twine").toString()),
                "--listen", List.of("udp:" + port + ":interface=127.0.0.1", "tcp:" + port + ":interface=127.0.0.1"))));
        twine.start();
        return twine;
    }

    /** Asks Twine for www.sec.test A until it says {@code expected} (at most 30 s); returns what it said last. */
    private static String await(Path dig, int port, String expected) throws Exception {
        String last = "";
        for (int i = 0; i < 300; i++) {
            Peers.Dig d = Peers.dig(dig, port, "+norec", "www.sec.test", "A");
            last = d.status() + " " + d.data("ANSWER", "A");
            if (d.data("ANSWER", "A").equals(List.of(expected))) {
                return expected;
            }
            Thread.sleep(100);
        }
        return last;
    }

    private void assertTransfers(String peerLog) {
        String log = log();
        assertTrue(log.lines().anyMatch(l -> l.contains("sec.test. now at serial 1") && l.endsWith("by AXFR")),
                "first version by AXFR: " + log + peerLog);
        assertTrue(log.lines().anyMatch(l -> l.contains("sec.test. now at serial 2") && l.endsWith("by IXFR")),
                "the change by IXFR: " + log + peerLog);
    }

    @Test
    void twineFollowsNsdThroughNotifyAndIxfrWithTsig() throws Exception {
        Path nsdBin = Peers.require("nsd", "nsd");
        Path dig = Peers.require("dig", "dnsutils");
        Path zone = dir.resolve("sec.test.zone");
        write(zone, 1, "192.0.2.10");
        int nsdPort = NsdInteropTest.freePort();
        int twinePort = NsdInteropTest.freePort();
        Path conf = dir.resolve("nsd.conf");
        Files.writeString(conf, NsdInteropTest.nsdServer(dir, nsdPort, 2) + """
                key:
                  name: sec-key
                  algorithm: hmac-sha256
                  secret: "%s"
                zone:
                  name: sec.test
                  zonefile: "%s"
                  provide-xfr: 127.0.0.1 sec-key
                  notify: 127.0.0.1@%d sec-key
                  store-ixfr: yes
                  create-ixfr: yes
                """.formatted(SECRET, zone, twinePort));
        Process nsd = new ProcessBuilder(nsdBin.toString(), "-d", "-c", conf.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("nsd.out").toFile()).start();
        Service twine = null;
        try {
            awaitUp(dig, nsdPort, nsd);
            twine = twineSecondary(twinePort, nsdPort);
            assertEquals("192.0.2.10", await(dig, twinePort, "192.0.2.10"), "the first transfer: " + log() + nsdLog());

            write(zone, 2, "192.0.2.20");
            Peers.run(10, List.of("kill", "-HUP", String.valueOf(nsd.pid()))); // NSD rereads changed zone files
            assertEquals("192.0.2.20", await(dig, twinePort, "192.0.2.20"), "after NSD's NOTIFY: " + log() + nsdLog());
            assertTransfers(nsdLog());
        } finally {
            if (twine != null) {
                twine.close();
            }
            NsdInteropTest.stopNsd(nsd);
        }
    }

    @Test
    void twineFollowsKnotThroughNotifyAndIxfrWithTsig() throws Exception {
        Path knotd = Peers.require("knotd", "knot");
        Path knotc = Peers.require("knotc", "knot");
        Path dig = Peers.require("dig", "dnsutils");
        Path zone = dir.resolve("sec.test.zone");
        write(zone, 1, "192.0.2.10");
        int knotPort = NsdInteropTest.freePort();
        int twinePort = NsdInteropTest.freePort();
        Path conf = dir.resolve("knot.conf");
        Path socket = dir.resolve("knot.sock");
        Files.writeString(conf, """
                server:
                    rundir: "%1$s"
                    listen: 127.0.0.1@%2$d
                log:
                  - target: "%1$s/knot.log"
                    any: info
                database:
                    storage: "%1$s"
                control:
                    listen: "%5$s"
                key:
                  - id: sec-key
                    algorithm: hmac-sha256
                    secret: %3$s
                remote:
                  - id: twine
                    address: 127.0.0.1@%4$d
                    key: sec-key
                acl:
                  - id: to-twine
                    address: 127.0.0.1
                    key: sec-key
                    action: transfer
                template:
                  - id: default
                    storage: "%1$s"
                    zonefile-sync: -1
                    zonefile-load: difference
                    journal-content: changes
                zone:
                  - domain: sec.test
                    file: "sec.test.zone"
                    notify: twine
                    acl: to-twine
                """.formatted(dir, knotPort, SECRET, twinePort, socket));
        Process knot = new ProcessBuilder(knotd.toString(), "-c", conf.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("knot.out").toFile()).start();
        Service twine = null;
        try {
            awaitUp(dig, knotPort, knot);
            twine = twineSecondary(twinePort, knotPort);
            assertEquals("192.0.2.10", await(dig, twinePort, "192.0.2.10"), "the first transfer: " + log() + knotLog());

            write(zone, 2, "192.0.2.20");
            Peers.Run reload = Peers.run(20, List.of(knotc.toString(), "-c", conf.toString(), "-s", socket.toString(),
                    "zone-reload", "sec.test"));
            assertEquals(0, reload.exit(), reload.output());
            assertEquals("192.0.2.20", await(dig, twinePort, "192.0.2.20"), "after Knot's NOTIFY: " + log() + knotLog());
            assertTransfers(knotLog());
        } finally {
            if (twine != null) {
                twine.close();
            }
            knot.destroy();
            if (!knot.waitFor(10, TimeUnit.SECONDS)) {
                knot.destroyForcibly();
            }
        }
    }

    /** Waits until the primary answers the zone's SOA. */
    private void awaitUp(Path dig, int port, Process p) throws Exception {
        for (int i = 0; i < 100; i++) {
            if (!p.isAlive()) {
                throw new AssertionError("the primary exited: " + nsdLog() + knotLog());
            }
            try {
                if (Peers.dig(dig, port, "+norec", "sec.test", "SOA").status().equals("NOERROR")) {
                    return;
                }
            } catch (AssertionError notYet) {
                // dig timed out: not listening yet
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the primary never answered: " + nsdLog() + knotLog());
    }

    private String nsdLog() throws Exception {
        return read("nsd.log") + read("nsd.out");
    }

    private String knotLog() throws Exception {
        return read("knot.log") + read("knot.out");
    }

    private String read(String name) throws Exception {
        Path f = dir.resolve(name);
        return Files.exists(f) ? "\n" + name + ":\n" + Files.readString(f) : "";
    }
}
