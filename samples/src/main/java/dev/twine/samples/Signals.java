package dev.twine.samples;

import sun.misc.Signal;
import sun.misc.SignalHandler;

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

    /**
     * SIGHUP runs {@code action} (on the JVM's signal thread) instead of ending the JVM. Where it
     * cannot (started under {@code nohup}, which leaves SIGHUP ignored and the JVM then keeps it
     * so), one warning says that reloads will not happen, instead of their silently not happening.
     */
    static void onReload(Runnable action) {
        if (System.getProperty("os.name", "").startsWith("Windows")) {
            return; // no SIGHUP there
        }
        boolean handled;
        try {
            // under nohup the JVM leaves an ignored SIGHUP ignored: it says so by returning SIG_IGN
            handled = Signal.handle(new Signal("HUP"), s -> action.run()) != SignalHandler.SIG_IGN;
        } catch (IllegalArgumentException refused) {
            handled = false;
        }
        if (!handled) {
            System.getLogger("dev.twine.launcher").log(System.Logger.Level.WARNING,
                    "SIGHUP is ignored in this process (started under nohup?): it will not reload; "
                    + "restart the server to pick up changed files");
        }
    }
}
