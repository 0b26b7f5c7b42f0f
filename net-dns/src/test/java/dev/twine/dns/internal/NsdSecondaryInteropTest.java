package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.twine.core.Service;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * NSD as a secondary of Twine: NSD fetches the zone from Twine at start, and after Twine reloads
 * a new version it sends NOTIFY (RFC 1996) and NSD fetches the change (IXFR from Twine's
 * journal) long before its hour-long refresh timer would have.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NsdSecondaryInteropTest {
    @TempDir
    Path dir;

    private static String zone(int serial, String www) {
        return """
                $ORIGIN sec.test.
                $TTL 300
                @ IN SOA ns1 hostmaster %d 3600 600 604800 60
                  IN NS ns1
                ns1 IN A 192.0.2.1
                www IN A %s
                """.formatted(serial, www);
    }

    /**
     * Asks NSD for www.sec.test A until it says {@code expected} (or 30 s pass), asking again
     * while it is still starting; returns what it said last.
     */
    private static String awaitNsd(Path dig, int port, String expected) throws Exception {
        String last = "";
        long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < end) {
            try {
                Peers.Dig d = Peers.dig(dig, port, "+norec", "www.sec.test", "A");
                List<String> a = d.data("ANSWER", "A");
                last = d.status() + " " + a;
                if (a.equals(List.of(expected))) {
                    return expected;
                }
            } catch (AssertionError notYet) {
                // NSD is still starting (not yet bound: "connection refused"), or did not answer
                last = notYet.getMessage();
            }
            Thread.sleep(100);
        }
        return last;
    }

    @Test
    void nsdFollowsTwineThroughNotifyAndIxfr() throws Exception {
        follow(false);
    }

    /** The same with TSIG (hmac-sha256) on the transfers and on NOTIFY, which NSD then requires. */
    @Test
    void nsdFollowsTwineWithTsig() throws Exception {
        follow(true);
    }

    private static final String SECRET = "q1Wr2f0lAXh4CWbwhS0KWkzCBo4hJIcu0zKq0F/FZlk=";

    private void follow(boolean tsig) throws Exception {
        Path nsdBin = Peers.require("nsd", "nsd");
        Path dig = Peers.require("dig", "dnsutils");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path primary = dir.resolve("sec.test.zone");
        Files.writeString(primary, zone(1, "192.0.2.10"));
        int nsdPort = NsdInteropTest.freePort();
        Map<String, List<String>> args = new java.util.HashMap<>(Map.of("--zone", List.of(primary.toString()),
                "--listen", List.of("udp:0:interface=127.0.0.1", "tcp:0:interface=127.0.0.1"),
                "--allow-transfer", List.of("127.0.0.1"), "--notify", List.of("127.0.0.1:" + nsdPort)));
        String key = "NOKEY";
        String keyClause = "";
        if (tsig) {
            Path keys = dir.resolve("transfer.key");
            Files.writeString(keys, "key \"sec-transfer\" {\n\talgorithm hmac-sha256;\n\tsecret \"" + SECRET + "\";\n};\n");
            args.put("--tsig-keys", List.of(keys.toString()));
            key = "sec-transfer";
            keyClause = "key:\n  name: sec-transfer\n  algorithm: hmac-sha256\n  secret: \"" + SECRET + "\"\n";
        }
        Service twine = new DnsPlugin().create(Peers.args(args));
        twine.start();
        Process nsd = null;
        try {
            int twinePort = twine.bindings().get(0).port();
            Path conf = dir.resolve("nsd.conf");
            Files.writeString(conf, NsdInteropTest.nsdServer(dir, nsdPort, 2) + """
                    zone:
                      name: sec.test
                      zonefile: "%s/secondary.sec.test.zone"
                      request-xfr: 127.0.0.1@%d %s
                      allow-notify: 127.0.0.1 %s
                    """.formatted(dir, twinePort, key, key) + keyClause);
            nsd = new ProcessBuilder(nsdBin.toString(), "-d", "-c", conf.toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("nsd.out").toFile()).start();
            assertEquals("192.0.2.10", awaitNsd(dig, nsdPort, "192.0.2.10"), "NSD's first transfer: " + log());

            Files.writeString(primary, zone(2, "192.0.2.20"));
            twine.reload();
            assertEquals("192.0.2.20", awaitNsd(dig, nsdPort, "192.0.2.20"), "after NOTIFY: " + log());
        } finally {
            twine.close();
            NsdInteropTest.stopNsd(nsd);
        }
    }

    private String log() throws Exception {
        Path log = dir.resolve("nsd.log");
        return Files.exists(log) ? Files.readString(log) : Files.readString(dir.resolve("nsd.out"));
    }
}
