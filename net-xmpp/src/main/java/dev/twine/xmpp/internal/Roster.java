package dev.twine.xmpp.internal;

import dev.twine.xmpp.DiscoInfo;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.IqHandler;
import dev.twine.xmpp.IqRequest;
import dev.twine.xmpp.IqType;
import dev.twine.xmpp.Jid;
import dev.twine.xmpp.StanzaError;
import dev.twine.xmpp.StanzaException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The roster (RFC 6121 §2) as the built-in handler of {@code jabber:iq:roster}, and the
 * presence subscriptions that change it (RFC 6121 §3). Rosters live in the {@link DataStore},
 * written durably before a push or a result says they changed.
 */
final class Roster implements IqHandler {
    private static final System.Logger LOG = System.getLogger(Roster.class.getName());

    private final Hub hub;

    Roster(Hub hub) {
        this.hub = hub;
    }

    /** Registers itself for get and set, on accounts and (to refuse them) on the domain. */
    void register(Extensions ext) {
        for (IqType t : IqType.values()) {
            ext.accountIq(t, RosterItem.NS, this);
            ext.serverIq(t, RosterItem.NS, this);
        }
    }

    @Override
    public Optional<Element> handle(IqRequest request) throws StanzaException, IOException {
        ServerIqs.expect(request, "query");
        C2sSession s = request.fromOwner() ? hub.sessionFor(request.from()) : null;
        if (s == null) {
            throw new StanzaException(StanzaError.FORBIDDEN); // RFC 6121 §2.1.5: only the user's own roster
        }
        return request.type() == IqType.GET ? get(s) : set(request.payload(), s);
    }

    @Override
    public DiscoInfo disco() {
        return DiscoInfo.features(RosterItem.NS);
    }

    /** Whether adding {@code jid} to a roster map (inside updateRoster) would pass the limit. */
    private boolean full(Map<String, RosterItem> m, String jid) {
        return !m.containsKey(jid) && m.size() >= hub.rosterLimit;
    }

    /** RFC 6121 §2.2: the visible items; from now on the session gets pushes (§2.1.6). */
    private Optional<Element> get(C2sSession s) throws IOException {
        s.rosterRequested = true;
        Element q = Element.of("query", RosterItem.NS);
        for (RosterItem i : hub.store.roster(s.jid().local())) {
            if (i.visible()) {
                q = q.withChild(i.toElement());
            }
        }
        return Optional.of(q);
    }

