package dev.twine.xmpp;

import java.util.List;

/**
 * One roster item as a client sees it (RFC 6121 §2.1.2).
 *
 * @param jid the contact's bare JID
 * @param name the user's name for the contact, empty for none
 * @param subscription {@code none}, {@code to}, {@code from}, {@code both} (or {@code remove} in a push)
 * @param pendingOut whether a subscription request to the contact awaits an answer ({@code ask='subscribe'})
 * @param groups the group names
 */
public record RosterEntry(Jid jid, String name, String subscription, boolean pendingOut, List<String> groups) {
    /** Copies the groups. */
    public RosterEntry {
        groups = List.copyOf(groups);
    }

    /** Reads an {@code <item xmlns='jabber:iq:roster'/>}. */
    public static RosterEntry of(Element item) {
        List<String> groups = item.children().stream().filter(c -> c.is("group", "jabber:iq:roster")).map(Element::text).toList();
        return new RosterEntry(Jid.parse(item.attributeOrEmpty("jid")), item.attributeOrEmpty("name"),
                item.attribute("subscription").orElse("none"), item.attributeOrEmpty("ask").equals("subscribe"), groups);
    }
}
