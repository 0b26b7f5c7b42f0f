package dev.twine.core.auth;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * What a {@link UserStore} keeps for a user's password: either the password itself or the
 * SCRAM-SHA-256 keys derived from it. Either kind serves PLAIN and SCRAM-SHA-256 logins.
 *
 * <p>{@code toString()} of either kind never shows the password or the keys.
 */
public sealed interface StoredSecret {

    /**
     * The cleartext password (Dovecot scheme {@code {PLAIN}}).
     *
     * <p>A SCRAM-SHA-256 login against a plain secret still works: the server derives the SCRAM
     * keys on the fly, with a salt that is fixed per user for the lifetime of the {@link Portal}.
     *
     * @param password the password as stored; SASLprep (RFC 4013) is applied when comparing
     */
    record Plain(String password) implements StoredSecret {

        /**
         * Validates the component.
         *
         * @throws NullPointerException if {@code password} is null
         */
        public Plain {
            Objects.requireNonNull(password, "password");
        }

        /**
         * Describes this secret without the password.
         *
         * @return {@code Plain[***]}
         */
        @Override
        public String toString() {
            return "Plain[***]";
        }
    }

    /**
     * SCRAM-SHA-256 keys (RFC 5802 §3, RFC 7677): the server keeps the salt, the iteration count,
     * StoredKey = H(HMAC(SaltedPassword, "Client Key")) and ServerKey = HMAC(SaltedPassword,
     * "Server Key"), never the password. This is Dovecot's {@code {SCRAM-SHA-256}} scheme.
     *
     * <p>The arrays are copied on the way in and on the way out; equality compares contents.
     *
     * @param iterations the Hi() iteration count i, at least 1
     * @param salt the salt, not empty
     * @param storedKey StoredKey, 32 bytes
     * @param serverKey ServerKey, 32 bytes
     */
    record Scram(int iterations, byte[] salt, byte[] storedKey, byte[] serverKey)
            implements StoredSecret {

        /**
         * Validates and copies the components.
         *
         * @throws NullPointerException if an array is null
         * @throws IllegalArgumentException if {@code iterations} is below 1, the salt is empty, or
         *     a key is not 32 bytes long
         */
        public Scram {
            if (iterations < 1) {
                throw new IllegalArgumentException("iteration count must be at least 1: " + iterations);
            }
            salt = Objects.requireNonNull(salt, "salt").clone();
            storedKey = Objects.requireNonNull(storedKey, "storedKey").clone();
            serverKey = Objects.requireNonNull(serverKey, "serverKey").clone();
            if (salt.length == 0) {
                throw new IllegalArgumentException("salt is empty");
            }
            if (storedKey.length != ScramKeys.HASH_LENGTH || serverKey.length != ScramKeys.HASH_LENGTH) {
                throw new IllegalArgumentException("SCRAM-SHA-256 keys must be 32 bytes");
            }
        }

        /**
         * Derives the SCRAM-SHA-256 keys of a password (RFC 5802 §3): SaltedPassword =
         * Hi(SASLprep(password), salt, iterations), then StoredKey and ServerKey. Costs
         * {@code iterations} HMAC computations.
         *
         * <p>SASLprep is applied as for a stored string (RFC 4013 §2.5 forbids unassigned code
         * points in stored strings); see {@link Portal} for what SASLprep covers.
         *
         * @param password the cleartext password, not empty
         * @param salt the salt, not empty; a fresh random one for each user
         * @param iterations the iteration count; RFC 7677 §4 asks for at least 4096
         * @return the derived secret
         * @throws IllegalArgumentException if the password is empty or contains characters that
         *     SASLprep prohibits, the salt is empty, or {@code iterations} is below 1
         */
        public static Scram derive(CharSequence password, byte[] salt, int iterations) {
            Objects.requireNonNull(password, "password");
            Objects.requireNonNull(salt, "salt");
            if (iterations < 1) {
                throw new IllegalArgumentException("iteration count must be at least 1: " + iterations);
            }
            if (salt.length == 0) {
                throw new IllegalArgumentException("salt is empty");
            }
            String prepared;
            try {
                prepared = SaslPrep.prepare(password, true);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("password " + e.getMessage(), e);
            }
            if (prepared.isEmpty()) {
                throw new IllegalArgumentException("password is empty");
            }
            return ScramKeys.derive(prepared.getBytes(StandardCharsets.UTF_8), salt, iterations);
        }

        /**
         * Returns a copy of the salt.
         *
         * @return the salt
         */
        @Override
        public byte[] salt() {
            return salt.clone();
        }

        /**
         * Returns a copy of StoredKey.
         *
         * @return StoredKey, 32 bytes
         */
        @Override
        public byte[] storedKey() {
            return storedKey.clone();
        }

        /**
         * Returns a copy of ServerKey.
         *
         * @return ServerKey, 32 bytes
         */
        @Override
        public byte[] serverKey() {
            return serverKey.clone();
        }

        // Internal accessors without copying, for the hot path of a login.
        byte[] rawSalt() {
            return salt;
        }

        byte[] rawStoredKey() {
            return storedKey;
        }

        byte[] rawServerKey() {
            return serverKey;
        }

        /**
         * Compares by iteration count and array contents.
         *
         * @param other the object to compare with
         * @return true if {@code other} is a {@code Scram} with the same components
         */
        @Override
        public boolean equals(Object other) {
            return other instanceof Scram s
                    && iterations == s.iterations
                    && Arrays.equals(salt, s.salt)
                    && Arrays.equals(storedKey, s.storedKey)
                    && Arrays.equals(serverKey, s.serverKey);
        }

        /**
         * Hashes by iteration count and array contents.
         *
         * @return the hash code
         */
        @Override
        public int hashCode() {
            int h = Integer.hashCode(iterations);
            h = 31 * h + Arrays.hashCode(salt);
            h = 31 * h + Arrays.hashCode(storedKey);
            return 31 * h + Arrays.hashCode(serverKey);
        }

        /**
         * Describes this secret without its keys.
         *
         * @return {@code Scram[iterations=I, ***]}
         */
        @Override
        public String toString() {
            return "Scram[iterations=" + iterations + ", ***]";
        }
    }
}
