package dev.twine.mail.auth;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A message split as DKIM sees it (RFC 6376 §3.4): the header fields exactly as written (folding
 * and line ends kept), and where the body starts; with the canonicalisations of both.
 */
final class MessageText {
    /**
     * One header field as written.
     *
     * @param name the field name in lower case
     * @param raw the whole field, continuation lines and its final line end included
     */
    record Field(String name, String raw) {
        /** The value after the colon, unfolded (RFC 5322 §2.2.3), not otherwise changed. */
        String value() {
            int colon = raw.indexOf(':');
            return raw.substring(colon + 1).replaceAll("\r?\n", "").strip();
        }
    }

    private final byte[] message;
    private final List<Field> fields;
    private final int headerEnd;
    private final int bodyStart;

    private MessageText(byte[] message, List<Field> fields, int headerEnd, int bodyStart) {
        this.message = message;
        this.fields = fields;
        this.headerEnd = headerEnd;
        this.bodyStart = bodyStart;
    }

    static MessageText parse(byte[] message) {
        List<Field> fields = new ArrayList<>();
        int pos = 0;
        int start = -1;
        while (pos < message.length) {
            int eol = eol(message, pos);
            int end = eol > pos && message[eol - 1] == '\r' ? eol - 1 : eol;
            boolean continuation = end > pos && (message[pos] == ' ' || message[pos] == '\t');
            if (!continuation && start >= 0) {
                fields.add(field(message, start, pos));
                start = -1;
            }
            if (end == pos) {
                return new MessageText(message, List.copyOf(fields), pos, Math.min(message.length, eol + 1));
            }
            if (!continuation) {
                start = pos;
            }
            pos = Math.min(message.length, eol + 1);
        }
        if (start >= 0) {
            fields.add(field(message, start, pos));
        }
        return new MessageText(message, List.copyOf(fields), message.length, message.length);
    }

    private static int eol(byte[] m, int from) {
        int i = from;
        while (i < m.length && m[i] != '\n') {
            i++;
        }
        return i;
    }

    private static Field field(byte[] m, int from, int to) {
        // header text is ASCII by RFC 5322; UTF-8 (RFC 6532) is kept as is, ISO-8859-1 keeps every byte
        String raw = new String(m, from, to - from, StandardCharsets.ISO_8859_1);
        int colon = raw.indexOf(':');
        String name = colon < 0 ? "" : raw.substring(0, colon).strip().toLowerCase(Locale.ROOT);
        return new Field(name, raw);
    }

    List<Field> fields() {
        return fields;
    }

    /** The fields named {@code name} (lower case), in order. */
    List<Field> fields(String name) {
        return fields.stream().filter(f -> f.name().equals(name)).toList();
    }

    /**
     * The message with {@code first} in front and the fields {@code drop} accepts left out; every
     * other byte as it was.
     */
    byte[] rewrite(String first, java.util.function.Predicate<Field> drop) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(message.length + first.length());
        out.writeBytes(first.getBytes(StandardCharsets.ISO_8859_1));
        for (Field f : fields) {
            if (!drop.test(f)) {
                out.writeBytes(f.raw().getBytes(StandardCharsets.ISO_8859_1));
            }
        }
        out.write(message, headerEnd, message.length - headerEnd);
        return out.toByteArray();
    }

    /**
     * A field as the relaxed header canonicalisation writes it (RFC 6376 §3.4.2): the name in lower
     * case, the value unfolded with each run of white space one space, none at either end, and
     * CRLF.
     */
    static String relaxed(String raw) {
        int colon = raw.indexOf(':');
        String name = raw.substring(0, colon).strip().toLowerCase(Locale.ROOT);
        String value = raw.substring(colon + 1).replaceAll("\r?\n", "").replaceAll("[ \t]+", " ").strip();
        return name + ":" + value + "\r\n";
    }

    /** A field as the simple header canonicalisation writes it (RFC 6376 §3.4.1): unchanged, ending in CRLF. */
    static String simple(String raw) {
        return raw.endsWith("\r\n") ? raw : raw.endsWith("\n") ? raw.substring(0, raw.length() - 1) + "\r\n" : raw + "\r\n";
    }

    /**
     * The body canonicalised (RFC 6376 §3.4.3, §3.4.4): every line ending in CRLF, empty lines at
     * the end removed; relaxed also drops white space at line ends and makes each run of it one
     * space. An empty body is empty (relaxed) or one CRLF (simple).
     */
    byte[] body(boolean relaxed) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(16, message.length - bodyStart));
        int emptyLines = 0;
        int pos = bodyStart;
        while (pos < message.length) {
            int eol = eol(message, pos);
            int end = eol > pos && message[eol - 1] == '\r' ? eol - 1 : eol;
            byte[] line = relaxed ? relaxedLine(message, pos, end) : java.util.Arrays.copyOfRange(message, pos, end);
            if (line.length == 0) {
                emptyLines++;
            } else {
                for (; emptyLines > 0; emptyLines--) {
                    out.write('\r');
                    out.write('\n');
                }
                out.writeBytes(line);
                out.write('\r');
                out.write('\n');
            }
            pos = eol + 1;
        }
        if (out.size() == 0 && !relaxed) {
            return new byte[] {'\r', '\n'};
        }
        return out.toByteArray();
    }

    private static byte[] relaxedLine(byte[] m, int from, int to) {
        ByteArrayOutputStream line = new ByteArrayOutputStream(to - from);
        boolean space = false;
        for (int i = from; i < to; i++) {
            byte b = m[i];
            if (b == ' ' || b == '\t') {
                space = true;
            } else {
                if (space) {
                    line.write(' ');
                    space = false;
                }
                line.write(b);
            }
        }
        return line.toByteArray(); // a run of white space at the end is dropped with the flag
    }
}
