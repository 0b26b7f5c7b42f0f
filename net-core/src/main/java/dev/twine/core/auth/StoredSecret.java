package dev.twine.core.auth;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * What a {@link UserStore} keeps for a user's password: either the password itself or SCRAM
 * keys derived from it. A plain password serves PLAIN and every SCRAM mechanism; SCRAM keys serve
 * PLAIN and the SCRAM mechanism of their hash (a store may keep keys for several hashes, see
 * {@link UserStore#secrets(String)}).
 *
 * <p>{@code toString()} of either kind never shows the password or the keys.
 */
public sealed interface StoredSecret {

    /**
     * The cleartext password (Dovecot scheme {@code {PLAIN}}).
     *
     * <p>A SCRAM login against a plain secret still works: the server derives the SCRAM
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
     * SCRAM keys (RFC 5802 §3): the server keeps the salt, the iteration count,
     * StoredKey = H(HMAC(SaltedPassword, "Client Key")) and ServerKey = HMAC(SaltedPassword,
     * "Server Key"), never the password. These are Dovecot's {@code {SCRAM-SHA-256}} (RFC 7677)
     * and {@code {SCRAM-SHA-1}} (RFC 5802) schemes. Keys serve only the SCRAM mechanism of their
     * own hash, and PLAIN.
     *
     * <p>The arrays are copied on the way in and on the way out; equality compares contents.
     *
     * @param mechanism {@code "SCRAM-SHA-256"} or {@code "SCRAM-SHA-1"}
     * @param iterations the Hi() iteration count i, at least 1
     * @param salt the salt, not empty
     * @param storedKey StoredKey, as long as the hash (32 bytes for SHA-256, 20 for SHA-1)
     * @param serverKey ServerKey, as long as the hash
     */
    record Scram(String mechanism, int iterations, byte[] salt, byte[] storedKey, byte[] serverKey)
            implements StoredSecret {

        /** The mechanism of SCRAM-SHA-256 keys. */
        public static final String SHA_256 = "SCRAM-SHA-256";
        /** The mechanism of SCRAM-SHA-1 keys. */
        public static final String SHA_1 = "SCRAM-SHA-1";

        /**
         * Validates and copies the components.
         *
         * @throws NullPointerException if an argument is null
         * @throws IllegalArgumentException if the mechanism is not one of the two, {@code
         *     iterations} is below 1, the salt is empty, or a key is not as long as the hash
         */
        public Scram {
            ScramHash hash = hash(mechanism);
            if (iterations < 1) {
                throw new IllegalArgumentException("iteration count must be at least 1: " + iterations);
            }
            salt = Objects.requireNonNull(salt, "salt").clone();
            storedKey = Objects.requireNonNull(storedKey, "storedKey").clone();
            serverKey = Objects.requireNonNull(serverKey, "serverKey").clone();
            if (salt.length == 0) {
                throw new IllegalArgumentException("salt is empty");
            }
            if (storedKey.length != hash.length || serverKey.length != hash.length) {
                throw new IllegalArgumentException(mechanism + " keys must be " + hash.length + " bytes");
            }
        }

        /**
         * SCRAM-SHA-256 keys.
         *
         * @param iterations the Hi() iteration count i, at least 1
         * @param salt the salt, not empty
         * @param storedKey StoredKey, 32 bytes
         * @param serverKey ServerKey, 32 bytes
         */
        public Scram(int iterations, byte[] salt, byte[] storedKey, byte[] serverKey) {
            this(SHA_256, iterations, salt, storedKey, serverKey);
        }

        /**
         * Derives the SCRAM-SHA-256 keys of a password; see {@link #derive(String, CharSequence,
         * byte[], int)}.
         *
         * @param password the cleartext password, not empty
         * @param salt the salt, not empty; a fresh random one for each user
         * @param iterations the iteration count; RFC 7677 §4 asks for at least 4096
         * @return the derived secret
         * @throws IllegalArgumentException as the general form does
         */
        public static Scram derive(CharSequence password, byte[] salt, int iterations) {
            return derive(SHA_256, password, salt, iterations);
        }

        /**
         * Derives the SCRAM keys of a password (RFC 5802 §3): SaltedPassword =
         * Hi(SASLprep(password), salt, iterations), then StoredKey and ServerKey. Costs
         * {@code iterations} HMAC computations.
         *
         * <p>SASLprep is applied as for a stored string (RFC 4013 §2.5 forbids unassigned code
         * points in stored strings); see {@link Portal} for what SASLprep covers.
         *
         * @param mechanism {@code "SCRAM-SHA-256"} or {@code "SCRAM-SHA-1"}
         * @param password the cleartext password, not empty
         * @param salt the salt, not empty; a fresh random one for each user and mechanism
         * @param iterations the iteration count; at least 4096 is the usual minimum
         * @return the derived secret
         * @throws IllegalArgumentException if the mechanism is unknown, the password is empty or
         *     contains characters that SASLprep prohibits, the salt is empty, or {@code
         *     iterations} is below 1
         */
        public static Scram derive(String mechanism, CharSequence password, byte[] salt, int iterations) {
            ScramHash hash = hash(mechanism);
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
            return ScramKeys.derive(hash, prepared.getBytes(StandardCharsets.UTF_8), salt, iterations).secret();
        }

        private static ScramHash hash(String mechanism) {
            Objects.requireNonNull(mechanism, "mechanism");
            for (ScramHash h : ScramHash.values()) {
                if (h.mechanism.equals(mechanism)) {
                    return h;
                }
            }
            throw new IllegalArgumentException("not a SCRAM mechanism Twine knows: " + mechanism);
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
         * @return StoredKey
         */
        @Override
        public byte[] storedKey() {
            return storedKey.clone();
        }

        /**
         * Returns a copy of ServerKey.
         *
         * @return ServerKey
         */
        @Override
        public byte[] serverKey() {
            return serverKey.clone();
        }

        /** The keys without copies, for the hot path of a login. */
        ScramKeys keys() {
            return new ScramKeys(hash(mechanism), iterations, salt, storedKey, serverKey);
        }

        /**
         * Compares by mechanism, iteration count and array contents.
         *
         * @param other the object to compare with
         * @return true if {@code other} is a {@code Scram} with the same components
         */
        @Override
        public boolean equals(Object other) {
            return other instanceof Scram s
                    && mechanism.equals(s.mechanism)
                    && iterations == s.iterations
                    && Arrays.equals(salt, s.salt)
                    && Arrays.equals(storedKey, s.storedKey)
                    && Arrays.equals(serverKey, s.serverKey);
        }

        /**
         * Hashes by mechanism, iteration count and array contents.
         *
         * @return the hash code
         */
        @Override
        public int hashCode() {
            int h = 31 * mechanism.hashCode() + Integer.hashCode(iterations);
            h = 31 * h + Arrays.hashCode(salt);
            h = 31 * h + Arrays.hashCode(storedKey);
            return 31 * h + Arrays.hashCode(serverKey);
        }

        /**
         * Describes this secret without its keys.
         *
         * @return {@code Scram[SCRAM-SHA-256, iterations=I, ***]}
         */
        @Override
        public String toString() {
            return "Scram[" + mechanism + ", iterations=" + iterations + ", ***]";
        }
    }
}
