package dev.twine.core.auth;

import java.io.IOException;
import java.util.Objects;
import java.util.Optional;

/**
 * One server-side SASL exchange (RFC 4422), in direct style: the protocol decodes each client
 * response from its own framing (base64 lines in SMTP and IMAP, XML elements in XMPP), passes the
 * bytes to {@link #evaluate(byte[])}, and sends back what it returns, until
 * {@link #isComplete()}.
 *
 * <p>Obtained from {@link Portal#sasl(String)}. The mechanisms are PLAIN (RFC 4616) and
 * SCRAM-SHA-256 (RFC 5802, RFC 7677), both client-first.
 *
 * <p>The flow, from the protocol's side:
 * <ol>
 *   <li>If the client sent an initial response, evaluate it; if it did not, evaluate an empty
 *       array: a client-first mechanism answers with an empty challenge, once.</li>
 *   <li>After each {@code evaluate}, if {@link #isComplete()} is true the client is
 *       authenticated as {@link #principal()}, and the returned bytes (empty for PLAIN, SCRAM's
 *       {@code v=...} server-final-message) are the "additional data with success" of
 *       RFC 4422 §3.6. A protocol whose success reply cannot carry data (SMTP, RFC 4954 §4)
 *       sends non-empty data as one more challenge, reads the client's empty answer itself and
 *       then reports success; the exchange takes no more input.
 *       Otherwise the returned bytes are the next challenge.</li>
 *   <li>If {@code evaluate} throws {@link AuthenticationException}, authentication failed; the
 *       exchange is over and the protocol sends its failure reply.</li>
 * </ol>
 *
 * <p>Most protocols do not drive these steps themselves: they describe how they carry SASL in a
 * {@link Profile} (RFC 4422 §4) and call {@link #run run}, which also applies the
 * {@link AuthPolicy} around the exchange and returns a {@link LoginResult}:
 *
 * <pre>{@code
 * SaslExchange.Profile imap = challenge -> {
 *     out.writeLine("+ " + Base64.getEncoder().encodeToString(challenge)).flush();
 *     String line = in.readLine();
 *     if (line == null) throw new EOFException();
 *     if (line.equals("*")) { tagged("BAD AUTHENTICATE cancelled"); return Optional.empty(); }
 *     return Optional.of(Base64.getDecoder().decode(line));
 * };
 * LoginResult result = portal.sasl(mechanism).run(initialResponse, imap, attempts);
 * }</pre>
 *
 * <p>An exchange belongs to one connection and is not thread-safe. {@code evaluate} does not
 * block on I/O unless the portal's {@link UserStore} does; the PLAIN check costs one SCRAM key
 * derivation (a few milliseconds).
 */
public final class SaslExchange {

    /** One mechanism's server side; the exchange enforces the order of calls. */
    interface Mechanism {

        /** Processes one client response and returns the server's reply. */
        byte[] evaluate(byte[] response) throws AuthenticationException;

        /** The principal once the exchange has succeeded, null before. */
        Principal principal();

        /** The authentication identity once the client has sent it, else null. */
        String username();
    }

    /**
     * How one protocol carries a SASL exchange: its profile in the sense of RFC 4422 §4. The
     * protocol says how it sends a challenge and reads the response, how it recognises a cancel,
     * and whether its success reply can carry additional data; {@link SaslExchange#run} does the
     * rest.
     */
    public interface Profile {

        /**
         * Sends a server challenge and reads the client's response: an IMAP or POP3
         * {@code + BASE64} line, an SMTP {@code 334 BASE64} reply, an XMPP
         * {@code <challenge/>} element.
         *
         * @param challenge the challenge bytes, not yet encoded; empty for the empty challenge a
         *     client-first mechanism sends when there was no initial response
         * @return the decoded response, or empty if the client cancelled the exchange (IMAP and
         *     SMTP {@code *}, XMPP {@code <abort/>}) or sent something that cannot be decoded;
         *     the profile has then already sent the protocol's answer to that, and the exchange
         *     ends with {@link LoginResult.Abandoned}
         * @throws IOException if the connection fails or ends
         */
        Optional<byte[]> challenge(byte[] challenge) throws IOException;

        /**
         * Tells whether this protocol's success reply carries SASL's additional data
         * (RFC 4422 §3.6). XMPP's {@code <success/>} does; SMTP's 235 does not (RFC 4954 §4), nor
         * do IMAP's and POP3's in Twine: for those the data goes out as one more challenge,
         * whose (empty) response is read and ignored.
         *
         * @return true if {@link LoginResult.LoggedIn#additionalData()} will be sent by the
         *     protocol; false by default
         */
        default boolean successCarriesData() {
            return false;
        }
    }

    private static final byte[] EMPTY = new byte[0];

    private final String name;
    private final Mechanism mechanism;
    private Principal principal;
    private boolean failed;

    SaslExchange(String name, Mechanism mechanism) {
        this.name = name;
        this.mechanism = mechanism;
    }

    /**
     * The mechanism's registered name.
     *
     * @return {@code "PLAIN"}, {@code "LOGIN"}, {@code "SCRAM-SHA-256"} or {@code "SCRAM-SHA-1"}
     */
    public String mechanism() {
        return name;
    }

