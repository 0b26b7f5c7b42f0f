package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.dns.DnsException;
import dev.twine.dns.DnsRecord;
import dev.twine.dns.DnsServer;
import dev.twine.dns.RecordType;
import dev.twine.dns.Resolver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interop with Twisted Names ({@code twistd3 dns}, Debian's python3-twisted): the same records as
 * a Python zone for Twisted (its BIND parser is broken in Debian's 22.4) and a master file for
 * Twine; Twine's resolver client asks both and must get the same typed answers.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class TwistedNamesInteropTest {
    @TempDir
    static Path dir;

    static Process twisted;
    static int twistedPort;
    static DnsServer twine;

    static final String BIND = """
            $ORIGIN twisted.test.
            $TTL 600
            @    IN SOA ns1 admin 7 3600 600 604800 120
                 IN NS ns1
                 IN MX 20 mx2
                 IN MX 10 mx1
                 IN TXT "v=spf1 -all"
            ns1  IN A 192.0.2.1
            mx1  IN A 192.0.2.10
            mx2  IN A 192.0.2.11
            www  IN A 192.0.2.20
                 IN AAAA 2001:db8::20
            web  IN CNAME www
            _xmpp-client._tcp IN SRV 5 0 5222 www
            """;

    static final String PYZONE = """
            zone = [
                SOA('twisted.test', mname='ns1.twisted.test', rname='admin.twisted.test', serial=7, refresh=3600,
                    retry=600, expire=604800, minimum=120, ttl=600),
                NS('twisted.test', 'ns1.twisted.test', ttl=600),
                MX('twisted.test', 20, 'mx2.twisted.test', ttl=600),
                MX('twisted.test', 10, 'mx1.twisted.test', ttl=600),
                TXT('twisted.test', b'v=spf1 -all', ttl=600),  # Twisted wants bytes here
                A('ns1.twisted.test', '192.0.2.1', ttl=600),
                A('mx1.twisted.test', '192.0.2.10', ttl=600),
                A('mx2.twisted.test', '192.0.2.11', ttl=600),
                A('www.twisted.test', '192.0.2.20', ttl=600),
                AAAA('www.twisted.test', '2001:db8::20', ttl=600),
                CNAME('web.twisted.test', 'www.twisted.test', ttl=600),
                SRV('_xmpp-client._tcp.twisted.test', 5, 0, 5222, 'www.twisted.test', ttl=600),
            ]
            """;

    @BeforeAll
    static void start() throws Exception {
        Path twistd = Peers.require("twistd3", "python3-twisted");
        Files.writeString(dir.resolve("twisted.test.zone"), BIND);
        Files.writeString(dir.resolve("twisted.test.py"), PYZONE);
        twistedPort = NsdInteropTest.freePort();
        twisted = new ProcessBuilder("/usr/bin/python3", twistd.toString(), "-n", "--pidfile=", "dns",
                "--pyzone", dir.resolve("twisted.test.py").toString(), "--interface", "127.0.0.1",
                "--port", String.valueOf(twistedPort))
                .directory(dir.toFile()).redirectErrorStream(true).redirectOutput(dir.resolve("twistd.out").toFile()).start();
        Resolver probe = Resolver.builder().server("127.0.0.1", twistedPort).timeout(Duration.ofMillis(200)).attempts(1).build();
        boolean up = false;
        for (int i = 0; i < 150 && !up; i++) {
            try {
                up = !probe.lookup("twisted.test", RecordType.SOA).isEmpty();
            } catch (IOException notYet) {
                if (!twisted.isAlive()) {
                    throw new AssertionError("twistd exited: " + Files.readString(dir.resolve("twistd.out")));
                }
                Thread.sleep(100);
            }
        }
        assertTrue(up, "Twisted Names did not answer: " + Files.readString(dir.resolve("twistd.out")));
        twine = DnsServer.builder().zone(dir.resolve("twisted.test.zone"))
                .listen("udp:0:interface=127.0.0.1").listen("tcp:0:interface=127.0.0.1").build();
        twine.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (twine != null) {
            twine.close();
        }
        if (twisted != null) {
            twisted.destroy();
            if (!twisted.waitFor(10, TimeUnit.SECONDS)) {
                twisted.destroyForcibly();
            }
        }
    }

    private static String outcome(Resolver r, String name, RecordType type) throws InterruptedException {
        try {
            List<String> out = new ArrayList<>();
            for (DnsRecord rec : r.lookup(name, type)) {
                out.add(rec.toString().toLowerCase(Locale.ROOT));
            }
            out.sort(null);
            return out.toString();
        } catch (DnsException e) {
            return "rcode " + e.rcode();
        } catch (IOException e) {
            return "failed " + e;
        }
    }

    @Test
    void resolverGetsTheSameAnswersFromTwistedNamesAndTwine() throws Exception {
        Resolver fromTwisted = Resolver.builder().server("127.0.0.1", twistedPort).build();
        Resolver fromTwine = Resolver.builder().server("127.0.0.1", twine.port()).build();
        String[][] questions = {
            {"www.twisted.test", "A"}, {"www.twisted.test", "AAAA"}, {"twisted.test", "MX"}, {"twisted.test", "TXT"},
            {"twisted.test", "NS"}, {"web.twisted.test", "CNAME"}, {"web.twisted.test", "A"},
            {"_xmpp-client._tcp.twisted.test", "SRV"}, {"missing.twisted.test", "A"}, {"mx1.twisted.test", "A"},
        };
        for (String[] q : questions) {
            RecordType type = RecordType.valueOf(q[1]);
            String t = outcome(fromTwisted, q[0], type);
            assertTrue(!t.startsWith("failed"), "Twisted: " + t);
            assertEquals(t, outcome(fromTwine, q[0], type), q[0] + " " + q[1]);
        }
        assertEquals(List.of("mx1.twisted.test", "mx2.twisted.test"),
                fromTwisted.lookupMx("twisted.test").stream().map(DnsRecord.Mx::exchange).toList());
    }
}
