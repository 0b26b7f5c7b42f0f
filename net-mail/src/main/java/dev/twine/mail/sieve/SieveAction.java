package dev.twine.mail.sieve;

import java.util.Objects;
import java.util.Set;

/**
 * What a Sieve script decided for one message (RFC 5228 §4). The deliverer carries the actions
 * out; a script that ends without cancelling the implicit keep yields a {@link Keep} (§2.10.2).
 */
public sealed interface SieveAction {

    /**
     * File into the user's INBOX (§4.3), with the IMAP flags of RFC 5232 §5 (empty: none).
     *
     * @param flags the flags to set, such as {@code \Seen}
     */
    record Keep(Set<String> flags) implements SieveAction {
        /** Copies the flags. */
        public Keep {
            flags = Set.copyOf(flags);
        }
    }

    /**
     * File into a mailbox (RFC 5228 §4.1), with flags (RFC 5232 §5).
     *
     * @param mailbox the mailbox name as written in the script, {@code /} or {@code .} separated
     * @param flags the flags to set
     */
    record FileInto(String mailbox, Set<String> flags) implements SieveAction {
        /** Checks and copies. */
        public FileInto {
            Objects.requireNonNull(mailbox, "mailbox");
            flags = Set.copyOf(flags);
        }
    }

    /**
     * Send the message on to another address (§4.2), unchanged.
     *
     * @param address the address, without angle brackets
     */
    record Redirect(String address) implements SieveAction {
        /** Checks. */
        public Redirect {
            Objects.requireNonNull(address, "address");
        }
    }

    /**
     * Refuse the message (RFC 5429): {@code extended} ({@code ereject}) asks for a refusal in the
     * protocol (an SMTP 550 when still possible), otherwise a delivery status notification.
     *
     * @param reason the text for the sender
     * @param extended whether it was {@code ereject}
     */
    record Reject(String reason, boolean extended) implements SieveAction {
        /** Checks. */
        public Reject {
            Objects.requireNonNull(reason, "reason");
        }
    }

    /** Throw the message away (§4.4): no other action was taken, and the implicit keep is cancelled. */
    record Discard() implements SieveAction {}
}
