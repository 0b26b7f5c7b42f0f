package dev.twine.ssh.internal;

import dev.twine.core.DurableFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.sshd.common.config.keys.AuthorizedKeyEntry;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyPairResourceWriter;
import org.apache.sshd.common.signature.BuiltinSignatures;
import org.apache.sshd.common.signature.Signature;
import org.apache.sshd.common.util.security.SecurityUtils;

/** OpenSSH key files: reading authorized_keys and private keys, generating and writing keys. */
public final class Keys {

    private Keys() {
    }

    /**
     * The keys of an authorized_keys file; lines that do not parse, or whose key type is not
     * supported, are skipped (sshd does the same).
     */
    public static List<AuthorizedKey> readAuthorizedKeys(Path file) throws IOException {
        List<AuthorizedKey> keys = new ArrayList<>();
        // decoded leniently: a byte that is not UTF-8 (a Latin-1 comment) spoils only its own
        // line, as in sshd, instead of failing the whole file and with it every key of the user
        for (String line : new String(Files.readAllBytes(file), StandardCharsets.UTF_8).lines().toList()) {
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            try {
                AuthorizedKeyEntry e = AuthorizedKeyEntry.parseAuthorizedKeyEntry(t);
                if (e == null) {
                    continue;
                }
                PublicKey k = e.resolvePublicKey(null, PublicKeyEntryResolver.IGNORING);
                if (k != null) {
                    Map<String, String> options = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
                    options.putAll(e.getLoginOptions());
                    keys.add(new AuthorizedKey(k, Collections.unmodifiableMap(options)));
                }
            } catch (IllegalArgumentException | GeneralSecurityException | IOException ignored) {
                // a line we cannot use grants nothing; the others still count
            }
        }
        return keys;
    }

    /**
     * One usable line of an {@code authorized_keys} file: the key and its options (names ignoring
     * case, values without quotes; a flag such as {@code restrict} maps to {@code "true"}).
     */
    public record AuthorizedKey(PublicKey key, Map<String, String> options) {
    }

    /** Whether two public keys are the same key (across providers: eddsa vs JDK encodings). */
    public static boolean sameKey(PublicKey a, PublicKey b) {
        return KeyUtils.compareKeys(a, b);
    }

    /** One line of OpenSSH public key text ({@code ssh-ed25519 AAAA... comment}). */
    public static String publicKeyLine(PublicKey key, String comment) {
        String s = PublicKeyEntry.toString(key);
        return comment == null || comment.isEmpty() ? s : s + " " + comment;
    }

    /** The OpenSSH SHA256 fingerprint of a key, as {@code ssh-keygen -l} prints it. */
    public static String fingerprint(PublicKey key) {
        return KeyUtils.getFingerPrint(key);
    }

    /** A new Ed25519 key pair (through eddsa, which MINA uses for Ed25519). */
    public static KeyPair generateEd25519() throws GeneralSecurityException {
        KeyPairGenerator g = SecurityUtils.getKeyPairGenerator(SecurityUtils.EDDSA);
        return g.generateKeyPair();
    }

