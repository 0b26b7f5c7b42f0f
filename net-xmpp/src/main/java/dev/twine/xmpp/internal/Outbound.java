package dev.twine.xmpp.internal;

import dev.twine.core.Deadline;
import dev.twine.core.Connection;
import dev.twine.xmpp.Element;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * The writing side of one XML stream.
 *
 * <p>It starts <em>direct</em>: the stream's own thread writes on the connection itself, which is
 * all a stream needs before it is bound, as no one else can reach it yet. Once the session can
 * receive stanzas from other sessions ({@link #startWriter}), it is <em>queued</em>: every write
 * goes into a bounded queue, so routing a stanza here never blocks the sender on this client's
 * socket (one user must never stall another). A writer drains it: a virtual thread forked in the
 * connection's scope when there is work and ending when there is none (an idle session has no
 * writer), or the stream's own thread when it writes its own replies, as blocking on its own
 * client holds up no one else. The writer takes everything queued at once and flushes once, so a
 * burst goes out in one write; a sender's unflushed writes ({@link #write}) wait for its
 * {@link #flush()}.
 *
 * <p>Limits: at most {@code maxStanzas} items and {@code maxBytes} of XML wait in the queue. A
 * stanza from another session that would pass either overflows the queue: the connection is
 * closed at once (its writer is stuck, so not even a stream error could be written) and every
 * stanza still queued is handed back by {@link #close()} for the session to deliver elsewhere.
 * The stream's own thread is never refused: it waits for room instead, which only holds up its
 * own client, and at most for the write timeout, after which the writer has closed the
 * connection.
 *
 * <p>Every state change holds one {@link ReentrantLock} (never {@code synchronized}), which the
 * session also uses for its XEP-0198 bookkeeping ({@link #exclusive}); no socket write is made
 * holding it in queued mode.
 */
final class Outbound {
    private static final System.Logger LOG = System.getLogger(Outbound.class.getName());

    private final Connection conn;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    /** Signalled when the writer took the queue (room for the stream's own thread). */
    private final Condition room = lock.newCondition();

    // queued mode, all guarded by lock
    private boolean queued;
    private Thread owner;
    private int maxStanzas;
    private long maxBytes;
    /** Made on first use: most idle sessions never need one. */
    private ArrayDeque<Item> queue;
    private long queuedBytes;
    /** Items queued since the last signal to the writer (held by a sender until it flushes). */
    private int unsignalled;
    private long unsignalledBytes;
    private boolean flushWanted;
    private boolean overflowed;
    private boolean closed;
    /** The writer holds a batch it is writing. */
    private boolean busy;
    /** The writer's thread while it holds a batch. */
    private Thread writer;
    /** A writer is running (forked, or the stream's own thread writing inline). */
    private boolean writerRunning;
    /** Close the connection once everything queued is written ({@link #sendAndClose}). */
    private boolean closeAfter;
    /** Items the writer took but failed to write: kept for {@link #close()}. */
    private final List<Item> failed = new ArrayList<>(0);

    /** Past these, held (unflushed) items wake the writer anyway, so a long burst cannot overflow a reading client. */
    private static final int HELD_ITEMS = 64;
    private static final long HELD_BYTES = 64 * 1024;

    /** One queued write: its XML, and the stanza to hand back if it is never written (null: nothing to hand back). */
    private record Item(byte[] bytes, Element stanza) {}

    Outbound(Connection conn) {
        this.conn = conn;
    }

    /** Writes and flushes; returns false if the stream is closed or this overflowed it. */
    boolean send(String xml) {
        return put(xml, null, true);
    }

    /**
     * Writes without flushing: the bytes wait for a {@link #flush()} or the next {@link #send}.
     * Returns false if the stream is closed or this overflowed it.
     */
    boolean write(String xml) {
        return put(xml, null, false);
    }

    /**
     * Writes a stanza; in queued mode, {@code stanza} is what {@link #close()} hands back if it is
     * never written (pass null for stanzas kept elsewhere, as XEP-0198 keeps them).
     *
     * @return false if not queued: the stream is closed (then, unless {@link #close()} has run,
     *     {@code stanza} is kept for it) or this stanza overflowed the queue (kept too)
     */
    boolean send(String xml, Element stanza, boolean flush) {
        return put(xml, stanza, flush);
    }

    /**
     * Switches to queued mode: from now on at most {@code maxStanzas} items or {@code maxBytes}
     * bytes wait, and a writer in the connection's scope writes them (forked when there is work,
     * ending when there is none, so an idle session has no writer thread). Called once, on the
     * stream's own thread, before other sessions can route to it.
     */
    void startWriter(int maxStanzas, long maxBytes) {
        lock.lock();
        try {
            this.maxStanzas = maxStanzas;
            this.maxBytes = maxBytes;
            this.owner = Thread.currentThread();
            this.queued = true;
        } finally {
            lock.unlock();
        }
    }

    private boolean put(String xml, Element stanza, boolean flush) {
        byte[] bytes = xml.getBytes(StandardCharsets.UTF_8);
        Wake wake;
        lock.lock();
        try {
            if (!queued) {
                return writeDirect(bytes, flush);
            }
            if (closed) {
                return false;
            }
            boolean mine = Thread.currentThread() == owner;
            if (mine && full(bytes.length) && !overflowed && !closeAfter && !conn.isClosed()) {
                // the stream's own replies wait for room rather than end the stream, unless called
                // inside exclusive() (XEP-0198 bookkeeping lets no one in between: the session
                // waits for room before it enters, see awaitRoom)
                long wait = lock.getHoldCount() > 1 ? 0 : waitNanos();
                try {
                    while (wait > 0 && full(bytes.length) && !closed && !overflowed && !closeAfter && !conn.isClosed()) {
                        wait = room.awaitNanos(wait);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
                if (closed) {
                    return false;
                }
            }
            if (overflowed || closeAfter || conn.isClosed()) {
                if (stanza != null) {
                    queue().addLast(new Item(bytes, stanza)); // for close() to hand back; the session ends soon
                }
                return false;
            }
            if (!mine && full(bytes.length)) {
                // another session's stanza and no room: this client does not read
                overflowed = true;
                if (stanza != null) {
                    queue().addLast(new Item(bytes, stanza));
                }
                changed.signalAll();
                room.signalAll();
                wake = Wake.OVERFLOW;
            } else {
                queue().addLast(new Item(bytes, stanza));
                queuedBytes += bytes.length;
                unsignalled++;
                unsignalledBytes += bytes.length;
                if (!(flush || unsignalled >= HELD_ITEMS || unsignalledBytes >= HELD_BYTES)) {
                    return true; // held until the sender flushes
                }
                wake = wanted(mine && lock.getHoldCount() == 1);
            }
        } finally {
            lock.unlock();
        }
        if (wake == Wake.OVERFLOW) {
            // outside the lock: closing unblocks the writer, whose write would never finish
            LOG.log(System.Logger.Level.INFO, () -> "xmpp: closing " + conn.peer() + ": its client does not read (outbound queue full)");
            conn.close();
            return false;
        }
        run(wake);
        return true;
    }

    /** What a caller must do after asking for a flush, once it has let go of the lock. */
    private enum Wake { NONE, FORK, INLINE, OVERFLOW }

    /**
     * Marks the queue as to be written (the lock is held) and says who writes it: the running
     * writer (NONE), a new one (FORK), or the calling thread (INLINE: the stream's own thread,
     * outside exclusive(), which may block on its own client without holding anyone up).
     */
    private Wake wanted(boolean inline) {
        flushWanted = true;
        unsignalled = 0;
        unsignalledBytes = 0;
        if (writerRunning) {
            return Wake.NONE;
        }
        writerRunning = true;
        return inline ? Wake.INLINE : Wake.FORK;
    }

    private void run(Wake wake) {
        if (wake == Wake.INLINE) {
            drain();
        } else if (wake == Wake.FORK) {
            try {
                conn.scope().fork("xmpp-writer", this::drain);
            } catch (IllegalStateException ended) {
                conn.close(); // the connection's scope is closed: it has ended
            }
        }
    }

    private ArrayDeque<Item> queue() {
        if (queue == null) {
            queue = new ArrayDeque<>(8);
        }
        return queue;
    }

    private boolean queueEmpty() {
        return queue == null || queue.isEmpty();
    }

    private boolean full(int more) {
        int n = queue == null ? 0 : queue.size();
        return n + 1 > maxStanzas || queuedBytes + more > maxBytes;
    }

    private long waitNanos() {
        Duration d = conn.writeTimeout();
        return d.isZero() ? Long.MAX_VALUE : d.toNanos();
    }

    private boolean writeDirect(byte[] bytes, boolean flush) {
        try {
            if (conn.isClosed()) {
                return false;
            }
            conn.output().write(bytes);
            if (flush) {
                conn.flush();
            }
            return true;
        } catch (IOException e) {
            conn.close();
            return false;
        }
    }

    /** Sends what {@link #write} left waiting; a failure closes the connection. */
    void flush() {
        Wake wake = Wake.NONE;
        lock.lock();
        try {
            if (queued) {
                if (unsignalled > 0 && !closed && !queueEmpty()) {
                    wake = wanted(Thread.currentThread() == owner && lock.getHoldCount() == 1);
                }
            } else if (!conn.isClosed()) {
                conn.flush();
            }
        } catch (IOException e) {
            conn.close();
        } finally {
            lock.unlock();
        }
        run(wake);
    }

    /**
     * The writer: takes the whole queue, writes it, flushes once, and again while more was
     * flushed meanwhile; ends when there is nothing to write (or the stream is closed).
     */
    private void drain() {
        List<Item> batch = new ArrayList<>();
        while (true) {
            boolean closeNow = false;
            lock.lock();
            try {
                if (closed || overflowed || conn.isClosed() || queueEmpty() || !flushWanted) {
                    closeNow = closeAfter && queueEmpty() && !closed;
                    writerRunning = false;
                    writer = null;
                    room.signalAll();
                    if (!closeNow) {
                        return;
                    }
                } else {
                    writer = Thread.currentThread();
                    batch.addAll(queue);
                    queue.clear();
                    queuedBytes = 0;
                    unsignalled = 0;
                    unsignalledBytes = 0;
                    flushWanted = false;
                    busy = true;
                    room.signalAll();
                }
            } finally {
                lock.unlock();
            }
            if (closeNow) {
                conn.close(); // after the stream error sendAndClose queued
                return;
            }
            try {
                for (Item i : batch) {
                    conn.output().write(i.bytes());
                }
                conn.flush();
                batch.clear();
                lock.lock();
                try {
                    busy = false;
                    room.signalAll();
                } finally {
                    lock.unlock();
                }
            } catch (IOException e) {
                conn.close();
                lock.lock();
                try {
                    busy = false;
                    writerRunning = false;
                    writer = null;
                    failed.addAll(batch); // written in part at most: better twice than never
                    room.signalAll();
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
                return;
            }
        }
    }

    /**
     * On the stream's own thread, before XEP-0198 bookkeeping: waits (at most the write timeout)
     * until the queue has room for {@code bytes} more, as {@link #send} would outside
     * {@link #exclusive}. Returns at once on other threads and in direct mode.
     */
    void awaitRoom(int bytes) {
        lock.lock();
        try {
            if (!queued || Thread.currentThread() != owner) {
                return;
            }
            long wait = waitNanos();
            while (wait > 0 && full(bytes) && !closed && !closeAfter && !overflowed && !conn.isClosed()) {
                wait = room.awaitNanos(wait);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Writes {@code xml} (a stream error) after everything queued, then closes the connection;
     * what is queued after it is not written. In direct mode, writes and closes at once.
     */
    void sendAndClose(String xml) {
        byte[] bytes = xml.getBytes(StandardCharsets.UTF_8);
        Wake wake;
        lock.lock();
        try {
            if (!queued || closed || overflowed || closeAfter || conn.isClosed()) {
                if (!queued) {
                    writeDirect(bytes, true);
                }
                wake = null;
            } else {
                queue().addLast(new Item(bytes, null));
                queuedBytes += bytes.length;
                closeAfter = true;
                wake = wanted(false); // never inline: the caller is another session's thread
            }
        } finally {
            lock.unlock();
        }
        if (wake == null) {
            conn.close();
        } else {
            run(wake);
        }
    }

    /**
     * On the stream's own thread as it ends: writes what is queued (at most for the write
     * timeout, after which the write fails and the connection is closed), so that a closing tag
     * or stream error goes out before the connection is closed.
     */
    void awaitDrained() {
        Wake wake = Wake.NONE;
        lock.lock();
        try {
            if (!queued || closed || overflowed || conn.isClosed()) {
                return;
            }
            if (!queueEmpty()) {
                wake = wanted(lock.getHoldCount() == 1);
            }
        } finally {
            lock.unlock();
        }
        run(wake);
        lock.lock();
        try {
            long wait = waitNanos();
            while (wait > 0 && (busy || writerRunning) && !closed && !overflowed && !conn.isClosed()) {
                wait = room.awaitNanos(wait);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }

    /** Whether {@link #close()} has run: nothing is queued or kept any more. */
    boolean isClosed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    /** Whether a stanza from another session found the queue full (the session must not wait to be resumed). */
    boolean overflowed() {
        lock.lock();
        try {
            return overflowed;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Ends queued mode: nothing more is written or queued, and the stanzas that were queued with
     * a {@code stanza} but never written are returned, in order, for delivery elsewhere. Called
     * once the connection is closed; a writer still in a write is interrupted and its batch
     * returned too. Idempotent (later calls return nothing).
     */
    List<Element> close() {
        lock.lock();
        try {
            if (closed) {
                return List.of();
            }
            closed = true;
            if (busy && writer != null && writer != Thread.currentThread()) {
                // the connection is closed, so the batch in hand cannot be written: stop the writer
                // (a write on a closed stream may not notice at once) and take the batch back
                writer.interrupt();
                long wait = TimeUnit.SECONDS.toNanos(5);
                while (busy && wait > 0) {
                    try {
                        wait = room.awaitNanos(wait);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
            }
            List<Element> left = new ArrayList<>();
            for (Item i : failed) {
                if (i.stanza() != null) {
                    left.add(i.stanza());
                }
            }
            if (queue != null) {
                for (Item i : queue) {
                    if (i.stanza() != null) {
                        left.add(i.stanza());
                    }
                }
                queue = null;
            }
            failed.clear();
            queuedBytes = 0;
            room.signalAll();
            return left;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Blocks while {@code condition} holds and {@code deadline} has not passed, checking it under
     * this lock each time {@link #signalAll()} is called.
     *
     * @return false if the deadline passed while the condition still held
     * @throws InterruptedException if interrupted while waiting
     */
    boolean awaitWhile(BooleanSupplier condition, Deadline deadline) throws InterruptedException {
        lock.lock();
        try {
            return deadline.awaitWhile(lock, changed, condition);
        } finally {
            lock.unlock();
        }
    }

    /** Wakes the threads in {@link #awaitWhile}; the caller holds this lock (inside {@link #exclusive}). */
    void signalAll() {
        changed.signalAll();
    }

    /**
     * Runs an action with no other writer in between: XEP-0198 bookkeeping in either mode, and in
     * direct mode a TLS upgrade.
     */
    void exclusive(IoAction action) throws IOException {
        lock.lock();
        try {
            action.run();
        } finally {
            lock.unlock();
        }
    }

    /** An action that may fail with an I/O error. */
    interface IoAction {
        void run() throws IOException;
    }
}
