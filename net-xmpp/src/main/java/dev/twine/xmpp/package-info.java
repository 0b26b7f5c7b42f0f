/**
 * XMPP on Twine: {@link dev.twine.xmpp.XmppServer}, a server for one domain (RFC 6120 client
 * streams with STARTTLS, SASL SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN, resource binding;
 * RFC 6121 rosters, presence subscriptions and broadcast, message routing and offline storage;
 * XEP-0030, XEP-0092, XEP-0199, XEP-0114 components, XEP-0280 carbons and XEP-0198 acks without
 * resumption), and {@link dev.twine.xmpp.XmppClient}, a blocking client.
 *
 * <p>Each stream is read by the JDK's StAX parser on its connection's own virtual thread, with
 * DTDs off and limits on stanza size, nesting depth and attribute count. Between stanzas an idle
 * stream drops its parser and waits on the bare connection, so an idle session costs a few KiB.
 *
 * <p>The server is extended through {@link dev.twine.xmpp.IqHandler}s registered by IQ type and
 * payload namespace, {@link dev.twine.xmpp.StanzaInterceptor}s for messages and presence, and the
 * {@link dev.twine.xmpp.DiscoInfo} each declares; its own roster, carbons, ping, version and
 * service discovery are built the same way.
 *
 * <p>Stanzas and their payloads are immutable {@link dev.twine.xmpp.Element}s; addresses are
 * {@link dev.twine.xmpp.Jid}s.
 */
package dev.twine.xmpp;
