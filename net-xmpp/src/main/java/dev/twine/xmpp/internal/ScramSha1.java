package dev.twine.xmpp.internal;

import dev.twine.core.auth.AuthenticationException;
import dev.twine.core.auth.StoredSecret;
import dev.twine.core.auth.UserStore;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.text.Normalizer;
import java.util.Base64;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * SCRAM-SHA-1 (RFC 5802), server side, for users whose stored secret is {@code {PLAIN}}: the
 * salted password is derived on the fly from the cleartext with a fresh random salt for each
 * exchange. The core's {@code {SCRAM-SHA-256}} secrets cannot serve SHA-1 (RFC 5802 §5 keys are
 * hash-specific), so those users fail here; the server offers this mechanism only when told to.
 * No channel binding ({@code n,,} or {@code y,,} only). Passwords are normalised with NFKC, a
 * close approximation of SASLprep (RFC 4013) that is exact for ASCII passwords.
 */
final class ScramSha1 implements ServerSasl {
    static final String NAME = "SCRAM-SHA-1";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int ITERATIONS = 4096;

    private final UserStore users;
    private int step;
    private String gs2Header;
    private String clientFirstBare;
    private String serverFirst;
    private String nonce;
    private String user;
    private byte[] salt;
    private String password;
    private String authenticated;

    ScramSha1(UserStore users) {
        this.users = users;
    }

    @Override
    public byte[] evaluate(byte[] response) throws AuthenticationException {
        String msg = new String(response, StandardCharsets.UTF_8);
        try {
            return switch (step++) {
                case 0 -> first(msg);
                case 1 -> last(msg);
                default -> throw new AuthenticationException("SCRAM exchange already finished");
            };
        } catch (GeneralSecurityException e) {
            throw new AuthenticationException("SCRAM-SHA-1 needs HMAC-SHA-1 and PBKDF2", e);
        } catch (RuntimeException e) {
            throw new AuthenticationException("malformed SCRAM message", e);
        }
    }

    private byte[] first(String msg) throws AuthenticationException {
        if (!(msg.startsWith("n,") || msg.startsWith("y,"))) {
            throw new AuthenticationException("channel binding is not supported");
        }
        int second = msg.indexOf(',', 2);
        if (second < 0) {
            throw new AuthenticationException("malformed client-first-message");
        }
        gs2Header = msg.substring(0, second + 1);
        String authzid = msg.substring(2, second);
        clientFirstBare = msg.substring(second + 1);
        String cnonce = null;
        for (String part : clientFirstBare.split(",")) {
            if (part.startsWith("n=")) {
                user = part.substring(2).replace("=2C", ",").replace("=3D", "=");
            } else if (part.startsWith("r=")) {
                cnonce = part.substring(2);
            } else if (part.startsWith("m=")) {
                throw new AuthenticationException("unsupported SCRAM extension");
            }
        }
        if (user == null || user.isEmpty() || cnonce == null || cnonce.isEmpty()) {
            throw new AuthenticationException("malformed client-first-message");
        }
        if (!authzid.isEmpty() && !authzid.equals("a=" + user)) {
            throw new AuthenticationException("authorization identity differs from the user");
        }
        Optional<StoredSecret> secret = users.find(user);
        if (secret.isPresent() && secret.get() instanceof StoredSecret.Plain p) {
            password = Normalizer.normalize(p.password(), Normalizer.Form.NFKC);
        }
        // unknown users and SHA-256-only secrets get a normal-looking challenge and fail at the end
        salt = new byte[16];
        RANDOM.nextBytes(salt);
        byte[] snonce = new byte[18];
        RANDOM.nextBytes(snonce);
        nonce = cnonce + Base64.getEncoder().encodeToString(snonce);
        serverFirst = "r=" + nonce + ",s=" + Base64.getEncoder().encodeToString(salt) + ",i=" + ITERATIONS;
        return serverFirst.getBytes(StandardCharsets.UTF_8);
    }

    private byte[] last(String msg) throws AuthenticationException, GeneralSecurityException {
        int p = msg.lastIndexOf(",p=");
        if (p < 0) {
            throw new AuthenticationException("malformed client-final-message");
        }
        String withoutProof = msg.substring(0, p);
        byte[] proof = Base64.getDecoder().decode(msg.substring(p + 3));
        String channel = null;
        String finalNonce = null;
        for (String part : withoutProof.split(",")) {
            if (part.startsWith("c=")) {
                channel = new String(Base64.getDecoder().decode(part.substring(2)), StandardCharsets.UTF_8);
            } else if (part.startsWith("r=")) {
                finalNonce = part.substring(2);
            }
        }
        if (!gs2Header.equals(channel) || !nonce.equals(finalNonce) || password == null) {
            throw new AuthenticationException("SCRAM-SHA-1 authentication failed");
        }
        String authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
        byte[] salted = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA1")
                .generateSecret(new PBEKeySpec(password.toCharArray(), salt, ITERATIONS, 160)).getEncoded();
        byte[] clientKey = hmac(salted, "Client Key");
        byte[] storedKey = MessageDigest.getInstance("SHA-1").digest(clientKey);
        byte[] signature = hmac(storedKey, authMessage);
        if (proof.length != signature.length) {
            throw new AuthenticationException("SCRAM-SHA-1 authentication failed");
        }
        byte[] candidate = new byte[proof.length];
        for (int i = 0; i < proof.length; i++) {
            candidate[i] = (byte) (proof[i] ^ signature[i]);
        }
        if (!MessageDigest.isEqual(MessageDigest.getInstance("SHA-1").digest(candidate), storedKey)) {
            throw new AuthenticationException("SCRAM-SHA-1 authentication failed");
        }
        authenticated = user;
        byte[] serverSignature = hmac(hmac(salted, "Server Key"), authMessage);
        return ("v=" + Base64.getEncoder().encodeToString(serverSignature)).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] hmac(byte[] key, String data) throws GeneralSecurityException {
        Mac mac = Mac.getInstance("HmacSHA1");
        mac.init(new SecretKeySpec(key, "HmacSHA1"));
        return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public boolean isComplete() {
        return authenticated != null;
    }

    @Override
    public String user() {
        return authenticated;
    }
}
