package dev.twine.mail.smtp;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * {@link MailDelivery#byDomain}: recipients in the local domains to one delivery, all others to another.
 * A destination is the chosen delivery's own; which delivery it belongs to is decided again from
 * the address, the same way, when the message comes.
 */
final class DomainRouter implements MailDelivery<Object> {
    private final Set<String> domains;
    private final MailDelivery<?> local;
    private final MailDelivery<?> remote;

    DomainRouter(Collection<String> domains, MailDelivery<?> local, MailDelivery<?> remote) {
        this.domains = domains.stream().map(d -> d.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
        this.local = local;
        this.remote = remote;
    }

    private MailDelivery<?> route(String address) {
        int at = address.lastIndexOf('@');
        return at >= 0 && domains.contains(address.substring(at + 1).toLowerCase(Locale.ROOT)) ? local : remote;
    }

    @Override
    public void sender(Session session, String sender) throws IOException, InterruptedException {
        local.sender(session, sender);
        remote.sender(session, sender);
    }

    @Override
    public boolean reload() throws IOException {
        boolean changed = local.reload();
        return remote.reload() | changed;
    }

    @Override
    public Object recipient(Session session, String sender, String address) throws IOException, InterruptedException {
        return route(address).recipient(session, sender, address);
    }

    @Override
    public void deliver(Envelope<Object> envelope, InputStream message) throws IOException, InterruptedException {
        List<Recipient<Object>> mine = new ArrayList<>();
        List<Recipient<Object>> others = new ArrayList<>();
        for (Recipient<Object> r : envelope.recipients()) {
            (route(r.address()) == local ? mine : others).add(r);
        }
        if (others.isEmpty()) {
            pass(local, envelope, message);
            return;
        }
        if (mine.isEmpty()) {
            pass(remote, envelope, message);
            return;
        }
        byte[] text = message.readAllBytes();
        Map<String, Reply> failed = new LinkedHashMap<>();
        failed.putAll(part(local, envelope.withRecipients(mine), text));
        failed.putAll(part(remote, envelope.withRecipients(others), text));
        if (!failed.isEmpty()) {
            throw new PartialDeliveryException(failed);
        }
    }

    /** Delivers one part; the replies of the recipients that did not get it. */
    private static Map<String, Reply> part(MailDelivery<?> d, Envelope<Object> part, byte[] text)
            throws InterruptedException {
        Map<String, Reply> failed = new LinkedHashMap<>();
        try {
            pass(d, part, new ByteArrayInputStream(text));
        } catch (PartialDeliveryException e) {
            failed.putAll(e.failures());
        } catch (IOException e) {
            Reply r = SmtpSession.failureReply(e);
            part.recipients().forEach(rcpt -> failed.put(rcpt.address(), r));
        }
        return failed;
    }

    /** The destinations in {@code envelope} are {@code d}'s own: {@link #recipient} got them from it. */
    @SuppressWarnings("unchecked")
    private static <T> void pass(MailDelivery<T> d, Envelope<Object> envelope, InputStream message)
            throws IOException, InterruptedException {
        d.deliver((Envelope<T>) (Envelope<?>) envelope, message);
    }
}
