package dev.twine.core;

import dev.twine.core.internal.Clocks;
import java.io.InterruptedIOException;
import java.nio.channels.ClosedByInterruptException;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A structured group of tasks, each on its own virtual thread. Children never outlive their scope:
 * {@link #close()} waits for all of them.
 *
 * <pre>{@code
 * try (Scope scope = Scope.open("lookup", Deadline.after(Duration.ofSeconds(5)))) {
 *     Handle<List<String>> a = scope.fork("a", () -> resolver.lookup(name, "A"));
 *     Handle<List<String>> aaaa = scope.fork("aaaa", () -> resolver.lookup(name, "AAAA"));
 *     scope.join();
 *     return merge(a.resultNow(), aaaa.resultNow());
 * }
 * }</pre>
 *
 * <h2>Rules</h2>
 * <ul>
 *   <li>The first child to fail cancels its siblings: each is interrupted, which also unblocks
 *       socket I/O on virtual threads. {@link #join()} and {@link #close()} rethrow that first
 *       failure once all children have ended; exceptions that other children threw after it are
 *       attached to it as suppressed.
 *   <li>A failure is rethrown as it is if unchecked; a checked one is wrapped in a
 *       {@link CompletionException} whose message names the child.
 *   <li>With a {@link Deadline}, children still running when it passes are cancelled and
 *       {@code join}/{@code close} throw {@link DeadlineExceededException}. The deadline bounds the
 *       children, not the code between {@code open} and {@code join}: do blocking work in children
 *       or bound it with {@link Deadline#remaining()}.
 *   <li>A thread interrupted while waiting in {@code join} or {@code close} cancels the children,
 *       waits for them to end, and then throws ({@code InterruptedException} from {@code join};
 *       {@link CancellationException} with the interrupt flag set again from {@code close}).
 *   <li>A scope opened on a child's thread is nested: cancelling that child cancels it too.
 *   <li>Children that end by throwing after their scope (or they alone) were cancelled are not
 *       failures: their exceptions are expected consequences of cancellation.
 * </ul>
 *
 * <p>Scopes are thread-safe: any thread may fork, join, cancel or close.
 */
public final class Scope implements AutoCloseable {
    /**
     * The child each running scope thread belongs to, so a scope opened on it can nest. A map
     * rather than a ThreadLocal: one entry per running child costs a fraction of a thread-local
     * map per virtual thread, which counts with tens of thousands of idle connections.
     */
    private static final ConcurrentHashMap<Thread, Child<?>> CHILDREN = new ConcurrentHashMap<>();
    private static final AtomicLong ANONYMOUS = new AtomicLong();

    private final String name;
    private final Deadline deadline;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition allEnded = lock.newCondition();
    /** Signalled whenever a child ends, for {@link Handle#await()}. */
    private final Condition someEnded = lock.newCondition();
    /**
     * The children running now, linked through their own fields under {@link #lock}: a set would
     * cost a node per child, which counts with tens of thousands of connections.
     */
    private Child<?> running;
    private final Child<?> parent;
    private int live;
    private Throwable failure;
    private boolean failureReported;
    private volatile boolean cancelled;
    private boolean closed;
    private Thread deadlineWatcher;

    private Scope(String name, Deadline deadline) {
        this.name = Objects.requireNonNull(name, "name");
        this.deadline = deadline;
        this.parent = CHILDREN.get(Thread.currentThread());
        if (parent != null) {
            parent.addNested(this);
        }
        if (deadline != null) {
            deadlineWatcher = Thread.ofVirtual().name(name + "/deadline").start(this::watchDeadline);
        }
    }

    /**
     * Opens a scope with no deadline.
     *
     * @param name a name for the scope; its children's threads are named {@code name/child}
     */
    public static Scope open(String name) {
        return new Scope(name, null);
    }

    /**
     * Opens a scope bounded by {@code deadline}.
     *
     * @param name a name for the scope; its children's threads are named {@code name/child}
     */
    public static Scope open(String name, Deadline deadline) {
        return new Scope(name, Objects.requireNonNull(deadline, "deadline"));
    }

    /**
     * Runs {@code body} in a new scope, as a Trio nursery does: the body forks children into the
     * scope it is given; when the body returns, the scope waits for them; when the body throws, the
     * children are cancelled first, so a failed body never waits on children that would run on.
     *
     * <pre>{@code
     * String both = Scope.run("lookup", scope -> {
     *     Handle<String> a = scope.fork("a", () -> ask(serverA));
     *     Handle<String> b = scope.fork("b", () -> ask(serverB));
     *     return a.await() + b.await();
     * });
     * }</pre>
     *
     * @param name the scope's name
     * @param body what runs in the scope, on the calling thread
     * @return what the body returned
     * @throws Exception what the body threw (a child's failure, if it came first, is added to it
     *     as suppressed), or a child's failure as {@link #join()} throws it
     */
    public static <T> T run(String name, Body<T> body) throws Exception {
        Objects.requireNonNull(body, "body");
        Scope scope = open(name);
        T result;
        try {
            result = body.run(scope);
        } catch (Throwable t) {
            scope.cancel();
            try {
                scope.close();
            } catch (RuntimeException | Error childFailure) {
                if (childFailure != t) {
                    t.addSuppressed(childFailure);
                }
            }
            throw t;
        }
        scope.close();
        return result;
    }

    /**
     * The body of {@link #run(String, Body)}.
     *
     * @param <T> what it returns
     */
    @FunctionalInterface
    public interface Body<T> {
        /** Runs with the scope to fork children into. */
        T run(Scope scope) throws Exception;
    }

    /** The scope's name. */
    public String name() {
        return name;
    }

    /** The deadline this scope was opened with, if any. */
    public java.util.Optional<Deadline> deadline() {
        return java.util.Optional.ofNullable(deadline);
    }

    /**
     * Starts {@code task} on a new virtual thread named {@code <scope>/<name>}.
     *
     * @return a handle on the child; if the scope is already cancelled, the task is not started and
     *     the handle is {@link Handle.State#CANCELLED}
     * @throws IllegalStateException if the scope is closed
     */
    public <T> Handle<T> fork(String name, Callable<? extends T> task) {
        Objects.requireNonNull(task, "task");
        Child<T> child = new Child<>(this, name == null ? "task-" + ANONYMOUS.incrementAndGet() : name, null, task, null);
        child.thread = Thread.ofVirtual().name(this.name + "/" + child.name).unstarted(child);
        return start(child);
    }

    /**
     * What a server's connection thread runs, given the connection: one object can serve every
     * connection of a listener, so none costs a task object of its own (nor its parked stack a
     * lambda's frames).
     */
    @FunctionalInterface
    interface ConnectionTask {
        /** Serves {@code connection} on its own thread. */
        void run(Connection connection) throws Exception;
    }

    /**
     * Starts a server's connection task: as {@link #fork(String, Callable)}, but with no name built
     * until one is asked for (the handle's {@link Handle#name()} is then {@code conn-ID PEER}, and
     * the thread is unnamed), and with the connection kept on the handle for
     * {@link #forEachConnection}.
     */
    Handle<Void> fork(Connection connection, ConnectionTask task) {
        Child<Void> child = new Child<>(this, null, connection, null, Objects.requireNonNull(task, "task"));
        child.thread = Thread.ofVirtual().unstarted(child);
        return start(child);
    }

    /** Calls {@code action} on the connection of every running child forked with one. */
    void forEachConnection(java.util.function.Consumer<Connection> action) {
        List<Connection> found = new ArrayList<>();
        lock.lock();
        try {
            for (Child<?> c = running; c != null; c = c.next) {
                if (c.connection != null) {
                    found.add(c.connection);
                }
            }
        } finally {
            lock.unlock();
        }
        found.forEach(action);
    }

    private <T> Handle<T> start(Child<T> child) {
        boolean expired = false;
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("scope '" + this.name + "' is closed");
            }
            if (cancelled) {
                child.finish(Handle.State.CANCELLED, null, null);
                return child;
            }
            if (deadline != null && deadline.isExpired()) {
                // the deadline passed, possibly while nothing ran and the watcher had stopped
                // looking: the job is out of time, so nothing new starts
                if (failure == null) {
                    failure = new DeadlineExceededException("scope '" + this.name + "'", deadline);
                }
                expired = true;
            } else {
                live++;
                child.next = running;
                if (running != null) {
                    running.prev = child;
                }
                running = child;
            }
        } finally {
            lock.unlock();
        }
        if (expired) {
            cancel();
            child.finish(Handle.State.CANCELLED, null, null);
            return child;
        }
        child.thread.start();
        return child;
    }

    /** Like {@link #fork(String, Callable)} for work that returns nothing. */
    public Handle<Void> fork(String name, Task task) {
        Objects.requireNonNull(task, "task");
        return fork(name, () -> {
            task.run();
            return null;
        });
    }

    /**
     * Cancels every running child (interrupting its thread and cancelling scopes it opened) and
     * refuses to start new ones. Does not wait: {@link #join()} or {@link #close()} do. Cancelling
     * is not a failure: {@code join} then throws nothing unless a child had failed before.
     */
    public void cancel() {
        cancelled = true;
        List<Child<?>> now = new ArrayList<>();
        lock.lock();
        try {
            for (Child<?> c = running; c != null; c = c.next) {
                now.add(c);
            }
        } finally {
            lock.unlock();
        }
        // outside the lock: cancelling nested scopes takes theirs
        for (Child<?> c : now) {
            c.cancel();
        }
    }

    /** Whether {@link #cancel()} was called, a child failed, or the deadline passed. */
    public boolean isCancelled() {
        return cancelled;
    }

    /**
     * Blocks until every child forked so far has ended, then throws the first failure, if any
     * (once: a later {@code join} or {@code close} does not throw it again).
     *
     * @throws InterruptedException if the waiting thread is interrupted; the children are then
     *     cancelled and have ended before this is thrown
     * @throws DeadlineExceededException if the deadline passed with children still running
     */
    public void join() throws InterruptedException {
        join(-1);
    }

    /**
     * Like {@link #join()}, but waits at most {@code timeout}: returns false, leaving the children
     * running, if some are still running then.
     *
     * @param timeout how long to wait; zero checks without waiting
     * @return true once every child has ended (and any failure was thrown), false on timeout
     * @throws InterruptedException if the waiting thread is interrupted; the children are then
     *     cancelled and have ended before this is thrown
     * @throws DeadlineExceededException if the deadline passed with children still running
     */
    public boolean join(java.time.Duration timeout) throws InterruptedException {
        return join(Math.max(0, Objects.requireNonNull(timeout, "timeout").toNanos()));
    }

    /** Both joins: {@code nanos} below zero waits as long as it takes. */
    private boolean join(long nanos) throws InterruptedException {
        lock.lock();
        try {
            while (live > 0) {
                if (nanos == 0) {
                    return false;
                }
                try {
                    if (nanos < 0) {
                        allEnded.await();
                    } else {
                        nanos = Math.max(0, allEnded.awaitNanos(nanos));
                    }
                } catch (InterruptedException e) {
                    lock.unlock();
                    try {
                        cancel();
                    } finally {
                        lock.lock();
                    }
                    while (live > 0) {
                        allEnded.awaitUninterruptibly();
                    }
                    throw e;
                }
            }
            throwFailureOnce();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits for all children ({@link #join()}), then closes the scope to new forks. Idempotent.
     *
     * @throws CancellationException if the closing thread was interrupted while waiting; the
     *     children were cancelled and have ended, and the thread's interrupt flag is set again
     * @throws DeadlineExceededException if the deadline passed with children still running
     */
    @Override
    public void close() {
        try {
            join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            CancellationException ce = new CancellationException("scope '" + name + "' cancelled: interrupted while closing");
            ce.initCause(e);
            throw ce;
        } finally {
            lock.lock();
            try {
                closed = true;
            } finally {
                lock.unlock();
            }
            if (deadlineWatcher != null) {
                deadlineWatcher.interrupt();
            }
            if (parent != null) {
                parent.removeNested(this);
            }
        }
    }

    /** Blocks until {@code child} has ended (its state is no longer RUNNING). */
    private void awaitEnd(Child<?> child) throws InterruptedException {
        lock.lock();
        try {
            while (child.state() == Handle.State.RUNNING) {
                someEnded.await();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Like {@link #awaitEnd}, for at most {@code nanos}; false if the child still runs then. */
    private boolean awaitEnd(Child<?> child, long nanos) throws InterruptedException {
        lock.lock();
        try {
            while (child.state() == Handle.State.RUNNING) {
                if (nanos <= 0) {
                    return false;
                }
                nanos = someEnded.awaitNanos(nanos);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** How many children are running now; for diagnostics. */
    public int runningCount() {
        lock.lock();
        try {
            return live;
        } finally {
            lock.unlock();
        }
    }

    private void throwFailureOnce() {
        if (failure == null || failureReported) {
            return;
        }
        failureReported = true;
        Throwable f = failure;
        if (f instanceof RuntimeException r) {
            throw r;
        }
        if (f instanceof Error e) {
            throw e;
        }
        throw (CompletionException) f;
    }

    private void watchDeadline() {
        try {
            Clocks.sleepUntil(deadline.clock(), deadline.instant());
        } catch (InterruptedException e) {
            return;
        }
        lock.lock();
        try {
            if (closed || live == 0 || failure != null || cancelled) {
                return;
            }
            failure = new DeadlineExceededException("scope '" + name + "'", deadline);
        } finally {
            lock.unlock();
        }
        cancel();
    }

    private void childEnded(Child<?> child, Throwable thrown) {
        boolean cancelSiblings = false;
        lock.lock();
        try {
            if (thrown != null) {
                if (failure == null && !cancelled && !child.cancelled) {
                    failure = thrown instanceof RuntimeException || thrown instanceof Error
                            ? thrown
                            : new CompletionException("task '" + child.name() + "' in scope '" + name + "' failed: " + thrown, thrown);
                    cancelled = true;
                    cancelSiblings = true;
                } else if (failure != null && failure != thrown) {
                    failure.addSuppressed(thrown);
                }
            }
            unlink(child);
            live--;
            someEnded.signalAll();
            if (live == 0) {
                allEnded.signalAll();
            }
        } finally {
            lock.unlock();
        }
        if (cancelSiblings) {
            cancel();
        }
    }

    /** Under the lock: takes {@code child} out of {@link #running}. */
    private void unlink(Child<?> child) {
        if (child.prev != null) {
            child.prev.next = child.next;
        } else if (running == child) {
            running = child.next;
        }
        if (child.next != null) {
            child.next.prev = child.prev;
        }
        child.prev = child.next = null;
    }

    @Override
    public String toString() {
        return "Scope[" + name + ", running=" + runningCount() + (cancelled ? ", cancelled" : "") + "]";
    }

    /** The one implementation of {@link Handle}. */
    static final class Child<T> implements Handle<T>, Runnable {
        private final Scope scope;
        /** The name, or null for a connection's task, whose name is built when asked for. */
        private final String name;
        /** The server connection this task serves, or null. */
        final Connection connection;
        /** What runs: {@code task}, or for a connection {@code served} (the other is null). */
        private final Callable<? extends T> task;
        private final ConnectionTask served;
        /** Neighbours in the scope's list of running children; guarded by the scope's lock. */
        private Child<?> prev;
        private Child<?> next;
        /** Scopes opened on this child's thread; made on first use, as most children open none. */
        private List<Scope> nested;
        volatile Thread thread;
        private volatile boolean cancelled;
        private volatile State state = State.RUNNING;
        private T result;
        private Throwable exception;

        Child(Scope scope, String name, Connection connection, Callable<? extends T> task, ConnectionTask served) {
            this.scope = scope;
            this.name = name;
            this.connection = connection;
            this.task = task;
            this.served = served;
        }

        @Override
        public void run() {
            CHILDREN.put(Thread.currentThread(), this);
            if (cancelled) {
                // cancelled between fork and start: interrupting an unstarted thread may be lost
                Thread.currentThread().interrupt();
            }
            T value = null;
            Throwable thrown = null;
            try {
                if (served != null) {
                    served.run(connection);
                } else {
                    value = task.call();
                }
            } catch (Throwable t) {
                thrown = t;
            } finally {
                CHILDREN.remove(Thread.currentThread());
            }
            boolean wasCancelled = cancelled || scope.cancelled;
            if (thrown == null) {
                finish(State.SUCCEEDED, value, null);
            } else if (wasCancelled && isCancellation(thrown)) {
                finish(State.CANCELLED, null, thrown);
            } else {
                finish(wasCancelled ? State.CANCELLED : State.FAILED, null, thrown);
            }
            scope.childEnded(this, thrown == null || wasCancelled && isCancellation(thrown) ? null : thrown);
        }

        private static boolean isCancellation(Throwable t) {
            return t instanceof InterruptedException
                    || t instanceof InterruptedIOException
                    || t instanceof ClosedByInterruptException
                    || t instanceof CancellationException
                    || t instanceof java.net.SocketException;
        }

        void finish(State s, T value, Throwable t) {
            result = value;
            exception = t;
            state = s;
        }

        @Override
        public String name() {
            return name != null ? name : "conn-" + connection.id() + " " + connection.peer();
        }

        @Override
        public State state() {
            return state;
        }

        @Override
        public T await() throws InterruptedException {
            scope.awaitEnd(this);
            return outcome();
        }

        @Override
        public T await(java.time.Duration timeout) throws InterruptedException, java.util.concurrent.TimeoutException {
            if (!scope.awaitEnd(this, Objects.requireNonNull(timeout, "timeout").toNanos())) {
                throw new java.util.concurrent.TimeoutException("task '" + name() + "' still running after " + timeout);
            }
            return outcome();
        }

        private T outcome() {
            return switch (state) {
                case SUCCEEDED -> result;
                case CANCELLED -> {
                    CancellationException ce = new CancellationException("task '" + name() + "' was cancelled");
                    if (exception != null) {
                        ce.initCause(exception);
                    }
                    throw ce;
                }
                case FAILED -> {
                    if (exception instanceof RuntimeException r) {
                        throw r;
                    }
                    if (exception instanceof Error e) {
                        throw e;
                    }
                    throw new CompletionException("task '" + name() + "' failed: " + exception, exception);
                }
                case RUNNING -> throw new AssertionError("ended latch released while running");
            };
        }

        @Override
        public T resultNow() {
            if (state != State.SUCCEEDED) {
                throw new IllegalStateException("task '" + name() + "' is " + state);
            }
            return result;
        }

        @Override
        public Throwable exceptionNow() {
            if (state != State.FAILED) {
                throw new NoSuchElementException("task '" + name() + "' is " + state);
            }
            return exception;
        }

        @Override
        public void cancel() {
            if (state != State.RUNNING) {
                return;
            }
            cancelled = true;
            Thread t = thread;
            if (t != null) {
                t.interrupt();
            }
            for (Scope s : nestedSnapshot()) {
                s.cancel();
            }
        }

        void addNested(Scope s) {
            scope.lock.lock(); // the scope's own lock: held for the list only, around nothing that blocks
            try {
                if (nested == null) {
                    nested = new ArrayList<>(2);
                }
                nested.add(s);
            } finally {
                scope.lock.unlock();
            }
        }

        void removeNested(Scope s) {
            scope.lock.lock();
            try {
                if (nested != null) {
                    nested.remove(s);
                }
            } finally {
                scope.lock.unlock();
            }
        }

        private List<Scope> nestedSnapshot() {
            scope.lock.lock();
            try {
                return nested == null ? List.of() : List.copyOf(nested);
            } finally {
                scope.lock.unlock();
            }
        }

        @Override
        public String toString() {
            return "Handle[" + scope.name + "/" + name() + ", " + state + "]";
        }
    }
}
