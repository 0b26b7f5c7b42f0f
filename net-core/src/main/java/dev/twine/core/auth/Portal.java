package dev.twine.core.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * The one place where protocols authenticate clients: Twisted's portal. It asks its
 * {@link Checker}s about {@link Credentials} and runs server-side SASL exchanges against its
 * {@link UserStore}.
 *
 * <pre>{@code
 * Portal portal = Portal.builder()
 *         .users(UsersFile.load(Path.of("users.txt")))
 *         .publicKeys(authorizedKeys)
 *         .build();
 * Principal p = portal.authenticate(new UsernamePassword(user, password));
 * }</pre>
 *
 * <h2>Checkers and their order</h2>
 * Checkers are asked in the order their builder methods were called: {@link Builder#users}
 * installs the built-in password checker at that position, {@link Builder#publicKeys} the
 * built-in public key checker, {@link Builder#checker} a custom one. The first checker that
 * handles the credentials' type decides (see {@link Checker}); later ones are not asked.
 *
 * <h2>Built-in checks</h2>
 * <ul>
 *   <li>{@link UsernamePassword} against the user store: the password is prepared with SASLprep
 *       (RFC 4013: mapping of non-ASCII spaces to U+0020 and removal of "mapped to nothing"
 *       characters, NFKC, the prohibited-output and bidi checks; the JDK's Unicode version is
 *       used rather than Unicode 3.2). Against a {@code Plain} secret the SHA-256 digests of both
 *       prepared passwords are compared with {@link MessageDigest#isEqual}; against a
 *       {@code Scram} secret the StoredKey is derived (RFC 5802 §3) and compared the same way.
 *       Every attempt, for a known user or not, costs one Hi() derivation, so the time taken does
 *       not reveal whether the user exists (it does reveal a stored iteration count above 4096).
 *       The principal's mechanism is {@code "password"}.</li>
 *   <li>{@link PublicKeyCredentials} against the {@link PublicKeyStore}; mechanism
 *       {@code "publickey"}.</li>
 * </ul>
 *
 * <h2>SASL</h2>
 * {@link #saslMechanisms()} lists SCRAM-SHA-256 and PLAIN when a user store is configured;
 * {@link #sasl(String)} also runs SCRAM-SHA-1 (RFC 5802), which a protocol offers where its
 * clients need it (RFC 6120 §13.8 makes it mandatory for XMPP). PLAIN goes through
 * {@link #authenticate}, so custom checkers see PLAIN logins; SCRAM needs the stored keys and uses
 * the user store only: the keys of the mechanism's hash from {@link UserStore#secrets(String)}, or
 * keys derived from a {@code Plain} secret. A user with neither (keys of the other hash only)
 * fails the exchange at its last step, as an unknown user does, and the failure is logged once
 * per user with the remedy. For a user whose secret is {@code Plain}, SCRAM keys
 * are derived on the fly (one Hi() per exchange, so such users answer more slowly than the others)
 * with a salt computed from the user name and a random key made when the portal is built; an
 * unknown user gets a decoy salt made the same way and 4096 iterations, as a
 * user written by {@link UsersFile} has, and fails only at the last step. The decoy salts stay the
 * same for the life of the portal but change when it is rebuilt, so someone who watches across
 * restarts could still tell unknown users from users with SCRAM secrets. Whether PLAIN is offered
 * on an unencrypted connection is the protocol's decision.
 *
 * <h2>Failed logins</h2>
 * The portal carries the {@link AuthPolicy} every protocol applies around its logins
 * ({@link #policy()}): delays after failures, a disconnect after a few, penalties for an address
 * or a user name that fails too often. Sharing one portal between protocols therefore shares the
 * penalties too: an address guessing over SMTP is refused over IMAP as well.
 *
 * <p>A portal is immutable and thread-safe.
 */
public final class Portal {

    private static final System.Logger LOG = System.getLogger(Portal.class.getName());
    private static final String DUMMY_PASSWORD = "twine-dummy-password";
    /** The SASL names of the mechanisms {@link #sasl(String)} runs. */
    private static final List<String> ALL_MECHANISMS =
            List.of(ScramHash.SHA_256.mechanism, ScramHash.SHA_1.mechanism, PlainMechanism.NAME, LoginMechanism.NAME);

    private final List<Checker> checkers;
    private final UserStore users;
    private final PublicKeyStore publicKeys;
    private final AuthPolicy policy;
    private final Supplier<String> serverNonces;
    private final byte[] saltKey;
    /** Users already warned about missing SCRAM keys, so that the log is not flooded. */
    private final Set<String> warnedMissingKeys = ConcurrentHashMap.newKeySet();
    /** How many Hi() derivations password checks ran; for tests of the timing equaliser. */
    final LongAdder derivations = new LongAdder();

    private Portal(Builder b) {
        this.users = b.users;
        this.publicKeys = b.publicKeys;
        this.policy = b.policy != null ? b.policy : AuthPolicy.defaults();
        this.serverNonces = b.serverNonces != null ? b.serverNonces : randomNonces(b.random);
        this.saltKey = new byte[32];
        b.random.nextBytes(saltKey);
        List<Checker> list = new ArrayList<>();
        for (Object o : b.order) {
            if (o == Builder.USERS) {
                list.add(this::checkPassword);
            } else if (o == Builder.PUBLIC_KEYS) {
                list.add(this::checkPublicKey);
            } else {
                list.add((Checker) o);
            }
        }
        this.checkers = List.copyOf(list);
    }

    /**
     * Starts building a portal.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Authenticates credentials by asking the checkers in order.
     *
     * <p>Blocks while a checker or store blocks (a file reload, a directory lookup); a
     * password check costs one SCRAM key derivation.
     *
     * @param credentials what the client presented
     * @return the authenticated principal
     * @throws AuthenticationException if a checker rejects the credentials or no checker handles
     *     their type; the message is {@code "authentication failed"} in both cases for the
     *     built-in checkers
     */
    public Principal authenticate(Credentials credentials) throws AuthenticationException {
        Objects.requireNonNull(credentials, "credentials");
        for (Checker checker : checkers) {
            Optional<Principal> principal = checker.check(credentials);
            if (principal.isPresent()) {
                return principal.get();
            }
        }
        throw new AuthenticationException();
    }

    /**
     * The failed-login policy protocols apply around {@link #authenticate} and {@link #sasl}.
     *
     * @return the policy given to the builder, or a fresh {@link AuthPolicy#defaults()}
     */
    public AuthPolicy policy() {
        return policy;
    }

    /**
     * The SASL mechanisms this portal can run, strongest first, for a protocol to advertise.
     *
     * @return {@code ["SCRAM-SHA-256", "PLAIN"]} if a user store is configured, else empty
     */
    public List<String> saslMechanisms() {
        return users != null ? List.of(ScramHash.SHA_256.mechanism, PlainMechanism.NAME) : List.of();
    }

    /**
     * Starts a server-side SASL exchange.
     *
     * @param mechanism a name from {@link #saslMechanisms()}, or {@code "SCRAM-SHA-1"}, or the
     *     obsolete {@code "LOGIN"} (draft-murchison-sasl-login, which only SMTP offers, where
     *     it offers PLAIN); matched ignoring ASCII case, since some clients send {@code AUTH plain}
     * @return a new exchange, waiting for the client's first response
     * @throws IllegalArgumentException if the mechanism is not one of those, or no user store is
     *     configured: protocols check what they offer first and answer with their own error
     */
    public SaslExchange sasl(String mechanism) {
        Objects.requireNonNull(mechanism, "mechanism");
        String name = mechanism.toUpperCase(Locale.ROOT);
        if (users == null || !ALL_MECHANISMS.contains(name)) {
            throw new IllegalArgumentException("unsupported SASL mechanism: " + mechanism);
        }
        if (name.equals(PlainMechanism.NAME)) {
            return new SaslExchange(name, new PlainMechanism(this));
        }
        if (name.equals(LoginMechanism.NAME)) {
            return new SaslExchange(name, new LoginMechanism(this));
        }
        ScramHash hash = name.equals(ScramHash.SHA_1.mechanism) ? ScramHash.SHA_1 : ScramHash.SHA_256;
        return new SaslExchange(name, new ScramMechanism(hash, this::scramLookup, serverNonces));
    }

    private Optional<Principal> checkPassword(Credentials credentials) throws AuthenticationException {
        if (!(credentials instanceof UsernamePassword up)) {
            return Optional.empty();
        }
        byte[] prepared = prepareQuery(up.password());
        Optional<StoredSecret> secret = users.find(up.username());
        boolean ok;
        if (secret.isEmpty() || prepared == null) {
            dummyDerivation(up.username());
            ok = false;
        } else {
            ok = switch (secret.get()) {
                case StoredSecret.Plain plain -> {
                    // Same cost as the other paths; the comparison is of fixed-length digests,
                    // so it does not leak the password's length either.
                    dummyDerivation(up.username());
                    byte[] stored = prepareQuery(plain.password());
                    yield stored != null
                            & MessageDigest.isEqual(
                                    ScramKeys.sha256(prepared),
                                    ScramKeys.sha256(stored != null ? stored : prepared));
                }
                case StoredSecret.Scram scram -> {
                    derivations.increment();
                    ScramKeys keys = scram.keys();
                    ScramKeys derived = ScramKeys.derive(keys.hash(), prepared, keys.salt(), keys.iterations());
                    yield MessageDigest.isEqual(derived.storedKey(), keys.storedKey());
                }
            };
        }
        if (!ok) {
            throw new AuthenticationException();
        }
        return Optional.of(new Principal(up.username(), "password"));
    }

    private Optional<Principal> checkPublicKey(Credentials credentials) throws AuthenticationException {
        if (!(credentials instanceof PublicKeyCredentials pk)) {
            return Optional.empty();
        }
        if (!publicKeys.isAuthorized(pk.username(), pk.key(), pk.clientAddress())) {
            throw new AuthenticationException();
        }
        return Optional.of(new Principal(pk.username(), "publickey"));
    }

    /**
     * The SCRAM keys of a user for one hash: stored ones, or derived from a plain secret, or a
     * decoy for an unknown user or one without keys for this hash.
     */
    private ScramMechanism.Lookup scramLookup(String username, ScramHash hash) {
        List<StoredSecret> secrets = users.secrets(username);
        for (StoredSecret s : secrets) {
            if (s instanceof StoredSecret.Scram scram && scram.mechanism().equals(hash.mechanism)) {
                return new ScramMechanism.Lookup(scram.keys(), true);
            }
        }
        for (StoredSecret s : secrets) {
            if (s instanceof StoredSecret.Plain plain) {
                byte[] prepared = prepareQuery(plain.password());
                if (prepared != null) {
                    ScramKeys derived = ScramKeys.derive(
                            hash, prepared, userSalt(username, hash), ScramKeys.DEFAULT_ITERATIONS);
                    return new ScramMechanism.Lookup(derived, true);
                }
            }
        }
        if (!secrets.isEmpty() && warnedMissingKeys.add(username + " " + hash.mechanism)) {
            LOG.log(System.Logger.Level.WARNING, "user {0} has no {1} keys, so {1} logins fail; setting the"
                    + " password again with `twine user passwd` stores keys for every SCRAM mechanism",
                    username, hash.mechanism);
        }
        // Decoy keys: random, so that no proof can match even without the "known" flag.
        byte[] key = hash.hmac(saltKey, ("decoy-key:" + username).getBytes(StandardCharsets.UTF_8));
        ScramKeys decoy = new ScramKeys(hash, ScramKeys.DEFAULT_ITERATIONS, userSalt(username, hash),
                hash.hash(key), key);
        return new ScramMechanism.Lookup(decoy, false);
    }

    /**
     * A salt that is stable per user name and hash for the life of this portal and unguessable.
     * SHA-256 keeps the salt it always had; SHA-1 gets another, so that the two exchanges of one
     * user do not show the same salt.
     */
    private byte[] userSalt(String username, ScramHash hash) {
        String label = hash == ScramHash.SHA_256 ? "salt:" : "salt-sha1:";
        byte[] mac = ScramHash.SHA_256.hmac(saltKey, (label + username).getBytes(StandardCharsets.UTF_8));
        return Arrays.copyOf(mac, ScramKeys.SALT_LENGTH);
    }

    /** One Hi() as an unknown user's check would cost, so that timing does not reveal users. */
    private void dummyDerivation(String username) {
        derivations.increment();
        ScramKeys.derive(ScramHash.SHA_256, DUMMY_PASSWORD.getBytes(StandardCharsets.UTF_8),
                userSalt(username, ScramHash.SHA_256), ScramKeys.DEFAULT_ITERATIONS);
    }

    /** SASLprep as a query (RFC 4013 §2.5), UTF-8 encoded; null if prohibited or empty. */
    private static byte[] prepareQuery(String password) {
        try {
            String prepared = SaslPrep.prepare(password, false);
            return prepared.isEmpty() ? null : prepared.getBytes(StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static Supplier<String> randomNonces(SecureRandom random) {
        // 18 random bytes: 144 bits, base64 without padding, which is all printable and has no
        // comma (RFC 5802 §5.1 r=).
        return () -> {
            byte[] bytes = new byte[18];
            random.nextBytes(bytes);
            return Base64.getEncoder().withoutPadding().encodeToString(bytes);
        };
    }

    /**
     * Builds a {@link Portal}. Not thread-safe; {@link #build()} may be called more than once.
     */
    public static final class Builder {

        private static final Object USERS = new Object();
        private static final Object PUBLIC_KEYS = new Object();

        private final List<Object> order = new ArrayList<>();
        private UserStore users;
        private PublicKeyStore publicKeys;
        private AuthPolicy policy;
        private Supplier<String> serverNonces;
        private SecureRandom random = new SecureRandom();

        private Builder() {
        }

        /**
         * Sets the user database and installs the built-in password checker at this position in
         * the checker order. Enables SASL PLAIN and SCRAM-SHA-256.
         *
         * @param users the user store, often a {@link UsersFile}
         * @return this builder
         * @throws IllegalStateException if a user store was already set
         */
        public Builder users(UserStore users) {
            Objects.requireNonNull(users, "users");
            if (this.users != null) {
                throw new IllegalStateException("user store already set");
            }
            this.users = users;
            order.add(USERS);
            return this;
        }

        /**
         * Sets the store of authorized public keys and installs the built-in public key checker at
         * this position in the checker order.
         *
         * @param publicKeys the key store
         * @return this builder
         * @throws IllegalStateException if a key store was already set
         */
        public Builder publicKeys(PublicKeyStore publicKeys) {
            Objects.requireNonNull(publicKeys, "publicKeys");
            if (this.publicKeys != null) {
                throw new IllegalStateException("public key store already set");
            }
            this.publicKeys = publicKeys;
            order.add(PUBLIC_KEYS);
            return this;
        }

        /**
         * Adds a custom checker after those already configured.
         *
         * @param checker the checker
         * @return this builder
         */
        public Builder checker(Checker checker) {
            order.add(Objects.requireNonNull(checker, "checker"));
            return this;
        }

        /**
         * The failed-login policy every protocol using this portal applies; default
         * {@link AuthPolicy#defaults()}, one per portal built.
         *
         * @param policy the policy; {@link AuthPolicy#unlimited()} turns delays and penalties off
         * @return this builder
         */
        public Builder policy(AuthPolicy policy) {
            this.policy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /** Replaces the SCRAM server nonce source; for replaying published test vectors. */
        Builder serverNonces(Supplier<String> serverNonces) {
            this.serverNonces = Objects.requireNonNull(serverNonces, "serverNonces");
            return this;
        }

        /**
         * Builds the portal.
         *
         * @return a new portal
         * @throws IllegalStateException if no user store, key store or checker was configured
         */
        public Portal build() {
            if (order.isEmpty()) {
                throw new IllegalStateException("a portal needs a user store, a key store or a checker");
            }
            return new Portal(this);
        }
    }
}
