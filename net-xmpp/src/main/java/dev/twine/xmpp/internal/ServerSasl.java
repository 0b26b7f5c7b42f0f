package dev.twine.xmpp.internal;

import dev.twine.core.auth.AuthenticationException;
import dev.twine.core.auth.Principal;
import dev.twine.core.auth.SaslExchange;

/** One server-side SASL exchange, whether the core Portal runs it or this module does. */
interface ServerSasl {
    /** Processes a client response; returns the challenge, or the success data once complete. */
    byte[] evaluate(byte[] response) throws AuthenticationException;

    /** Whether the client is authenticated. */
    boolean isComplete();

    /** Who the client authenticated as, once complete. */
    Principal principal();

    /** The authentication identity the client sent, whether or not it succeeded (for the auth policy). */
    java.util.Optional<String> username();

    /** The core's exchange behind this interface. */
    static ServerSasl of(SaslExchange x) {
        return new ServerSasl() {
            @Override
            public byte[] evaluate(byte[] response) throws AuthenticationException {
                return x.evaluate(response);
            }

            @Override
            public boolean isComplete() {
                return x.isComplete();
            }

            @Override
            public java.util.Optional<String> username() {
                return x.username();
            }

            @Override
            public Principal principal() {
                return x.principal();
            }
        };
    }
}
