/**
 * Twine's ssh module. It is an empty placeholder for now: the issue that builds this protocol
 * fills it in.
 */
module dev.twine.ssh {
    requires dev.twine.core;
}
