package dev.twine.xmpp;

import dev.twine.core.auth.Principal;
import java.util.Objects;
import java.util.Optional;

/**
 * One IQ request the server answers itself, as an {@link IqHandler} sees it.
 *
 * @param stanza the whole {@code <iq/>}, its {@code from} stamped by the server (RFC 6120
 *     §8.1.2.1); it has exactly one child, the {@linkplain #payload() payload}
 * @param from the sender's full JID (a client's bound address, or a component's address)
 * @param to the addressee: the server's domain for a handler registered with
 *     {@link XmppServer.Builder#iqHandler}, a local account's bare JID for one registered with
 *     {@link XmppServer.Builder#accountIqHandler} (an IQ with no {@code to} is addressed to the
 *     sender's own account, RFC 6120 §10.3.3)
 * @param principal who the sender authenticated as, empty for a component
 * @param server the server answering
 */
public record IqRequest(Element stanza, Jid from, Jid to, Optional<Principal> principal, XmppServer server) {
    /** Checks that nothing is null and that the stanza has one payload. */
    public IqRequest {
        Objects.requireNonNull(stanza, "stanza");
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(principal, "principal");
        Objects.requireNonNull(server, "server");
        if (stanza.children().size() != 1) {
            throw new IllegalArgumentException("an IQ request has exactly one payload (RFC 6120 §8.2.3)");
        }
    }

    /** The request's one child element, whose namespace chose the handler. */
    public Element payload() {
        return stanza.children().get(0);
    }

    /** Get or set. */
    public IqType type() {
        return stanza.attributeOrEmpty("type").equals("set") ? IqType.SET : IqType.GET;
    }

    /**
     * Whether a client sent this to its own account (its bare JID, or no {@code to}): the case
     * in which RFC 6121 lets a user read and change account data such as the roster (§2.1.5).
     */
    public boolean fromOwner() {
        return principal.isPresent() && !to.local().isEmpty() && from.bare().equals(to);
    }
}
