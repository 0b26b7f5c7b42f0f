package dev.twine.mail.auth;

import dev.twine.mail.smtp.MailDelivery;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;

/**
 * A delivery that passes everything to another, with a check of its own before each recipient
 * (a blocklist) or the message changed on the way (signed, or given its authentication
 * results); a changed message is read whole into memory.
 */
final class WrappedDelivery<T> implements MailDelivery<T> {
    /** Asked before each {@code RCPT} is passed on: throws {@link dev.twine.mail.smtp.SmtpException} to refuse. */
    interface RecipientCheck {
        void check(Session session, String sender) throws IOException, InterruptedException;
    }

    /** The change made to each message. */
    interface Rewrite {
        byte[] apply(Envelope<?> envelope, byte[] message) throws IOException, InterruptedException;
    }

    private final MailDelivery<T> next;
    private final RecipientCheck check;
    private final Rewrite rewrite;

    private WrappedDelivery(MailDelivery<T> next, RecipientCheck check, Rewrite rewrite) {
        this.next = Objects.requireNonNull(next, "delivery");
        this.check = check;
        this.rewrite = rewrite;
    }

    static <T> MailDelivery<T> rewriting(MailDelivery<T> next, Rewrite rewrite) {
        return new WrappedDelivery<>(next, (session, sender) -> {}, rewrite);
    }

    static <T> MailDelivery<T> checking(MailDelivery<T> next, RecipientCheck check) {
        return new WrappedDelivery<>(next, check, null);
    }

    static <T> MailDelivery<T> of(MailDelivery<T> next, RecipientCheck check, Rewrite rewrite) {
        return new WrappedDelivery<>(next, check, rewrite);
    }

    @Override
    public void sender(Session session, String sender) throws IOException, InterruptedException {
        next.sender(session, sender);
    }

    @Override
    public T recipient(Session session, String sender, String address) throws IOException, InterruptedException {
        check.check(session, sender);
        return next.recipient(session, sender, address);
    }

    @Override
    public boolean reload() throws IOException {
        return next.reload();
    }

    @Override
    public void deliver(Envelope<T> envelope, InputStream message) throws IOException, InterruptedException {
        next.deliver(envelope, rewrite == null ? message : new ByteArrayInputStream(rewrite.apply(envelope, message.readAllBytes())));
    }
}
