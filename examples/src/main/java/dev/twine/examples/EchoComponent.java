// EchoComponent: an echo bot as an XMPP external component (XEP-0114). It connects to a server's
// component port, takes charge of a domain such as echo.localhost, and answers every message sent
// to any address there with its text reversed. Presence subscriptions are approved, so clients
// can put the bot in their roster.
//
// Run it against a server that has the component configured (Prosody: `Component "echo.localhost"`
// with `component_secret = "s3cret"`, component port 5347; Twine: `./twine xmpp ...
// --component-listen tcp:5347:interface=127.0.0.1 --component-secret s3cret`):
//
//   ./twine run examples/src/main/java/dev/twine/examples/EchoComponent.java 127.0.0.1:5347 echo.localhost s3cret
//
// Then message bot@echo.localhost from any XMPP client logged in to that server (Gajim, Dino, or
// profanity's `/msg bot@echo.localhost hello`), and "olleh" comes back. EchoComponentTest does
// the same with slixmpp against a Prosody of its own.
package dev.twine.examples;

import dev.twine.xmpp.Element;
import dev.twine.xmpp.XmppComponent;
import java.io.IOException;
import java.util.Optional;

public final class EchoComponent {
    private static final String NS = "jabber:component:accept";

    private EchoComponent() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: EchoComponent HOST:PORT DOMAIN SECRET");
            System.exit(2);
        }
        XmppComponent bot = start("tcp:" + args[0], args[1], args[2]);
        System.out.println("connected as " + bot.domain() + "; Ctrl-C stops");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                bot.shutdown(java.time.Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        bot.run(); // until the server or Ctrl-C ends the stream; throws if it ends with an error
    }

    /** Connects to {@code endpoint} as {@code domain}; returns the running component. */
    static XmppComponent start(String endpoint, String domain, String secret) throws IOException {
        XmppComponent bot = XmppComponent.builder().connect(endpoint).domain(domain).secret(secret)
                .handler(EchoComponent::answer).build();
        bot.start(); // returns once the server accepted the handshake
        return bot;
    }

    /** One stanza in, the reply out; an IQ left unanswered gets service-unavailable. */
    private static Optional<Element> answer(Element stanza) {
        String type = stanza.attributeOrEmpty("type");
        if (stanza.name().equals("message") && !type.equals("error")) {
            Optional<String> body = stanza.childText("body");
            return body.map(text -> Element.of("message", NS).withAttribute("type", type.isEmpty() ? "chat" : type)
                    .withChild(Element.of("body", NS).withText(new StringBuilder(text).reverse().toString())));
        }
        if (stanza.name().equals("presence") && (type.equals("subscribe") || type.equals("probe"))) {
            // approve a subscription (RFC 6121 §3.1.3), say the bot is online when asked (§4.3)
            Element p = Element.of("presence", NS);
            return Optional.of(type.equals("subscribe") ? p.withAttribute("type", "subscribed") : p);
        }
        return Optional.empty(); // to and from of a reply default to the sender and the bot's address
    }
}
