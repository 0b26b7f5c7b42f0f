package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.Tls;
import dev.twine.core.auth.UsersFile;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Federation between two servers over in-memory connections: example.test (alice) and
 * other.test (bob), each reaching the other through an {@link S2sConnector} that serves the
 * other's {@link XmppServer#serverHandler()}; and raw streams for what a peer may get wrong.
 */
class S2sTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private final List<AutoCloseable> open = new ArrayList<>();
    private final Map<String, XmppServer> servers = new ConcurrentHashMap<>();
    private Path dir;

    @AfterEach
    void tearDown() throws IOException {
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (Exception ignored) {
                // best effort
            }
        }
        if (dir != null) {
            try (Stream<Path> walk = Files.walk(dir)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Connects to whichever of our servers serves the domain, in memory. */
    private final S2sConnector memory = domain -> {
        XmppServer s = servers.get(domain);
        for (String d = domain; s == null && d.indexOf('.') > 0; d = d.substring(d.indexOf('.') + 1)) {
            s = servers.get(d); // conference.example.test is served by example.test's server
        }
        if (s == null) {
            throw new UnknownHostException(domain);
        }
        MemoryConnections.Served served = MemoryConnections.serve(s.serverHandler(), Chunking.random(domain.length()));
        open.add(served);
        return served.client();
    };

    private XmppServer server(String domain, String user, UnaryOperator<XmppServer.Builder> settings) throws IOException {
        Path d = Files.createDirectories(dir().resolve(domain));
        Path users = d.resolve("users");
        Files.createFile(users);
        UsersFile.addUser(users, user, ("secret-" + user).toCharArray());
        XmppServer s = settings.apply(XmppServer.builder().domain(domain).users(UsersFile.load(users))
                .dataDirectory(d.resolve("data")).s2sConnector(memory)).build();
        servers.put(domain, s);
        open.add(s);
        return s;
    }

    /** The server's certificate and key, made for {@code names} (the first server of a domain makes them). */
    private Tls certificate(String domain, String... names) throws IOException {
        Path d = Files.createDirectories(dir().resolve(domain + "-tls"));
        return Tls.selfSigned(d.resolve("cert.pem"), d.resolve("key.pem"), List.of(names));
    }

    private Path dir() throws IOException {
        if (dir == null) {
            dir = Files.createTempDirectory("twine-s2s-");
        }
        return dir;
    }

    private XmppClient login(XmppServer s, String user) throws IOException {
        MemoryConnections.Served served = MemoryConnections.serve(s.clientHandler(), Chunking.whole());
        open.add(served);
        XmppClient c = XmppClient.builder(user + "@" + s.domain() + "/r", ("secret-" + user).toCharArray())
                .connection(served.client()).requireTls(false).allowPlainWithoutTls(true)
                .tls(Tls.client(dir.resolve(s.domain() + "-tls").resolve("cert.pem"))).timeout(WAIT).connect();
        open.add(c);
        return c;
    }

    private Connection memoryClient(XmppServer s) {
        MemoryConnections.Served served = MemoryConnections.serve(s.clientHandler(), Chunking.whole());
        open.add(served);
        return served.client();
    }

    private XmppClient loginPlain(XmppServer s, String user) throws IOException {
        MemoryConnections.Served served = MemoryConnections.serve(s.clientHandler(), Chunking.whole());
        open.add(served);
        XmppClient c = XmppClient.builder(user + "@" + s.domain() + "/r", ("secret-" + user).toCharArray())
                .connection(served.client()).requireTls(false).allowPlainWithoutTls(true).timeout(WAIT).connect();
        open.add(c);
        return c;
    }

    private static Element body(XmppClient c, String from) throws Exception {
        return c.await(e -> e.name().equals("message") && e.attributeOrEmpty("from").startsWith(from), WAIT)
                .orElseThrow(() -> new AssertionError("no message from " + from));
    }

    private static Element error(XmppClient c) throws Exception {
        return c.await(e -> e.attributeOrEmpty("type").equals("error"), WAIT).orElseThrow(() -> new AssertionError("no error"));
    }

    private static String condition(Element error) {
        return error.child("error", "jabber:client").orElseThrow().children().get(0).name();
    }

    private void tlsPair(UnaryOperator<XmppServer.Builder> otherSettings) throws IOException {
        Tls a = certificate("example.test", "example.test");
        Tls b = certificate("other.test", "other.test");
        server("example.test", "alice", x -> x.tls(a).requireTls(false));
        server("other.test", "bob", x -> otherSettings.apply(x.tls(b).requireTls(false)));
    }

    @Test
    void messagesAndPingCrossDomainsBothWaysOverTlsWithDialback() throws Exception {
        tlsPair(x -> x);
        XmppClient alice = login(servers.get("example.test"), "alice");
        XmppClient bob = login(servers.get("other.test"), "bob");
        bob.sendPresence(0);
        assertTrue(alice.isSecure() && bob.isSecure());
        alice.sendMessage(Jid.parse("bob@other.test"), "hi bob");
        assertEquals("hi bob", body(bob, "alice@example.test/r").childText("body").orElseThrow());
        bob.sendMessage(Jid.parse("alice@example.test/r"), "hi alice");
        assertEquals("hi alice", body(alice, "bob@other.test/r").childText("body").orElseThrow());
        Element pong = alice.request(Element.of("iq", "jabber:client").withAttribute("type", "get").withAttribute("to", "other.test")
                .withChild(Element.of("ping", "urn:xmpp:ping")), WAIT);
        assertEquals("result", pong.attributeOrEmpty("type"));
        assertEquals("other.test", pong.attributeOrEmpty("from"));
        // one stream per direction, reused
        assertEquals(1, servers.get("example.test").outgoingServerStreams());
        assertEquals(1, servers.get("other.test").outgoingServerStreams());
    }

    @Test
    void subscriptionAndPresenceCrossDomains() throws Exception {
        tlsPair(x -> x);
        XmppClient alice = login(servers.get("example.test"), "alice");
        XmppClient bob = login(servers.get("other.test"), "bob");
        alice.sendPresence(0);
        bob.sendPresence(0);
        alice.sendSubscription(Jid.parse("bob@other.test"), "subscribe");
        bob.await(e -> e.name().equals("presence") && e.attributeOrEmpty("type").equals("subscribe")
                && e.attributeOrEmpty("from").equals("alice@example.test"), WAIT).orElseThrow();
        bob.sendSubscription(Jid.parse("alice@example.test"), "subscribed");
        // RFC 6121 §3.1.5: the contact's server sends the contact's presence once subscribed
        alice.await(e -> e.name().equals("presence") && e.attributeOrEmpty("from").equals("bob@other.test/r")
                && e.attribute("type").isEmpty(), WAIT).orElseThrow();
        assertTrue(alice.roster(WAIT).stream().anyMatch(r -> r.jid().equals(Jid.parse("bob@other.test")) && r.subscription().equals("to")));
    }

    @Test
    void stanzasRoutedWhileTheStreamOpensArriveInOrder() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        server("example.test", "alice", x -> x.requireTls(false).s2sConnector(domain -> {
            release.await();
            return memory.connect(domain);
        }));
        server("other.test", "bob", x -> x.requireTls(false));
        XmppClient alice = loginPlain(servers.get("example.test"), "alice");
        XmppClient bob = loginPlain(servers.get("other.test"), "bob");
        bob.sendPresence(0);
        for (int i = 0; i < 3; i++) {
            alice.sendMessage(Jid.parse("bob@other.test"), "m" + i);
        }
        // routed and queued: nothing bounced, the stream is being set up
        Element ping = alice.request(Element.of("iq", "jabber:client").withAttribute("type", "get")
                .withChild(Element.of("ping", "urn:xmpp:ping")), WAIT);
        assertEquals("result", ping.attributeOrEmpty("type"));
        assertEquals(1, servers.get("example.test").outgoingServerStreams());
        release.countDown();
        for (int i = 0; i < 3; i++) {
            assertEquals("m" + i, body(bob, "alice@example.test").childText("body").orElseThrow());
        }
    }

    @Test
    void aDomainWithNoServerBouncesRemoteServerNotFound() throws Exception {
        server("example.test", "alice", x -> x.requireTls(false));
        XmppClient alice = loginPlain(servers.get("example.test"), "alice");
        alice.sendMessage(Jid.parse("bob@nowhere.test"), "hello?");
        Element e = error(alice);
        assertEquals("nowhere.test", Jid.parse(e.attributeOrEmpty("from")).domain());
        assertEquals("remote-server-not-found", condition(e));
        assertEquals(0, servers.get("example.test").outgoingServerStreams());
    }

    @Test
    void aServerThatTimesOutBouncesRemoteServerTimeout() throws Exception {
        server("example.test", "alice", x -> x.requireTls(false).s2sConnector(domain -> {
            throw new SocketTimeoutException("no answer from " + domain);
        }));
        XmppClient alice = loginPlain(servers.get("example.test"), "alice");
        alice.sendMessage(Jid.parse("bob@slow.test"), "hello?");
        assertEquals("remote-server-timeout", condition(error(alice)));
    }

    @Test
    void stanzasPastTheQueueBoundBounceWhileTheStreamOpens() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        server("example.test", "alice", x -> x.requireTls(false).s2sLimits(2, 8).s2sConnector(domain -> {
            release.await();
            throw new UnknownHostException(domain);
        }));
        XmppClient alice = loginPlain(servers.get("example.test"), "alice");
        for (int i = 0; i < 3; i++) {
            alice.sendMessage(Jid.parse("bob@other.test"), "m" + i);
        }
        assertEquals("resource-constraint", condition(error(alice)));
        release.countDown();
        assertEquals("remote-server-not-found", condition(error(alice)));
        assertEquals("remote-server-not-found", condition(error(alice)));
    }

    @Test
    void aMismatchedCertificateIsRefusedWhenValidOnesAreRequired() throws Exception {
        Tls a = certificate("example.test", "wrong.test");
        Tls b = certificate("other.test", "other.test");
        server("example.test", "alice", x -> x.tls(a).requireTls(false));
        server("other.test", "bob", x -> x.tls(b).requireTls(false).requireValidCertificates(true)
                .s2sTrust(dir.resolve("example.test-tls").resolve("cert.pem")));
        XmppClient alice = XmppClient.builder("alice@example.test/r", "secret-alice".toCharArray())
                .connection(memoryClient(servers.get("example.test"))).requireTls(false).timeout(WAIT)
                .tls(Tls.clientAcceptingAnyCertificate()).connect(); // its certificate names another domain
        open.add(alice);
        alice.sendMessage(Jid.parse("bob@other.test"), "hi");
        // other.test asked example.test's server to verify, judged its certificate, and said invalid
        assertEquals("remote-server-not-found", condition(error(alice)));
    }

    @Test
    void aMatchingTrustedCertificateIsAcceptedWhenValidOnesAreRequired() throws Exception {
        Tls a = certificate("example.test", "example.test");
        Tls b = certificate("other.test", "other.test");
        server("example.test", "alice", x -> x.tls(a).requireTls(false).requireValidCertificates(true)
                .s2sTrust(dir.resolve("other.test-tls").resolve("cert.pem")));
        server("other.test", "bob", x -> x.tls(b).requireTls(false).requireValidCertificates(true)
                .s2sTrust(dir.resolve("example.test-tls").resolve("cert.pem")));
        XmppClient alice = login(servers.get("example.test"), "alice");
        XmppClient bob = login(servers.get("other.test"), "bob");
        bob.sendPresence(0);
        alice.sendMessage(Jid.parse("bob@other.test"), "verified");
        assertEquals("verified", body(bob, "alice@example.test").childText("body").orElseThrow());
    }

    @Test
    void anUntrustedCertificateIsAcceptedOnDialbackForAnAllowedDomain() throws Exception {
        tlsPair(x -> x.requireValidCertificates(true).dialbackAllowed("example.test"));
        XmppClient alice = login(servers.get("example.test"), "alice");
        XmppClient bob = login(servers.get("other.test"), "bob");
        bob.sendPresence(0);
        alice.sendMessage(Jid.parse("bob@other.test"), "self-signed but allowed");
        assertEquals("self-signed but allowed", body(bob, "alice@example.test").childText("body").orElseThrow());
    }

    // ---------------------------------------------------------------- SASL EXTERNAL (RFC 6120 §6.4, XEP-0178)

    /** other.test trusts example.test's certificate and cannot reach it: only SASL EXTERNAL can authenticate example.test. */
    private void externalOnly(String... exampleNames) throws IOException {
        Tls a = certificate("example.test", exampleNames);
        Tls b = certificate("other.test", "other.test");
        server("example.test", "alice", x -> x.tls(a).requireTls(false));
        server("other.test", "bob", x -> x.tls(b).requireTls(false).s2sTrust(dir.resolve("example.test-tls").resolve("cert.pem"))
                .s2sConnector(domain -> {
                    throw new UnknownHostException("no dialback verification possible for " + domain);
                }));
    }

    @Test
    void aMatchingCertificateAuthenticatesByExternalWithoutDialback() throws Exception {
        externalOnly("example.test");
        XmppClient alice = login(servers.get("example.test"), "alice");
        XmppClient bob = login(servers.get("other.test"), "bob");
        bob.sendPresence(0);
        alice.sendMessage(Jid.parse("bob@other.test"), "by certificate");
        assertEquals("by certificate", body(bob, "alice@example.test/r").childText("body").orElseThrow());
        assertEquals(0, servers.get("other.test").outgoingServerStreams(), "no verification stream was needed");
    }

    @Test
    void aMismatchedCertificateGetsNoExternalAndFallsBackToDialback() throws Exception {
        externalOnly("wrong.test");
        XmppClient alice = XmppClient.builder("alice@example.test/r", "secret-alice".toCharArray())
                .connection(memoryClient(servers.get("example.test"))).requireTls(false).timeout(WAIT)
                .tls(Tls.clientAcceptingAnyCertificate()).connect();
        open.add(alice);
        alice.sendMessage(Jid.parse("bob@other.test"), "hi");
        // no EXTERNAL offered for a certificate of wrong.test; dialback could not be verified
        assertEquals("remote-server-not-found", condition(error(alice)));
    }

    /** A raw stream to other.test over TLS, presenting {@code example.test}'s certificate; the features after TLS. */
    private String rawTlsToOther(Connection c) throws IOException {
        Fixture.write(c, "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'"
                + " xmlns:db='jabber:server:dialback' from='example.test' to='other.test' version='1.0'>");
        assertTrue(Fixture.readUntil(c, "</stream:features>").contains("<starttls"));
        Fixture.write(c, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        Fixture.readUntil(c, "/>");
        Path a = dir.resolve("example.test-tls");
        c.startTls(Tls.clientBuilder().trust(dir.resolve("other.test-tls").resolve("cert.pem"))
                .certificate(a.resolve("cert.pem"), a.resolve("key.pem")).build(), "other.test");
        Fixture.write(c, "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'"
                + " xmlns:db='jabber:server:dialback' from='example.test' to='other.test' version='1.0'>");
        return Fixture.readUntil(c, "</stream:features>");
    }

    @Test
    void externalIsOfferedForTheCertifiedDomainOnlyAndRefusesAnotherAuthorizationIdentity() throws Exception {
        externalOnly("example.test");
        XmppClient bob = login(servers.get("other.test"), "bob");
        bob.sendPresence(0);
        MemoryConnections.Served s = MemoryConnections.serve(servers.get("other.test").serverHandler(), Chunking.byteByByte());
        open.add(s);
        Connection c = s.client();
        String features = rawTlsToOther(c);
        assertTrue(features.contains("<mechanism>EXTERNAL</mechanism>"), features);
        String evil = java.util.Base64.getEncoder().encodeToString("evil.test".getBytes(StandardCharsets.UTF_8));
        Fixture.write(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>" + evil + "</auth>");
        assertTrue(Fixture.readUntil(c, "</failure>").contains("<invalid-authzid/>"));
        Fixture.write(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>=</auth>");
        assertTrue(Fixture.readUntil(c, "</failure>").contains("<invalid-mechanism/>"));
        String ours = java.util.Base64.getEncoder().encodeToString("example.test".getBytes(StandardCharsets.UTF_8));
        Fixture.write(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>" + ours + "</auth>");
        assertTrue(Fixture.readUntil(c, "/>").contains("<success"));
        Fixture.write(c, "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'"
                + " from='example.test' to='other.test' version='1.0'>");
        String again = Fixture.readUntil(c, "</stream:features>");
        assertTrue(!again.contains("EXTERNAL"), "authenticated already: " + again);
        Fixture.write(c, "<message from='juliet@example.test/balcony' to='bob@other.test' type='chat'><body>certified</body></message>");
        assertEquals("certified", body(bob, "juliet@example.test/balcony").childText("body").orElseThrow());
        Fixture.write(c, "<message from='romeo@conference.example.test' to='bob@other.test'><body>not authenticated</body></message>");
        assertTrue(Fixture.readToEnd(c).contains("<invalid-from"));
    }

    // ---------------------------------------------------------------- raw dialback

    private static final String SECRET = "the example.test dialback secret";

    /** example.test (the authoritative server, with a known secret) and other.test, plaintext; a raw stream to other.test. */
    private Connection rawToOther() throws IOException {
        server("example.test", "alice", x -> x.requireTls(false).dialbackSecret(SECRET));
        server("other.test", "bob", x -> x.requireTls(false));
        MemoryConnections.Served s = MemoryConnections.serve(servers.get("other.test").serverHandler(), Chunking.byteByByte());
        open.add(s);
        return s.client();
    }

    /** XEP-0185 §3, computed independently of the server. */
    private static String key(String receiving, String originating, String id) throws Exception {
        byte[] hash = java.security.MessageDigest.getInstance("SHA-256").digest(SECRET.getBytes(StandardCharsets.UTF_8));
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(HexFormat.of().formatHex(hash).getBytes(StandardCharsets.US_ASCII), "HmacSHA256"));
        return HexFormat.of().formatHex(mac.doFinal((receiving + " " + originating + " " + id).getBytes(StandardCharsets.UTF_8)));
    }

    private static String open(Connection c) throws IOException {
        Fixture.write(c, "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'"
                + " xmlns:db='jabber:server:dialback' from='example.test' to='other.test' version='1.0'>");
        String header = Fixture.readUntil(c, "</stream:features>");
        assertTrue(header.contains("urn:xmpp:features:dialback"), header);
        Matcher m = Pattern.compile("id='([^']+)'").matcher(header);
        assertTrue(m.find(), header);
        return m.group(1);
    }

    @Test
    void aValidDialbackKeyAuthenticatesTheDomainAndItsStanzasAreRouted() throws Exception {
        Connection c = rawToOther();
        XmppClient bob = loginPlain(servers.get("other.test"), "bob");
        bob.sendPresence(0);
        String id = open(c);
        Fixture.write(c, "<db:result from='example.test' to='other.test'>" + key("other.test", "example.test", id) + "</db:result>");
        String answer = Fixture.readUntil(c, "/>");
        assertTrue(answer.contains("type='valid'"), answer);
        Fixture.write(c, "<message from='juliet@example.test/balcony' to='bob@other.test' type='chat'><body>hi</body></message>");
        assertEquals("hi", body(bob, "juliet@example.test/balcony").childText("body").orElseThrow());
    }

    @Test
    void anInvalidDialbackKeyIsRefusedAndStanzasGetInvalidFrom() throws Exception {
        Connection c = rawToOther();
        String id = open(c);
        Fixture.write(c, "<db:result from='example.test' to='other.test'>" + key("other.test", "example.test", id + "x") + "</db:result>");
        String answer = Fixture.readUntil(c, "/>");
        assertTrue(answer.contains("type='invalid'"), answer);
        Fixture.write(c, "<message from='juliet@example.test' to='bob@other.test'><body>hi</body></message>");
        String end = Fixture.readToEnd(c);
        assertTrue(end.contains("<invalid-from"), end);
    }

    @Test
    void aPiggybackedDomainIsAuthenticatedOnTheSameStreamAndOnlyThoseDomainsMaySend() throws Exception {
        Connection c = rawToOther();
        XmppClient bob = loginPlain(servers.get("other.test"), "bob");
        bob.sendPresence(0);
        String id = open(c);
        Fixture.write(c, "<db:result from='example.test' to='other.test'>" + key("other.test", "example.test", id) + "</db:result>");
        assertTrue(Fixture.readUntil(c, "/>").contains("type='valid'"));
        // XEP-0344 §2.4: a second domain of the same server (its group chat) on the same stream
        Fixture.write(c, "<db:result from='conference.example.test' to='other.test'>"
                + key("other.test", "conference.example.test", id) + "</db:result>");
        String second = Fixture.readUntil(c, "/>");
        assertTrue(second.contains("type='valid'"), second);
        Fixture.write(c, "<message from='room@conference.example.test/nick' to='bob@other.test' type='chat'><body>from the room</body></message>");
        assertEquals("from the room", body(bob, "room@conference.example.test").childText("body").orElseThrow());
        Fixture.write(c, "<message from='mallory@evil.test' to='bob@other.test'><body>hi</body></message>");
        String end = Fixture.readToEnd(c);
        assertTrue(end.contains("<invalid-from"), end);
    }

    @Test
    void theAuthoritativeServerAnswersVerifyRequests() throws Exception {
        server("example.test", "alice", x -> x.requireTls(false).dialbackSecret(SECRET));
        MemoryConnections.Served s = MemoryConnections.serve(servers.get("example.test").serverHandler(), Chunking.whole());
        open.add(s);
        Connection c = s.client();
        Fixture.write(c, "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'"
                + " xmlns:db='jabber:server:dialback' from='other.test' to='example.test' version='1.0'>");
        Fixture.readUntil(c, "</stream:features>");
        Fixture.write(c, "<db:verify from='other.test' to='example.test' id='abc'>" + key("other.test", "example.test", "abc") + "</db:verify>"
                + "<db:verify from='other.test' to='example.test' id='abd'>" + key("other.test", "example.test", "abc") + "</db:verify>");
        String answers = Fixture.readUntil(c, "id='abd' type='invalid'/>");
        assertTrue(answers.contains("id='abc' type='valid'"), answers);
        assertTrue(answers.contains("id='abd' type='invalid'"), answers);
    }

    @Test
    void aStreamToADomainNotServedGetsHostUnknown() throws Exception {
        server("example.test", "alice", x -> x.requireTls(false));
        MemoryConnections.Served s = MemoryConnections.serve(servers.get("example.test").serverHandler(), Chunking.whole());
        open.add(s);
        Fixture.write(s.client(), "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'"
                + " xmlns:db='jabber:server:dialback' from='other.test' to='elsewhere.test' version='1.0'>");
        assertTrue(Fixture.readToEnd(s.client()).contains("<host-unknown"));
    }
}
