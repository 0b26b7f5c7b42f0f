package dev.twine.core.internal;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.List;

/**
 * A self-signed X.509 v3 certificate (RFC 5280) for an EC P-256 key, encoded in DER by hand: the
 * JDK can sign but has no public API to build a certificate. Used where a server must offer TLS
 * and the operator gave no certificate (a demo, a first start).
 */
public final class SelfSigned {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int[] ECDSA_WITH_SHA256 = {1, 2, 840, 10045, 4, 3, 2};
    private static final int[] COMMON_NAME = {2, 5, 4, 3};
    private static final int[] SUBJECT_ALT_NAME = {2, 5, 29, 17};
    private static final int[] BASIC_CONSTRAINTS = {2, 5, 29, 19};
    private static final DateTimeFormatter UTC_TIME = DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter GENERALIZED_TIME =
            DateTimeFormatter.ofPattern("yyyyMMddHHmmss'Z'").withZone(ZoneOffset.UTC);

    /** A certificate and its private key, both PEM. */
    public record Pem(String certificate, String privateKey) {
        @Override
        public String toString() {
            return "Pem[certificate, ***]";
        }
    }

    private SelfSigned() {
    }

    /**
     * Makes a new key pair and a certificate for it, signed by itself.
     *
     * @param names the host names (DNS names) or IP addresses the certificate is for; the first is
     *     also the subject's common name
     * @param notBefore start of validity
     * @param notAfter end of validity
     */
    public static Pem create(List<String> names, Instant notBefore, Instant notAfter) throws GeneralSecurityException {
        if (names.isEmpty()) {
            throw new IllegalArgumentException("a certificate needs at least one name");
        }
        KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
        kpg.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        KeyPair pair = kpg.generateKeyPair();

        byte[] algorithm = sequence(oid(ECDSA_WITH_SHA256));
        byte[] name = sequence(set(sequence(oid(COMMON_NAME), utf8String(names.get(0)))));
        byte[] serial = new byte[16];
        RANDOM.nextBytes(serial);
        serial[0] &= 0x7f; // positive (RFC 5280 §4.1.2.2)
        serial[0] |= 0x40; // and no leading zero byte to strip
        byte[] tbs = sequence(
                explicit(0, integer(BigInteger.TWO.toByteArray())), // v3
                integer(serial),
                algorithm,
                name,
                sequence(time(notBefore), time(notAfter)),
                name,
                pair.getPublic().getEncoded(), // SubjectPublicKeyInfo, DER already
                explicit(3, sequence(
                        sequence(oid(BASIC_CONSTRAINTS), octetString(sequence())), // cA FALSE
                        sequence(oid(SUBJECT_ALT_NAME), octetString(generalNames(names))))));
        Signature signer = Signature.getInstance("SHA256withECDSA");
        signer.initSign(pair.getPrivate());
        signer.update(tbs);
        byte[] certificate = sequence(tbs, algorithm, bitString(signer.sign()));
        return new Pem(pem("CERTIFICATE", certificate), pem("PRIVATE KEY", pair.getPrivate().getEncoded()));
    }

    private static byte[] generalNames(List<String> names) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String n : names) {
            byte[] ip = ipLiteral(n);
            if (ip != null) {
                out.writeBytes(tlv(0x87, ip)); // [7] iPAddress
            } else {
                out.writeBytes(tlv(0x82, n.getBytes(StandardCharsets.US_ASCII))); // [2] dNSName
            }
        }
        return tlv(0x30, out.toByteArray());
    }

    /** The address bytes if {@code s} is an IPv4 or IPv6 literal (never a DNS lookup), else null. */
    private static byte[] ipLiteral(String s) {
        boolean v4 = s.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}");
        boolean v6 = s.indexOf(':') >= 0 && s.matches("[0-9A-Fa-f:.]+");
        if (!v4 && !v6) {
            return null;
        }
        try {
            return InetAddress.getByName(s).getAddress();
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address: " + s, e);
        }
    }

    private static byte[] time(Instant t) {
        // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050
        boolean utc = t.isBefore(Instant.parse("2050-01-01T00:00:00Z"));
        String text = (utc ? UTC_TIME : GENERALIZED_TIME).format(t);
        return tlv(utc ? 0x17 : 0x18, text.getBytes(StandardCharsets.US_ASCII));
    }

    private static String pem(String type, byte[] der) {
        String body = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der);
        return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
    }

    // ---- DER (X.690) ----

    private static byte[] sequence(byte[]... parts) {
        return tlv(0x30, concat(parts));
    }

    private static byte[] set(byte[]... parts) {
        return tlv(0x31, concat(parts));
    }

    private static byte[] explicit(int tag, byte[] inner) {
        return tlv(0xa0 | tag, inner);
    }

    private static byte[] integer(byte[] twosComplement) {
        return tlv(0x02, twosComplement);
    }

    private static byte[] octetString(byte[] content) {
        return tlv(0x04, content);
    }

    private static byte[] bitString(byte[] content) {
        byte[] withUnusedBits = new byte[content.length + 1];
        System.arraycopy(content, 0, withUnusedBits, 1, content.length);
        return tlv(0x03, withUnusedBits);
    }

    private static byte[] utf8String(String s) {
        return tlv(0x0c, s.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] oid(int[] arcs) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(arcs[0] * 40 + arcs[1]);
        for (int i = 2; i < arcs.length; i++) {
            int v = arcs[i];
            int shift = 28;
            while (shift > 0 && (v >>> shift) == 0) {
                shift -= 7;
            }
            for (; shift > 0; shift -= 7) {
                out.write(0x80 | ((v >>> shift) & 0x7f));
            }
            out.write(v & 0x7f);
        }
        return tlv(0x06, out.toByteArray());
    }

    private static byte[] tlv(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 6);
        out.write(tag);
        int n = content.length;
        if (n < 0x80) {
            out.write(n);
        } else {
            int bytes = (32 - Integer.numberOfLeadingZeros(n) + 7) / 8;
            out.write(0x80 | bytes);
            for (int i = bytes - 1; i >= 0; i--) {
                out.write(n >>> (8 * i));
            }
        }
        out.writeBytes(content);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
