package dev.twine.mail.store;

/**
 * A user's storage quota (RFC 9208 §5, the {@code STORAGE} resource): how many bytes of mail the
 * account holds and may hold.
 *
 * @param used the bytes of mail stored now, in every mailbox of the account
 * @param limit the most bytes the account may hold
 */
public record Quota(long used, long limit) {
    /**
     * Validates the fields.
     *
     * @throws IllegalArgumentException if {@code used} is negative or {@code limit} is not positive
     */
    public Quota {
        if (used < 0 || limit <= 0) {
            throw new IllegalArgumentException("used must be >= 0 and limit > 0: " + used + "/" + limit);
        }
    }

    /** Whether {@code bytes} more fit under the limit. */
    public boolean allows(long bytes) {
        return bytes <= limit - used;
    }
}
