package dev.twine.mail.smtp;

import java.io.IOException;

/**
 * A command that the SMTP peer refused or answered unexpectedly; carries the peer's reply so a
 * caller can tell a transient (4xx) from a permanent (5xx) failure.
 */
public final class SmtpException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Reply reply;

    /**
     * Makes the exception.
     *
     * @param command what was sent (without any secret), for the message
     * @param reply what the peer answered
     */
    public SmtpException(String command, Reply reply) {
        super(command + ": " + reply);
        this.reply = reply;
    }

    /** The peer's reply. */
    public Reply reply() {
        return reply;
    }
}
