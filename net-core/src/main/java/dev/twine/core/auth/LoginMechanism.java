package dev.twine.core.auth;

import java.nio.charset.StandardCharsets;

/**
 * The server side of the obsolete LOGIN mechanism (draft-murchison-sasl-login-00), which old
 * SMTP clients (Outlook, some printers) still use: the server asks "Username:" and then
 * "Password:", each answered with the bare value. It is a password login in two steps, checked
 * through {@link Portal#authenticate}, so it is offered only where PLAIN would be.
 */
final class LoginMechanism implements SaslExchange.Mechanism {

    static final String NAME = "LOGIN";
    private static final byte[] USERNAME = "Username:".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PASSWORD = "Password:".getBytes(StandardCharsets.US_ASCII);

    private final Portal portal;
    private boolean prompted;
    private String username;
    private Principal principal;

    LoginMechanism(Portal portal) {
        this.portal = portal;
    }

    @Override
    public byte[] evaluate(byte[] response) throws AuthenticationException {
        if (username == null) {
            // no initial response: ask for the user name, once
            if (response.length == 0 && !prompted) {
                prompted = true;
                return USERNAME.clone();
            }
            if (response.length == 0) {
                throw new AuthenticationException("malformed LOGIN message: empty user name");
            }
            username = new String(response, StandardCharsets.UTF_8);
            return PASSWORD.clone();
        }
        if (response.length == 0) {
            throw new AuthenticationException("malformed LOGIN message: empty password");
        }
        try {
            Principal checked = portal.authenticate(new UsernamePassword(username, new String(response, StandardCharsets.UTF_8)));
            principal = new Principal(checked.name(), NAME);
        } catch (IllegalArgumentException e) {
            // a user name or password that UsernamePassword refuses (control characters...)
            throw new AuthenticationException("malformed LOGIN message: " + e.getMessage());
        }
        return new byte[0];
    }

    @Override
    public Principal principal() {
        return principal;
    }

    @Override
    public String username() {
        return username;
    }
}
