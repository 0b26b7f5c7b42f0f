package dev.twine.core;

import java.time.Duration;
import java.util.List;

/**
 * Something that runs until stopped: a {@link Server}, or a group of services started together
 * ({@link Services#group}). The launcher starts every service the same way and stops it on SIGINT
 * or SIGTERM.
 */
public interface Service extends AutoCloseable {
    /** A short name: {@code echo}, {@code smtp}. */
    String name();

    /**
     * Starts the service and returns once it is ready (bound, loaded).
     *
     * @throws Exception if it cannot start; it then holds no resources
     * @throws IllegalStateException if already started
     */
    void start() throws Exception;

    /** The addresses it listens on, once started. */
    List<Binding> bindings();

    /**
     * Stops gracefully: stops taking new work, lets work in progress finish for up to
     * {@code grace}, then cancels what is left. Blocks until stopped.
     *
     * @throws InterruptedException if interrupted while waiting; the service is then closed at once
     */
    void shutdown(Duration grace) throws InterruptedException;

    /**
     * Re-reads what the service loaded from files at start (zones, certificates, users) and
     * swaps it in without dropping connections: what the launcher does on SIGHUP. A file that is
     * now bad is reported and the old contents kept. The default reloads nothing.
     *
     * @return whether anything was reloaded
     * @throws java.io.IOException naming the file and the problem, if a reload failed; the service
     *     keeps running with what it had
     */
    default boolean reload() throws java.io.IOException {
        return false;
    }

    /**
     * The services this one is made of, for tools that look inside a running process (the
     * manhole's {@code server("smtp")}, a status page): a {@link Services#group}'s members, in
     * start order. The default, for a service that is one thing, is none.
     *
     * @return the direct members; an unmodifiable list
     */
    default List<Service> members() {
        return List.of();
    }

    /** Stops at once: in-progress work is cancelled. Blocks until stopped; idempotent. */
    @Override
    void close();

    /**
     * Blocks until the service has stopped (by {@link #shutdown}, {@link #close} or a fatal error).
     *
     * @throws InterruptedException if interrupted while waiting
     */
    void awaitTermination() throws InterruptedException;
}
