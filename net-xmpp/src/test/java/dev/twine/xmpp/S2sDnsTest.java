package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.twine.core.Tls;
import dev.twine.core.auth.UsersFile;
import dev.twine.dns.DnsServer;
import dev.twine.dns.Resolver;
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
 * connections, so the higher one's is used (RFC 6120 §3.2.1).
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
}
