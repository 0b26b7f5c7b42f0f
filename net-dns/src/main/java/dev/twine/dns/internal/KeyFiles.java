package dev.twine.dns.internal;

import dev.twine.core.DurableFiles;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.EdECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import org.xbill.DNS.DClass;
import org.xbill.DNS.DNSKEYRecord;
import org.xbill.DNS.DNSSEC;
import org.xbill.DNS.DSRecord;
import org.xbill.DNS.Name;

/**
 * Making a DNSSEC key pair in BIND's key file format, as {@code dnssec-keygen} does:
 * {@code K<zone>+<alg>+<id>.key} (the DNSKEY record) and {@code .private} ("Private-key-format:
 * v1.3", the algorithm, the private key in base64; owner-only). What {@link Signer} reads.
 */
public final class KeyFiles {
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMddHHmmss").withZone(ZoneOffset.UTC);

    private KeyFiles() {}

    /** A new key's DNSKEY record and the base name of its two files. */
    public record Made(DNSKEYRecord dnskey, Path key, Path privateKey) {
        /** The DS record for the parent (RFC 4509: SHA-256), in master-file text. */
        public String ds() {
            return new DSRecord(dnskey.getName(), DClass.IN, dnskey.getTTL(), DSRecord.SHA256_DIGEST_ID, dnskey).toString();
        }
    }

    /**
     * Makes a key for {@code zone} in {@code dir}.
     *
     * @param algorithm {@code ecdsap256sha256} (13) or {@code ed25519} (15), case-insensitive
     * @param ksk a key-signing key (flags 257, the SEP bit) rather than a zone-signing key (256)
     * @throws IllegalArgumentException for another algorithm or a zone that is not a domain name
     * @throws IOException if the files cannot be written (the private one is written first)
     */
    public static Made generate(Path dir, String zone, String algorithm, boolean ksk, Instant now) throws IOException {
        Name origin = Records.nameOrThrow(zone);
        int alg = switch (algorithm.toLowerCase(java.util.Locale.ROOT)) {
            case "ecdsap256sha256", "13" -> DNSSEC.Algorithm.ECDSAP256SHA256;
            case "ed25519", "15" -> DNSSEC.Algorithm.ED25519;
            default -> throw new IllegalArgumentException("algorithm " + algorithm + " is not one of ecdsap256sha256, ed25519");
        };
        try {
            KeyPair pair;
            byte[] secret;
            if (alg == DNSSEC.Algorithm.ECDSAP256SHA256) {
                KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
                g.initialize(new ECGenParameterSpec("secp256r1"));
                pair = g.generateKeyPair();
                secret = fixed(((ECPrivateKey) pair.getPrivate()).getS(), 32); // RFC 6605 §4: the 32-byte scalar
            } else {
                pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
                secret = ((EdECPrivateKey) pair.getPrivate()).getBytes().orElseThrow(); // RFC 8080 §3: the 32-byte seed
            }
            DNSKEYRecord dnskey = new DNSKEYRecord(origin, DClass.IN, 3600, ksk ? 257 : 256, DNSKEYRecord.Protocol.DNSSEC, alg,
                    pair.getPublic());
            String base = "K" + origin.toString().toLowerCase(java.util.Locale.ROOT) + "+" + String.format("%03d", alg)
                    + "+" + String.format("%05d", dnskey.getFootprint());
            Path key = dir.resolve(base + ".key");
            Path priv = dir.resolve(base + ".private");
            String stamp = STAMP.format(now);
            DurableFiles.replacePrivate(priv, ("Private-key-format: v1.3\nAlgorithm: " + alg + " ("
                    + DNSSEC.Algorithm.string(alg) + ")\nPrivateKey: " + Base64.getEncoder().encodeToString(secret)
                    + "\nCreated: " + stamp + "\nPublish: " + stamp + "\nActivate: " + stamp + "\n").getBytes(StandardCharsets.US_ASCII));
            DurableFiles.replace(key, ("; This is a " + (ksk ? "key-signing" : "zone-signing") + " key, keyid "
                    + dnskey.getFootprint() + ", for " + origin + "\n" + origin + " IN DNSKEY " + dnskey.rdataToString() + "\n")
                    .getBytes(StandardCharsets.US_ASCII));
            return new Made(dnskey, key, priv);
        } catch (GeneralSecurityException | DNSSEC.DNSSECException e) {
            throw new IOException("cannot make a " + algorithm + " key: " + e.getMessage(), e);
        }
    }

    /** {@code n} as exactly {@code size} big-endian bytes. */
    private static byte[] fixed(BigInteger n, int size) {
        byte[] raw = n.toByteArray();
        byte[] out = new byte[size];
        int from = Math.max(0, raw.length - size);
        System.arraycopy(raw, from, out, size - (raw.length - from), raw.length - from);
        return out;
    }
}
