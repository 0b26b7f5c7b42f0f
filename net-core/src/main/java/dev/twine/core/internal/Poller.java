package dev.twine.core.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * One selector and the virtual thread that runs it, for {@link ReadinessTransport}s: every channel
 * is registered once, for reads, and stays registered until it closes.
 *
 * <p><b>Who reads.</b> A level-triggered selector reports a readable key on every select until its
 * bytes are read, so this loop reads them itself, into its one direct scratch buffer, and hands
 * them to the transport (straight into the array of a reader that waits, else into the transport's
 * spill buffer) before unparking the reader. Nothing is ever reported twice, so nothing spins, and
 * no {@code epoll_ctl} is made per read: interest changes only when a transport's spill buffer is
 * full (the reader is behind), at end of stream, and around a write the kernel could not take
 * whole.
 *
 * <p><b>Who touches the selector.</b> Only this loop: connection threads ask it to register a
 * channel, change its interest or close it ({@link #reconcile}), and wake it through a flag so
 * that, of all the threads asking between two rounds, one reaches {@code Selector.wakeup}. The
 * JDK guards each of those selector operations with a small monitor, and a monitor contended by
 * thousands of virtual threads can leave some stuck for good on JDK 25.0.3 and earlier
 * (JDK-8373120).
 *
 * <p><b>Timeouts.</b> A thread that parks with a timeout records its deadline in its transport and,
 * the first time, queues the transport here; this loop keeps queued transports in a timer wheel of
 * {@value #SLOTS} slots of {@value #TICK_MILLIS} ms and, while any is queued, wakes at least once a
 * tick to look at the slots that came due: an expired wait is ended (a flag, an unpark), a later
 * one moves to its slot, a transport not waiting any more leaves the wheel. Nothing is scanned that
 * is not due, and a wait that ends costs nothing here. Deadlines are read on a coarse clock (the
 * time of this loop's last wake-up) and pushed out by a tick, so a timeout fires no earlier than
 * asked and at most about two ticks later.
 */
public final class Poller {
    static final long TICK_MILLIS = 16;
    static final int SLOTS = 1024;
    private static final long TICK_NANOS = TICK_MILLIS * 1_000_000L;
    private static final int SCRATCH = 64 * 1024;
    private static final System.Logger LOG = System.getLogger(Poller.class.getName());

    private static volatile Poller[] shared;
    private static final AtomicInteger NEXT = new AtomicInteger();
    private static final ReentrantLock START = new ReentrantLock();
    private static final VarHandle WOKEN;

    static {
        try {
            WOKEN = MethodHandles.lookup().findVarHandle(Poller.class, "woken", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Selector selector;
    private final LongSupplier nanos;
    private final ByteBuffer scratch = ByteBuffer.allocateDirect(SCRATCH);
    private final ConcurrentLinkedQueue<ReadinessTransport> arriving = new ConcurrentLinkedQueue<>();
    /** Transports whose registration this loop is to bring up to date. */
    private final ConcurrentLinkedQueue<ReadinessTransport> toReconcile = new ConcurrentLinkedQueue<>();
    /** 1 once a wakeup was asked of the selector since this loop last woke. */
    private volatile int woken;
    @SuppressWarnings("unchecked")
    private final List<ReadinessTransport>[] wheel = new List[SLOTS];
    private final List<ReadinessTransport> due = new ArrayList<>();
    /** Transports in the wheel; only this loop touches it. */
    private int queued;
    /** The time of the last wake-up, on {@link #nanos}: the coarse clock. */
    private volatile long now;
    /** Whether this loop wakes every tick (it has timeouts to watch): only then is {@link #now} fresh. */
    private volatile boolean ticking;
    /** Whether {@link #now} was read in this round of the loop. */
    private boolean fresh;
    /** The tick up to which the wheel has been processed. */
    private long doneTick;

    private Poller(String name, LongSupplier nanos) {
        this.nanos = nanos;
        try {
            this.selector = Selector.open();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open a selector", e);
        }
        this.now = nanos.getAsLong();
        this.doneTick = now / TICK_NANOS;
        Thread.ofVirtual().name(name).start(this::loop);
    }

    /**
     * The next of the process's pollers, round robin; they are started on first use. Their count is
     * the {@code twine.pollers} system property, by default one per carrier thread (the virtual
     * thread scheduler's parallelism), or one before JDK 24, where a selecting virtual thread pins
     * its carrier.
     */
    public static Poller next() {
        Poller[] ps = shared;
        if (ps == null) {
            ps = startShared();
        }
        return ps[Math.floorMod(NEXT.getAndIncrement(), ps.length)];
    }

    private static Poller[] startShared() {
        // a lock, not a monitor: every connection of a busy first second can race through here,
        // and a virtual thread entering a contended monitor can stay stuck on JDK 25.0.3 and
        // earlier (JDK-8373120)
        START.lock();
        try {
            if (shared != null) {
                return shared;
            }
            // before JEP 491 (JDK 24) a poller pins its carrier while it selects: then only one
            int carriers = Integer.getInteger("jdk.virtualThreadScheduler.parallelism",
                    Runtime.getRuntime().availableProcessors());
            int n = Integer.getInteger("twine.pollers", Runtime.version().feature() >= 24 ? carriers : 1);
            Poller[] ps = new Poller[Math.max(1, n)];
            for (int i = 0; i < ps.length; i++) {
                ps[i] = new Poller("twine-poller-" + i, System::nanoTime);
            }
            shared = ps;
            return ps;
        } finally {
            START.unlock();
        }
    }

    /**
     * A poller of its own on the time source {@code nanos}, for tests that drive timeouts with a
     * manual clock: after moving the clock, call {@link #wakeup()}. Closing it is not needed; it
     * ends with the process.
     */
    public static Poller withClock(String name, LongSupplier nanos) {
        return new Poller(name, nanos);
    }

    /**
     * Has this loop bring {@code t}'s registration up to date ({@link ReadinessTransport#reconcile})
     * on its own thread, soon: the transport's first registration, a changed interest, a close.
     */
    void reconcile(ReadinessTransport t) {
        toReconcile.add(t);
        wakeup();
    }

    /**
     * Makes the loop run once more, soon: a moved test clock, a new request. Of the threads asking
     * between two rounds only the first reaches the selector, whose {@code wakeup} takes a monitor
     * (see {@link ReadinessTransport}'s constructor for why that matters).
     */
    public void wakeup() {
        if (WOKEN.compareAndSet(this, 0, 1)) {
            selector.wakeup();
        }
    }

    /** The time source's current reading, coarsely: the loop's last wake-up while it ticks. */
    long now() {
        return ticking ? now : nanos.getAsLong();
    }

    /** Turns {@code timeout} into a deadline on the coarse clock, never earlier than asked. */
    long deadlineAfter(long timeoutNanos) {
        return now() + timeoutNanos + TICK_NANOS | 1;
    }

    /** The time source, read exactly (for absolute deadlines set rarely). */
    long exactNow() {
        return nanos.getAsLong();
    }

    /** From a transport whose wait has a deadline and that is not in the wheel yet. */
    void watch(ReadinessTransport t) {
        arriving.add(t);
        if (!ticking) {
            wakeup();
        }
    }

    private void loop() {
        while (true) {
            try {
                ticking = queued > 0 || !arriving.isEmpty();
                fresh = false;
                selector.select(this::ready, ticking ? TICK_MILLIS : 0);
                // before the queues are read: a request queued from now on wakes the next select
                woken = 0;
                if (!fresh) {
                    now = nanos.getAsLong();
                }
                ReadinessTransport t;
                while ((t = toReconcile.poll()) != null) {
                    t.reconcile(selector);
                }
                while ((t = arriving.poll()) != null) {
                    place(t);
                }
                advance();
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.WARNING, "poller loop failed; going on", e);
            }
        }
    }

    private void ready(SelectionKey key) {
        if (!fresh) {
            // before waking anyone: a thread woken here arms its next wait on this reading
            now = nanos.getAsLong();
            fresh = true;
        }
        ReadinessTransport t = (ReadinessTransport) key.attachment();
        int ops;
        try {
            ops = key.readyOps();
        } catch (java.nio.channels.CancelledKeyException closed) {
            return; // closed by its connection since the select: nothing to deliver
        }
        if ((ops & SelectionKey.OP_WRITE) != 0) {
            t.writable(key);
        }
        if ((ops & SelectionKey.OP_READ) != 0) {
            t.readable(key, scratch);
        }
    }

    private void place(ReadinessTransport t) {
        long d = t.waitDeadline();
        if (d == 0) {
            t.unqueue();
            // a wait that began between the read above and unqueue() saw the transport queued and
            // left it to this loop: read again after unqueue(), as advance() does, or its deadline
            // would be in no slot and never fire
            d = t.waitDeadline();
            if (d == 0 || !t.requeue()) {
                return;
            }
        }
        if (d - now <= 0) {
            // due already: this round, not a later tick (a test's clock may never get there)
            due.add(t);
            return;
        }
        long tick = Math.max(d / TICK_NANOS, doneTick + 1);
        int slot = (int) Math.floorMod(tick, (long) SLOTS);
        List<ReadinessTransport> l = wheel[slot];
        if (l == null) {
            l = wheel[slot] = new ArrayList<>(4);
        }
        l.add(t);
        queued++;
    }

    private void advance() {
        long nowTick = now / TICK_NANOS;
        // after a long stall go round once, not once per missed tick
        long from = Math.max(doneTick + 1, nowTick - SLOTS + 1);
        for (long tick = from; tick <= nowTick; tick++) {
            int slot = (int) Math.floorMod(tick, (long) SLOTS);
            List<ReadinessTransport> l = wheel[slot];
            if (l == null || l.isEmpty()) {
                continue;
            }
            due.addAll(l);
            queued -= l.size();
            l.clear();
        }
        doneTick = Math.max(doneTick, nowTick);
        for (int i = 0; i < due.size(); i++) { // place() may append what is due at once
            ReadinessTransport t = due.get(i);
            t.unqueue();
            t.expire(now);
            // a wait still on (or one that began after unqueue() and saw the transport queued)
            if (t.waitDeadline() != 0 && t.requeue()) {
                place(t);
            }
        }
        due.clear();
    }
}
