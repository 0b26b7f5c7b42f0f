package dev.twine.mail.imap;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Modified UTF-7 (RFC 3501 §5.1.3), the form IMAP4rev1 mailbox names take on the wire and the
 * form the store keeps them in (as Dovecot keeps Maildir++ folder names), so that a session that
 * has enabled UTF8=ACCEPT (RFC 6855 §3) and one that has not name the same folders.
 */
final class ModifiedUtf7 {
    private ModifiedUtf7() {}

    /** Printable US-ASCII but {@code &} stands for itself; other runs become {@code &base64-}. */
    static String encode(String name) {
        StringBuilder sb = new StringBuilder(name.length());
        int i = 0;
        while (i < name.length()) {
            char c = name.charAt(i);
            if (c >= 0x20 && c <= 0x7e) {
                sb.append(c == '&' ? "&-" : String.valueOf(c));
                i++;
                continue;
            }
            int j = i;
            while (j < name.length() && (name.charAt(j) < 0x20 || name.charAt(j) > 0x7e)) {
                j++;
            }
            // the run as UTF-16BE in base64 with "," for "/" and no padding
            byte[] utf16 = name.substring(i, j).getBytes(StandardCharsets.UTF_16BE);
            sb.append('&').append(Base64.getEncoder().withoutPadding().encodeToString(utf16).replace('/', ',')).append('-');
            i = j;
        }
        return sb.toString();
    }

    /**
     * The name {@code encoded} stands for, or {@code encoded} itself if it is not modified UTF-7
     * (a folder made by another program, or raw 8-bit from a client), so that it can still be
     * named as listed.
     */
    static String decode(String encoded) {
        StringBuilder sb = new StringBuilder(encoded.length());
        int i = 0;
        while (i < encoded.length()) {
            char c = encoded.charAt(i);
            if (c > 0x7e || c < 0x20) {
                return encoded;
            }
            if (c != '&') {
                sb.append(c);
                i++;
                continue;
            }
            int end = encoded.indexOf('-', i + 1);
            if (end < 0) {
                return encoded;
            }
            if (end == i + 1) {
                sb.append('&');
                i = end + 1;
                continue;
            }
            String run = decodeRun(encoded.substring(i + 1, end));
            if (run == null) {
                return encoded;
            }
            sb.append(run);
            i = end + 1;
        }
        // RFC 3501 §5.1.3: the encoding is canonical, so a name that does not encode back is not one
        String decoded = sb.toString();
        return encode(decoded).equals(encoded) ? decoded : encoded;
    }

    private static String decodeRun(String b64) {
        byte[] utf16;
        try {
            utf16 = Base64.getDecoder().decode(b64.replace(',', '/'));
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (utf16.length % 2 != 0) {
            return null;
        }
        try {
            return StandardCharsets.UTF_16BE.newDecoder().decode(ByteBuffer.wrap(utf16)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            return null;
        }
    }
}
