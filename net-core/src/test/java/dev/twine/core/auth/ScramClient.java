package dev.twine.core.auth;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A minimal SCRAM-SHA-256 or SCRAM-SHA-1 client for tests. It computes SaltedPassword with the
 * JDK's PBKDF2, independently of the server's hand-written Hi(), so that a bug in one is
 * not mirrored in the other.
 */
final class ScramClient {

    private final boolean sha1;
    private final String gs2Header;
    private final String clientFirstBare;
    private final String password;
    private byte[] expectedServerSignature;

    ScramClient(String encodedUsername, String password, String clientNonce) {
        this("n,,", encodedUsername, password, clientNonce);
    }

    ScramClient(String gs2Header, String encodedUsername, String password, String clientNonce) {
        this(false, gs2Header, encodedUsername, password, clientNonce);
    }

    /** A SCRAM-SHA-1 client. */
    static ScramClient sha1(String encodedUsername, String password, String clientNonce) {
        return new ScramClient(true, "n,,", encodedUsername, password, clientNonce);
    }

    private ScramClient(boolean sha1, String gs2Header, String encodedUsername, String password, String clientNonce) {
        this.sha1 = sha1;
        this.gs2Header = gs2Header;
        this.clientFirstBare = "n=" + encodedUsername + ",r=" + clientNonce;
        this.password = password;
    }

    byte[] clientFirst() {
        return (gs2Header + clientFirstBare).getBytes(UTF_8);
    }

    byte[] clientFinal(byte[] serverFirstBytes) throws Exception {
        String serverFirst = new String(serverFirstBytes, UTF_8);
        String nonce = null;
        byte[] salt = null;
        int iterations = 0;
        for (String attribute : serverFirst.split(",")) {
            String value = attribute.substring(2);
            switch (attribute.charAt(0)) {
                case 'r' -> nonce = value;
                case 's' -> salt = Base64.getDecoder().decode(value);
                case 'i' -> iterations = Integer.parseInt(value);
                default -> throw new AssertionError("unexpected attribute " + attribute);
            }
        }
        SecretKeyFactory pbkdf2 = SecretKeyFactory.getInstance(sha1 ? "PBKDF2WithHmacSHA1" : "PBKDF2WithHmacSHA256");
        byte[] saltedPassword = pbkdf2.generateSecret(
                new PBEKeySpec(password.toCharArray(), salt, iterations, sha1 ? 160 : 256)).getEncoded();
        byte[] clientKey = hmac(saltedPassword, "Client Key".getBytes(UTF_8));
        byte[] storedKey = MessageDigest.getInstance(sha1 ? "SHA-1" : "SHA-256").digest(clientKey);
        String withoutProof = "c=" + Base64.getEncoder().encodeToString(gs2Header.getBytes(UTF_8))
                + ",r=" + nonce;
        byte[] authMessage = (clientFirstBare + "," + serverFirst + "," + withoutProof).getBytes(UTF_8);
        byte[] clientSignature = hmac(storedKey, authMessage);
        byte[] proof = new byte[clientKey.length];
        for (int i = 0; i < proof.length; i++) {
            proof[i] = (byte) (clientKey[i] ^ clientSignature[i]);
        }
        byte[] serverKey = hmac(saltedPassword, "Server Key".getBytes(UTF_8));
        expectedServerSignature = hmac(serverKey, authMessage);
        return (withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof)).getBytes(UTF_8);
    }

    /** The server-final-message a genuine server must send: RFC 5802 §3 ServerSignature. */
    String expectedServerFinal() {
        return "v=" + Base64.getEncoder().encodeToString(expectedServerSignature);
    }

    private byte[] hmac(byte[] key, byte[] data) throws Exception {
        String name = sha1 ? "HmacSHA1" : "HmacSHA256";
        Mac mac = Mac.getInstance(name);
        mac.init(new SecretKeySpec(key, name));
        return mac.doFinal(data);
    }
}
