package dev.twine.xmpp;

import dev.twine.core.auth.Principal;
import java.util.Objects;
import java.util.Optional;

/**
 * A message or presence stanza a client or component sent, as a {@link StanzaInterceptor} sees
 * it before the server routes it.
 *
 * @param stanza the stanza, its {@code from} stamped by the server (RFC 6120 §8.1.2.1); a
 *     message with no {@code to} is already addressed to the sender's bare JID (§10.3.1)
 * @param from the sender's full JID (a client's bound address, or a component's address)
 * @param principal who the sender authenticated as, empty for a component
 * @param server the server routing it
 */
public record InboundStanza(Element stanza, Jid from, Optional<Principal> principal, XmppServer server) {
    /** Checks that nothing is null. */
    public InboundStanza {
        Objects.requireNonNull(stanza, "stanza");
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(principal, "principal");
        Objects.requireNonNull(server, "server");
    }
}
