package dev.twine.mail.auth;

import dev.twine.mail.smtp.MailDelivery;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;

/**
 * A delivery that passes everything to another, the message changed on the way (signed, or given
 * its authentication results); the message is read whole into memory for that.
 */
final class RewritingDelivery<T> implements MailDelivery<T> {
    /** The change made to each message. */
    interface Rewrite {
        byte[] apply(Envelope<?> envelope, byte[] message) throws IOException, InterruptedException;
    }

    private final MailDelivery<T> next;
    private final Rewrite rewrite;

    RewritingDelivery(MailDelivery<T> next, Rewrite rewrite) {
        this.next = Objects.requireNonNull(next, "delivery");
        this.rewrite = rewrite;
    }

    @Override
    public void sender(Session session, String sender) throws IOException, InterruptedException {
        next.sender(session, sender);
    }

    @Override
    public T recipient(Session session, String sender, String address) throws IOException, InterruptedException {
        return next.recipient(session, sender, address);
    }

    @Override
    public boolean reload() throws IOException {
        return next.reload();
    }

    @Override
    public void deliver(Envelope<T> envelope, InputStream message) throws IOException, InterruptedException {
        next.deliver(envelope, new ByteArrayInputStream(rewrite.apply(envelope, message.readAllBytes())));
    }
}
