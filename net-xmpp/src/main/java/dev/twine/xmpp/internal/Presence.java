package dev.twine.xmpp.internal;

import dev.twine.xmpp.Element;
import dev.twine.xmpp.Jid;
import java.io.IOException;
import java.util.List;

/**
 * Presence (RFC 6121 §4): broadcast to the contacts with a subscription from the user and to
 * the user's own resources, directed presence, probes and their answers, and at a session's
 * first available presence its contacts' presence, pending subscription requests and offline
 * messages. Subscription stanzas are handed to {@link Roster}.
 */
final class Presence {
    private static final System.Logger LOG = System.getLogger(Presence.class.getName());

    private final Hub hub;

    Presence(Hub hub) {
        this.hub = hub;
    }

    /** A session that ends or is replaced: if it was available, its contacts see it go (RFC 6121 §4.5.2). */
    void gone(C2sSession s) {
        if (s.available || !s.directed.isEmpty()) {
            Element unavailable = Element.of("presence", Hub.CLIENT_NS).withAttribute("type", "unavailable")
                    .withAttribute("from", s.jid().toString());
            broadcast(s, unavailable);
        }
    }

    /** Routes a presence stanza a client or component sent, past the interceptors (RFC 6121 §3, §4.6, §4.2). */
    void route(Element p, Jid to, C2sSession sender) {
        String type = p.attribute("type").orElse("");
        switch (type) {
            case "subscribe", "subscribed", "unsubscribe", "unsubscribed" -> {
                if (to == null) {
                    return;
                }
                Jid contact = to.bare();
                Element stanza = p.withAttribute("to", contact.toString());
                if (sender != null) {
                    stanza = stanza.withAttribute("from", sender.jid().bare().toString());
                    hub.roster.outboundSubscription(sender, type, contact, stanza);
                } else {
                    Jid from = Stanzas.jidOrNull(p, "from");
                    if (from != null) {
                        hub.roster.inboundSubscription(contact, type, from.bare(), stanza.withAttribute("from", from.bare().toString()));
                    }
                }
            }
            case "probe" -> {
                if (sender == null && to != null && to.domain().equals(hub.domain)) {
                    Jid from = Stanzas.jidOrNull(p, "from");
                    if (from != null) {
                        hub.roster.answerProbe(to.local(), from);
                    }
                }
            }
            case "", "unavailable" -> {
                if (to == null) {
                    if (sender != null) {
                        broadcast(sender, p);
                    }
                    return;
                }
                // directed presence, RFC 6121 §4.6
                if (sender != null) {
                    if (type.isEmpty()) {
                        sender.directed.add(to.toString());
                    } else {
                        sender.directed.remove(to.toString());
                    }
                }
                deliver(p, to);
            }
            case "error" -> {
                if (to != null) {
                    deliver(p, to);
                }
            }
            default -> hub.bounce(p, "bad-request", sender);
        }
    }

    /** Presence to an address: that resource, or all available resources of the bare JID. */
    void deliver(Element p, Jid to) {
        Blocking b = hub.blocking;
        if (b != null && b.separates(p, to)) {
            return; // XEP-0191 §3.5, §3.6: no presence crosses a block
        }
        if (!to.domain().equals(hub.domain)) {
            Route c = hub.component(to.domain());
            if (c != null) {
                c.send(p.withAttribute("to", to.toString()));
            }
            return;
        }
        if (to.isBare()) {
            for (C2sSession s : hub.availableSessionsOf(to.local())) {
                s.send(p.withAttribute("to", s.jid().toString()));
            }
        } else {
            C2sSession s = hub.sessionFor(to);
            if (s != null) {
                s.send(p);
            }
        }
    }

    /** RFC 6121 §4.2 and §4.5: presence with no 'to' from a session. */
    void broadcast(C2sSession s, Element p) {
        boolean available = !p.attributeOrEmpty("type").equals("unavailable");
        boolean initial = available && !s.available;
        if (available) {
            int prio = 0;
            try {
                prio = Integer.parseInt(p.childText("priority").orElse("0").trim());
            } catch (NumberFormatException e) {
                prio = 0;
            }
            s.priority = Math.max(-128, Math.min(127, prio)); // RFC 6121 §4.7.2.3
            s.presence = p;
        }
        s.available = available;
        String user = s.jid().local();
        List<RosterItem> roster;
        try {
            roster = hub.store.roster(user);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot read the roster of " + user, e);
            roster = List.of();
        }
        Element out = p.withAttribute("from", s.jid().toString());
        for (RosterItem i : roster) {
            if (i.hasFrom()) {
                deliver(out.withAttribute("to", i.jid()), Jid.parse(i.jid()));
            }
        }
        // the user's own available resources, this one included (RFC 6121 §4.2.2)
        for (C2sSession t : hub.sessionsOf(user)) {
            if (t.available || t == s) {
                t.send(out.withAttribute("to", t.jid().toString()));
            }
        }
        if (!available) {
            for (String d : s.directed) {
                try {
                    deliver(out.withAttribute("to", d), Jid.parse(d));
                } catch (IllegalArgumentException ignored) {
                    // stored from a parsed JID: cannot happen
                }
            }
            s.directed.clear();
            return;
        }
        if (initial) {
            // RFC 6121 §4.2.2: probe contacts the user is subscribed to
            for (RosterItem i : roster) {
                if (i.hasTo()) {
                    Jid c = Jid.parse(i.jid());
                    if (c.domain().equals(hub.domain)) {
                        for (C2sSession cs : hub.availableSessionsOf(c.local())) {
                            if (hub.blocking != null && hub.blocking.separates(cs.jid(), s.jid())) {
                                continue; // XEP-0191: a blocked contact's presence is not delivered
                            }
                            s.send(cs.presence.withAttribute("from", cs.jid().toString()).withAttribute("to", s.jid().toString()));
                        }
                    } else {
                        Route comp = hub.component(c.domain());
                        if (comp != null) {
                            comp.send(Element.of("presence", Hub.CLIENT_NS).withAttribute("type", "probe")
                                    .withAttribute("from", s.jid().bare().toString()).withAttribute("to", i.jid()));
                        }
                    }
                }
                if (i.pendingIn()) {
                    // RFC 6121 §3.1.3: pending subscription requests, redelivered at login
                    s.send(Roster.subscriptionStanza("subscribe", Jid.parse(i.jid()), s.jid().bare()));
                }
            }
            if (s.priority >= 0) {
                hub.offline.deliver(s);
            }
        }
    }
}
