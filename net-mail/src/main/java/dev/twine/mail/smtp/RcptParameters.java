package dev.twine.mail.smtp;

import java.util.EnumSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The delivery status notification parameters of one {@code RCPT TO} (RFC 3461 §4.1 and §4.2),
 * kept with its recipient ({@link MailDelivery.Recipient#parameters()}) and in the relay queue.
 *
 * @param notifyOn the conditions given with {@code NOTIFY=}, as written: empty if the client gave
 *     none, {@code {NEVER}} for {@code NOTIFY=NEVER}; {@link #wants} applies the default
 * @param originalRecipient the {@code ORCPT=} value, decoded from xtext, as
 *     {@code address-type;address} (e.g. {@code rfc822;bob@example.org}); it comes back in each
 *     notification's {@code Original-Recipient} field (RFC 3464 §2.3.1)
 */
public record RcptParameters(Set<Notify> notifyOn, Optional<String> originalRecipient) {
    /** The conditions a notification is asked for (RFC 3461 §4.1). */
    public enum Notify {
        /** No notification at all; never given with another condition. */
        NEVER,
        /** When the message is delivered, or relayed to a hop that does not offer DSN. */
        SUCCESS,
        /** When delivery fails. */
        FAILURE,
        /** When delivery is delayed. */
        DELAY
    }

    /** Checks that nothing is null and that NEVER stands alone; copies the set. */
    public RcptParameters {
        notifyOn = notifyOn.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(notifyOn));
        Objects.requireNonNull(originalRecipient, "originalRecipient");
        if (notifyOn.contains(Notify.NEVER) && notifyOn.size() > 1) {
            throw new IllegalArgumentException("NOTIFY=NEVER goes alone: " + notifyOn);
        }
    }

    /** No parameters: what a {@code RCPT TO} without any gives. */
    public static RcptParameters none() {
        return new RcptParameters(Set.of(), Optional.empty());
    }

    /**
     * Whether a notification is wanted on {@code condition}. Without {@code NOTIFY}, failures and
     * delays are reported (RFC 3461 §4.1 leaves the choice between FAILURE and FAILURE,DELAY to
     * the MTA; Postfix also reports both).
     */
    public boolean wants(Notify condition) {
        if (notifyOn.isEmpty()) {
            return condition == Notify.FAILURE || condition == Notify.DELAY;
        }
        return notifyOn.contains(condition);
    }
}
