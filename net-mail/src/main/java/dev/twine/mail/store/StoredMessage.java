package dev.twine.mail.store;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

/**
 * One message of a {@link Mailbox} as last looked at: its UID, a unique name and its flags.
 *
 * @param uid the message's UID, stable for the mailbox's UIDVALIDITY (RFC 9051 §2.3.1.1)
 * @param uniqueId a name no other message of the mailbox ever has, kept across restarts: POP3's
 *     UIDL (RFC 1939 §7); the Maildir store uses the file's base name
 * @param flags the system flags ({@link #SEEN}, {@link #ANSWERED}, {@link #FLAGGED},
 *     {@link #DELETED}, {@link #DRAFT}) and keywords set on it, in the store's order; never
 *     {@code \Recent}, which is {@code recent}
 * @param recent whether no session has yet been told of it (IMAP's {@code \Recent}, RFC 3501 §2.3.2)
 * @param modSeq the message's mod-sequence (RFC 7162 §3.1.1): positive, and larger after every
 *     change of its flags than any the mailbox gave before
 */
public record StoredMessage(long uid, String uniqueId, Set<String> flags, boolean recent, long modSeq) {
    /** {@code \Seen}. */
    public static final String SEEN = "\\Seen";
    /** {@code \Answered}. */
    public static final String ANSWERED = "\\Answered";
    /** {@code \Flagged}. */
    public static final String FLAGGED = "\\Flagged";
    /** {@code \Deleted}. */
    public static final String DELETED = "\\Deleted";
    /** {@code \Draft}. */
    public static final String DRAFT = "\\Draft";

    /**
     * Validates the fields and keeps an unmodifiable copy of the flags in their order.
     *
     * @throws IllegalArgumentException if {@code uid} or {@code modSeq} is not positive
     */
    public StoredMessage {
        Objects.requireNonNull(uniqueId, "uniqueId");
        flags = Collections.unmodifiableSet(new LinkedHashSet<>(flags));
        if (uid <= 0) {
            throw new IllegalArgumentException("uid must be positive: " + uid);
        }
        if (modSeq <= 0) {
            throw new IllegalArgumentException("modSeq must be positive: " + modSeq);
        }
    }

    /**
     * A message of a store that keeps no mod-sequences: every message has mod-sequence 1, so
     * CONDSTORE clients see no change until they resynchronise in full.
     *
     * @throws IllegalArgumentException if {@code uid} is not positive
     */
    public StoredMessage(long uid, String uniqueId, Set<String> flags, boolean recent) {
        this(uid, uniqueId, flags, recent, 1);
    }

    /** This message with other flags and mod-sequence. */
    public StoredMessage withFlags(Set<String> flags, long modSeq) {
        return new StoredMessage(uid, uniqueId, flags, recent, modSeq);
    }

    /** Whether {@code flag} is set; flag names compare without regard to case (RFC 9051 §2.3.2). */
    public boolean has(String flag) {
        if (flags.contains(flag)) {
            return true;
        }
        for (String f : flags) {
            if (f.equalsIgnoreCase(flag)) {
                return true;
            }
        }
        return false;
    }
}
