package dev.twine.xmpp.internal;

import dev.twine.core.Connection;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The writing side of one XML stream. Other sessions' threads write here when they route a stanza
 * to this one, so every write holds a lock (a {@link ReentrantLock}, never {@code synchronized}:
 * the write may block). A write blocks at most for the connection's write timeout; a failed or
 * timed-out write closes the connection, which ends that session's reading thread too, so one
 * slow reader cannot hold up the users writing to it for longer than that.
 */
final class Outbound {
    private final Connection conn;
    private final ReentrantLock lock = new ReentrantLock();

    Outbound(Connection conn) {
        this.conn = conn;
    }

    /** Writes and flushes; returns false (and closes the connection) if that failed. */
    boolean send(String xml) {
        return write(xml, true);
    }

    /**
     * Writes without flushing: the bytes wait in the connection's buffer for a {@link #flush()}
     * or the next {@link #send}. Returns false (and closes the connection) if that failed.
     */
    boolean write(String xml) {
        return write(xml, false);
    }

    private boolean write(String xml, boolean flush) {
        byte[] bytes = xml.getBytes(StandardCharsets.UTF_8);
        lock.lock();
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
        } finally {
            lock.unlock();
        }
    }

    /** Sends what {@link #write} left buffered; a failure closes the connection. */
    void flush() {
        lock.lock();
        try {
            if (!conn.isClosed()) {
                conn.flush();
            }
        } catch (IOException e) {
            conn.close();
        } finally {
            lock.unlock();
        }
    }

    private final java.util.concurrent.locks.Condition changed = lock.newCondition();

    /**
     * Blocks while {@code condition} holds, checking it under this lock each time
     * {@link #signalAll()} is called.
     *
     * @throws InterruptedException if interrupted while waiting
     */
    void awaitWhile(java.util.function.BooleanSupplier condition) throws InterruptedException {
        lock.lock();
        try {
            while (condition.getAsBoolean()) {
                changed.await();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Wakes the threads in {@link #awaitWhile}; the caller holds this lock (inside {@link #exclusive}). */
    void signalAll() {
        changed.signalAll();
    }

    /** Runs an action (a TLS upgrade) with no other writer in between. */
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
