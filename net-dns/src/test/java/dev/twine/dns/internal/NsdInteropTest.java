package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Service;
import dev.twine.dns.DnsException;
import dev.twine.dns.DnsRecord;
import dev.twine.dns.RecordType;
import dev.twine.dns.Resolver;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interop with NSD (a real authoritative server) serving the same zone file: Twine's resolver
 * client asks NSD and Twine and must get the same records, and {@code dig} asks both and must
 * see the same status, AA bit, answer and authority sections.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class NsdInteropTest {
    @TempDir
    static Path dir;

    static Process nsd;
    static int nsdPort;
    static Service twine;
    static int twinePort;
    static Path dig;

    /** (name, type) pairs asked of both servers. */
    static final String[][] QUESTIONS = {
        {"www.example.test", "A"}, {"www.example.test", "AAAA"}, {"example.test", "MX"}, {"example.test", "NS"},
        {"example.test", "TXT"}, {"example.test", "SOA"}, {"chain.example.test", "A"}, {"alias.example.test", "CNAME"},
        {"x.wild.example.test", "A"}, {"x.y.wild.example.test", "TXT"}, {"exists.wild.example.test", "TXT"},
        {"foo.cw.example.test", "A"}, {"nope.example.test", "A"}, {"www.example.test", "MX"},
        {"_sip._tcp.example.test", "SRV"}, {"4.2.0.192.in-addr.example.test", "PTR"}, {"b.c.example.test", "A"},
        {"MixedCase.example.test", "A"}, {"dangling.example.test", "A"}, {"host.sub.example.test", "A"},
        {"included.example.test", "A"}, {"big.example.test", "TXT"}, {"medium.example.test", "TXT"},
    };

    @BeforeAll
    static void start() throws Exception {
        Path nsdBin = Peers.require("nsd", "nsd");
        dig = Peers.require("dig", "dnsutils");
        TestZones.copyTo(dir);
        // NSD may drop to its own user: everything it reads must be readable by others
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
            }
        }
        nsdPort = freePort();
        Path conf = dir.resolve("nsd.conf");
        Files.writeString(conf, nsdServer(dir, nsdPort, 1) + """
                zone:
                  name: example.test
                  zonefile: "%s/example.test.zone"
                """.formatted(dir));
        nsd = new ProcessBuilder(nsdBin.toString(), "-d", "-c", conf.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("nsd.out").toFile()).start();
        awaitAnswer(nsdPort, "NSD");

        twine = new DnsPlugin().create(Peers.args(Map.of(
                "--zone", List.of(dir.resolve("example.test.zone").toString()),
                "--listen", List.of("udp:0:interface=127.0.0.1", "tcp:0:interface=127.0.0.1"))));
        twine.start();
        twinePort = twine.bindings().get(0).port();
    }

    /**
     * The {@code server:} and {@code remote-control:} clauses of an nsd.conf that runs NSD
     * unprivileged in {@code dir} on 127.0.0.1:{@code port}, in the foreground, logging to nsd.log.
     */
    static String nsdServer(Path dir, int port, int verbosity) {
        return """
                server:
                  ip-address: 127.0.0.1
                  port: %d
                  do-ip6: no
                  username: ""
                  chroot: ""
                  zonesdir: "%s"
                  pidfile: "%s/nsd.pid"
                  database: ""
                  zonelistfile: "%s/zone.list"
                  xfrdfile: "%s/xfrd.state"
                  xfrdir: "%s"
                  logfile: "%s/nsd.log"
                  server-count: 1
                  verbosity: %d
                remote-control:
                  control-enable: no
                """.formatted(port, dir, dir, dir, dir, dir, dir, verbosity);
    }

    static int freePort() throws IOException {
        for (int i = 0; i < 20; i++) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                    DatagramSocket d = new DatagramSocket(new InetSocketAddress("127.0.0.1", s.getLocalPort()))) {
                return s.getLocalPort();
            } catch (IOException taken) {
                // try another
            }
        }
        throw new IOException("no free port");
    }

    static void awaitAnswer(int port, String who) throws Exception {
        Resolver r = Resolver.builder().server("127.0.0.1", port).timeout(Duration.ofMillis(200)).attempts(1).build();
        for (int i = 0; i < 100; i++) {
            try {
                if (!r.lookup("example.test", RecordType.SOA).isEmpty()) {
                    return;
                }
            } catch (IOException notYet) {
                if (!nsd.isAlive()) {
                    throw new AssertionError(who + " exited: " + Files.readString(dir.resolve("nsd.out")));
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError(who + " did not answer within 10 s: " + Files.readString(dir.resolve("nsd.out")));
    }

    @AfterAll
    static void stop() throws Exception {
        if (twine != null) {
            twine.close();
        }
        stopNsd(nsd);
    }

    /** Stops an NSD this test started: SIGTERM to its PID, then a kill after 10 s. */
    static void stopNsd(Process nsd) throws InterruptedException {
        if (nsd != null) {
            nsd.destroy();
            if (!nsd.waitFor(10, TimeUnit.SECONDS)) {
                nsd.destroyForcibly();
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
    void resolverClientGetsTheSameRecordsFromNsdAndTwine() throws Exception {
        Resolver fromNsd = Resolver.builder().server("127.0.0.1", nsdPort).build();
        Resolver fromTwine = Resolver.builder().server("127.0.0.1", twinePort).build();
        int compared = 0;
        for (String[] q : QUESTIONS) {
            RecordType type;
            try {
                type = RecordType.valueOf(q[1]);
            } catch (IllegalArgumentException notTyped) {
                continue;
            }
            String n = outcome(fromNsd, q[0], type);
            String t = outcome(fromTwine, q[0], type);
            assertTrue(!n.startsWith("failed"), "NSD: " + n);
            assertEquals(n, t, q[0] + " " + q[1]);
            compared++;
        }
        assertEquals(QUESTIONS.length, compared);
    }

    /** The parts of dig's view that must agree: status, AA, answer and authority (lower-cased, sorted). */
    private static String view(int port, String name, String type) throws Exception {
        Peers.Dig d = Peers.dig(dig, port, "+norec", name, type);
        List<String> answer = new ArrayList<>(d.section("ANSWER").stream().map(s -> s.toLowerCase(Locale.ROOT)).toList());
        List<String> authority = new ArrayList<>(d.section("AUTHORITY").stream().map(s -> s.toLowerCase(Locale.ROOT)).toList());
        answer.sort(null);
        authority.sort(null);
        // NSD adds the apex NS set to the authority of positive answers; Twine sends minimal
        // responses (that section is optional there, RFC 2181 §6.1): compare it where it matters
        String auth = answer.isEmpty() || !d.status().equals("NOERROR") ? "\nauthority=" + authority : "";
        return "status=" + d.status() + " aa=" + d.flags().contains("aa") + "\nanswer=" + answer + auth;
    }

    @Test
    void digSeesTheSameAnswersFromNsdAndTwine() throws Exception {
        for (String[] q : QUESTIONS) {
            assertEquals(view(nsdPort, q[0], q[1]), view(twinePort, q[0], q[1]), q[0] + " " + q[1]);
        }
    }
}
