package dev.twine.xmpp.internal;

import dev.twine.xmpp.DiscoInfo;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.IqHandler;
import dev.twine.xmpp.IqRequest;
import dev.twine.xmpp.IqType;
import dev.twine.xmpp.StanzaError;
import dev.twine.xmpp.StanzaException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The built-in IQ handlers that need no account data: ping (XEP-0199), software version
 * (XEP-0092), service discovery (XEP-0030) and the old session request (RFC 3921 §3).
 */
final class ServerIqs {
    static final String DISCO_INFO = "http://jabber.org/protocol/disco#info";
    static final String DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
    static final String PING = "urn:xmpp:ping";
    static final String VERSION = "jabber:iq:version";

    private ServerIqs() {}

    /** Registers them all: each for the domain, and all but version for accounts too. */
    static void register(Extensions ext, Hub hub) {
        IqHandler discoInfo = discoInfo(ext);
        IqHandler discoItems = discoItems(hub);
        IqHandler ping = ping();
        IqHandler session = request -> Optional.empty(); // kept as a no-op for old clients (RFC 6121 §1.4)
        ext.serverIq(IqType.GET, DISCO_INFO, discoInfo);
        ext.serverIq(IqType.GET, DISCO_ITEMS, discoItems);
        ext.serverIq(IqType.GET, PING, ping);
        ext.serverIq(IqType.GET, VERSION, version(hub.version));
        ext.serverIq(IqType.SET, Stanzas.SESSION_NS, session);
        ext.accountIq(IqType.GET, DISCO_INFO, discoInfo);
        ext.accountIq(IqType.GET, DISCO_ITEMS, discoItems);
        ext.accountIq(IqType.GET, PING, ping);
        ext.accountIq(IqType.SET, Stanzas.SESSION_NS, session);
    }

    /** Fails unless the payload is {@code <name/>}: another element in a known namespace is unknown too. */
    static void expect(IqRequest request, String name) throws StanzaException {
        if (!request.payload().name().equals(name)) {
            throw new StanzaException(StanzaError.SERVICE_UNAVAILABLE);
        }
    }

    /** A handler that declares {@code info} in disco#info. */
    static IqHandler declaring(DiscoInfo info, IqHandler handler) {
        return new IqHandler() {
            @Override
            public Optional<Element> handle(IqRequest request) throws StanzaException, IOException, InterruptedException {
                return handler.handle(request);
            }

            @Override
            public DiscoInfo disco() {
                return info;
            }
        };
    }

    /** XEP-0199 §4: an empty result is the pong. */
    private static IqHandler ping() {
        return declaring(DiscoInfo.features(PING), request -> {
            expect(request, "ping");
            return Optional.empty();
        });
    }

    /** XEP-0092 §3: the server's name and version, no operating system. */
    private static IqHandler version(String version) {
        return declaring(DiscoInfo.features(VERSION), request -> {
            expect(request, "query");
            return Optional.of(Element.of("query", VERSION)
                    .withChild(Element.of("name", VERSION).withText("Twine"))
                    .withChild(Element.of("version", VERSION).withText(version)));
        });
    }

    /**
     * XEP-0030 §3.1: for the domain, what the registered handlers declare; for an account's bare
     * JID, the account identity (XEP-0030 §3.1, RFC 6121 §8.5.1: the server answers for it).
     */
    private static IqHandler discoInfo(Extensions ext) {
        return declaring(DiscoInfo.features(DISCO_INFO).withIdentity("server", "im", "Twine"), request -> {
            expect(request, "query");
            if (request.payload().attribute("node").isPresent()) {
                throw new StanzaException(StanzaError.ITEM_NOT_FOUND); // no nodes here
            }
            DiscoInfo info = ext.disco();
            if (!request.to().local().isEmpty()) {
                List<String> features = new ArrayList<>(List.of(DISCO_INFO));
                features.addAll(ext.accountFeatures());
                info = new DiscoInfo(ext.accountIdentities(), features).withIdentity("account", "registered", "");
            }
            Element q = Element.of("query", DISCO_INFO);
            for (DiscoInfo.Identity i : info.identities()) {
                Element id = Element.of("identity", DISCO_INFO).withAttribute("category", i.category())
                        .withAttribute("type", i.type());
                q = q.withChild(i.name().isEmpty() ? id : id.withAttribute("name", i.name()));
            }
            for (String f : info.features()) {
                q = q.withChild(Element.of("feature", DISCO_INFO).withAttribute("var", f));
            }
            return Optional.of(q);
        });
    }

    /** XEP-0030 §4: the domain's items are its connected components. */
    private static IqHandler discoItems(Hub hub) {
        return declaring(DiscoInfo.features(DISCO_ITEMS), request -> {
            expect(request, "query");
            Element q = Element.of("query", DISCO_ITEMS);
            if (request.to().local().isEmpty() && request.payload().attribute("node").isEmpty()) {
                for (String c : hub.componentDomains()) {
                    q = q.withChild(Element.of("item", DISCO_ITEMS).withAttribute("jid", c));
                }
            }
            return Optional.of(q);
        });
    }
}
