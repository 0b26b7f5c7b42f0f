package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.UsersFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The component against Twine's own server, over loopback: a user logged in with
 * {@link XmppClient} talks to the component's domain through the server's component port.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class XmppComponentServerTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String SECRET = "comp-secret";

    @TempDir
    Path dir;
    private XmppServer server;

    @BeforeEach
    void startServer() throws Exception {
        Path users = dir.resolve("users");
        Files.createFile(users);
        UsersFile.addUser(users, "alice", "secret-alice".toCharArray());
        server = XmppServer.builder().domain("example.org").users(UsersFile.load(users)).dataDirectory(dir.resolve("data"))
                .listen("tcp:0:interface=127.0.0.1").componentListen("tcp:0:interface=127.0.0.1", SECRET).build();
        server.start();
    }

    @AfterEach
    void stopServer() {
        server.close();
    }

    private XmppComponent.Builder component(String secret) {
        return XmppComponent.builder().connect("tcp:127.0.0.1:" + server.componentPort()).domain("echo.example.org")
                .secret(secret).timeout(WAIT);
    }

    private XmppClient alice() throws Exception {
        return XmppClient.builder("alice@example.org/phone", "secret-alice".toCharArray())
                .endpoint("tcp:127.0.0.1:" + server.port()).requireTls(false).timeout(WAIT).connect();
    }

    @Test
    void userMessagesTheComponentAndGetsTheEchoBack() throws Exception {
        XmppComponent echo = component(SECRET).handler(stanza -> stanza.name().equals("message")
                ? Optional.of(Element.of("message", "jabber:client").withAttribute("type", "chat")
                        .withChild(Element.of("body", "jabber:client").withText("echo: " + stanza.childText("body").orElse(""))))
                : Optional.empty()).build();
        echo.start();
        try (XmppClient alice = alice()) {
            alice.sendMessage(Jid.parse("bot@echo.example.org"), "hello component");
            Element m = alice.await(e -> e.name().equals("message"), WAIT).orElseThrow();
            assertEquals("echo: hello component", m.childText("body").orElseThrow());
            assertEquals("bot@echo.example.org", m.attributeOrEmpty("from"));
            // an IQ the handler leaves unanswered comes back service-unavailable, not silence
            XmppException e = assertThrows(XmppException.class, () -> alice.request(Element.of("iq", "jabber:client")
                    .withAttribute("type", "get").withAttribute("to", "echo.example.org")
                    .withChild(Element.of("query", "jabber:iq:version")), WAIT));
            assertEquals("service-unavailable", e.condition());
        } finally {
            echo.shutdown(WAIT);
        }
        echo.run(); // ended cleanly: the server answered </stream:stream> with its own
    }

    @Test
    void wrongSecretIsNotAuthorized() {
        XmppComponent c = component("not the secret").handler(s -> Optional.empty()).build();
        XmppException e = assertThrows(XmppException.class, c::start);
        assertEquals("not-authorized", e.condition());
    }

    @Test
    void theServersOwnDomainIsHostUnknown() {
        XmppComponent c = component(SECRET).domain("example.org").handler(s -> Optional.empty()).build();
        assertEquals("host-unknown", assertThrows(XmppException.class, c::start).condition());
    }

    @Test
    void secondComponentForTheSameDomainIsConflict() throws Exception {
        XmppComponent first = component(SECRET).handler(s -> Optional.empty()).build();
        first.start();
        try {
            XmppException e = assertThrows(XmppException.class, component(SECRET).handler(s -> Optional.empty()).build()::run);
            assertEquals("conflict", e.condition());
            assertTrue(e.getMessage().contains("echo.example.org"), e.getMessage());
        } finally {
            first.close();
        }
    }

    @Test
    void serverStoppingEndsTheComponent() throws Exception {
        XmppComponent c = component(SECRET).handler(s -> Optional.empty()).build();
        c.start();
        server.shutdown(WAIT);
        XmppException e = assertThrows(XmppException.class, c::run);
        assertEquals("system-shutdown", e.condition());
    }
}
