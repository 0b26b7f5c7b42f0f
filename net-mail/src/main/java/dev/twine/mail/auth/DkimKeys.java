package dev.twine.mail.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.RSAKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

/**
 * DKIM keys: making a pair, writing and reading the private key as PEM PKCS#8
 * ({@code -----BEGIN PRIVATE KEY-----}, what {@code openssl genpkey} writes), and the DNS TXT
 * record that publishes the public key (RFC 6376 §3.6.1; RFC 8463 §4.2 for Ed25519, whose
 * {@code p=} is the bare 32-byte key).
 *
 * <pre>{@code
 * KeyPair pair = DkimKeys.generate(DkimAlgorithm.ED25519_SHA256);
 * DkimKeys.write(pair.getPrivate(), Path.of("/etc/twine/dkim/example.org.pem"));
 * System.out.println(DkimKeys.zoneLine("example.org", "mail2026", pair.getPublic()));
 * }</pre>
 */
public final class DkimKeys {
    /** The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4): the raw key follows it. */
    private static final byte[] ED25519_SPKI_PREFIX = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

    private DkimKeys() {}

    /**
     * A new key pair: RSA 2048 bits (RFC 8301 §3.2) or Ed25519.
     *
     * @throws IllegalStateException if the JDK lacks the algorithm (every JDK 15 or later has both)
     */
    public static KeyPair generate(DkimAlgorithm algorithm) {
        try {
            if (algorithm == DkimAlgorithm.RSA_SHA256) {
                KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
                g.initialize(2048);
                return g.generateKeyPair();
            }
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot make a " + algorithm.keyType() + " key", e);
        }
    }

    /**
     * Writes {@code key} to {@code file} as PEM PKCS#8, readable by its owner only (mode 0600 where
     * the file system has POSIX modes), replacing nothing: the file must not exist.
     *
     * @throws java.nio.file.FileAlreadyExistsException if the file is there
     * @throws IOException if it cannot be written
     */
    public static void write(PrivateKey key, Path file) throws IOException {
        String pem = "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(key.getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(file);
        }
        Files.writeString(file, pem, StandardCharsets.US_ASCII, StandardOpenOption.TRUNCATE_EXISTING);
    }

    /**
     * Reads a PEM PKCS#8 private key (RSA or Ed25519).
     *
     * @throws IOException naming the file if it cannot be read, holds no {@code PRIVATE KEY}
     *     block (a PKCS#1 {@code RSA PRIVATE KEY} is refused with the command that converts it),
     *     or holds another kind of key
     */
    public static PrivateKey read(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        if (text.contains("-----BEGIN RSA PRIVATE KEY-----")) {
            throw new IOException(file + ": a PKCS#1 key; convert it with 'openssl pkcs8 -topk8 -nocrypt -in "
                    + file.getFileName() + "'");
        }
        int begin = text.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = text.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            throw new IOException(file + ": no PEM PRIVATE KEY block (PKCS#8)");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(text.substring(begin + 27, end));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": the PEM block is not base64", e);
        }
        for (String type : List.of("RSA", "Ed25519")) {
            try {
                return KeyFactory.getInstance(type).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // try the next type
            }
        }
        throw new IOException(file + ": not an RSA or Ed25519 private key");
    }

    /** The algorithm a key signs with. */
    static DkimAlgorithm algorithmOf(java.security.Key key) {
        return switch (key.getAlgorithm()) {
            case "RSA" -> DkimAlgorithm.RSA_SHA256;
            case "Ed25519", "EdDSA" -> DkimAlgorithm.ED25519_SHA256;
            default -> throw new IllegalArgumentException("not an RSA or Ed25519 key: " + key.getAlgorithm());
        };
    }

    /**
     * The key record's text, {@code v=DKIM1; k=rsa; p=MIIBIjAN...}: what goes in the TXT record
     * at {@code selector._domainkey.domain}.
     */
    public static String record(PublicKey key) {
        Objects.requireNonNull(key, "key");
        DkimAlgorithm a = algorithmOf(key);
        byte[] der = key.getEncoded();
        byte[] p = a == DkimAlgorithm.ED25519_SHA256 ? Arrays.copyOfRange(der, ED25519_SPKI_PREFIX.length, der.length) : der;
        return "v=DKIM1; k=" + a.keyType() + "; p=" + Base64.getEncoder().encodeToString(p);
    }

    /**
     * A master-file line publishing {@code key} (BIND syntax, the record split into strings of at
     * most 255 characters as a TXT record needs): {@code mail._domainkey.example.org. IN TXT ("v=DKIM1; ..." "...")}.
     */
    public static String zoneLine(String domain, String selector, PublicKey key) {
        String record = record(key);
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < record.length(); i += 250) {
            parts.add("\"" + record.substring(i, Math.min(record.length(), i + 250)) + "\"");
        }
        return selector + "._domainkey." + domain + ". IN TXT ( " + String.join(" ", parts) + " )";
    }

    /** The public key a key record's {@code p=} gives, or null if it is not one of {@code a}'s. */
    static PublicKey publicKey(DkimAlgorithm a, byte[] p) {
        try {
            if (a == DkimAlgorithm.ED25519_SHA256) {
                if (p.length != 32) {
                    return null;
                }
                byte[] der = Arrays.copyOf(ED25519_SPKI_PREFIX, ED25519_SPKI_PREFIX.length + 32);
                System.arraycopy(p, 0, der, ED25519_SPKI_PREFIX.length, 32);
                return KeyFactory.getInstance("Ed25519").generatePublic(new java.security.spec.X509EncodedKeySpec(der));
            }
            return KeyFactory.getInstance("RSA").generatePublic(new java.security.spec.X509EncodedKeySpec(p));
        } catch (GeneralSecurityException e) {
            return rsaFromPkcs1(a, p);
        }
    }

    /** Some publishers put a bare PKCS#1 RSAPublicKey in {@code p=}: read its modulus and exponent. */
    private static PublicKey rsaFromPkcs1(DkimAlgorithm a, byte[] p) {
        if (a != DkimAlgorithm.RSA_SHA256) {
            return null;
        }
        try {
            // SEQUENCE { INTEGER n, INTEGER e }
            int[] pos = {0};
            if (p[pos[0]++] != 0x30) {
                return null;
            }
            derLength(p, pos);
            java.math.BigInteger n = derInteger(p, pos);
            java.math.BigInteger e = derInteger(p, pos);
            return KeyFactory.getInstance("RSA").generatePublic(new java.security.spec.RSAPublicKeySpec(n, e));
        } catch (RuntimeException | GeneralSecurityException e) {
            return null;
        }
    }

    private static int derLength(byte[] p, int[] pos) {
        int len = p[pos[0]++] & 0xff;
        if (len >= 0x80) {
            int bytes = len & 0x7f;
            len = 0;
            for (int i = 0; i < bytes; i++) {
                len = (len << 8) | (p[pos[0]++] & 0xff);
            }
        }
        return len;
    }

    private static java.math.BigInteger derInteger(byte[] p, int[] pos) {
        if (p[pos[0]++] != 0x02) {
            throw new IllegalArgumentException("not an INTEGER");
        }
        int len = derLength(p, pos);
        java.math.BigInteger v = new java.math.BigInteger(1, Arrays.copyOfRange(p, pos[0], pos[0] + len));
        pos[0] += len;
        return v;
    }

    /** An RSA key's size in bits, or 0 for another kind. */
    static int rsaBits(java.security.Key key) {
        return key instanceof RSAKey r ? r.getModulus().bitLength() : 0;
    }
}
