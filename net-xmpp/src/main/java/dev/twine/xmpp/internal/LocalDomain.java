package dev.twine.xmpp.internal;

import dev.twine.xmpp.DomainHandler;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.InboundStanza;
import dev.twine.xmpp.Jid;
import dev.twine.xmpp.StanzaException;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * A {@link DomainHandler} hosted for a domain: what a component's stream is, without the stream.
 * The handler runs on the sender's thread; what it returns is routed as a component's stanzas
 * are (through the interceptors, with no sender session).
 */
final class LocalDomain implements Route {
    private static final System.Logger LOG = System.getLogger(LocalDomain.class.getName());

    private final Hub hub;
    private final String domain;
    private final DomainHandler handler;

    LocalDomain(Hub hub, String domain, DomainHandler handler) {
        this.hub = hub;
        this.domain = domain;
        this.handler = handler;
    }

    @Override
    public String domain() {
        return domain;
    }

    @Override
    public void send(Element stanza) {
        Jid from;
        Jid to;
        try {
            from = Stanzas.jidOrNull(stanza, "from");
            to = Stanzas.jidOrNull(stanza, "to");
        } catch (IllegalArgumentException e) {
            return; // stamped by the server: cannot happen
        }
        if (from == null || to == null) {
            return;
        }
        String type = stanza.attributeOrEmpty("type");
        boolean request = stanza.name().equals("iq") && (type.equals("get") || type.equals("set"));
        List<Element> out;
        try {
            out = handler.handle(new InboundStanza(stanza, from, Optional.empty(), hub.server()));
        } catch (StanzaException e) {
            hub.bounce(stanza, e, null);
            return;
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "the handler of " + domain + " failed for " + from, e);
            hub.bounce(stanza, "internal-server-error", "", null);
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the server is stopping: the sender's stream ends
            return;
        }
        if (out.isEmpty() && request) {
            hub.bounce(stanza, "service-unavailable", "", null); // RFC 6120 §8.4
            return;
        }
        for (Element reply : out) {
            Element r = reply.namespace().equals(Hub.CLIENT_NS) ? reply : reply.inNamespace(Hub.CLIENT_NS);
            if (r.attribute("to").isEmpty()) {
                r = r.withAttribute("to", from.toString());
            }
            if (r.attribute("from").isEmpty()) {
                r = r.withAttribute("from", to.toString());
            }
            if (r.name().equals("iq") && r.attribute("id").isEmpty()) {
                r = r.withAttribute("id", stanza.attributeOrEmpty("id"));
            }
            Jid rf;
            try {
                rf = Jid.parse(r.attributeOrEmpty("from"));
                Jid.parse(r.attributeOrEmpty("to"));
            } catch (IllegalArgumentException e) {
                LOG.log(System.Logger.Level.WARNING, "the handler of " + domain + " returned a bad address: " + r);
                continue;
            }
            if (!rf.domain().equals(domain)) {
                LOG.log(System.Logger.Level.WARNING, "the handler of " + domain + " spoke for " + rf + "; not sent");
                continue;
            }
            try {
                hub.route(r, null);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
