package dev.twine.mail.smtp;

import java.util.Objects;
import java.util.Optional;

/**
 * The {@code MAIL FROM} parameters that travel with a message to its last hop: those of delivery
 * status notifications (RFC 3461 §4.3 and §4.4) and REQUIRETLS (RFC 8689 §4). An
 * {@link SmtpServer} parses them from the client's {@code MAIL} command and gives them to the
 * delivery in {@link MailDelivery.Envelope#parameters()}; the {@link RelayQueue} keeps them with
 * the message on disk, uses them in the notifications it sends and passes them on to a next hop
 * that offers the extensions.
 *
 * @param ret what a failure notification returns of the message ({@code RET=}); empty if the
 *     client did not say, which the relay queue treats as {@link Ret#HDRS}
 * @param envelopeId the client's envelope identifier ({@code ENVID=}), decoded from xtext; it
 *     comes back in each notification's {@code Original-Envelope-Id} field (RFC 3464 §2.2.1)
 * @param requireTls whether the client asked for {@code REQUIRETLS}: the message may go on only
 *     over TLS with a verified certificate to hops that offer REQUIRETLS too
 */
public record MailParameters(Optional<Ret> ret, Optional<String> envelopeId, boolean requireTls) {
    /** What a failure notification returns of the message (RFC 3461 §4.3). */
    public enum Ret {
        /** The whole message. */
        FULL,
        /** Only its header section. */
        HDRS
    }

    /** Checks that nothing is null. */
    public MailParameters {
        Objects.requireNonNull(ret, "ret");
        Objects.requireNonNull(envelopeId, "envelopeId");
    }

    /** No parameters: what a {@code MAIL FROM} without any gives. */
    public static MailParameters none() {
        return new MailParameters(Optional.empty(), Optional.empty(), false);
    }
}
