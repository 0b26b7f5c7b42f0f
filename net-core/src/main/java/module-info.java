/**
 * Twine's core: structured concurrency on virtual threads ({@link dev.twine.core.Scope}), servers
 * and clients whose every connection runs on its own virtual thread, endpoints, framing, TLS,
 * pluggable authentication ({@code dev.twine.core.auth}) and public test doubles
 * ({@code dev.twine.core.testing}).
 */
module dev.twine.core {
    exports dev.twine.core;
    exports dev.twine.core.auth;
    // the launcher's plugin interface: what a module implements to add a `twine` command
    exports dev.twine.core.spi;
    exports dev.twine.core.testing;

    // Flight Recorder events (dev.twine.core.internal.Events): free unless a recording runs
    requires jdk.jfr;
}
