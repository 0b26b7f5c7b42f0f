/**
 * Twine's xmpp module. It is an empty placeholder for now: the issue that builds this protocol
 * fills it in.
 */
module dev.twine.xmpp {
    requires dev.twine.core;
}
