package dev.twine.mail.imap;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Builds one IMAP response in memory: atoms, quoted strings, literals (RFC 3501 §4.3). */
final class ImapWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    /** Quoted strings may hold UTF-8 (UTF8=ACCEPT enabled, RFC 6855 §3). */
    private boolean utf8;

    /** Lets quoted strings hold UTF-8 (RFC 6855 §3) instead of sending non-ASCII text as literals. */
    ImapWriter utf8(boolean on) {
        utf8 = on;
        return this;
    }

    boolean isUtf8() {
        return utf8;
    }

    ImapWriter raw(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.write(b, 0, b.length);
        return this;
    }

    /** A string: quoted if it can be, else a literal. */
    ImapWriter string(String s) {
        if (quotable(s)) {
            StringBuilder q = new StringBuilder(s.length() + 2).append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '"' || c == '\\') {
                    q.append('\\');
                }
                q.append(c);
            }
            return raw(q.append('"').toString());
        }
        return literal(s.getBytes(StandardCharsets.UTF_8));
    }

    /** A string or NIL for null. */
    ImapWriter nstring(String s) {
        return s == null ? raw("NIL") : string(s);
    }

    ImapWriter literal(byte[] b) {
        raw("{" + b.length + "}\r\n");
        out.write(b, 0, b.length);
        return this;
    }

    /** A literal8 ({@code ~{N}}, RFC 3516 §4.3) if {@code b} holds a NUL, which a literal may not; else a literal. */
    ImapWriter binary(byte[] b) {
        for (byte x : b) {
            if (x == 0) {
                raw("~");
                break;
            }
        }
        return literal(b);
    }

    private boolean quotable(String s) {
        if (s.length() > 1000) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\r' || c == '\n' || c == 0 || (c >= 0x80 && !utf8)) {
                return false;
            }
        }
        return true;
    }

    byte[] toBytes() {
        return out.toByteArray();
    }

    int size() {
        return out.size();
    }
}
