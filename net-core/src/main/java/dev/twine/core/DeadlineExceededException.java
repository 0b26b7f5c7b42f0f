package dev.twine.core;

import java.util.concurrent.CancellationException;

/**
 * A {@link Scope}'s deadline passed before its children finished. The children were interrupted
 * and have ended by the time this is thrown. It is a {@link CancellationException}: the job was
 * cancelled, by time.
 */
public final class DeadlineExceededException extends CancellationException {
    private static final long serialVersionUID = 1L;

    private final transient Deadline deadline;

    /** Made by {@link Scope}; public so that code with its own deadlines can say the same thing. */
    public DeadlineExceededException(String what, Deadline deadline) {
        super(what + " exceeded its deadline of " + deadline.budget() + " (at " + deadline.instant() + ")");
        this.deadline = deadline;
    }

    /** The deadline that passed. */
    public Deadline deadline() {
        return deadline;
    }
}
