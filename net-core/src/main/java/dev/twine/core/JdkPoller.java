package dev.twine.core;

import java.lang.System.Logger.Level;

/**
 * Starts the JDK's I/O poller for virtual threads on the calling thread, before a server's loops
 * start.
 *
 * <p>The first virtual thread that waits for a socket runs the class initialiser of the JDK's
 * {@code sun.nio.ch.Poller}, which opens the epoll instances and starts the poller threads. A
 * second virtual thread waiting for a socket meanwhile (the udp receive loop beside the tcp
 * accept loop) waits for that initialiser while holding its carrier: Flight Recorder shows it as
 * a {@code jdk.VirtualThreadPinned} event ("Waited for initialization of sun.nio.ch.Poller by
 * another thread"), tens of milliseconds on a loaded machine. Initialising the class here, on the
 * thread that starts the server, leaves nothing for the loops to wait for. Loading a class by name
 * needs no access to its package; on a JDK without that class there is nothing to do.
 */
final class JdkPoller {
    private static final System.Logger LOG = System.getLogger(JdkPoller.class.getName());
    private static final String CLASS = "sun.nio.ch.Poller";

    private JdkPoller() {}

    /** Runs the poller's initialiser now unless it ran already; never throws. */
    static void initialise() {
        try {
            Class.forName(CLASS, true, null);
        } catch (ClassNotFoundException e) {
            LOG.log(Level.DEBUG, "{0} not found: this JDK starts its poller differently", CLASS);
        } catch (LinkageError e) {
            // the poller could not start (no epoll instance): the first socket wait reports it
            LOG.log(Level.DEBUG, () -> CLASS + " failed to initialise: " + e);
        }
    }
}
