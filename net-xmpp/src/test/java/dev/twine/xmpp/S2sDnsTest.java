package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.LineReader;
import dev.twine.core.LineWriter;
import dev.twine.core.Server;
import dev.twine.core.Tls;
import dev.twine.core.auth.UsersFile;
import dev.twine.dns.DnsServer;
import dev.twine.dns.Resolver;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Federation over loopback sockets, each server finding the other by {@code _xmpp-server._tcp}
 * SRV records served by a Twine {@link DnsServer}: the lower priority's target refuses
 * connections, so the higher one's is used (RFC 6120 §3.2.1); and {@code _xmpps-server._tcp}
 * records (XEP-0368), preferred at equal priority, reached by direct TLS with the domain as SNI,
 * ALPN {@code xmpp-server} and the server's own certificate.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class S2sDnsTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    @TempDir
    Path dir;
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void stop() {
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (Exception ignored) {
                // best effort
            }
        }
    }

    private XmppServer start(String domain, String user, AtomicReference<S2sConnector> dns) throws Exception {
        Path d = Files.createDirectories(dir.resolve(domain));
        Path users = d.resolve("users");
        UsersFile.addUser(users, user, ("secret-" + user).toCharArray());
        XmppServer s = XmppServer.builder().domain(domain).users(UsersFile.load(users)).dataDirectory(d.resolve("data"))
                .tls(Tls.selfSigned(d.resolve("cert.pem"), d.resolve("key.pem"), List.of(domain)))
                .listen("tcp:0:interface=127.0.0.1").s2sListen("tcp:0:interface=127.0.0.1")
                .s2sConnector(name -> dns.get().connect(name)).build();
        s.start();
        open.add(s);
        return s;
    }

    private XmppClient login(XmppServer s, String user) throws Exception {
        XmppClient c = XmppClient.builder(user + "@" + s.domain() + "/r", ("secret-" + user).toCharArray())
                .endpoint("tcp:127.0.0.1:" + s.port()).tls(Tls.client(dir.resolve(s.domain()).resolve("cert.pem")))
                .timeout(WAIT).connect();
        open.add(c);
        return c;
    }

    @Test
    void serversFindEachOtherBySrvRecordsAndFallBackToTheNextTarget() throws Exception {
        AtomicReference<S2sConnector> dns = new AtomicReference<>();
        XmppServer a = start("example.test", "alice", dns);
        XmppServer b = start("other.test", "bob", dns);
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort(); // free, so nothing listens there once closed
        }
        Path zone = dir.resolve("test.zone");
        Files.writeString(zone, """
                $ORIGIN test.
                $TTL 300
                @        IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300
                @        IN NS  ns
                ns       IN A   127.0.0.1
                _xmpp-server._tcp.example IN SRV 0 5 %d xmpp.example
                _xmpp-server._tcp.other   IN SRV 10 5 %d down.other
                _xmpp-server._tcp.other   IN SRV 20 5 %d xmpp.other
                xmpp.example IN A 127.0.0.1
                xmpp.other   IN A 127.0.0.1
                down.other   IN A 127.0.0.1
                """.formatted(a.serverPort(), closed, b.serverPort()), StandardCharsets.US_ASCII);
        DnsServer server = DnsServer.builder().zone(zone).listen("udp:0:interface=127.0.0.1").build();
        server.start();
        open.add(server);
        dns.set(S2sConnector.dns(Resolver.builder().server("127.0.0.1", server.port()).timeout(Duration.ofSeconds(2)).build()));

        XmppClient alice = login(a, "alice");
        XmppClient bob = login(b, "bob");
        bob.sendPresence(0);
        alice.sendMessage(Jid.parse("bob@other.test"), "found you");
        assertEquals("found you", bob.await(e -> e.name().equals("message"), WAIT).orElseThrow().childText("body").orElseThrow());
        bob.sendMessage(Jid.parse("alice@example.test/r"), "and you");
        assertEquals("and you", alice.await(e -> e.name().equals("message"), WAIT).orElseThrow().childText("body").orElseThrow());
    }

    private Resolver resolver(String zoneText) throws Exception {
        Path zone = dir.resolve("test.zone");
        Files.writeString(zone, """
                $ORIGIN test.
                $TTL 300
                @        IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300
                @        IN NS  ns
                ns       IN A   127.0.0.1
                """ + zoneText, StandardCharsets.US_ASCII);
        DnsServer server = DnsServer.builder().zone(zone).listen("udp:0:interface=127.0.0.1").build();
        server.start();
        open.add(server);
        return Resolver.builder().server("127.0.0.1", server.port()).timeout(Duration.ofSeconds(2)).build();
    }

    /** Passes the server's direct-TLS configuration on, as a lambda around {@code connect(domain)} would not. */
    private static S2sConnector later(AtomicReference<S2sConnector> ref) {
        return new S2sConnector() {
            @Override
            public Connection connect(String domain) throws IOException, InterruptedException {
                return ref.get().connect(domain);
            }

            @Override
            public Connection connect(String domain, Tls directTls) throws IOException, InterruptedException {
                return ref.get().connect(domain, directTls);
            }
        };
    }

    @Test
    void directTlsRecordsArePreferredAtEqualPriorityWithTheDomainAsSniAndOurCertificate() throws Exception {
        Path a = Files.createDirectories(dir.resolve("example.test"));
        Path b = Files.createDirectories(dir.resolve("other.test"));
        Tls.selfSigned(a.resolve("cert.pem"), a.resolve("key.pem"), List.of("example.test"));
        Tls.selfSigned(b.resolve("cert.pem"), b.resolve("key.pem"), List.of("other.test"));
        Tls.selfSigned(b.resolve("default.pem"), b.resolve("default.key"), List.of("default.test"));
        AtomicReference<S2sConnector> dns = new AtomicReference<>();
        for (String u : List.of("alice", "bob")) {
            UsersFile.addUser(dir.resolve(u.equals("alice") ? "example.test" : "other.test").resolve("users"), u, ("secret-" + u).toCharArray());
        }
        // example.test requires other.test's certificate: only the SNI name gets it, not the default
        XmppServer x = XmppServer.builder().domain("example.test").users(UsersFile.load(a.resolve("users")))
                .dataDirectory(a.resolve("data")).tls(Tls.server(a.resolve("cert.pem"), a.resolve("key.pem")))
                .listen("tcp:0:interface=127.0.0.1").s2sListen("tcp:0:interface=127.0.0.1")
                .requireValidCertificates(true).s2sTrust(b.resolve("cert.pem")).s2sConnector(later(dns)).build();
        x.start();
        open.add(x);
        // other.test can reach nobody, so no dialback: example.test's certificate must come over direct TLS (EXTERNAL)
        XmppServer o = XmppServer.builder().domain("other.test").users(UsersFile.load(b.resolve("users")))
                .dataDirectory(b.resolve("data"))
                .tls(Tls.serverBuilder().certificate(b.resolve("default.pem"), b.resolve("default.key"))
                        .certificate("other.test", b.resolve("cert.pem"), b.resolve("key.pem")).build())
                .listen("tcp:0:interface=127.0.0.1").s2sListen("tls:0:interface=127.0.0.1").s2sTrust(a.resolve("cert.pem"))
                .s2sConnector(domain -> {
                    throw new java.net.UnknownHostException(domain);
                }).build();
        o.start();
        open.add(o);
        try (ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            // the STARTTLS record at the same priority leads to a server that never answers
            dns.set(S2sConnector.dns(resolver("""
                    _xmpp-server._tcp.other  IN SRV 10 5 %d xmpp.other
                    _xmpps-server._tcp.other IN SRV 10 5 %d xmpp.other
                    xmpp.other   IN A   127.0.0.1
                    """.formatted(silent.getLocalPort(), o.serverPort()))));
            XmppClient alice = login(x, "alice");
            XmppClient bob = XmppClient.builder("bob@other.test/r", "secret-bob".toCharArray())
                    .endpoint("tcp:127.0.0.1:" + o.port()).tls(Tls.client(b.resolve("cert.pem"))).timeout(WAIT).connect();
            open.add(bob);
            bob.sendPresence(0);
            alice.sendMessage(Jid.parse("bob@other.test"), "direct");
            assertEquals("direct", bob.await(e -> e.name().equals("message"), WAIT).orElseThrow().childText("body").orElseThrow());
        }
    }

    @Test
    void theDnsConnectorOffersAlpnXmppServerOnDirectTlsAndSkipsANoServiceRecord() throws Exception {
        Path p = Files.createDirectories(dir.resolve("alpn"));
        Tls tls = Tls.selfSigned(p.resolve("cert.pem"), p.resolve("key.pem"), List.of("alpn.test"));
        Server peer = Server.builder("peer").listen("tcp:0:interface=127.0.0.1").handler(c -> {
            c.startTls(tls.withAlpn("xmpp-server", "other"));
            LineWriter.of(c).writeLine("alpn=" + c.applicationProtocol().orElse("none")).flush();
        }).start();
        open.add(peer);
        Resolver r = resolver("""
                _xmpp-server._tcp.alpn  IN SRV 0 0 0 .
                _xmpps-server._tcp.alpn IN SRV 5 0 %d xmpp.alpn
                xmpp.alpn IN A 127.0.0.1
                """.formatted(peer.port()));
        try (Connection c = S2sConnector.dns(r).connect("alpn.test")) {
            assertTrue(c.isSecure());
            assertEquals("alpn=xmpp-server", LineReader.of(c, 100).readLine());
        }
    }
}
