/**
 * Twine's mail module. It is an empty placeholder for now: the issue that builds this protocol
 * fills it in.
 */
module dev.twine.mail {
    requires dev.twine.core;
}
