package dev.twine.xmpp.internal;

import dev.twine.xmpp.Element;
import java.util.ArrayList;
import java.util.List;

/**
 * One roster entry as the server keeps it (RFC 6121 §2.1.2), plus the one piece of state the
 * client never sees: whether an inbound subscription request awaits the user's answer
 * (RFC 6121 §3.1.3). An entry with only that flag is hidden from roster results.
 *
 * @param jid the contact's bare JID
 * @param name the user's name for the contact, empty for none
 * @param subscription {@code none}, {@code to}, {@code from} or {@code both}
 * @param askSubscribe whether the user asked to subscribe and awaits an answer
 * @param pendingIn whether the contact asked to subscribe to the user and awaits an answer
 * @param visible whether the user has the contact in the roster (false: only a pending request)
 * @param groups the group names
 */
public record RosterItem(String jid, String name, String subscription, boolean askSubscribe, boolean pendingIn,
        boolean visible, List<String> groups) {
    /** The namespace of roster items, RFC 6121 §2.1. */
    public static final String NS = "jabber:iq:roster";

    /** Copies the group list. */
    public RosterItem {
        groups = List.copyOf(groups);
    }

    /** A fresh, visible entry with no subscription. */
    public static RosterItem of(String jid) {
        return new RosterItem(jid, "", "none", false, false, true, List.of());
    }

    /** Whether the user receives the contact's presence. */
    public boolean hasTo() {
        return subscription.equals("to") || subscription.equals("both");
    }

    /** Whether the contact receives the user's presence. */
    public boolean hasFrom() {
        return subscription.equals("from") || subscription.equals("both");
    }

    /** A copy with a subscription state built from the two directions. */
    public RosterItem withSubscription(boolean to, boolean from) {
        String s = to && from ? "both" : to ? "to" : from ? "from" : "none";
        return new RosterItem(jid, name, s, askSubscribe, pendingIn, visible, groups);
    }

    /** A copy with the pending outbound request flag set or cleared. */
    public RosterItem withAsk(boolean ask) {
        return new RosterItem(jid, name, subscription, ask, pendingIn, visible, groups);
    }

    /** A copy with the pending inbound request flag set or cleared. */
    public RosterItem withPendingIn(boolean p) {
        return new RosterItem(jid, name, subscription, askSubscribe, p, visible, groups);
    }

    /** A visible copy with a new name and groups. */
    public RosterItem withDetails(String newName, List<String> newGroups) {
        return new RosterItem(jid, newName, subscription, askSubscribe, pendingIn, true, newGroups);
    }

    /** A copy that is visible in the roster (or not). */
    public RosterItem withVisible(boolean v) {
        return new RosterItem(jid, name, subscription, askSubscribe, pendingIn, v, groups);
    }

    /** The {@code <item/>} sent to clients (RFC 6121 §2.1.2). */
    public Element toElement() {
        Element e = Element.of("item", NS).withAttribute("jid", jid);
        if (!name.isEmpty()) {
            e = e.withAttribute("name", name);
        }
        e = e.withAttribute("subscription", subscription);
        if (askSubscribe) {
            e = e.withAttribute("ask", "subscribe");
        }
        for (String g : groups) {
            e = e.withChild(Element.of("group", NS).withText(g));
        }
        return e;
    }

    /** The element stored on disk: the client form plus the hidden flags. */
    Element toStored() {
        Element e = toElement();
        if (pendingIn) {
            e = e.withAttribute("pending-in", "true");
        }
        if (!visible) {
            e = e.withAttribute("hidden", "true");
        }
        return e;
    }

    /** Reads a stored element back. */
    static RosterItem fromStored(Element e) {
        List<String> groups = new ArrayList<>();
        for (Element c : e.children()) {
            if (c.is("group", NS)) {
                groups.add(c.text());
            }
        }
        return new RosterItem(e.attributeOrEmpty("jid"), e.attributeOrEmpty("name"),
                e.attribute("subscription").orElse("none"), e.attribute("ask").isPresent(),
                e.attribute("pending-in").isPresent(), e.attribute("hidden").isEmpty(), groups);
    }
}
