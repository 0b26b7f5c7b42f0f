package dev.twine.core;

/**
 * A unit of work that returns nothing and may throw: the shape of most connection code. Used by
 * {@link Scope#fork(String, Task)}.
 */
@FunctionalInterface
public interface Task {
    /**
     * Does the work.
     *
     * @throws Exception anything; a {@link Scope} treats it as the child's failure
     */
    void run() throws Exception;
}
