package dev.twine.core.auth;

import java.util.Objects;

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
     * @return {@code "PLAIN"} or {@code "SCRAM-SHA-256"}
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
     * The authentication identity the client gave (PLAIN's authcid, SCRAM's {@code n=}), once it
     * has sent it, whether or not the exchange then succeeded: what a protocol passes to
     * {@link LoginAttempts#admit(String)} and {@link LoginAttempts#failed(String)}.
     *
     * @return the user name as sent, or empty before the client has sent one or if it was
     *     malformed
     */
    public java.util.Optional<String> username() {
        return java.util.Optional.ofNullable(mechanism.username());
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
