package dev.twine.xmpp.internal;

import dev.twine.xmpp.Element;

/**
 * Where the stanzas for a domain other than the server's own go: a connected component's stream
 * ({@link ComponentSession}) or a {@link dev.twine.xmpp.DomainHandler} hosted in-process
 * ({@link LocalDomain}).
 */
interface Route {
    /** The domain served. */
    String domain();

    /** Takes a stanza addressed to the domain, on the sender's thread; never blocks on another session. */
    void send(Element stanza);
}
