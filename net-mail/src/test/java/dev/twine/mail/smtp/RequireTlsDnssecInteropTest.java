package dev.twine.mail.smtp;

import static dev.twine.mail.smtp.SmtpTestSupport.delivered;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Tls;
import dev.twine.core.testing.ManualClock;
import dev.twine.dns.DnsServer;
import dev.twine.dns.Resolver;
import dev.twine.mail.maildir.Maildir;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * REQUIRETLS's MX check (RFC 8689 §4.2.1) with a real validating resolver between the relay queue
 * and the zones: Unbound, with stub zones at Twine's DNS server, which signs {@code signed.test}
 * online with keys from BIND's {@code dnssec-keygen} and serves {@code plain.test} unsigned.
 * Unbound trusts the signed zone's KSK and so sets the AD bit on its answers; for
 * {@code bogus.test} it is given another key as the anchor, so the signatures do not validate
 * and it answers SERVFAIL.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RequireTlsDnssecInteropTest {
    private static final Path UNBOUND = Path.of("/usr/sbin/unbound");
    private static final Path KEYGEN = Path.of("/usr/bin/dnssec-keygen");

    @TempDir
    Path dir;

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private Process unbound;
    private Resolver resolver;
    private Path cert;
    private RecordingHop hop;

    @BeforeEach
    void setUp() throws Exception {
        SmtpInteropTest.requirePeer(UNBOUND);
        SmtpInteropTest.requirePeer(KEYGEN);
        Path keys = Files.createDirectories(dir.resolve("keys"));
        String signedKsk = keygen(keys, "signed.test", "-f", "KSK");
        keygen(keys, "signed.test");
        keygen(keys, "bogus.test", "-f", "KSK");
        // the key bogus.test is anchored to is not one it is signed with
        String strangerKsk = keygen(Files.createDirectories(dir.resolve("stranger")), "bogus.test", "-f", "KSK");

        DnsServer.Builder dns = DnsServer.builder().sign(keys).listen("udp:0:interface=127.0.0.1")
                .listen("tcp:0:interface=127.0.0.1");
        for (String zone : List.of("signed.test", "plain.test", "bogus.test")) {
            Path file = dir.resolve(zone + ".zone");
            Files.write(file, List.of("$ORIGIN " + zone + ".", "$TTL 300",
                    "@ IN SOA ns hostmaster 1 3600 600 86400 300", "@ IN NS ns", "ns IN A 127.0.0.1",
                    "@ IN MX 10 mx", "mx IN A 127.0.0.1"), StandardCharsets.US_ASCII);
            dns.zone(file);
        }
        DnsServer twine = dns.build();
        twine.start();
        toClose.add(twine);

        int port = freePort();
        Path conf = dir.resolve("unbound.conf");
        List<String> lines = new ArrayList<>(List.of("server:", "  interface: 127.0.0.1", "  port: " + port,
                "  do-not-query-localhost: no", "  username: \"\"", "  chroot: \"\"", "  directory: \"" + dir + "\"",
                "  pidfile: \"\"", "  use-syslog: no", "  logfile: \"" + dir.resolve("unbound.log") + "\"",
                "  verbosity: 1", "  val-log-level: 2", "  do-ip6: no", "  module-config: \"validator iterator\"",
                "  access-control: 127.0.0.0/8 allow",
                // Unbound answers the special-use name test. (RFC 6761) itself unless told not to
                "  local-zone: \"test.\" nodefault",
                "  trust-anchor: \"signed.test. DNSKEY " + signedKsk + "\"",
                "  trust-anchor: \"bogus.test. DNSKEY " + strangerKsk + "\"",
                "remote-control:", "  control-enable: no"));
        for (String zone : List.of("signed.test", "plain.test", "bogus.test")) {
            lines.addAll(List.of("stub-zone:", "  name: \"" + zone + "\"", "  stub-addr: 127.0.0.1@" + twine.port()));
        }
        Files.write(conf, lines, StandardCharsets.US_ASCII);
        unbound = new ProcessBuilder(UNBOUND.toString(), "-d", "-c", conf.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("unbound.out").toFile()).start();
        // Unbound validates, on this host: its AD bit can be believed
        resolver = Resolver.builder().server("127.0.0.1", port).timeout(Duration.ofSeconds(3)).trustAuthenticatedData(true)
                .build();
        awaitAnswers();

        cert = dir.resolve("tls/cert.pem");
        Tls serverTls = Tls.selfSigned(cert, dir.resolve("tls/key.pem"), List.of("mx.signed.test", "mx.plain.test"));
        hop = RecordingHop.withTls(serverTls, "REQUIRETLS");
        toClose.add(hop);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (unbound != null) {
            unbound.destroy();
            if (!unbound.waitFor(10, TimeUnit.SECONDS)) {
                unbound.destroyForcibly();
            }
        }
        for (AutoCloseable c : toClose.reversed()) {
            c.close();
        }
    }

    /** Makes a key for {@code zone} in {@code keys}; returns its DNSKEY data ("FLAGS 3 ALG KEY"). */
    private static String keygen(Path keys, String zone, String... flags) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(KEYGEN.toString(), "-q", "-K", keys.toString(), "-a", "ECDSAP256SHA256"));
        cmd.addAll(List.of(flags));
        cmd.add(zone);
        SmtpInteropTest.Result r = SmtpInteropTest.run(cmd, Map.of(), Duration.ofSeconds(60));
        assertEquals(0, r.exit(), r.output());
        Path key = keys.resolve(r.output().strip() + ".key");
        for (String line : Files.readAllLines(key)) {
            String[] w = line.split("\\s+", 7);
            if (!line.startsWith(";") && w.length == 7 && w[2].equals("DNSKEY")) {
                return w[3] + " " + w[4] + " " + w[5] + " " + w[6].replace(" ", "");
            }
        }
        throw new IOException("no DNSKEY in " + key);
    }

    private static int freePort() throws IOException {
        try (java.net.DatagramSocket s = new java.net.DatagramSocket(0, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Waits (bounded) until Unbound answers; fails with its log if it exits or never does. */
    private void awaitAnswers() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            if (!unbound.isAlive()) {
                throw new AssertionError("unbound exited: " + Files.readString(dir.resolve("unbound.out")));
            }
            try {
                resolver.lookupMx("plain.test");
                return;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("unbound does not answer: " + e + "\n" + Files.readString(dir.resolve("unbound.out")));
                }
                Thread.sleep(100);
            }
        }
    }

    private RelayQueue queue() throws Exception {
        SmtpTestSupport.users(dir);
        int port = Integer.parseInt(hop.hostPort().substring(hop.hostPort().lastIndexOf(':') + 1));
        return RelayQueue.builder().directory(dir.resolve("queue")).heloName("example.test")
                .resolver(DnsMxResolver.over(resolver, port)).localDelivery("example.test", Maildir.open(dir.resolve("maildir")))
                .clock(ManualClock.create()).timeout(Duration.ofSeconds(10)).verifiedTls(Tls.client(cert)).build();
    }

    private static void sendRequiringTls(RelayQueue q, String to) throws Exception {
        byte[] message = "From: alice@example.test\r\nSubject: s\r\n\r\nsecret\r\n".getBytes(StandardCharsets.US_ASCII);
        SmtpTestSupport.relay(q, to, true, message);
    }

    @Test
    void unboundVouchesForTheSignedZonesMxOnlyAndRefusesTheBogusOne() throws Exception {
        MxResolver mx = DnsMxResolver.over(resolver, 25);
        MxResolver.Hops signed = mx.hops("signed.test");
        assertTrue(signed.authenticated(), "the AD bit from a trusted validating resolver");
        assertEquals(List.of(new MxResolver.Host("mx.signed.test", "127.0.0.1:25")), signed.hosts());
        assertFalse(mx.hops("plain.test").authenticated(), "an unsigned zone is insecure: no AD bit");
        assertThrows(IOException.class, () -> mx.hops("bogus.test"), "signatures that do not validate: SERVFAIL");
        Resolver distrusting = Resolver.builder().server("127.0.0.1", resolver.servers().get(0).getPort())
                .trustAuthenticatedData(false).build();
        assertFalse(DnsMxResolver.over(distrusting, 25).hops("signed.test").authenticated(), "unless the bit is not trusted");
    }

    @Test
    void aRequireTlsMessageGoesToTheDnssecSignedDomainAndBouncesForTheUnsignedOne() throws Exception {
        RelayQueue q = queue();
        sendRequiringTls(q, "bob@signed.test");
        q.deliverDue();
        assertEquals(0, q.size());
        assertEquals(1, hop.messages.size(), "delivered to the MX DNSSEC vouched for");
        assertEquals(List.of(true), hop.secure);
        assertEquals(List.of(), delivered(dir, "alice"), "no bounce");

        sendRequiringTls(q, "carol@plain.test");
        q.deliverDue();
        assertEquals(0, q.size());
        assertEquals(1, hop.messages.size(), "nothing sent to the unsigned domain's MX");
        List<Path> bounces = delivered(dir, "alice");
        assertEquals(1, bounces.size());
        String dsn = Files.readString(bounces.get(0));
        assertTrue(dsn.contains("Status: 5.7.30") && dsn.contains("not DNSSEC-authenticated"), dsn);
    }
}
