package dev.twine.samples;

import sun.misc.Signal;

/**
 * SIGINT and SIGTERM as a graceful stop, not a JVM shutdown: the launcher then shuts its services
 * down and exits 0, which a shutdown hook could not (the JVM exits 130/143 after one).
 */
final class Signals {
    private Signals() {}

    static void onTermination(Runnable action) {
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                Signal.handle(new Signal(name), s -> action.run());
            } catch (IllegalArgumentException unsupported) {
                // a platform without this signal: Ctrl-C then ends the JVM the ordinary way
            }
        }
    }

    /** SIGHUP runs {@code action} (on the JVM's signal thread) instead of ending the JVM. */
    static void onReload(Runnable action) {
        try {
            Signal.handle(new Signal("HUP"), s -> action.run());
        } catch (IllegalArgumentException unsupported) {
            // Windows has no SIGHUP
        }
    }
}
