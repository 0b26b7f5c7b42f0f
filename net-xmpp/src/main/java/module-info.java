/**
 * Twine's XMPP module: a server for client streams (RFC 6120, RFC 6121) and XEP-0114 external
 * components, and a blocking client, on the JDK's StAX parser.
 */
module dev.twine.xmpp {
    requires transitive dev.twine.core;
    requires java.xml;
    requires transitive dev.twine.dns; // S2sConnector.dns(Resolver)

    exports dev.twine.xmpp;

    provides dev.twine.core.spi.ServicePlugin with dev.twine.xmpp.internal.XmppPlugin;
}
