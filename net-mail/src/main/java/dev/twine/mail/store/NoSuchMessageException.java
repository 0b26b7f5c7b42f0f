package dev.twine.mail.store;

import java.io.IOException;

/**
 * The message asked for is no longer in its mailbox: another session expunged it, or deleted the
 * mailbox. IMAP then says nothing about it (or {@code NO [NONEXISTENT]}), POP3 that it is gone.
 */
public final class NoSuchMessageException extends IOException {
    private static final long serialVersionUID = 1L;
    private final long uid;

    /**
     * @param uid the message's UID
     * @param cause what the store saw, or null
     */
    public NoSuchMessageException(long uid, Throwable cause) {
        super("no message with UID " + uid, cause);
        this.uid = uid;
    }

    /** The UID of the message that is gone. */
    public long uid() {
        return uid;
    }
}
