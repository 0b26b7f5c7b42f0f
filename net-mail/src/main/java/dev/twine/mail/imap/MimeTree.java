package dev.twine.mail.imap;

import jakarta.mail.MessagingException;
import jakarta.mail.internet.ContentDisposition;
import jakarta.mail.internet.ContentType;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.InternetHeaders;
import jakarta.mail.internet.MimeUtility;
import jakarta.mail.internet.ParameterList;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * One MIME entity of a message held in memory (CRLF line ends): byte offsets of its header and
 * body, its children if it is a multipart, the embedded message if it is {@code message/rfc822}.
 * Offsets are found here so that {@code BODY[1.2]} returns the exact bytes (RFC 3501 §6.4.5);
 * headers, content types, parameters and addresses are parsed by Angus Mail.
 */
final class MimeTree {
    private static final int MAX_DEPTH = 20;

    final byte[] data;
    final int start;
    final int bodyStart;
    final int end;
    final InternetHeaders headers;
    final ContentType type;
    final List<MimeTree> children;
    final MimeTree embedded;

    private MimeTree(byte[] data, int start, int end, int depth) {
        this.data = data;
        this.start = start;
        this.end = end;
        this.bodyStart = headerEnd(data, start, end);
        InternetHeaders h;
        try {
            h = new InternetHeaders(new ByteArrayInputStream(data, start, bodyStart - start), true);
        } catch (MessagingException | RuntimeException e) {
            h = new InternetHeaders();
        }
        this.headers = h;
        this.type = contentType(header("Content-Type"));
        List<MimeTree> kids = null;
        MimeTree inner = null;
        if (depth < MAX_DEPTH) {
            if (type.getPrimaryType().equals("multipart") && type.getParameter("boundary") != null) {
                kids = splitMultipart(type.getParameter("boundary"), depth);
            } else if (type.match("message/rfc822")) {
                inner = new MimeTree(data, bodyStart, end, depth + 1);
            }
        }
        this.children = kids;
        this.embedded = inner;
    }

    /** Parses a whole message. */
    static MimeTree parse(byte[] message) {
        return new MimeTree(message, 0, message.length, 0);
    }

    /** An unfolded header value, or null. */
    String header(String name) {
        String v = headers.getHeader(name, null);
        return v == null ? null : MimeUtility.unfold(v).strip();
    }

    byte[] headerBytes() {
        return slice(start, bodyStart);
    }

    byte[] bodyBytes() {
        return slice(bodyStart, end);
    }

    byte[] allBytes() {
        return slice(start, end);
    }

    byte[] slice(int from, int to) {
        byte[] b = new byte[to - from];
        System.arraycopy(data, from, b, 0, b.length);
        return b;
    }

    boolean isMultipart() {
        return children != null;
    }

