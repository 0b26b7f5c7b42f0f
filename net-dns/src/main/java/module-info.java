/**
 * Twine's dns module. It is an empty placeholder for now: the issue that builds this protocol
 * fills it in.
 */
module dev.twine.dns {
    requires dev.twine.core;
}
