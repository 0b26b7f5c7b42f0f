package dev.twine.core.auth;

import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * Checks {@link CertificateCredentials}: maps a verified client certificate to the user names it
 * may act as, and accepts the claimed name if it is one of them (or, when the client claims none,
 * the first). The principal's mechanism is {@code "EXTERNAL"}.
 *
 * <pre>{@code
 * Portal portal = Portal.builder()
 *         .users(UsersFile.load(Path.of("users.txt")))
 *         .checker(CertificateChecker.standard())
 *         .build();
 * }</pre>
 *
 * <p>Whether the user exists is not this checker's business: the realm the protocol asks next
 * ({@link Realm#avatar(Principal)}) refuses unknown users. Other credentials types are not handled
 * (the portal asks its next checker).
 *
 * <h2>Error handling</h2>
 * A certificate that names no user, or a claimed name it does not name, is rejected with
 * {@link AuthenticationException} (message {@code "authentication failed"}).
 */
public final class CertificateChecker implements Checker {
    private final Function<X509Certificate, List<String>> users;

    private CertificateChecker(Function<X509Certificate, List<String>> users) {
        this.users = users;
    }

    /**
     * The default mapping: the leaf certificate's subject common names (CN), then its e-mail
     * subjectAltNames ({@code rfc822Name}, RFC 5280 §4.2.1.6), in that order. A client claiming no
     * name becomes the first of them; a claimed name must equal one exactly (e-mail addresses
     * compared ignoring case).
     *
     * @return the checker
     */
    public static CertificateChecker standard() {
        return new CertificateChecker(CertificateChecker::commonNamesAndEmails);
    }

    /**
     * A checker with another mapping, for example from a directory or from the certificate's
     * serial number.
     *
     * @param users the user names a verified leaf certificate may act as, the default first; an
     *     empty list rejects the certificate. Called on the connection's thread; it may block.
     * @return the checker
     */
    public static CertificateChecker mapping(Function<X509Certificate, List<String>> users) {
        return new CertificateChecker(Objects.requireNonNull(users, "users"));
    }

    @Override
    public Optional<Principal> check(Credentials credentials) throws AuthenticationException {
        if (!(credentials instanceof CertificateCredentials cc)) {
            return Optional.empty();
        }
        List<String> names = users.apply(cc.chain().get(0));
        if (names == null || names.isEmpty()) {
            throw new AuthenticationException();
        }
        if (cc.username().isEmpty()) {
            return Optional.of(new Principal(names.get(0), "EXTERNAL"));
        }
        for (String n : names) {
            if (n.equals(cc.username()) || n.contains("@") && n.equalsIgnoreCase(cc.username())) {
                return Optional.of(new Principal(n, "EXTERNAL"));
            }
        }
        throw new AuthenticationException();
    }

    private static List<String> commonNamesAndEmails(X509Certificate leaf) {
        List<String> out = commonNames(leaf.getSubjectX500Principal().getEncoded());
        try {
            Collection<List<?>> alt = leaf.getSubjectAlternativeNames();
            if (alt != null) {
                for (List<?> entry : alt) {
                    if (Integer.valueOf(1).equals(entry.get(0)) && entry.get(1) instanceof String email) {
                        out.add(email); // rfc822Name
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // a malformed extension names nobody
        }
        return out;
    }

    /** The DER encoding of the commonName attribute type, 2.5.4.3 (RFC 5280 §4.1.2.4). */
    private static final byte[] COMMON_NAME = {0x06, 0x03, 0x55, 0x04, 0x03};

    /**
     * The common names in a DER Name: a SEQUENCE of SETs of SEQUENCE {type, value}. Read from the
     * encoding rather than the string form, which would need RFC 4514 unescaping.
     */
    static List<String> commonNames(byte[] name) {
        List<String> out = new ArrayList<>();
        try {
            int[] seq = header(name, 0);
            for (int set = seq[0]; set < seq[0] + seq[1]; ) {
                int[] s = header(name, set);
                for (int atv = s[0]; atv < s[0] + s[1]; ) {
                    int[] a = header(name, atv);
                    int type = a[0];
                    if (java.util.Arrays.equals(name, type, type + COMMON_NAME.length, COMMON_NAME, 0, COMMON_NAME.length)) {
                        int value = type + COMMON_NAME.length;
                        int[] v = header(name, value);
                        String text = switch (name[value]) {
                            case 0x0c, 0x13, 0x16 -> new String(name, v[0], v[1], StandardCharsets.UTF_8); // UTF8, Printable, IA5
                            case 0x1e -> new String(name, v[0], v[1], StandardCharsets.UTF_16BE); // BMPString
                            default -> null;
                        };
                        if (text != null && !text.isBlank()) {
                            out.add(text);
                        }
                    }
                    atv = a[0] + a[1];
                }
                set = s[0] + s[1];
            }
        } catch (IndexOutOfBoundsException malformed) {
            // the JDK parsed this name already; a surprise here names nobody rather than failing
        }
        return out;
    }

    /** The content's offset and length of the DER element at {@code at} (X.690 §8.1). */
    private static int[] header(byte[] der, int at) {
        int len = der[at + 1] & 0xff;
        int start = at + 2;
        if (len >= 0x80) {
            int n = len & 0x7f;
            len = 0;
            for (int i = 0; i < n; i++) {
                len = (len << 8) | (der[start + i] & 0xff);
            }
            start += n;
        }
        if (start + len > der.length) {
            throw new IndexOutOfBoundsException("DER element runs past the end");
        }
        return new int[] {start, len};
    }
}
