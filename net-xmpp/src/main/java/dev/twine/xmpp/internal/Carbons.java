package dev.twine.xmpp.internal;

import dev.twine.xmpp.DiscoInfo;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.IqHandler;
import dev.twine.xmpp.IqRequest;
import dev.twine.xmpp.Jid;
import dev.twine.xmpp.StanzaError;
import dev.twine.xmpp.StanzaException;
import java.util.List;
import java.util.Optional;

/**
 * XEP-0280 message carbons: the IQ handler that switches them per session (§4), and the copies
 * routing makes of chat messages for the user's other carbons-enabled sessions (§6, §7). Copies
 * are made after the message interceptors, so they see what the interceptors passed on.
 */
final class Carbons implements IqHandler {
    static final String CARBONS = "urn:xmpp:carbons:2";
    static final String FORWARD = "urn:xmpp:forward:0";

    private final Hub hub;

    Carbons(Hub hub) {
        this.hub = hub;
    }

    /** XEP-0280 §4: {@code <enable/>} or {@code <disable/>}, for the sending session only. */
    @Override
    public Optional<Element> handle(IqRequest request) throws StanzaException {
        String name = request.payload().name();
        C2sSession s = request.fromOwner() ? hub.sessionFor(request.from()) : null;
        if (s == null || !(name.equals("enable") || name.equals("disable"))) {
            throw new StanzaException(StanzaError.SERVICE_UNAVAILABLE);
        }
        s.carbons = name.equals("enable");
        return Optional.empty();
    }

    @Override
    public DiscoInfo disco() {
        return DiscoInfo.features(CARBONS);
    }

    /** XEP-0280 §6: IM messages are copied, unless marked private or no-copy. */
    static boolean eligible(Element m, String type) {
        // XEP-0280 §6.1: chat messages, and normal ones with a body, a receipt, a marker or a chat state
        boolean im = type.equals("chat")
                || type.equals("normal") && (Mam.meaningful(m) || m.childIn("http://jabber.org/protocol/chatstates").isPresent());
        return im && m.child("private", CARBONS).isEmpty() && m.child("no-copy", "urn:xmpp:hints").isEmpty()
                && m.child("received", CARBONS).isEmpty() && m.child("sent", CARBONS).isEmpty();
    }

    /** XEP-0280 §7: a copy of a sent message to the sender's other carbons-enabled sessions. */
    void sent(C2sSession sender, Element m) {
        for (C2sSession t : hub.sessionsOf(sender.jid().local())) {
            if (t != sender && t.carbons) {
                t.send(carbon(m, "sent", sender.jid().bare(), t.jid()));
            }
        }
    }

    /** XEP-0280 §6: a copy of a received message to the recipient's carbons-enabled sessions that did not get it. */
    void received(String local, Element m, List<C2sSession> got) {
        for (C2sSession t : hub.sessionsOf(local)) {
            if (t.carbons && !got.contains(t)) {
                t.send(carbon(m, "received", t.jid().bare(), t.jid()));
            }
        }
    }

    private static Element carbon(Element m, String kind, Jid from, Jid to) {
        return Element.of("message", Hub.CLIENT_NS).withAttribute("from", from.toString()).withAttribute("to", to.toString())
                .withAttribute("type", "chat")
                .withChild(Element.of(kind, CARBONS).withChild(Element.of("forwarded", FORWARD).withChild(m)));
    }
}
