package dev.twine.mail.auth;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What signing and verifying share: the tag lists, the hash input, the two algorithms. */
final class DkimCore {
    private DkimCore() {}

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is missing from the JDK", e);
        }
    }

    /**
     * The data the signature covers (RFC 6376 §3.7): the fields {@code h=} names, each name taking
     * the last not yet used instance from the bottom up (§5.4.2; a name with none left adds
     * nothing, which is how over-signing works), canonicalised; then the signature field itself
     * with its {@code b=} value empty and without its final CRLF.
     */
    static byte[] signedData(MessageText message, List<String> h, boolean relaxedHeaders, String signatureWithoutB) {
        Map<String, Integer> used = new HashMap<>();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String name : h) {
            List<MessageText.Field> all = message.fields(name);
            int n = used.merge(name, 1, Integer::sum);
            if (n <= all.size()) {
                String raw = all.get(all.size() - n).raw();
                out.writeBytes(bytes(relaxedHeaders ? MessageText.relaxed(raw) : MessageText.simple(raw)));
            }
        }
        String sig = relaxedHeaders ? MessageText.relaxed(signatureWithoutB) : MessageText.simple(signatureWithoutB);
        out.writeBytes(bytes(sig.substring(0, sig.length() - 2)));
        return out.toByteArray();
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static byte[] sign(DkimAlgorithm a, PrivateKey key, byte[] data) throws GeneralSecurityException {
        Signature s = Signature.getInstance(a == DkimAlgorithm.RSA_SHA256 ? "SHA256withRSA" : "Ed25519");
        s.initSign(key);
        // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the data (PureEdDSA over those 32 bytes)
        s.update(a == DkimAlgorithm.RSA_SHA256 ? data : sha256(data));
        return s.sign();
    }

    static boolean verify(DkimAlgorithm a, PublicKey key, byte[] data, byte[] signature) throws GeneralSecurityException {
        Signature s = Signature.getInstance(a == DkimAlgorithm.RSA_SHA256 ? "SHA256withRSA" : "Ed25519");
        s.initVerify(key);
        s.update(a == DkimAlgorithm.RSA_SHA256 ? data : sha256(data));
        try {
            return s.verify(signature);
        } catch (java.security.SignatureException e) {
            return false; // a signature of the wrong length or form does not verify
        }
    }

    /**
     * A tag list (RFC 6376 §3.2): {@code tag=value} pairs separated by {@code ;}, white space
     * around each removed, folding white space inside values kept as given.
     *
     * @return the tags in order, or null when the list is malformed (a tag twice, a tag without
     *     {@code =}, a bad tag name)
     */
    static Map<String, String> tags(String list) {
        Map<String, String> tags = new LinkedHashMap<>();
        for (String spec : list.split(";", -1)) {
            if (spec.isBlank()) {
                continue; // an empty spec is allowed at the end
            }
            int eq = spec.indexOf('=');
            if (eq < 0) {
                return null;
            }
            String name = spec.substring(0, eq).strip();
            if (!name.matches("[A-Za-z][A-Za-z0-9_]*") || tags.containsKey(name)) {
                return null;
            }
            tags.put(name, spec.substring(eq + 1).strip());
        }
        return tags;
    }

    /** A value with every kind of folding white space removed (base64 values, {@code h=}). */
    static String compact(String value) {
        return value.replaceAll("[ \t\r\n]+", "");
    }

    /** The colon-separated names of {@code h=}, in lower case. */
    static List<String> headerNames(String h) {
        List<String> names = new ArrayList<>();
        for (String n : compact(h).split(":")) {
            if (!n.isEmpty()) {
                names.add(n.toLowerCase(java.util.Locale.ROOT));
            }
        }
        return names;
    }
}
