package dev.twine.examples;

import dev.twine.core.auth.StoredSecret;
import dev.twine.core.auth.UserStore;
import dev.twine.xmpp.DomainHandler;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.InboundStanza;
import dev.twine.xmpp.StanzaError;
import dev.twine.xmpp.StanzaException;
import dev.twine.xmpp.XmppServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A bot hosted by the XMPP server itself under a domain of its own, {@code bot.localhost}: a
 * {@link DomainHandler} gets every stanza for that domain on the sender's thread and returns the
 * replies, as the server's group chat at {@code conference.localhost} does. Any address in the
 * domain answers a message with its text shouted back; an empty message is refused with
 * {@code not-acceptable}; {@code disco#info} names the bot.
 *
 * <p>Run: {@code ./twine run examples/src/main/java/dev/twine/examples/XmppHostedBot.java [PORT]}
 * (port 5231 by default; {@code alice@localhost}, password {@code secret}, plaintext on loopback).
 * Try it with slixmpp:
 * <pre>
 * /usr/bin/python3 -c "import slixmpp; c = slixmpp.ClientXMPP('alice@localhost', 'secret')
 * c.add_event_handler('session_start', lambda _: c.send_message(mto='shout@bot.localhost', mbody='hello'))
 * c.add_event_handler('message', lambda m: (print(m['body']), c.disconnect()))
 * c.connect(('127.0.0.1', 5231), disable_starttls=True); c.process(forever=False)"
 * </pre>
 */
public final class XmppHostedBot {
    static final String DISCO_INFO = "http://jabber.org/protocol/disco#info";

    static final DomainHandler SHOUTER = in -> {
        Element s = in.stanza();
        if (s.name().equals("iq") && s.attributeOrEmpty("type").equals("get") && s.child("query", DISCO_INFO).isPresent()) {
            return List.of(Element.of("iq", "jabber:client").withAttribute("type", "result") // to the sender, same id
                    .withChild(Element.of("query", DISCO_INFO).withChild(Element.of("identity", DISCO_INFO)
                            .withAttribute("category", "client").withAttribute("type", "bot").withAttribute("name", "Shouter"))));
        }
        if (!s.name().equals("message") || s.attributeOrEmpty("type").equals("error")) {
            return List.of(); // other IQs get service-unavailable; presence is ignored
        }
        String body = s.childText("body").orElse("").strip();
        if (body.isEmpty()) {
            throw new StanzaException(StanzaError.NOT_ACCEPTABLE, "say something");
        }
        return List.of(Element.of("message", "jabber:client").withAttribute("type", "chat")
                .withChild(Element.of("body", "jabber:client").withText(body.toUpperCase(Locale.ROOT) + "!")));
    };

    /** Starts the server on {@code endpoint}, keeping its data under {@code dataDir}; the caller stops it. */
    static XmppServer start(String endpoint, Path dataDir) throws Exception {
        UserStore users = name -> name.equals("alice") ? Optional.of(new StoredSecret.Plain("secret")) : Optional.empty();
        XmppServer server = XmppServer.builder().domain("localhost").users(users).dataDirectory(dataDir)
                .domainHandler("bot.localhost", SHOUTER).listen(endpoint).build();
        server.start();
        return server;
    }

    public static void main(String[] args) throws Exception {
        String port = args.length > 0 ? args[0] : "5231";
        XmppServer server = start("tcp:" + port + ":interface=127.0.0.1", Files.createTempDirectory("xmpp-hosted-bot"));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.shutdown(Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        System.out.println("XMPP for alice@localhost (password secret) on 127.0.0.1:" + server.port() + ", bot at shout@bot.localhost");
        server.awaitTermination();
    }
}
