package dev.twine.mail.smtp;

import java.util.List;
import java.util.Objects;

/**
 * One SMTP reply (RFC 5321 §4.2): a three-digit code and one or more text lines, without the
 * code or the continuation hyphen.
 *
 * @param code the reply code, 200 to 599
 * @param lines the text of each line; at least one (possibly empty)
 */
public record Reply(int code, List<String> lines) {
    /** Checks the code range and copies the lines. */
    public Reply {
        if (code < 200 || code > 599) {
            throw new IllegalArgumentException("SMTP reply code out of range: " + code);
        }
        lines = List.copyOf(Objects.requireNonNull(lines, "lines"));
        if (lines.isEmpty()) {
            throw new IllegalArgumentException("an SMTP reply has at least one line");
        }
    }

    /** A one-line reply. */
    public static Reply of(int code, String text) {
        return new Reply(code, List.of(text));
    }

    /** Whether this is a 2xx reply. */
    public boolean isPositive() {
        return code < 300;
    }

    /** Whether this is a 3xx (intermediate) reply. */
    public boolean isIntermediate() {
        return code >= 300 && code < 400;
    }

    /** Whether this is a 4xx reply: the same command may succeed later. */
    public boolean isTransient() {
        return code >= 400 && code < 500;
    }

    /** Whether this is a 5xx reply: the command will not succeed as sent. */
    public boolean isPermanent() {
        return code >= 500;
    }

    /** The text lines joined by a space. */
    public String text() {
        return String.join(" ", lines);
    }

    /** The reply as sent on the wire: {@code 250-first}, ..., {@code 250 last}, each with CRLF. */
    public String toWire() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines.size(); i++) {
            sb.append(code).append(i == lines.size() - 1 ? ' ' : '-').append(lines.get(i)).append("\r\n");
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return code + " " + text();
    }
}
