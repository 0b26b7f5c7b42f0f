package dev.twine.mail.maildir;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One message of a {@link MailFolder} as last scanned: its UID, its Maildir base name (the file
 * name without the {@code :2,} info), the file, its Maildir flag letters and whether it was still in
 * {@code new/} (IMAP's {@code \Recent}).
 *
 * @param uid the message's UID, stable for the folder's UIDVALIDITY (RFC 3501 §2.3.1.1)
 * @param name the Maildir base name, the key of the UID list; also POP3's UIDL
 * @param file where the message is now (it moves when flags change)
 * @param flags the Maildir flag letters: the subset of {@code DFPRST} in that order, then keyword
 *     letters {@code a}-{@code z} (see {@link MailFolder#keywordLetter})
 * @param recent whether the file was in {@code new/}
 * @param modSeq its mod-sequence (RFC 7162), from the folder's {@link UidList}
 */
record MailMessage(long uid, String name, Path file, String flags, boolean recent, long modSeq) {
    /** Validates the fields. */
    public MailMessage {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(flags, "flags");
        if (uid <= 0) {
            throw new IllegalArgumentException("uid must be positive: " + uid);
        }
    }

    /** Whether the Maildir flag {@code letter} (for example {@code 'S'} for seen) is set. */
    public boolean has(char letter) {
        return flags.indexOf(letter) >= 0;
    }
}
