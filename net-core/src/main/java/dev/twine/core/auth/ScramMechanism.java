package dev.twine.core.auth;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.function.Supplier;

/**
 * The server side of SCRAM-SHA-256 (RFC 7677) and SCRAM-SHA-1 (RFC 5802), without channel
 * binding.
 */
final class ScramMechanism implements SaslExchange.Mechanism {

    /** What the portal knows about a user for SCRAM; {@code known} false means a decoy. */
    record Lookup(ScramKeys secret, boolean known) {
    }

    /** Finds or fakes the SCRAM keys of a user for one hash. */
    interface Secrets {
        Lookup lookup(String username, ScramHash hash);
    }

    private enum State { CLIENT_FIRST, CLIENT_FINAL }

    private final ScramHash hash;
    private final Secrets secrets;
    private final Supplier<String> serverNonces;
    private State state = State.CLIENT_FIRST;
    private boolean emptyChallengeSent;
    private String gs2Header;
    private String clientFirstBare;
    private String serverFirst;
    private String nonce;
    private String username;
    private Lookup lookup;
    private Principal principal;

    ScramMechanism(ScramHash hash, Secrets secrets, Supplier<String> serverNonces) {
        this.hash = hash;
        this.secrets = secrets;
        this.serverNonces = serverNonces;
    }

    @Override
    public byte[] evaluate(byte[] response) throws AuthenticationException {
        return switch (state) {
            case CLIENT_FIRST -> clientFirst(response);
            case CLIENT_FINAL -> clientFinal(response);
        };
    }

    @Override
    public Principal principal() {
        return principal;
    }

    @Override
    public String username() {
        return username;
    }

    private byte[] clientFirst(byte[] response) throws AuthenticationException {
        // RFC 5802 §5: SCRAM is client-first; a protocol without an initial response gets an
        // empty challenge first (RFC 4422 §5, step 2).
        if (response.length == 0 && !emptyChallengeSent) {
            emptyChallengeSent = true;
            return new byte[0];
        }
        String message = utf8(response);

        // RFC 5802 §7: gs2-header = gs2-cbind-flag "," [ authzid ] ","
        int comma1 = message.indexOf(',');
        int comma2 = comma1 < 0 ? -1 : message.indexOf(',', comma1 + 1);
        if (comma2 < 0) {
            throw malformed("client-first-message has no GS2 header");
        }
        String cbindFlag = message.substring(0, comma1);
        if (cbindFlag.startsWith("p=")) {
            // RFC 5802 §6: Twine offers no -PLUS variant, so a client demanding channel
            // binding must fail ("e=server-does-support-channel-binding" is not applicable).
            throw new AuthenticationException("SCRAM channel binding is not supported");
        }
        // "y": the client supports channel binding but thinks the server does not, which is
        // true here (RFC 5802 §6), so it is accepted like "n".
        if (!cbindFlag.equals("n") && !cbindFlag.equals("y")) {
            throw malformed("bad GS2 channel binding flag");
        }
        String authzField = message.substring(comma1 + 1, comma2);
        String authzid = null;
        if (!authzField.isEmpty()) {
            if (!authzField.startsWith("a=")) {
                throw malformed("bad GS2 authzid");
            }
            authzid = saslName(authzField.substring(2));
        }
        gs2Header = message.substring(0, comma2 + 1);
        clientFirstBare = message.substring(comma2 + 1);

        // RFC 5802 §7: client-first-message-bare = [reserved-mext ","] username "," nonce
        //                                          ["," extensions]
        String[] attributes = clientFirstBare.split(",", -1);
        if (attributes[0].startsWith("m=")) {
            // RFC 5802 §5.1: a mandatory extension this server does not know must fail.
            throw new AuthenticationException("SCRAM mandatory extension is not supported");
        }
        if (attributes.length < 2 || !attributes[0].startsWith("n=") || !attributes[1].startsWith("r=")) {
            throw malformed("client-first-message must start with n= and r=");
        }
        username = saslName(attributes[0].substring(2));
        String clientNonce = attributes[1].substring(2);
        checkNonce(clientNonce);
        checkExtensions(attributes, 2, attributes.length);
        // RFC 5802 §5.1 a=: Twine lets a user act only as itself.
        if (authzid != null && !authzid.equals(username)) {
            throw new AuthenticationException("authorization identity must be absent or equal the user name");
        }

        String serverNonce = serverNonces.get();
        checkNonce(serverNonce);
        nonce = clientNonce + serverNonce;
        // An unknown user gets a decoy salt and iteration count and fails at the end (RFC 5802
        // §9 discusses this): the server-first-message must not tell whether the user exists.
        lookup = secrets.lookup(username, hash);
        ScramKeys secret = lookup.secret();
        serverFirst = "r=" + nonce
                + ",s=" + ScramKeys.base64(secret.salt())
                + ",i=" + secret.iterations();
        state = State.CLIENT_FINAL;
        return serverFirst.getBytes(StandardCharsets.UTF_8);
    }

