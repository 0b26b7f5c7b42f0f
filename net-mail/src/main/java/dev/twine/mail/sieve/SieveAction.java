package dev.twine.mail.sieve;

import java.time.Duration;
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
     * @param create whether the mailbox is to be made if it does not exist ({@code :create}, RFC
     *     5490 §3.2); without it a missing mailbox means the message goes to INBOX
     */
    record FileInto(String mailbox, Set<String> flags, boolean create) implements SieveAction {
        /** Checks and copies. */
        public FileInto {
            Objects.requireNonNull(mailbox, "mailbox");
            flags = Set.copyOf(flags);
        }

        /**
         * Filing into a mailbox that must exist already.
         *
         * @param mailbox the mailbox name
         * @param flags the flags to set
         */
        public FileInto(String mailbox, Set<String> flags) {
            this(mailbox, flags, false);
        }
    }

    /**
     * Answer the sender with an auto-reply (RFC 5230), at most once per {@code period} for each
     * sender and {@code handle}. The script only asks; the deliverer decides whether a reply is
     * due (§4.5: not to lists, bulk or auto-submitted mail, nor to mail that does not name the
     * user) and keeps the record of whom it answered (§4.2).
     *
     * @param reason the reply's text, or with {@code mime} a MIME entity (headers and body)
     * @param subject the reply's subject ({@code :subject}); empty for {@code "Auto: "} and the
     *     original's subject (§4.3)
     * @param from the reply's {@code From:} ({@code :from}); empty for the user's address
     * @param addresses more addresses of the user's own ({@code :addresses}, §4.5)
     * @param mime whether {@code reason} is a MIME entity ({@code :mime}, §4.4)
     * @param handle what tells one vacation from another ({@code :handle}, or made from the
     *     reply's text and subject when absent, §4.2)
     * @param period the least time between two replies to one sender ({@code :days}, 1 day at
     *     least, 7 by default)
     */
    record Vacation(String reason, String subject, String from, Set<String> addresses, boolean mime, String handle,
            Duration period) implements SieveAction {
        /** Checks and copies. */
        public Vacation {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(subject, "subject");
            Objects.requireNonNull(from, "from");
            addresses = Set.copyOf(addresses);
            Objects.requireNonNull(handle, "handle");
            Objects.requireNonNull(period, "period");
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
