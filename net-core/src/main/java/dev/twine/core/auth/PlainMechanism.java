package dev.twine.core.auth;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** The server side of SASL PLAIN (RFC 4616). */
final class PlainMechanism implements SaslExchange.Mechanism {

    static final String NAME = "PLAIN";

    private final Portal portal;
    private boolean emptyChallengeSent;
    private Principal principal;
    private String username;

    PlainMechanism(Portal portal) {
        this.portal = portal;
    }

    @Override
    public byte[] evaluate(byte[] response) throws AuthenticationException {
        // RFC 4616 §2: PLAIN is client-first; without an initial response the server sends an
        // empty challenge, once.
        if (response.length == 0 && !emptyChallengeSent) {
            emptyChallengeSent = true;
            return new byte[0];
        }
        // RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd
        int nul1 = indexOfNul(response, 0);
        int nul2 = nul1 < 0 ? -1 : indexOfNul(response, nul1 + 1);
        if (nul2 < 0 || indexOfNul(response, nul2 + 1) >= 0) {
            throw new AuthenticationException("malformed PLAIN message: expected exactly two NULs");
        }
        String authzid = utf8(response, 0, nul1);
        String authcid = utf8(response, nul1 + 1, nul2);
        String passwd = utf8(response, nul2 + 1, response.length);
        username = authcid.isEmpty() ? null : authcid;
        if (authcid.isEmpty() || passwd.isEmpty()) {
            throw new AuthenticationException("malformed PLAIN message: empty authcid or passwd");
        }
        // RFC 4616 §2: the server acts as authzid if it is given and allowed. Twine allows a
        // user to act only as itself.
        if (!authzid.isEmpty() && !authzid.equals(authcid)) {
            throw new AuthenticationException("authorization identity must be empty or equal the user name");
        }
        Principal checked = portal.authenticate(new UsernamePassword(authcid, passwd));
        principal = new Principal(checked.name(), NAME);
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

    private static int indexOfNul(byte[] b, int from) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    private static String utf8(byte[] b, int from, int to) throws AuthenticationException {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(b, from, to - from))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new AuthenticationException("malformed PLAIN message: not UTF-8", e);
        }
    }
}