    private byte[] clientFinal(byte[] response) throws AuthenticationException {
        String message = utf8(response);
        // RFC 5802 §7: client-final-message = channel-binding "," nonce ["," extensions] "," proof
        String[] attributes = message.split(",", -1);
        if (attributes.length < 3
                || !attributes[0].startsWith("c=")
                || !attributes[1].startsWith("r=")
                || !attributes[attributes.length - 1].startsWith("p=")) {
            throw malformed("client-final-message must be c=...,r=...,p=...");
        }
        // RFC 5802 §5.1 c=: without channel binding, the base64 of the GS2 header itself.
        byte[] channelBinding = base64(attributes[0].substring(2));
        if (!Arrays.equals(channelBinding, gs2Header.getBytes(StandardCharsets.UTF_8))) {
            throw new AuthenticationException("SCRAM channel binding data does not match the GS2 header");
        }
        if (!attributes[1].substring(2).equals(nonce)) {
            throw new AuthenticationException("SCRAM nonce does not match");
        }
        checkExtensions(attributes, 2, attributes.length - 1);
        byte[] proof = base64(attributes[attributes.length - 1].substring(2));
        if (proof.length != hash.length) {
            throw malformed("client proof is not " + hash.length + " bytes");
        }

        // RFC 5802 §3: AuthMessage, ClientSignature, ClientKey = ClientProof XOR ClientSignature,
        // and the check H(ClientKey) == StoredKey, in constant time.
        String withoutProof = String.join(",", Arrays.asList(attributes).subList(0, attributes.length - 1));
        byte[] authMessage = (clientFirstBare + "," + serverFirst + "," + withoutProof)
                .getBytes(StandardCharsets.UTF_8);
        ScramKeys secret = lookup.secret();
        byte[] clientSignature = hash.hmac(secret.storedKey(), authMessage);
        byte[] clientKey = ScramKeys.xor(proof, clientSignature);
        boolean matches = MessageDigest.isEqual(hash.hash(clientKey), secret.storedKey());
        if (!(matches & lookup.known())) {
            throw new AuthenticationException();
        }
        byte[] serverSignature = hash.hmac(secret.serverKey(), authMessage);
        principal = new Principal(username, hash.mechanism);
        return ("v=" + ScramKeys.base64(serverSignature)).getBytes(StandardCharsets.UTF_8);
    }

    /** RFC 5802 §7 saslname: "=2C" and "=3D" stand for "," and "="; any other "=" is an error. */
    private static String saslName(String encoded) throws AuthenticationException {
        if (encoded.isEmpty()) {
            throw malformed("empty user name");
        }
        StringBuilder name = new StringBuilder(encoded.length());
        for (int i = 0; i < encoded.length(); i++) {
            char c = encoded.charAt(i);
            if (c == '=') {
                if (encoded.startsWith("=2C", i)) {
                    name.append(',');
                } else if (encoded.startsWith("=3D", i)) {
                    name.append('=');
                } else {
                    throw malformed("bad escape in user name");
                }
                i += 2;
            } else if (c == 0) {
                throw malformed("NUL in user name");
            } else {
                name.append(c);
            }
        }
        return name.toString();
    }

    /** RFC 5802 §7: c-nonce = printable = %x21-2B / %x2D-7E, at least one. */
    private static void checkNonce(String nonce) throws AuthenticationException {
        if (nonce.isEmpty()) {
            throw malformed("empty nonce");
        }
        for (int i = 0; i < nonce.length(); i++) {
            char c = nonce.charAt(i);
            if (c < 0x21 || c > 0x7E || c == ',') {
                throw malformed("nonce contains a character that is not printable ASCII");
            }
        }
    }

    /** RFC 5802 §7: attr-val = ALPHA "=" value; unknown optional extensions are ignored. */
    private static void checkExtensions(String[] attributes, int from, int to) throws AuthenticationException {
        for (int i = from; i < to; i++) {
            String a = attributes[i];
            char c = a.isEmpty() ? 0 : a.charAt(0);
            boolean alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            if (!alpha || a.length() < 3 || a.charAt(1) != '=' || a.indexOf(0) >= 0) {
                throw malformed("bad attribute");
            }
        }
    }

    private static byte[] base64(String s) throws AuthenticationException {
        try {
            return Base64.getDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            throw new AuthenticationException("malformed SCRAM message: bad base64", e);
        }
    }

    private static String utf8(byte[] b) throws AuthenticationException {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(b))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new AuthenticationException("malformed SCRAM message: not UTF-8", e);
        }
    }

    private static AuthenticationException malformed(String what) {
        return new AuthenticationException("malformed SCRAM message: " + what);
    }
}