    /**
     * Processes one client response.
     *
     * @param clientResponse the decoded response bytes; empty if the client sent no initial
     *     response. The array is not kept.
     * @return the next challenge, or, if the exchange is now complete, the additional data to send
     *     with success (possibly empty); never null
     * @throws AuthenticationException if the credentials are rejected or the response is malformed;
     *     the exchange is then over
     * @throws IllegalStateException if the exchange is already complete or has failed
     */
    public byte[] evaluate(byte[] clientResponse) throws AuthenticationException {
        Objects.requireNonNull(clientResponse, "clientResponse");
        if (principal != null) {
            throw new IllegalStateException(name + " exchange is already complete");
        }
        if (failed) {
            throw new IllegalStateException(name + " exchange has already failed");
        }
        boolean ok = false;
        try {
            byte[] reply = mechanism.evaluate(clientResponse);
            principal = mechanism.principal();
            ok = true;
            return reply;
        } finally {
            failed = !ok;
        }
    }

    /**
     * Runs the whole exchange through a protocol's {@link Profile}, under the connection's
     * {@link LoginAttempts}: the address is checked before anything is read, the user name again
     * after the exchange and before the client learns whether it worked (so that a penalised
     * address or user gets the same answer with the right password as with a wrong one), a
     * failure is counted and its delay waited, and a success logged.
     *
     * <p>Blocks on the connection (through the profile) and on the policy's delays.
     *
     * @param initialResponse the client's initial response (RFC 4422 §3.3: SMTP's and POP3's
     *     second {@code AUTH} argument, IMAP's SASL-IR, the text of XMPP's {@code <auth/>}),
     *     already decoded; empty if the client sent none ({@code =} is an empty initial
     *     response, not none)
     * @param profile how the protocol carries challenges
     * @param attempts this connection's login attempts, from {@link AuthPolicy#open}
     * @return how the login went; by then the policy has been told
     * @throws IOException if the profile's I/O fails
     * @throws InterruptedException if interrupted while the policy delays a failure
     * @throws IllegalStateException if this exchange has already been evaluated
     */
    public LoginResult run(Optional<byte[]> initialResponse, Profile profile, LoginAttempts attempts)
            throws IOException, InterruptedException {
        Objects.requireNonNull(initialResponse, "initialResponse");
        Objects.requireNonNull(profile, "profile");
        Objects.requireNonNull(attempts, "attempts");
        if (principal != null || failed) {
            throw new IllegalStateException(name + " exchange has already run");
        }
        try {
            attempts.admit(null); // a penalised address is refused before the exchange runs
        } catch (LoginRefusedException e) {
            return new LoginResult.Refused(e);
        }
        // no initial response: a client-first mechanism answers the empty one with the empty challenge
        byte[] response = initialResponse.orElse(EMPTY);
        byte[] data;
        try {
            while (true) {
                byte[] challenge = evaluate(response);
                if (isComplete()) {
                    data = challenge;
                    break;
                }
                Optional<byte[]> next = profile.challenge(challenge);
                if (next.isEmpty()) {
                    return new LoginResult.Abandoned();
                }
                response = next.get();
            }
        } catch (AuthenticationException e) {
            Optional<String> user = username();
            try {
                attempts.admit(user.orElse(null));
            } catch (LoginRefusedException refused) {
                return new LoginResult.Refused(refused);
            }
            return new LoginResult.Failed(user, attempts.failed(user.orElse(null)));
        }
        try {
            attempts.admit(username().orElse(principal.name()));
        } catch (LoginRefusedException e) {
            return new LoginResult.Refused(e);
        }
        if (data.length > 0 && !profile.successCarriesData()) {
            // RFC 4954 §4 and RFC 9051 §6.2.2: the data goes in a last challenge, answered empty
            if (profile.challenge(data).isEmpty()) {
                return new LoginResult.Abandoned();
            }
            data = EMPTY;
        }
        attempts.succeeded(principal.name());
        return new LoginResult.LoggedIn(principal, data);
    }

    /**
     * The authentication identity the client gave (PLAIN's authcid, SCRAM's {@code n=}), once it
     * has sent it, whether or not the exchange then succeeded: what a protocol passes to
     * {@link LoginAttempts#admit(String)} and {@link LoginAttempts#failed(String)}.
     *
     * @return the user name as sent, or empty before the client has sent one or if it was
     *     malformed
     */
    public Optional<String> username() {
        return Optional.ofNullable(mechanism.username());
    }

    /**
     * Tells whether the client is authenticated.
     *
     * @return true once an {@link #evaluate(byte[])} call has succeeded with the final step
     */
    public boolean isComplete() {
        return principal != null;
    }

    /**
     * The authenticated principal.
     *
     * @return who the client is, with {@link Principal#mechanism()} set to this mechanism's name
     * @throws IllegalStateException if the exchange is not complete
     */
    public Principal principal() {
        if (principal == null) {
            throw new IllegalStateException(name + " exchange is not complete");
        }
        return principal;
    }

    /**
     * Describes the exchange by mechanism and state.
     *
     * @return for example {@code SaslExchange[SCRAM-SHA-256, in progress]}
     */
    @Override
    public String toString() {
        String state = principal != null ? "complete" : failed ? "failed" : "in progress";
        return "SaslExchange[" + name + ", " + state + "]";
    }
}
