package dev.twine.mail.smtp;

import java.io.IOException;

/**
 * An SMTP refusal with its reply. An {@link SmtpClient} throws it when the peer refused a command
 * or answered unexpectedly, so a caller can tell a transient (4xx) from a permanent (5xx) failure;
 * a {@link MailDelivery} throws it to make the server answer with that reply.
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

    /**
     * A refusal for a server to send, e.g. {@code new SmtpException(Reply.of(550, "5.1.1 <bob@example.org>: no such user"))}.
     *
     * @param reply the reply the client is to get
     * @throws IllegalArgumentException if it is not a 4xx or 5xx reply
     */
    public SmtpException(Reply reply) {
        super(reply.toString());
        if (reply.code() < 400) {
            throw new IllegalArgumentException("a refusal is a 4xx or 5xx reply: " + reply);
        }
        this.reply = reply;
    }

    /** The reply: the peer's answer, or the one the server is to send. */
    public Reply reply() {
        return reply;
    }
}
