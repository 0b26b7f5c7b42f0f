package dev.twine.core.auth;

import dev.twine.core.internal.AddressKey;
import dev.twine.core.internal.Events;
import dev.twine.core.internal.Clocks;
import java.lang.System.Logger.Level;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Optional;

/**
 * The login attempts of one connection under an {@link AuthPolicy}: the protocol asks before each
 * attempt and reports how it went; the policy delays failures, tells when to disconnect, and
 * counts failures against the address and the user name. See {@link AuthPolicy} for the flow.
 *
 * <p>Not thread-safe: a connection's logins happen one after another on its own thread. The
 * methods that delay block on the policy's clock; interrupting them ends the wait with
 * {@link InterruptedException}.
 */
public final class LoginAttempts {
    private final AuthPolicy policy;
    private final String service;
    private final AddressKey key;
    private final String address;
    private int failures;

    LoginAttempts(AuthPolicy policy, String service, SocketAddress peer) {
        this.policy = policy;
        this.service = service;
        this.key = AddressKey.of(peer);
        this.address = AuthPolicy.addressText(peer);
    }

    /**
     * Asks whether a login may be tried now. Call it before checking credentials: with
     * {@code null} as soon as a login begins (the address alone is checked), and again with the
     * user name once it is known and <em>before</em> telling the client whether the login worked
     * (for SASL, after the exchange, with {@link SaslExchange#username()}). A refusal counts as a
     * failure of this connection and is delayed like one.
     *
     * @param username the user name the client gave, or null if not known yet
     * @throws LoginRefusedException if the address or the user is penalised, or this connection has
     *     already failed as often as the policy allows; answer with the protocol's temporary
     *     failure, and close the connection if {@link LoginRefusedException#mayRetry()} is false
     * @throws InterruptedException if interrupted during the delay
     */
    public void admit(String username) throws LoginRefusedException, InterruptedException {
        long[] remaining = {0};
        String reason = refusal(username, remaining);
        if (reason == null) {
            return;
        }
        failures++;
        Duration retryAfter = Duration.ofMillis(remaining[0]);
        policy.log.log(Level.WARNING, "login refused: service={0} address={1} user={2} reason={3} retry-after={4}",
                service, address, AuthPolicy.printable(username), reason, retryAfter);
        Events.login(service, address, AuthPolicy.printable(username), "refused");
        delay();
        throw new LoginRefusedException("login refused: " + reason.replace('-', ' '), retryAfter, mayRetry());
    }

    /**
     * Tells whether {@link #admit} would refuse a login now, without counting, delaying or logging
     * anything: for code that must answer at once and cannot wait out a refusal's delay (an SSH
     * library's I/O thread). Call {@link #admit} as well, where waiting is allowed, so that the
     * refusal is counted and logged.
     *
     * @param username the user name, or null to ask about the address (and this connection) only
     * @return true if the address or the user is penalised, or this connection has failed as often
     *     as the policy allows
     */
    public boolean isRefused(String username) {
        return refusal(username, new long[1]) != null;
    }

    private String refusal(String username, long[] remaining) {
        return policy.maxFailuresPerConnection > 0 && failures >= policy.maxFailuresPerConnection
                ? "connection-limit"
                : policy.refusal(key, username, remaining);
    }

    /**
     * Checks a password login (IMAP {@code LOGIN}, POP3 {@code USER}/{@code PASS}) under this
     * policy: the user name is checked with {@link #admit} before the portal looks at the
     * password, a failure is counted and delayed, a success logged. For SASL, use
     * {@link SaslExchange#run}.
     *
     * @param portal the portal that checks the credentials
     * @param credentials what the client sent
     * @return {@link LoginResult.LoggedIn} (with no additional data), {@link LoginResult.Failed}
     *     or {@link LoginResult.Refused}
     * @throws InterruptedException if interrupted while the policy delays a failure
     */
    public LoginResult authenticate(Portal portal, Credentials credentials) throws InterruptedException {
        String user = credentials.username();
        Principal principal;
        try {
            // the policy answers before the password is looked at: while penalised, right or
            // wrong get the same temporary refusal
            admit(user);
            principal = portal.authenticate(credentials);
        } catch (LoginRefusedException e) {
            return new LoginResult.Refused(e);
        } catch (AuthenticationException | IllegalArgumentException e) {
            return new LoginResult.Failed(Optional.of(user), failed(user));
        }
        succeeded(user);
        return new LoginResult.LoggedIn(principal, new byte[0]);
    }

    /**
     * Records a failed login: logs it, counts it against the address and the user name, and waits
     * the connection's delay (which doubles with each failure) before returning, so that the
     * protocol's failure reply comes late.
     *
     * @param username the user name the client gave, or null if it gave none (a malformed SASL
     *     message)
     * @return whether this connection may try again; if false, the protocol says goodbye in its
     *     own words and closes the connection
     * @throws InterruptedException if interrupted during the delay
     */
    public boolean failed(String username) throws InterruptedException {
        failures++;
        policy.log.log(Level.INFO, "login failed: service={0} address={1} user={2} failures={3}",
                service, address, AuthPolicy.printable(username), failures);
        Events.login(service, address, AuthPolicy.printable(username), "failed");
        policy.recordFailure(key, address, username);
        delay();
        return mayRetry();
    }

    /**
     * Records a successful login (logged at {@code INFO}). The failures already counted against
     * the address and the user stay: a success does not wipe out guessing that went before it.
     *
     * @param username the authenticated user
     */
    public void succeeded(String username) {
        policy.log.log(Level.INFO, "login: service={0} address={1} user={2}",
                service, address, AuthPolicy.printable(username));
        Events.login(service, address, AuthPolicy.printable(username), "succeeded");
    }

    /** Failed or refused logins on this connection so far. */
    public int failures() {
        return failures;
    }

    private boolean mayRetry() {
        return policy.maxFailuresPerConnection == 0 || failures < policy.maxFailuresPerConnection;
    }

    private void delay() throws InterruptedException {
        Duration d = policy.delayAfter(failures);
        if (!d.isZero()) {
            Clocks.sleepUntil(policy.clock, policy.clock.instant().plus(d));
        }
    }

    @Override
    public String toString() {
        return "LoginAttempts[" + service + " " + address + ", failures=" + failures + "]";
    }
}
