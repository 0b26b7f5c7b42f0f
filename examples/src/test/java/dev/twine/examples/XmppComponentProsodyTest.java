package dev.twine.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.xmpp.Element;
import dev.twine.xmpp.Jid;
import dev.twine.xmpp.XmppClient;
import dev.twine.xmpp.XmppComponent;
import dev.twine.xmpp.XmppException;
import java.io.EOFException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link XmppComponent} against Prosody, a server nobody here wrote: its handshake and refusals
 * (wrong secret, unknown domain, a domain connected already), routing both ways between the
 * component and a user logged in with {@link XmppClient}, the service-unavailable answer to an
 * IQ the handler leaves alone, and Prosody going away. Lives beside the example's test to
 * share the {@link Prosody} setup (net-xmpp's tests cannot see it).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class XmppComponentProsodyTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String NS = "jabber:component:accept";

    @TempDir
    Path dir;

    private static XmppComponent.Builder component(Prosody prosody, String domain, String secret) {
        return XmppComponent.builder().connect("tcp:127.0.0.1:" + prosody.componentPort).domain(domain).secret(secret)
                .timeout(WAIT).handler(stanza -> Optional.empty());
    }

    @Test
    void stanzasFlowBothWaysBetweenAProsodyUserAndTheComponent() throws Exception {
        try (Prosody prosody = Prosody.start(dir, Map.of("alice", "secret-alice"), "echo.localhost", "s3cret")) {
            XmppComponent echo = component(prosody, "echo.localhost", "s3cret").handler(stanza ->
                    stanza.name().equals("message") && stanza.childText("body").isPresent()
                            ? Optional.of(Element.of("message", NS).withAttribute("type", "chat")
                                    .withChild(Element.of("body", NS).withText("echo: " + stanza.childText("body").get())))
                            : Optional.empty()).build();
            echo.start();
            try (XmppClient alice = XmppClient.builder("alice@localhost/test", "secret-alice".toCharArray())
                    .endpoint("tcp:127.0.0.1:" + prosody.c2sPort).requireTls(false).allowPlainWithoutTls(true)
                    .timeout(WAIT).connect()) {
                alice.sendMessage(Jid.parse("bot@echo.localhost"), "hello prosody");
                Element m = alice.await(e -> e.name().equals("message"), WAIT).orElseThrow(() -> new AssertionError(prosody.log()));
                assertEquals("echo: hello prosody", m.childText("body").orElseThrow());
                assertEquals("bot@echo.localhost", m.attributeOrEmpty("from"));

                XmppException unanswered = assertThrows(XmppException.class, () -> alice.request(Element.of("iq", "jabber:client")
                        .withAttribute("type", "get").withAttribute("to", "echo.localhost")
                        .withChild(Element.of("query", "jabber:iq:version")), WAIT));
                assertEquals("service-unavailable", unanswered.condition());

                // from the test thread, not the handler; the domain is the default sender
                echo.send(Element.of("message", "jabber:client").withAttribute("to", "alice@localhost/test")
                        .withChild(Element.of("body", "jabber:client").withText("unprompted")));
                Element u = alice.await(e -> e.childText("body").orElse("").equals("unprompted"), WAIT).orElseThrow();
                assertEquals("echo.localhost", u.attributeOrEmpty("from"));
            } finally {
                echo.shutdown(WAIT);
            }
            echo.run(); // Prosody answered </stream:stream> with its own: a clean end
        }
    }

    @Test
    void prosodysRefusalsComeBackAsTheirConditions() throws Exception {
        try (Prosody prosody = Prosody.start(dir, Map.of(), "echo.localhost", "s3cret")) {
            XmppException wrong = assertThrows(XmppException.class, component(prosody, "echo.localhost", "guess").build()::start);
            assertEquals("not-authorized", wrong.condition());
            assertTrue(wrong.getMessage().contains("wrong secret"), wrong.getMessage());

            XmppException unknown = assertThrows(XmppException.class, component(prosody, "nope.localhost", "s3cret").build()::start);
            assertEquals("host-unknown", unknown.condition());

            XmppComponent first = component(prosody, "echo.localhost", "s3cret").build();
            first.start();
            try {
                XmppException taken = assertThrows(XmppException.class, component(prosody, "echo.localhost", "s3cret").build()::start);
                assertEquals("conflict", taken.condition());
            } finally {
                first.close();
            }
        }
    }

    @Test
    void prosodyShuttingDownEndsTheComponent() throws Exception {
        XmppComponent c;
        try (Prosody prosody = Prosody.start(dir, Map.of(), "echo.localhost", "s3cret")) {
            c = component(prosody, "echo.localhost", "s3cret").build();
            c.start();
        }
        // Prosody 0.12 drops its components' connections on SIGTERM, without a stream error
        EOFException e = assertThrows(EOFException.class, c::run);
        assertTrue(e.getMessage().contains("without ending the stream"), e.getMessage());
    }
}
