package dev.twine.mail.internal;

/** The line ends IMAP and POP3 send (RFC 9051 §2.2, RFC 1939 §3), shared by the stores. */
public final class Crlf {
    private Crlf() {}

    /** {@code raw} with every bare LF turned into CRLF ({@code raw} itself when it has none). */
    public static byte[] of(byte[] raw) {
        int bare = 0;
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) {
                bare++;
            }
        }
        if (bare == 0) {
            return raw;
        }
        byte[] out = new byte[raw.length + bare];
        int j = 0;
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) {
                out[j++] = '\r';
            }
            out[j++] = raw[i];
        }
        return out;
    }
}