    /** RFC 6121 §2.3 (add or update one item) and §2.5 (remove it). */
    private Optional<Element> set(Element q, C2sSession s) throws StanzaException, IOException {
        List<Element> items = new ArrayList<>();
        for (Element c : q.children()) {
            if (c.is("item", RosterItem.NS)) {
                items.add(c);
            }
        }
        if (items.size() != 1) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "a roster set has exactly one item"); // RFC 6121 §2.3.3
        }
        Element item = items.get(0);
        Jid contact;
        try {
            contact = Jid.parse(item.attributeOrEmpty("jid")).bare();
        } catch (IllegalArgumentException e) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "bad 'jid'");
        }
        String user = s.jid().local();
        String cj = contact.toString();
        if (item.attributeOrEmpty("subscription").equals("remove")) {
            RosterItem old = hub.store.rosterItem(user, cj);
            if (old == null || !old.visible()) {
                throw new StanzaException(StanzaError.ITEM_NOT_FOUND); // RFC 6121 §2.5.3
            }
            hub.store.updateRoster(user, m -> m.remove(cj));
            push(user, RosterItem.of(cj).toElement().withAttribute("subscription", "remove"));
            // RFC 6121 §2.5.2: cancel the subscriptions in both directions
            Jid userBare = s.jid().bare();
            if (old.hasTo() || old.askSubscribe()) {
                inboundSubscription(contact, "unsubscribe", userBare, subscriptionStanza("unsubscribe", userBare, contact));
            }
            if (old.hasFrom() || old.pendingIn()) {
                inboundSubscription(contact, "unsubscribed", userBare, subscriptionStanza("unsubscribed", userBare, contact));
                sendUnavailableFrom(user, contact);
            }
            return Optional.empty();
        }
        List<String> groups = new ArrayList<>();
        for (Element g : item.children()) {
            if (g.is("group", RosterItem.NS)) {
                if (g.text().isEmpty() || groups.contains(g.text())) {
                    throw new StanzaException(StanzaError.BAD_REQUEST, "empty or duplicate group"); // RFC 6121 §2.3.3
                }
                groups.add(g.text());
            }
        }
        String name = item.attributeOrEmpty("name");
        RosterItem[] updated = new RosterItem[1];
        hub.store.updateRoster(user, m -> {
            if (full(m, cj)) {
                return;
            }
            RosterItem old = m.getOrDefault(cj, RosterItem.of(cj));
            updated[0] = old.withDetails(name, groups);
            m.put(cj, updated[0]);
        });
        if (updated[0] == null) {
            // RFC 6121 §2.3.3 leaves limits to the server: the roster is full
            throw new StanzaException(StanzaError.RESOURCE_CONSTRAINT, "the roster is full");
        }
        push(user, updated[0].toElement());
        return Optional.empty();
    }

    /** A roster push to every session of the user that asked for the roster (RFC 6121 §2.1.6). */
    private void push(String user, Element item) {
        for (C2sSession t : hub.sessionsOf(user)) {
            if (t.rosterRequested) {
                t.send(Element.of("iq", Hub.CLIENT_NS).withAttribute("type", "set")
                        .withAttribute("id", "push-" + Long.toHexString(System.nanoTime()))
                        .withAttribute("to", t.jid().toString())
                        .withChild(Element.of("query", RosterItem.NS).withChild(item)));
            }
        }
    }

    static Element subscriptionStanza(String type, Jid from, Jid to) {
        return Element.of("presence", Hub.CLIENT_NS).withAttribute("type", type)
                .withAttribute("from", from.toString()).withAttribute("to", to.toString());
    }

    void answerProbe(String local, Jid from) {
        try {
            RosterItem i = hub.store.rosterItem(local, from.bare().toString());
            if (i == null || !i.hasFrom()) {
                return;
            }
        } catch (IOException e) {
            return;
        }
        for (C2sSession cs : hub.availableSessionsOf(local)) {
            hub.deliverTo(cs.presence.withAttribute("from", cs.jid().toString()).withAttribute("to", from.toString()), from);
        }
    }

    private void sendUnavailableFrom(String local, Jid to) {
        for (C2sSession cs : hub.availableSessionsOf(local)) {
            hub.presence.deliver(Element.of("presence", Hub.CLIENT_NS).withAttribute("type", "unavailable")
                    .withAttribute("from", cs.jid().toString()).withAttribute("to", to.toString()), to);
        }
    }

    private void sendPresenceFrom(String local, Jid to) {
        for (C2sSession cs : hub.availableSessionsOf(local)) {
            hub.presence.deliver(cs.presence.withAttribute("from", cs.jid().toString()).withAttribute("to", to.toString()), to);
        }
    }

    /** The user's half of a subscription state change (RFC 6121 §3.1.2, §3.1.5, §3.2, §3.3). */
    void outboundSubscription(C2sSession s, String type, Jid contact, Element stanza) {
        String user = s.jid().local();
        String cj = contact.toString();
        Jid userBare = s.jid().bare();
        try {
            RosterItem[] changed = new RosterItem[1];
            boolean[] full = new boolean[1];
            boolean forward = true;
            switch (type) {
                case "subscribe" -> hub.store.updateRoster(user, m -> {
                    if (full(m, cj)) {
                        full[0] = true; // the user's own roster cannot take the contact
                        return;
                    }
                    RosterItem i = m.getOrDefault(cj, RosterItem.of(cj)).withVisible(true);
                    if (!i.hasTo()) {
                        i = i.withAsk(true);
                    }
                    m.put(cj, i);
                    changed[0] = i;
                });
                case "subscribed" -> {
                    RosterItem i = hub.store.rosterItem(user, cj);
                    if (i == null || !i.pendingIn() && !i.hasFrom()) {
                        forward = false; // RFC 6121 §3.1.5: no pending request, nothing to approve
                    } else if (!i.hasFrom()) {
                        hub.store.updateRoster(user, m -> {
                            RosterItem n = m.get(cj).withSubscription(m.get(cj).hasTo(), true).withPendingIn(false).withVisible(true);
                            m.put(cj, n);
                            changed[0] = n;
                        });
                    }
                }
                case "unsubscribe" -> hub.store.updateRoster(user, m -> {
                    RosterItem i = m.get(cj);
                    if (i != null && (i.hasTo() || i.askSubscribe())) {
                        RosterItem n = i.withSubscription(false, i.hasFrom()).withAsk(false);
                        m.put(cj, n);
                        changed[0] = n;
                    }
                });
                case "unsubscribed" -> hub.store.updateRoster(user, m -> {
                    RosterItem i = m.get(cj);
                    if (i != null && (i.hasFrom() || i.pendingIn())) {
                        RosterItem n = i.withSubscription(i.hasTo(), false).withPendingIn(false);
                        if (!n.visible()) {
                            m.remove(cj);
                        } else {
                            m.put(cj, n);
                            changed[0] = n;
                        }
                    }
                });
                default -> { }
            }
            if (full[0]) {
                hub.bounce(stanza.withAttribute("from", s.jid().toString()), "resource-constraint", s);
                return;
            }
            if (changed[0] != null && changed[0].visible()) {
                push(user, changed[0].toElement());
            }
            if (!forward) {
                return;
            }
            if (contact.domain().equals(hub.domain)) {
                inboundSubscription(contact, type, userBare, stanza);
            } else {
                Route c = hub.component(contact.domain());
                if (c != null) {
                    c.send(stanza);
                }
            }
            if (type.equals("subscribed")) {
                sendPresenceFrom(user, contact); // RFC 6121 §3.1.5
            } else if (type.equals("unsubscribed")) {
                sendUnavailableFrom(user, contact); // RFC 6121 §3.2.2
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot write the roster of " + user, e);
        }
    }

    /** The contact's half: a subscription stanza from {@code from} arriving for a local account. */
    void inboundSubscription(Jid contact, String type, Jid from, Element stanza) {
        if (!contact.domain().equals(hub.domain) || !hub.userExists(contact.local())) {
            return; // RFC 6121 §3.1.3: no such user, silently ignored
        }
        String local = contact.local();
        String fj = from.toString();
        try {
            RosterItem[] changed = new RosterItem[1];
            boolean deliver = true;
            switch (type) {
                case "subscribe" -> {
                    RosterItem i = hub.store.rosterItem(local, fj);
                    if (i != null && i.hasFrom()) {
                        // RFC 6121 §3.1.3: already approved, answer for the contact
                        hub.deliverTo(subscriptionStanza("subscribed", contact, from), from);
                        answerProbe(local, from);
                        return;
                    }
                    boolean[] full = new boolean[1];
                    hub.store.updateRoster(local, m -> {
                        if (full(m, fj)) {
                            full[0] = true; // a pending request is a (hidden) roster item too
                            return;
                        }
                        RosterItem old = m.get(fj);
                        m.put(fj, (old == null ? RosterItem.of(fj).withVisible(false) : old).withPendingIn(true));
                    });
                    if (full[0]) {
                        // not stored, so not delivered either: the sender learns it was not taken
                        hub.deliverTo(Stanzas.error(stanza, "resource-constraint", Hub.CLIENT_NS), from);
                        return;
                    }
                }
                case "subscribed" -> hub.store.updateRoster(local, m -> {
                    RosterItem i = m.get(fj);
                    if (i != null && !i.hasTo()) {
                        RosterItem n = i.withSubscription(true, i.hasFrom()).withAsk(false);
                        m.put(fj, n);
                        changed[0] = n;
                    }
                });
                case "unsubscribe" -> hub.store.updateRoster(local, m -> {
                    RosterItem i = m.get(fj);
                    if (i != null && (i.hasFrom() || i.pendingIn())) {
                        RosterItem n = i.withSubscription(i.hasTo(), false).withPendingIn(false);
                        if (n.visible()) {
                            m.put(fj, n);
                            changed[0] = n;
                        } else {
                            m.remove(fj);
                        }
                    }
                });
                case "unsubscribed" -> hub.store.updateRoster(local, m -> {
                    RosterItem i = m.get(fj);
                    if (i != null && (i.hasTo() || i.askSubscribe())) {
                        RosterItem n = i.withSubscription(false, i.hasFrom()).withAsk(false);
                        m.put(fj, n);
                        changed[0] = n;
                    }
                });
                default -> deliver = false;
            }
            if (type.equals("subscribed") || type.equals("unsubscribed")) {
                deliver = changed[0] != null; // RFC 6121 §3.1.6: only if it changed something
            }
            if (changed[0] != null && changed[0].visible()) {
                push(local, changed[0].toElement());
            }
            if (deliver) {
                for (C2sSession s : hub.availableSessionsOf(local)) {
                    s.send(stanza.withAttribute("to", s.jid().bare().toString()));
                }
            }
            if (type.equals("unsubscribe")) {
                sendUnavailableFrom(local, from); // RFC 6121 §3.3.3
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot write the roster of " + local, e);
        }
    }
}