    /** A new RSA key pair of {@code bits} bits. */
    public static KeyPair generateRsa(int bits) throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(bits);
        return g.generateKeyPair();
    }

    /**
     * Writes a private key in OpenSSH format (unencrypted, mode 0600) and its public key beside it
     * as {@code FILE.pub}; each is written to a temporary file, fsynced and renamed into place.
     */
    public static void writeKeyPair(KeyPair kp, Path file, String comment) throws IOException, GeneralSecurityException {
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        java.io.ByteArrayOutputStream priv = new java.io.ByteArrayOutputStream();
        OpenSSHKeyPairResourceWriter.INSTANCE.writePrivateKey(kp, comment, null, priv);
        writeAtomically(file, priv.toByteArray(), true);
        byte[] pub = (publicKeyLine(kp.getPublic(), comment) + "\n").getBytes(StandardCharsets.UTF_8);
        writeAtomically(Path.of(file.toAbsolutePath() + ".pub"), pub, false);
    }

    /**
     * Replaces {@code file} durably (net-core's {@link DurableFiles}); a secret is owner-only
     * whatever the old file's permissions were.
     */
    public static void writeAtomically(Path file, byte[] data, boolean secret) throws IOException {
        if (secret) {
            DurableFiles.replacePrivate(file, data);
        } else {
            DurableFiles.replace(file, data);
        }
    }

    /**
     * The key pairs in a private key file (OpenSSH or PEM format, unencrypted).
     *
     * @throws IllegalArgumentException naming the file if it holds no usable key
     */
    public static List<KeyPair> readKeyPairs(Path file) throws IOException, GeneralSecurityException {
        return readKeyPairs(file, null);
    }

    /**
     * The key pairs in a private key file encrypted with {@code passphrase} (or unencrypted, when
     * it is null).
     *
     * @throws IllegalArgumentException naming the file if it holds no usable key
     * @throws GeneralSecurityException if it cannot be decrypted with the passphrase
     */
    public static List<KeyPair> readKeyPairs(Path file, char[] passphrase) throws IOException, GeneralSecurityException {
        List<KeyPair> pairs = new ArrayList<>();
        org.apache.sshd.common.config.keys.FilePasswordProvider password = passphrase == null ? null
                : org.apache.sshd.common.config.keys.FilePasswordProvider.of(new String(passphrase));
        try (InputStream in = Files.newInputStream(file)) {
            Iterable<KeyPair> it = SecurityUtils.loadKeyPairIdentities(
                    null, org.apache.sshd.common.NamedResource.ofName(file.toString()), in, password);
            if (it != null) {
                it.forEach(pairs::add);
            }
        }
        if (pairs.isEmpty()) {
            throw new IllegalArgumentException(file + ": no private key found (OpenSSH or PEM, unencrypted)");
        }
        return pairs;
    }

    /**
     * Whether a private key file is encrypted: an OpenSSH key ({@code openssh-key-v1}, PROTOCOL.key)
     * whose cipher is not {@code none}, or a PEM key marked {@code ENCRYPTED}.
     *
     * @throws IOException if it cannot be read
     */
    public static boolean isEncrypted(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        if (text.contains("ENCRYPTED")) {
            return true;
        }
        int begin = text.indexOf("-----BEGIN OPENSSH PRIVATE KEY-----");
        int end = text.indexOf("-----END OPENSSH PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            return false;
        }
        String body = text.substring(begin + "-----BEGIN OPENSSH PRIVATE KEY-----".length(), end).replaceAll("\\s", "");
        try {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(java.util.Base64.getDecoder().decode(body));
            byte[] magic = "openssh-key-v1\0".getBytes(StandardCharsets.US_ASCII);
            b.position(magic.length);
            byte[] cipher = new byte[b.getInt()];
            b.get(cipher);
            return !new String(cipher, StandardCharsets.US_ASCII).equals("none");
        } catch (IllegalArgumentException | java.nio.BufferUnderflowException e) {
            return false; // not a key we can read anyway: reading it will say so
        }
    }

    /**
     * The OpenSSH certificate in {@code file} (one {@code *-cert-v01@openssh.com} line, as
     * {@code ssh-keygen -s} writes it).
     *
     * @throws IllegalArgumentException naming the file if it holds no certificate
     * @throws IOException if it cannot be read
     */
    public static OpenSshCertificate readCertificate(Path file) throws IOException {
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            try {
                PublicKey k = PublicKeyEntry.parsePublicKeyEntry(t).resolvePublicKey(null, Map.of(),
                        PublicKeyEntryResolver.FAILING);
                if (k instanceof OpenSshCertificate cert) {
                    return cert;
                }
            } catch (IllegalArgumentException | GeneralSecurityException e) {
                throw new IllegalArgumentException(file + ": not an OpenSSH certificate: " + e.getMessage(), e);
            }
        }
        throw new IllegalArgumentException(file + ": no OpenSSH certificate in it");
    }

    /**
     * Whether {@code cert} carries a valid signature by {@code ca} (PROTOCOL.certkeys: the CA
     * signs every field before the signature), with one of the signature algorithms Twine accepts.
     */
    public static boolean signedBy(OpenSshCertificate cert, PublicKey ca) {
        if (!sameKey(cert.getCaPubKey(), ca)) {
            return false;
        }
        BuiltinSignatures alg = BuiltinSignatures.fromFactoryName(cert.getSignatureAlgorithm());
        if (alg == null || !Algorithms.SIGNATURES.contains(alg)) {
            return false;
        }
        try {
            Signature verifier = alg.create();
            verifier.initVerifier(null, ca);
            verifier.update(null, cert.getMessage());
            return verifier.verify(null, cert.getSignature());
        } catch (Exception e) {
            return false;
        }
    }
}
