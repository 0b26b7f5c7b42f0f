package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.ManualClock;
import dev.twine.core.testing.MemoryConnections;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The component against a scripted server over in-memory connections, in every chunking: the
 * handshake, the server's refusals, stanza routing through the handler, the error replies, the
 * limits, the timeouts and both ways of ending the stream.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class XmppComponentTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String NS = "jabber:component:accept";
    private static final String OPEN = "<?xml version='1.0'?><stream:stream xmlns='" + NS
            + "' xmlns:stream='http://etherx.jabber.org/streams' to='echo.example'>";
    private static final String HEADER = "<?xml version='1.0'?><stream:stream xmlns='" + NS
            + "' xmlns:stream='http://etherx.jabber.org/streams' id='3b1f' from='echo.example'>";

    /** Echoes message bodies back (not those of errors); answers nothing else. */
    private static final XmppComponent.Handler ECHO = stanza -> stanza.name().equals("message") && stanza.childText("body").isPresent()
            && !stanza.attributeOrEmpty("type").equals("error")
            ? Optional.of(Element.of("message", NS).withAttribute("type", stanza.attribute("type").orElse(null))
                    .withChild(Element.of("body", NS).withText("echo: " + stanza.childText("body").get())))
            : Optional.empty();

    private static String handshake(String id, String secret) throws Exception {
        return "<handshake>" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1")
                .digest((id + secret).getBytes(StandardCharsets.UTF_8))) + "</handshake>";
    }

    /**
     * The server's end of one in-memory pair: {@link #expect} reads what the component wrote
     * next (only whitespace may come before it: keepalives), {@link #send} writes.
     */
    private static final class FakeServer implements AutoCloseable {
        final MemoryConnections.Pair pair;
        private final StringBuilder seen = new StringBuilder();
        private final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        private int pos;

        FakeServer(Chunking chunking, Clock clock) throws IOException {
            pair = MemoryConnections.pair(chunking, clock, MemoryConnections.DEFAULT_CAPACITY);
            pair.server().readTimeout(clock instanceof ManualClock ? Duration.ZERO : WAIT);
        }

        Connection forComponent() {
            return pair.client();
        }

        void expect(String text) throws IOException {
            while (true) {
                int at = seen.indexOf(text, pos);
                if (at >= 0) {
                    assertTrue(seen.substring(pos, at).isBlank(), "expected " + text + " next, but got " + seen.substring(pos));
                    pos = at + text.length();
                    return;
                }
                byte[] buf = new byte[4096];
                int n = pair.server().input().read(buf);
                if (n < 0) {
                    throw new EOFException("the component closed; expected " + text + ", got " + seen.substring(pos));
                }
                bytes.write(buf, 0, n);
                seen.setLength(0);
                seen.append(bytes.toString(StandardCharsets.UTF_8));
            }
        }

        /** Expects the component to close the connection with nothing but whitespace before. */
        void expectClosed() throws IOException {
            byte[] rest = pair.server().input().readAllBytes();
            String more = seen.substring(pos) + new String(rest, StandardCharsets.UTF_8);
            assertTrue(more.isBlank(), "expected the component to close, but it sent " + more);
        }

        void send(String xml) throws IOException {
            pair.server().output().write(xml.getBytes(StandardCharsets.UTF_8));
            pair.server().flush();
        }

        /** Plays the server's side of a successful handshake. */
        void accept() throws Exception {
            expect(OPEN);
            send(HEADER);
            expect(handshake("3b1f", "s3cret"));
            send("<handshake/>");
        }

        @Override
        public void close() {
            pair.close();
        }
    }

    private static XmppComponent component(FakeServer server, XmppComponent.Handler handler, UnaryOperator<XmppComponent.Builder> more) {
        return more.apply(XmppComponent.builder().connection(server.forComponent()).domain("echo.example").secret("s3cret")
                .handler(handler).timeout(WAIT)).build();
    }

    /** Starts the component on another thread while the test plays the server's handshake. */
    private static XmppComponent started(FakeServer server, XmppComponent.Handler handler, UnaryOperator<XmppComponent.Builder> more)
            throws Exception {
        XmppComponent c = component(server, handler, more);
        Thread starting = Thread.ofVirtual().start(() -> {
            try {
                c.start();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        server.accept();
        starting.join(WAIT.toMillis());
        assertFalse(starting.isAlive(), "start() did not return after <handshake/>");
        return c;
    }

    /** What start() throws when the server answers the handshake with {@code reply}. */
    private static XmppException refusal(Chunking chunking, String header, String reply) throws Exception {
        return startFailure(XmppException.class, chunking, header, reply);
    }

    /** What start() throws, of {@code type}, when the server sends {@code header}, then {@code reply} to the handshake. */
    private static <T extends IOException> T startFailure(Class<T> type, Chunking chunking, String header, String reply) throws Exception {
        try (FakeServer server = new FakeServer(chunking, Clock.systemUTC())) {
            XmppComponent c = component(server, ECHO, b -> b);
            Thread serverSide = Thread.ofVirtual().start(() -> {
                try {
                    server.expect(OPEN);
                    server.send(header);
                    if (header.contains("id='3b1f'")) {
                        server.expect(handshake("3b1f", "s3cret"));
                    }
                    server.send(reply);
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            T e = assertThrows(type, c::start);
            serverSide.join(WAIT.toMillis());
            assertTrue(server.forComponent().isClosed(), "the connection stays open after a refusal");
            c.awaitTermination(); // a component that failed to start has terminated
            return e;
        }
    }

    @Test
    void handshakeProvesTheSecretThenMessagesGoThroughTheHandler() throws Exception {
        for (Chunking chunking : Chunking.standard()) {
            try (FakeServer server = new FakeServer(chunking, Clock.systemUTC())) {
                XmppComponent c = started(server, ECHO, b -> b);
                server.send("<message from='alice@example.org/a' to='bot@echo.example' type='chat' id='m1'><body>hi</body></message>");
                server.expect("<message type='chat' to='alice@example.org/a' from='bot@echo.example'><body>echo: hi</body></message>");
                // RFC 6120 §4.4: the server closes its stream, the component closes its own
                server.send("</stream:stream>");
                server.expect("</stream:stream>");
                server.expectClosed();
                c.run(); // already ended: returns, as the end was clean
            }
        }
    }

    @Test
    void wrongSecretIsNotAuthorized() throws Exception {
        for (Chunking chunking : Chunking.standard()) {
            XmppException e = refusal(chunking, HEADER, "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                    + "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Given token does not match</text></stream:error></stream:stream>");
            assertEquals("not-authorized", e.condition());
            assertTrue(e.getMessage().contains("wrong secret") && e.getMessage().contains("Given token does not match"), e.getMessage());
        }
    }

    @Test
    void unknownDomainIsHostUnknown() throws Exception {
        // Prosody's answer: a header with an empty id, then the error
        XmppException e = refusal(Chunking.byteByByte(), HEADER.replace("id='3b1f'", "id=''"),
                "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
        assertEquals("host-unknown", e.condition());
        assertTrue(e.getMessage().contains("no component echo.example"), e.getMessage());
    }

    @Test
    void domainConnectedAlreadyIsConflict() throws Exception {
        XmppException e = refusal(Chunking.random(7), HEADER,
                "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
        assertEquals("conflict", e.condition());
        assertTrue(e.getMessage().contains("connected as echo.example already"), e.getMessage());
    }

    @Test
    void serverClosingDuringTheHandshakeIsAnEndOfStream() throws Exception {
        EOFException e = startFailure(EOFException.class, Chunking.whole(), HEADER, "</stream:stream>");
        assertTrue(e.getMessage().contains("during the handshake"), e.getMessage());
    }

    @Test
    void streamErrorLaterEndsRunWithItsCondition() throws Exception {
        for (Chunking chunking : Chunking.standard()) {
            try (FakeServer server = new FakeServer(chunking, Clock.systemUTC())) {
                XmppComponent c = started(server, ECHO, b -> b);
                server.send("<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
                XmppException e = assertThrows(XmppException.class, c::run);
                assertEquals("system-shutdown", e.condition());
                server.expectClosed();
            }
        }
    }

    @Test
    void unansweredIqGetsServiceUnavailableAndErrorsGetNoAnswer() throws Exception {
        for (Chunking chunking : Chunking.standard()) {
            try (FakeServer server = new FakeServer(chunking, Clock.systemUTC())) {
                XmppComponent c = started(server, ECHO, b -> b);
                server.send("<iq type='get' id='q1' from='alice@example.org/a' to='echo.example'><query xmlns='urn:x:unknown'/></iq>");
                server.expect("<iq type='error' id='q1' to='alice@example.org/a' from='echo.example'><query xmlns='urn:x:unknown'/>"
                        + "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
                // RFC 6120 §8.2.3 and §8.3.1: results and errors are never answered with errors
                server.send("<iq type='result' id='r1' from='example.org' to='echo.example'/>"
                        + "<iq type='error' id='r2' from='example.org' to='echo.example'><error type='cancel'>"
                        + "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
                        + "<message type='error' from='alice@example.org' to='bot@echo.example'><body>x</body></message>"
                        + "<message from='alice@example.org/a' to='bot@echo.example'><body>next</body></message>");
                server.expect("<message to='alice@example.org/a' from='bot@echo.example'><body>echo: next</body></message>");
                c.close();
            }
        }
    }

    @Test
    void handlerExceptionsBecomeStanzaErrorsAndTheComponentGoesOn() throws Exception {
        XmppComponent.Handler failing = stanza -> switch (stanza.attributeOrEmpty("id")) {
            case "a" -> throw new StanzaException(StanzaError.ITEM_NOT_FOUND, "no such item");
            case "b" -> throw new IllegalStateException("a bug in the handler");
            case "c" -> throw new java.io.IOException("the database is down");
            default -> ECHO.handle(stanza);
        };
        for (Chunking chunking : Chunking.standard()) {
            try (FakeServer server = new FakeServer(chunking, Clock.systemUTC())) {
                XmppComponent c = started(server, failing, b -> b);
                server.send("<iq type='set' id='a' from='alice@example.org/a' to='echo.example'><q xmlns='urn:x'/></iq>");
                server.expect("<iq type='error' id='a' to='alice@example.org/a' from='echo.example'><q xmlns='urn:x'/>"
                        + "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                        + "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>no such item</text></error></iq>");
                server.send("<message id='b' from='alice@example.org/a' to='bot@echo.example'><body>boom</body></message>");
                server.expect("<message type='error' id='b' to='alice@example.org/a' from='bot@echo.example'>"
                        + "<error type='wait'><internal-server-error xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
                server.send("<iq type='get' id='c' from='alice@example.org/a' to='echo.example'/>");
                server.expect("<iq type='error' id='c' to='alice@example.org/a' from='echo.example'>"
                        + "<error type='wait'><internal-server-error xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
                server.send("<message from='alice@example.org/a' to='bot@echo.example'><body>still here</body></message>");
                server.expect("<message to='alice@example.org/a' from='bot@echo.example'><body>echo: still here</body></message>");
                c.close();
            }
        }
    }

    @Test
    void sendWorksFromAnyThreadAndChecksTheSender() throws Exception {
        try (FakeServer server = new FakeServer(Chunking.random(3), Clock.systemUTC())) {
            XmppComponent c = started(server, ECHO, b -> b);
            Thread other = Thread.ofVirtual().start(() -> {
                try {
                    c.send(Element.of("presence", "jabber:client").withAttribute("to", "alice@example.org"));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            other.join(WAIT.toMillis());
            // jabber:client moves to the component namespace; the domain is the default sender
            server.expect("<presence to='alice@example.org' from='echo.example'/>");
            IllegalArgumentException forged = assertThrows(IllegalArgumentException.class,
                    () -> c.send(Element.of("message", NS).withAttribute("from", "alice@example.org")));
            assertTrue(forged.getMessage().contains("echo.example"), forged.getMessage());
            assertThrows(IllegalArgumentException.class, () -> c.send(Element.of("handshake", NS)));
            c.close();
            assertThrows(IOException.class, () -> c.send(Element.of("message", NS)));
        }
    }

    @Test
    void shutdownEndsTheStreamAndWaitsForTheServersEnd() throws Exception {
        for (Chunking chunking : Chunking.standard()) {
            try (FakeServer server = new FakeServer(chunking, Clock.systemUTC())) {
                XmppComponent c = started(server, ECHO, b -> b);
                Thread stopping = Thread.ofVirtual().start(() -> {
                    try {
                        c.shutdown(WAIT);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                server.expect("</stream:stream>");
                // a stanza in flight is still handled; its reply is dropped, not written after the end
                server.send("<message from='alice@example.org/a' to='bot@echo.example'><body>late</body></message></stream:stream>");
                server.expectClosed();
                stopping.join(WAIT.toMillis());
                assertFalse(stopping.isAlive(), "shutdown() did not return once the server closed");
                c.run(); // a clean end: nothing to throw
            }
        }
    }

    @Test
    void shutdownBeforeStartReturnsAtOnce() throws Exception {
        try (FakeServer server = new FakeServer(Chunking.whole(), Clock.systemUTC())) {
            XmppComponent c = component(server, ECHO, b -> b);
            c.shutdown(Duration.ofDays(1)); // nothing to wait for: the class timeout fails it otherwise
            c.awaitTermination();
        }
    }

    @Test
    void closeDuringTheHandshakeAbortsStart() throws Exception {
        try (FakeServer server = new FakeServer(Chunking.whole(), Clock.systemUTC())) {
            // a handshake timeout far beyond the wait below: only close() can end start() in time
            XmppComponent c = component(server, ECHO, b -> b.timeout(Duration.ofMinutes(5)));
            java.util.concurrent.atomic.AtomicReference<Throwable> thrown = new java.util.concurrent.atomic.AtomicReference<>();
            Thread starting = Thread.ofVirtual().start(() -> {
                try {
                    c.start();
                } catch (Throwable t) {
                    thrown.set(t);
                }
            });
            server.expect(OPEN); // the component now waits for the server's header
            c.close();
            starting.join(WAIT.toMillis());
            assertTrue(thrown.get() instanceof IOException, "start() did not fail: " + thrown.get());
            c.awaitTermination();
        }
    }

    @Test
    void connectionDroppedWithoutClosingTagFailsRun() throws Exception {
        try (FakeServer server = new FakeServer(Chunking.whole(), Clock.systemUTC())) {
            XmppComponent c = started(server, ECHO, b -> b);
            server.pair.server().close();
            EOFException e = assertThrows(EOFException.class, c::run);
            assertTrue(e.getMessage().contains("without ending the stream"), e.getMessage());
        }
    }

    @Test
    void stanzaOverTheLimitsIsAPolicyViolation() throws Exception {
        try (FakeServer server = new FakeServer(Chunking.random(11), Clock.systemUTC())) {
            XmppComponent c = started(server, ECHO, b -> b.limits(10_000, 8, 16));
            server.send("<message from='alice@example.org/a' to='bot@echo.example'><body>" + "x".repeat(20_000) + "</body></message>");
            XmppException e = assertThrows(XmppException.class, c::run);
            assertEquals("policy-violation", e.condition());
            server.expect("<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");
        }
    }

    @Test
    void silentServerPastTheReadTimeoutGetsConnectionTimeout() throws Exception {
        ManualClock clock = ManualClock.create();
        try (FakeServer server = new FakeServer(Chunking.whole(), clock)) {
            XmppComponent c = started(server, ECHO, b -> b.readTimeout(Duration.ofMinutes(5)).keepalive(Duration.ZERO));
            clock.awaitWaiters(1, WAIT); // the component's reader, waiting for the server
            clock.advance(Duration.ofMinutes(4));
            server.send("<message from='alice@example.org/a' to='bot@echo.example'><body>in time</body></message>");
            server.expect("<message to='alice@example.org/a' from='bot@echo.example'><body>echo: in time</body></message>");
            clock.awaitWaiters(1, WAIT);
            clock.advance(Duration.ofMinutes(5));
            SocketTimeoutException e = assertThrows(SocketTimeoutException.class, c::run);
            assertTrue(e.getMessage().contains("PT5M"), e.getMessage());
            server.expect("<stream:error><connection-timeout xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");
        }
    }

    @Test
    void idleComponentWritesWhitespaceKeepalives() throws Exception {
        try (FakeServer server = new FakeServer(Chunking.whole(), Clock.systemUTC())) {
            XmppComponent c = started(server, ECHO, b -> b.keepalive(Duration.ofMillis(20)));
            server.expect(" "); // RFC 6120 §4.6.1
            server.expect(" ");
            c.close();
        }
    }

    @Test
    void buildNamesTheMissingSetting() {
        XmppComponent.Builder b = XmppComponent.builder();
        assertEquals("connect(...) or connection(...) is required", assertThrows(IllegalStateException.class, b::build).getMessage());
        b.connect("tcp:127.0.0.1:5347");
        assertEquals("domain(...) is required", assertThrows(IllegalStateException.class, b::build).getMessage());
        b.domain("echo.example");
        assertEquals("secret(...) is required", assertThrows(IllegalStateException.class, b::build).getMessage());
        b.secret("s");
        assertEquals("handler(...) is required", assertThrows(IllegalStateException.class, b::build).getMessage());
        assertThrows(IllegalArgumentException.class, () -> b.domain("bot@echo.example"));
        assertThrows(IllegalArgumentException.class, () -> b.connect("udp"));
    }
}