    /** Header fields whose names are (or with {@code not}, are not) in {@code names}, plus the blank line. */
    byte[] headerFields(Set<String> names, boolean not) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = start;
        int limit = bodyStart;
        while (i < limit) {
            int lineEnd = indexOfCrlf(data, i, limit);
            if (lineEnd == i) {
                break; // the blank line
            }
            int fieldEnd = lineEnd < 0 ? limit : lineEnd + 2;
            while (fieldEnd < limit && (data[fieldEnd] == ' ' || data[fieldEnd] == '\t')) {
                int next = indexOfCrlf(data, fieldEnd, limit);
                fieldEnd = next < 0 ? limit : next + 2;
            }
            int colon = i;
            while (colon < fieldEnd && data[colon] != ':') {
                colon++;
            }
            String name = new String(data, i, colon - i, StandardCharsets.ISO_8859_1).strip().toUpperCase(Locale.ROOT);
            if (names.contains(name) != not) {
                out.write(data, i, fieldEnd - i);
            }
            i = fieldEnd;
        }
        out.write('\r');
        out.write('\n');
        return out.toByteArray();
    }

    /** The number of lines in the body (for text parts and message/rfc822, RFC 3501 §7.4.2). */
    int bodyLines() {
        int n = 0;
        for (int i = bodyStart; i < end; i++) {
            if (data[i] == '\n') {
                n++;
            }
        }
        if (end > bodyStart && data[end - 1] != '\n') {
            n++;
        }
        return n;
    }

    private List<MimeTree> splitMultipart(String boundary, int depth) {
        byte[] delim = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        List<MimeTree> parts = new ArrayList<>();
        int partStart = -1;
        int i = bodyStart;
        while (i < end) {
            int lineEnd = indexOfCrlf(data, i, end);
            int contentEnd = lineEnd < 0 ? end : lineEnd;
            if (startsWith(data, i, contentEnd, delim)) {
                boolean close = startsWith(data, i + delim.length, contentEnd, new byte[] {'-', '-'});
                if (partStart >= 0) {
                    // the CRLF before the delimiter belongs to the delimiter (RFC 2046 §5.1.1)
                    int partEnd = Math.max(partStart, i - 2);
                    parts.add(new MimeTree(data, partStart, partEnd, depth + 1));
                }
                if (close) {
                    return parts;
                }
                partStart = lineEnd < 0 ? end : lineEnd + 2;
            }
            i = lineEnd < 0 ? end : lineEnd + 2;
        }
        if (partStart >= 0 && partStart < end) {
            parts.add(new MimeTree(data, partStart, end, depth + 1));
        }
        return parts;
    }

    private static boolean startsWith(byte[] b, int from, int to, byte[] prefix) {
        if (to - from < prefix.length) {
            return false;
        }
        for (int k = 0; k < prefix.length; k++) {
            if (b[from + k] != prefix[k]) {
                return false;
            }
        }
        return true;
    }

    static int headerEnd(byte[] b, int start, int end) {
        if (end - start >= 2 && b[start] == '\r' && b[start + 1] == '\n') {
            return start + 2;
        }
        for (int i = start; i + 3 < end; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') {
                return i + 4;
            }
        }
        return end;
    }

    static int indexOfCrlf(byte[] b, int from, int to) {
        for (int i = from; i + 1 < to; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n') {
                return i;
            }
        }
        return -1;
    }

    private static ContentType contentType(String value) {
        if (value != null) {
            try {
                return new ContentType(value);
            } catch (MessagingException | RuntimeException e) {
                // RFC 2045 §5.2: an unparsable Content-Type means text/plain
            }
        }
        ContentType t = new ContentType("text", "plain", null);
        t.setParameter("charset", "us-ascii");
        return t;
    }

    // ---- IMAP renderings (RFC 3501 §7.4.2) ----

    /** ENVELOPE of this entity's header. */
    void envelope(ImapWriter w) {
        w.raw("(");
        w.nstring(header("Date")).raw(" ");
        w.nstring(header("Subject")).raw(" ");
        String from = header("From");
        addresses(w, from).raw(" ");
        addresses(w, header("Sender") != null ? header("Sender") : from).raw(" ");
        addresses(w, header("Reply-To") != null ? header("Reply-To") : from).raw(" ");
        addresses(w, header("To")).raw(" ");
        addresses(w, header("Cc")).raw(" ");
        addresses(w, header("Bcc")).raw(" ");
        w.nstring(header("In-Reply-To")).raw(" ");
        w.nstring(header("Message-ID"));
        w.raw(")");
    }

    private static ImapWriter addresses(ImapWriter w, String value) {
        List<InternetAddress> flat = addressList(value);
        if (flat.isEmpty()) {
            return w.raw("NIL");
        }
        w.raw("(");
        for (InternetAddress a : flat) {
            String addr = a.getAddress() == null ? "" : a.getAddress();
            int at = addr.lastIndexOf('@');
            String personal = a.getPersonal();
            // RFC 6855 §3: a UTF8=ACCEPT client reads UTF-8; others get an encoded word (RFC 2047)
            if (personal != null && !w.isUtf8() && !personal.chars().allMatch(c -> c < 0x80)) {
                try {
                    personal = MimeUtility.encodeWord(personal, "UTF-8", "Q");
                } catch (java.io.UnsupportedEncodingException e) {
                    throw new AssertionError(e);
                }
            }
            w.raw("(").nstring(personal).raw(" NIL ");
            w.nstring(at < 0 ? addr : addr.substring(0, at)).raw(" ");
            w.nstring(at < 0 ? null : addr.substring(at + 1)).raw(")");
        }
        return w.raw(")");
    }

    /**
     * The addresses of an address header, groups flattened into their members (RFC 5322 §3.4);
     * empty if there is none or it cannot be parsed.
     */
    static List<InternetAddress> addressList(String value) {
        if (value == null || value.isBlank()) {
            return List.of();
        }
        InternetAddress[] list;
        try {
            list = InternetAddress.parseHeader(value, false);
        } catch (MessagingException | RuntimeException e) {
            return List.of();
        }
        List<InternetAddress> flat = new ArrayList<>();
        for (InternetAddress a : list) {
            if (a.isGroup()) {
                try {
                    InternetAddress[] members = a.getGroup(false);
                    if (members != null) {
                        Collections.addAll(flat, members);
                    }
                } catch (MessagingException e) {
                    // an unparsable group contributes nothing
                }
            } else {
                flat.add(a);
            }
        }
        return flat;
    }

    /** BODYSTRUCTURE ({@code extended}) or BODY of this entity. */
    void structure(ImapWriter w, boolean extended) {
        w.raw("(");
        if (isMultipart()) {
            if (children.isEmpty()) {
                // RFC 3501 §7.4.2 needs at least one part; show an empty text part
                w.raw("(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0)");
            }
            for (MimeTree c : children) {
                c.structure(w, extended);
            }
            w.raw(" ").string(type.getSubType().toUpperCase(Locale.ROOT));
            if (extended) {
                w.raw(" ");
                params(w, type.getParameterList());
                w.raw(" ");
                disposition(w);
                w.raw(" ").nstring(header("Content-Language")).raw(" ").nstring(header("Content-Location"));
            }
        } else {
            w.string(type.getPrimaryType().toUpperCase(Locale.ROOT)).raw(" ");
            w.string(type.getSubType().toUpperCase(Locale.ROOT)).raw(" ");
            params(w, type.getParameterList());
            w.raw(" ").nstring(header("Content-ID"));
            w.raw(" ").nstring(header("Content-Description"));
            String enc = header("Content-Transfer-Encoding");
            w.raw(" ").string(enc == null ? "7BIT" : enc.toUpperCase(Locale.ROOT));
            w.raw(" ").raw(Integer.toString(end - bodyStart));
            if (embedded != null) {
                w.raw(" ");
                embedded.envelope(w);
                w.raw(" ");
                embedded.structure(w, extended);
                w.raw(" ").raw(Integer.toString(bodyLines()));
            } else if (type.getPrimaryType().equals("text")) {
                w.raw(" ").raw(Integer.toString(bodyLines()));
            }
            if (extended) {
                w.raw(" ").nstring(header("Content-MD5")).raw(" ");
                disposition(w);
                w.raw(" ").nstring(header("Content-Language")).raw(" ").nstring(header("Content-Location"));
            }
        }
        w.raw(")");
    }

    private static void params(ImapWriter w, ParameterList list) {
        if (list == null || list.size() == 0) {
            w.raw("NIL");
            return;
        }
        w.raw("(");
        boolean first = true;
        for (Enumeration<String> e = list.getNames(); e.hasMoreElements(); ) {
            String name = e.nextElement();
            if (!first) {
                w.raw(" ");
            }
            first = false;
            w.string(name.toUpperCase(Locale.ROOT)).raw(" ").string(list.get(name));
        }
        w.raw(")");
    }

    private void disposition(ImapWriter w) {
        String v = header("Content-Disposition");
        if (v == null) {
            w.raw("NIL");
            return;
        }
        try {
            ContentDisposition d = new ContentDisposition(v);
            w.raw("(").string(d.getDisposition()).raw(" ");
            params(w, d.getParameterList());
            w.raw(")");
        } catch (MessagingException | RuntimeException e) {
            w.raw("NIL");
        }
    }
}
