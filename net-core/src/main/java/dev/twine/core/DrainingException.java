package dev.twine.core;

import java.io.InterruptedIOException;

/**
 * The server is shutting down ({@link Server#shutdown}) and this connection was waiting for new
 * input: the read was ended so the handler can say goodbye (SMTP {@code 421}, an XMPP
 * {@code system-shutdown} stream error) and return. Writing still works. A server does not log this
 * exception when it escapes a handler.
 */
public final class DrainingException extends InterruptedIOException {
    private static final long serialVersionUID = 1L;

    /** Made by the connection's reader. */
    public DrainingException() {
        super("server is shutting down");
    }
}
