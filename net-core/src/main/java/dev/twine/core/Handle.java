package dev.twine.core;

import java.util.NoSuchElementException;

/**
 * A child forked into a {@link Scope}. The scope owns the child: the handle only observes it and
 * can cancel it alone.
 *
 * @param <T> the child's result type ({@code Void} for a {@link Task})
 */
public sealed interface Handle<T> permits Scope.Child {
    /** Where a child is in its life. */
    enum State {
        /** Started and not yet finished. */
        RUNNING,
        /** Returned normally; {@link #resultNow()} has its value. */
        SUCCEEDED,
        /** Threw; {@link #exceptionNow()} has the exception. */
        FAILED,
        /** Ended after being cancelled (by {@link #cancel()} or its scope), or never started. */
        CANCELLED
    }

    /**
     * The child's name, also its thread name's last part. A server's connection task is the
     * exception: its thread is unnamed, so tens of thousands of idle connections hold no name
     * strings, and this name ({@code conn-ID PEER}) is built each time it is asked for.
     */
    String name();

    /** The child's current state; does not block. */
    State state();

    /**
     * Blocks until this child has ended and returns its result.
     *
     * @throws InterruptedException if the waiting thread is interrupted (the child is not touched)
     * @throws java.util.concurrent.CancellationException if the child was cancelled
     * @throws java.util.concurrent.CompletionException wrapping a checked exception the child threw;
     *     unchecked ones are rethrown as they are
     */
    T await() throws InterruptedException;

    /**
     * Like {@link #await()}, waiting at most {@code timeout}.
     *
     * @param timeout how long to wait; zero checks without waiting
     * @throws java.util.concurrent.TimeoutException if the child is still running then (it is not
     *     touched)
     * @throws InterruptedException if the waiting thread is interrupted (the child is not touched)
     * @throws java.util.concurrent.CancellationException if the child was cancelled
     * @throws java.util.concurrent.CompletionException wrapping a checked exception the child threw
     */
    T await(java.time.Duration timeout) throws InterruptedException, java.util.concurrent.TimeoutException;

    /**
     * The result of a child that has {@link State#SUCCEEDED}.
     *
     * @throws IllegalStateException in any other state
     */
    T resultNow();

    /**
     * The exception of a child that has {@link State#FAILED}.
     *
     * @throws NoSuchElementException in any other state
     */
    Throwable exceptionNow();

    /**
     * Cancels this child alone: interrupts its thread (which also unblocks socket I/O) and
     * cancels any scope it opened. Its exception, if it then throws, is not a failure of the scope.
     * Does not wait; does nothing once the child has ended.
     */
    void cancel();
}
