package dev.twine.core.internal;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Enforces timeouts that the JDK's blocking socket API has no parameter for (writes, and reads on
 * channels): one daemon thread scans the registered guards a few times a second and fires those
 * whose deadline passed. A guard costs two volatile writes per guarded operation; registration
 * happens once per connection, not per operation.
 *
 * <p>The precision is the scan period ({@value #PERIOD_MILLIS} ms), fine for timeouts measured in
 * seconds.
 */
public final class Watchdog {
    static final long PERIOD_MILLIS = 50;
    private static final Watchdog INSTANCE = new Watchdog();
    private static final ReentrantLock START = new ReentrantLock();

    private final Set<Guard> guards = ConcurrentHashMap.newKeySet();
    private volatile Thread thread;

    private Watchdog() {}

    /** The process-wide watchdog. */
    public static Watchdog get() {
        return INSTANCE;
    }

    /** What a watched operation does when its deadline passes. */
    public interface Guard {
        /**
         * The {@link System#nanoTime()} by which the current operation must end, or 0 when none
         * is in progress.
         */
        long deadlineNanos();

        /** Called on the watchdog thread once the deadline has passed; must not block for long. */
        void expire();
    }

    /** Starts watching {@code guard} until {@link #unregister}. */
    public void register(Guard guard) {
        guards.add(guard);
        if (thread == null) {
            startThread();
        }
    }

    /** Stops watching {@code guard}. */
    public void unregister(Guard guard) {
        guards.remove(guard);
    }

    private void startThread() {
        // a lock, not a monitor: a virtual thread entering a contended monitor can stay stuck on
        // JDK 25.0.3 and earlier (JDK-8373120), and every first connection races through here
        START.lock();
        try {
            if (thread == null) {
                Thread t = Thread.ofPlatform().daemon().name("twine-watchdog").unstarted(this::loop);
                thread = t;
                t.start();
            }
        } finally {
            START.unlock();
        }
    }

    private void loop() {
        while (true) {
            LockSupport.parkNanos(PERIOD_MILLIS * 1_000_000L);
            long now = System.nanoTime();
            for (Guard g : guards) {
                long d = g.deadlineNanos();
                if (d != 0 && now - d >= 0) {
                    try {
                        g.expire();
                    } catch (RuntimeException e) {
                        System.getLogger(Watchdog.class.getName()).log(System.Logger.Level.WARNING, "timeout action failed", e);
                    }
                }
            }
        }
    }
}
