package dev.twine.mail.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.LineReader;
import dev.twine.core.Server;
import dev.twine.core.Tls;
import dev.twine.core.testing.ManualClock;
import dev.twine.dns.DnsServer;
import dev.twine.dns.Resolver;
import dev.twine.mail.maildir.Maildir;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * MTA-STS (RFC 8461) for the relay queue: the TXT record from a Twine DnsServer, the policy from
 * {@code https://mta-sts.remote.test/.well-known/mta-sts.txt}, fetched by the JDK's HttpClient
 * through an in-process HTTP {@code CONNECT} proxy (the test's only way to point the name at
 * loopback) whose far end is a Twine TLS server presenting a certificate for
 * {@code mta-sts.remote.test}; then the policy applied to a recording MX.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MtaStsTest {
    @TempDir
    Path dir;

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private Path cert;
    private Tls serverTls;
    private Path zone;
    private DnsServer dns;
    private Resolver resolver;
    /** What the policy host serves: status line, content type, body. */
    private volatile String[] policy;
    private final List<String> fetches = new CopyOnWriteArrayList<>();
    /** The policy host of slow.remote.test: counted down when its CONNECT arrives; it answers once released. */
    private final CountDownLatch slowArrived = new CountDownLatch(1);
    private final CountDownLatch releaseSlow = new CountDownLatch(1);
    private int proxyPort;

    @BeforeEach
    void setUp() throws Exception {
        cert = dir.resolve("tls/cert.pem");
        serverTls = Tls.selfSigned(cert, dir.resolve("tls/key.pem"), List.of("mx.remote.test", "mta-sts.remote.test"));
        zone = dir.resolve("remote.test.zone");
        writeZone("id1");
        dns = DnsServer.builder().zone(zone).listen("udp:0:interface=127.0.0.1").build();
        dns.start();
        toClose.add(dns);
        resolver = Resolver.builder().server("127.0.0.1", dns.port()).timeout(Duration.ofSeconds(2)).build();
        serve("200 OK", "text/plain", "version: STSv1\r\nmode: enforce\r\nmx: mx.remote.test\r\nmax_age: 86400\r\n");
        // the proxy: CONNECT, then TLS as mta-sts.remote.test, then one HTTP/1.1 answer
        Server proxy = Server.builder("sts-proxy").listen("tcp:0:interface=127.0.0.1").handler(conn -> {
            LineReader in = LineReader.of(conn, 4096);
            String connect = in.readLine();
            while (!in.readLine().isEmpty()) {
                // headers of the CONNECT
            }
            if (connect.contains("mta-sts.slow.remote.test")) {
                // a policy host that takes as long as it is let: the connection closes unanswered
                slowArrived.countDown();
                releaseSlow.await();
                return;
            }
            conn.output().write("HTTP/1.1 200 Connection established\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            conn.flush();
            conn.startTls(serverTls);
            LineReader tls = LineReader.of(conn, 4096);
            String get = tls.readLine();
            while (!tls.readLine().isEmpty()) {
                // request headers
            }
            fetches.add(connect + " " + get);
            String[] p = policy;
            byte[] body = p[2].getBytes(StandardCharsets.UTF_8);
            conn.output().write(("HTTP/1.1 " + p[0] + "\r\nContent-Type: " + p[1] + "\r\nContent-Length: " + body.length
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            conn.output().write(body);
            conn.flush();
        }).start();
        toClose.add(proxy);
        proxyPort = proxy.port();
    }

    @AfterEach
    void closeAll() throws Exception {
        releaseSlow.countDown();
        for (AutoCloseable c : toClose.reversed()) {
            c.close();
        }
    }

    private void writeZone(String id) throws IOException {
        Files.write(zone, List.of("$ORIGIN remote.test.", "$TTL 300",
                "@ IN SOA ns.remote.test. hostmaster.remote.test. 1 3600 600 86400 300", "@ IN NS ns", "ns IN A 127.0.0.1",
                "@ IN MX 10 mx", "mx IN A 127.0.0.1", "_mta-sts IN TXT \"v=STSv1; id=" + id + "\"",
                "_mta-sts.slow IN TXT \"v=STSv1; id=s1\""), StandardCharsets.US_ASCII);
    }

    private void serve(String status, String type, String body) {
        policy = new String[] {status, type, body};
    }

    private MtaSts.Builder sts(ManualClock clock) throws IOException {
        return MtaSts.builder().resolver(resolver).cache(dir.resolve("sts-cache")).tls(Tls.client(cert)).clock(clock)
                .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", proxyPort))).timeout(Duration.ofSeconds(10));
    }

    private RecordingHop hop(Tls tls) throws Exception {
        RecordingHop h = tls == null ? RecordingHop.offering() : RecordingHop.withTls(tls);
        toClose.add(h);
        return h;
    }

    private RelayQueue queue(RecordingHop h, ManualClock clock) throws Exception {
        SmtpTestSupport.users(dir);
        int port = Integer.parseInt(h.hostPort().substring(h.hostPort().lastIndexOf(':') + 1));
        return RelayQueue.builder().directory(dir.resolve("queue")).heloName("example.test")
                .resolver(DnsMxResolver.over(resolver, port))
                .localDelivery("example.test", Maildir.open(dir.resolve("maildir"))).clock(clock)
                .timeout(Duration.ofSeconds(10)).verifiedTls(Tls.client(cert)).mtaSts(sts(clock).build()).build();
    }

    private static byte[] message(String extraHeader) {
        return ("From: alice@example.test\r\n" + extraHeader + "Subject: sts\r\n\r\nbody\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void anEnforcedPolicyIsFetchedAndMailGoesOverVerifiedTlsToTheListedMx() throws Exception {
        RecordingHop h = hop(serverTls);
        RelayQueue q = queue(h, ManualClock.create());
        q.enqueue("alice@example.test", List.of("bob@remote.test"), message(""));
        q.deliverDue();
        assertEquals(0, q.size());
        assertEquals(List.of(true), h.secure);
        assertEquals(1, fetches.size());
        assertTrue(fetches.get(0).startsWith("CONNECT mta-sts.remote.test:443 HTTP/1.1 GET /.well-known/mta-sts.txt HTTP/1.1"),
                fetches.toString());
    }

    /** Relays a REQUIRETLS message to bob@remote.test through a queue to a REQUIRETLS hop; returns the hop. */
    private RecordingHop relayRequiringTls() throws Exception {
        RecordingHop h = RecordingHop.withTls(serverTls, "REQUIRETLS");
        toClose.add(h);
        RelayQueue q = queue(h, ManualClock.create());
        SmtpTestSupport.relay(q, "bob@remote.test", true, message(""));
        q.deliverDue();
        assertEquals(0, q.size(), "delivered or bounced, not waiting");
        return h;
    }

    @Test
    void aRequireTlsMessageGoesToAnMxAnEnforcedPolicyNamesThoughDnssecDidNotVouchForIt() throws Exception {
        // the zone's server is authoritative and sets no AD bit: only the policy vouches for the MX
        RecordingHop h = relayRequiringTls();
        assertEquals(1, h.messages.size());
        assertEquals(List.of(true), h.secure);
        assertEquals(List.of(), SmtpTestSupport.delivered(dir, "alice"), "no bounce");
    }

    @Test
    void underATestingPolicyAnUnauthenticatedMxGetsNoRequireTlsMessage() throws Exception {
        serve("200 OK", "text/plain", "version: STSv1\nmode: testing\nmx: mx.remote.test\nmax_age: 86400\n");
        RecordingHop h = relayRequiringTls();
        assertEquals(List.of(), h.commands, "not even connected to");
        List<Path> bounces = SmtpTestSupport.delivered(dir, "alice");
        assertEquals(1, bounces.size());
        String dsn = Files.readString(bounces.get(0));
        assertTrue(dsn.contains("Status: 5.7.30") && dsn.contains("not DNSSEC-authenticated"), dsn);
    }

    @Test
    void underAnEnforcedPolicyAHopWithoutTlsGetsNothingAndTheMailWaits() throws Exception {
        RecordingHop h = hop(null);
        RelayQueue q = queue(h, ManualClock.create());
        q.enqueue("alice@example.test", List.of("bob@remote.test"), message(""));
        q.deliverDue();
        assertEquals(1, q.size(), "retried later, not bounced");
        assertEquals(List.of(), h.messages);
    }

    @Test
    void anMxThePolicyDoesNotNameIsNotUsed() throws Exception {
        serve("200 OK", "text/plain", "version: STSv1\nmode: enforce\nmx: *.elsewhere.test\nmax_age: 86400\n");
        RecordingHop h = hop(serverTls);
        RelayQueue q = queue(h, ManualClock.create());
        q.enqueue("alice@example.test", List.of("bob@remote.test"), message(""));
        q.deliverDue();
        assertEquals(1, q.size());
        assertEquals(List.of(), h.commands, "not even connected to");
    }

    @Test
    void aTestingPolicyOnlyLogsAndTlsRequiredNoSetsAnEnforcedOneAside() throws Exception {
        RecordingHop h = hop(null);
        RelayQueue q = queue(h, ManualClock.create());
        q.enqueue("alice@example.test", List.of("bob@remote.test"), message("TLS-Required: No\r\n"));
        q.deliverDue();
        assertEquals(1, h.messages.size(), "TLS-Required: No (RFC 8689 §5)");
        Files.deleteIfExists(dir.resolve("sts-cache/remote.test.policy"));
        writeZone("id2");
        dns.reload();
        serve("200 OK", "text/plain; charset=utf-8", "version: STSv1\nmode: testing\nmx: mx.remote.test\nmax_age: 86400\n");
        q.enqueue("alice@example.test", List.of("bob@remote.test"), message(""));
        q.deliverDue();
        assertEquals(2, h.messages.size(), "testing mode delivers anyway");
        assertEquals(0, q.size());
    }

    @Test
    void thePolicyIsCachedOnDiskAcrossRestartsAndRefetchedWhenTheIdChangesOrItExpires() throws Exception {
        ManualClock clock = ManualClock.create();
        Optional<MtaSts.Policy> p = sts(clock).build().policy("remote.test");
        assertEquals(MtaSts.Mode.ENFORCE, p.orElseThrow().mode());
        assertEquals(List.of("mx.remote.test"), p.get().mx());
        assertEquals(1, fetches.size());
        assertEquals(p, sts(clock).build().policy("remote.test"), "a new instance reads the cache");
        assertEquals(1, fetches.size(), "not fetched again");
        // the policy host is now broken: the cached policy stands while fresh
        serve("500 Oops", "text/plain", "");
        writeZone("id2");
        dns.reload();
        MtaSts again = sts(clock).build();
        assertEquals(MtaSts.Mode.ENFORCE, again.policy("remote.test").orElseThrow().mode());
        assertEquals(2, fetches.size(), "the new id was tried");
        serve("200 OK", "text/plain", "version: STSv1\nmode: enforce\nmx: *.remote.test\nmax_age: 600\n");
        assertEquals(List.of("*.remote.test"), again.policy("remote.test").orElseThrow().mx(), "refetched for id2");
        assertEquals(3, fetches.size());
        assertEquals(List.of("*.remote.test"), again.policy("remote.test").orElseThrow().mx());
        assertEquals(3, fetches.size(), "id2 is cached");
        clock.advance(Duration.ofSeconds(601));
        serve("404 Not Found", "text/plain", "");
        assertEquals(Optional.empty(), again.policy("remote.test"), "expired, and none to be had");
        assertEquals(4, fetches.size());
    }

    @Test
    void aPolicyThatIsNotPlainTextTooLargeMalformedOrARedirectIsNone() throws Exception {
        ManualClock clock = ManualClock.create();
        for (String[] bad : List.of(
                new String[] {"200 OK", "text/html", "version: STSv1\nmode: enforce\nmx: mx.remote.test\nmax_age: 86400\n"},
                new String[] {"301 Moved", "text/plain", ""},
                new String[] {"200 OK", "text/plain", "version: STSv1\nmode: enforce\nmax_age: 86400\n"},
                new String[] {"200 OK", "text/plain", "version: STSv1\nmode: always\nmx: a.test\nmax_age: 86400\n"},
                new String[] {"200 OK", "text/plain", "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 99999999999\n"},
                new String[] {"200 OK", "text/plain", "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 1\n"
                        + "x: " + "y".repeat(70_000) + "\n"})) {
            serve(bad[0], bad[1], bad[2]);
            assertEquals(Optional.empty(), sts(clock).build().policy("remote.test"), bad[0] + " " + bad[1] + " " + bad[2].length());
        }
    }

    @Test
    @Timeout(60)
    void aPolicyHostThatHangsDelaysOnlyTheMailForItsOwnDomain() throws Exception {
        ManualClock clock = ManualClock.create();
        // a timeout longer than the wait below: one lock for every domain would make it fail
        MtaSts sts = sts(clock).timeout(Duration.ofSeconds(45)).build();
        CompletableFuture<Optional<MtaSts.Policy>> slow = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                slow.complete(sts.policy("slow.remote.test"));
            } catch (Throwable t) {
                slow.completeExceptionally(t);
            }
        });
        assertTrue(slowArrived.await(20, TimeUnit.SECONDS), "the slow domain's fetch began");
        CompletableFuture<Optional<MtaSts.Policy>> other = CompletableFuture.supplyAsync(() -> {
            try {
                return sts.policy("remote.test");
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }, runnable -> Thread.ofVirtual().start(runnable));
        assertEquals(MtaSts.Mode.ENFORCE, other.get(20, TimeUnit.SECONDS).orElseThrow().mode(),
                "another domain's policy while the slow host still holds its fetch");
        assertTrue(!slow.isDone(), "the slow domain is still waiting for its host");
        releaseSlow.countDown();
        assertEquals(Optional.empty(), slow.get(20, TimeUnit.SECONDS), "no answer from its host: no policy");
    }

    @Test
    void aNameThatIsNotAHostNameHasNoPolicyAndNamesNoFile() throws Exception {
        ManualClock clock = ManualClock.create();
        // a valid cached policy beside the cache directory: a name with ".." must not reach it
        Files.createDirectories(dir.resolve("sts-cache"));
        Files.writeString(dir.resolve("outside.policy"), "id x1\nfetched " + clock.instant().toEpochMilli()
                + "\nversion: STSv1\nmode: enforce\nmx: evil.test\nmax_age: 86400\n");
        MtaSts sts = sts(clock).build();
        for (String name : List.of("../outside", "sts-cache/../../outside", "a/b.test", "[127.0.0.1]", "a..b", "-a.test", "")) {
            assertEquals(Optional.empty(), sts.policy(name), name);
        }
        assertEquals(List.of(), fetches);
        try (var files = Files.list(dir.resolve("sts-cache"))) {
            assertEquals(List.of(), files.toList(), "no cache file was made");
        }
        assertEquals(MtaSts.Mode.ENFORCE, sts.policy("REMOTE.test.").orElseThrow().mode(), "case and a final dot do not matter");
    }

    @Test
    void wildcardPatternsMatchOneLabel() {
        MtaSts.Policy p = new MtaSts.Policy("1", MtaSts.Mode.ENFORCE, List.of("*.example.org", "mx.other.test"),
                Duration.ofDays(1), java.time.Instant.EPOCH);
        assertTrue(p.matches("mx1.example.org"));
        assertTrue(p.matches("MX.Other.Test."));
        assertTrue(!p.matches("example.org"));
        assertTrue(!p.matches("a.b.example.org"));
    }
}
