package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapArgs.atom;
import static dev.twine.mail.imap.ImapArgs.bad;

import dev.twine.mail.imap.ImapArgs.Reply;
import dev.twine.mail.imap.ImapParser.Arg;
import dev.twine.mail.imap.ImapParser.Group;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The data items of FETCH (RFC 3501 §6.4.5, {@code fetch-att}): their parsing, and the bytes of a
 * {@code BODY[section]<partial>} taken from a message.
 */
final class FetchItems {
    private FetchItems() {}

    record Section(List<Integer> path, String kind, Set<String> fields, String echo) {}

    record Item(String name, Section section, long offset, long length, boolean peek) {}

    static List<Item> fetchItems(Arg spec) throws Reply {
        List<Arg> raw = spec instanceof Group g ? g.items() : List.of(spec);
        List<Item> items = new ArrayList<>();
        for (Arg o : raw) {
            String s = atom(o);
            String u = s.toUpperCase(Locale.ROOT);
            switch (u) {
                case "ALL" -> add(items, "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE");
                case "FAST" -> add(items, "FLAGS", "INTERNALDATE", "RFC822.SIZE");
                case "FULL" -> add(items, "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY");
                case "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE", "BODY", "UID", "RFC822",
                        "RFC822.HEADER", "RFC822.TEXT", "MODSEQ" -> add(items, u);
                default -> items.add(bodyItem(u));
            }
        }
        return items;
    }

    static void add(List<Item> items, String... names) {
        for (String n : names) {
            items.add(new Item(n, null, 0, -1, false));
        }
    }

    static Item bodyItem(String u) throws Reply {
        boolean peek;
        String rest;
        String name = "BODY";
        if (u.startsWith("BODY.PEEK[")) {
            peek = true;
            rest = u.substring(10);
        } else if (u.startsWith("BODY[")) {
            peek = false;
            rest = u.substring(5);
        } else if (u.startsWith("BINARY[") || u.startsWith("BINARY.PEEK[") || u.startsWith("BINARY.SIZE[")) {
            // RFC 3516 §4.2: a section of part numbers only, its content decoded
            name = u.startsWith("BINARY.SIZE[") ? "BINARY.SIZE" : "BINARY";
            peek = !u.startsWith("BINARY[");
            rest = u.substring(u.indexOf('[') + 1);
        } else {
            throw bad("unknown FETCH item " + u);
        }
        int close = rest.lastIndexOf(']');
        if (close < 0) {
            throw bad("invalid section");
        }
        String sectionText = rest.substring(0, close);
        String partial = rest.substring(close + 1);
        long offset = 0;
        long length = -1;
        if (!partial.isEmpty()) {
            if (!partial.startsWith("<") || !partial.endsWith(">")) {
                throw bad("invalid partial");
            }
            String[] p = partial.substring(1, partial.length() - 1).split("\\.", -1);
            try {
                offset = Long.parseLong(p[0]);
                if (p.length == 2) {
                    length = Long.parseLong(p[1]);
                    if (length <= 0) {
                        throw bad("invalid partial length");
                    }
                } else {
                    throw bad("invalid partial");
                }
            } catch (NumberFormatException e) {
                throw bad("invalid partial");
            }
        }
        Section section = section(sectionText);
        if (!name.equals("BODY") && !section.kind().isEmpty()) {
            throw bad("a BINARY section is part numbers only");
        }
        if (name.equals("BINARY.SIZE") && !partial.isEmpty()) {
            throw bad("BINARY.SIZE takes no partial");
        }
        return new Item(name, section, offset, length, peek);
    }

    static Section section(String text) throws Reply {
        List<Integer> path = new ArrayList<>();
        int i = 0;
        while (i < text.length() && Character.isDigit(text.charAt(i))) {
            int j = i;
            while (j < text.length() && Character.isDigit(text.charAt(j))) {
                j++;
            }
            int n;
            try {
                n = Integer.parseInt(text.substring(i, j));
            } catch (NumberFormatException e) {
                throw bad("invalid section");
            }
            if (n <= 0) {
                throw bad("invalid section part 0");
            }
            path.add(n);
            i = j;
            if (i < text.length()) {
                if (text.charAt(i) != '.') {
                    throw bad("invalid section");
                }
                i++;
            }
        }
        String spec = text.substring(i).strip();
        Set<String> fields = Set.of();
        String kind;
        if (spec.isEmpty()) {
            kind = "";
        } else if (spec.equals("HEADER") || spec.equals("TEXT")) {
            kind = spec;
        } else if (spec.equals("MIME") && !path.isEmpty()) {
            kind = spec;
        } else if (spec.startsWith("HEADER.FIELDS")) {
            kind = spec.startsWith("HEADER.FIELDS.NOT") ? "HEADER.FIELDS.NOT" : "HEADER.FIELDS";
            String list = spec.substring(kind.length()).strip();
            if (!list.startsWith("(") || !list.endsWith(")")) {
                throw bad("invalid header field list");
            }
            Set<String> f = new LinkedHashSet<>();
            for (String name : list.substring(1, list.length() - 1).split("\\s+")) {
                String n = name.replace("\"", "").strip();
                if (!n.isEmpty()) {
                    f.add(n);
                }
            }
            if (f.isEmpty()) {
                throw bad("empty header field list");
            }
            fields = f;
        } else {
            throw bad("invalid section " + spec);
        }
        return new Section(path, kind, fields, text);
    }

    static byte[] sectionBytes(LoadedMessage msg, Section s) throws IOException {
        if (s.path().isEmpty() && s.kind().isEmpty()) {
            return msg.data();
        }
        if (s.path().isEmpty() && (s.kind().equals("HEADER") || s.kind().equals("TEXT"))) {
            // the top-level split needs no MIME parsing
            byte[] d = msg.data();
            int split = MimeTree.headerEnd(d, 0, d.length);
            return s.kind().equals("HEADER") ? java.util.Arrays.copyOfRange(d, 0, split)
                    : java.util.Arrays.copyOfRange(d, split, d.length);
        }
        MimeTree root = msg.tree();
        MimeTree node = part(root, s.path());
        if (node == null) {
            return new byte[0];
        }
        if (s.kind().isEmpty()) {
            return node == root ? root.bodyBytes() : node.bodyBytes();
        }
        if (s.kind().equals("MIME")) {
            return node.headerBytes();
        }
        MimeTree message = s.path().isEmpty() ? root : node.embedded;
        if (message == null) {
            return new byte[0];
        }
        return switch (s.kind()) {
            case "HEADER" -> message.headerBytes();
            case "TEXT" -> message.bodyBytes();
            case "HEADER.FIELDS" -> message.headerFields(upper(s.fields()), false);
            case "HEADER.FIELDS.NOT" -> message.headerFields(upper(s.fields()), true);
            default -> new byte[0];
        };
    }

    /** The part a section's numbers name (RFC 3501 §6.4.5), or null if there is none. */
    static MimeTree part(MimeTree root, List<Integer> path) {
        MimeTree node = root;
        for (int i = 0; i < path.size(); i++) {
            int n = path.get(i);
            MimeTree container = node.embedded != null && (i > 0 || node != root) ? node.embedded : node;
            if (container.isMultipart()) {
                if (n > container.children.size()) {
                    return null;
                }
                node = container.children.get(n - 1);
            } else if (n == 1) {
                node = container;
            } else {
                return null;
            }
        }
        return node;
    }

    /**
     * {@code BINARY[section]} (RFC 3516 §4.2): the whole message for an empty section, else the
     * part's body with its Content-Transfer-Encoding undone (base64, quoted-printable; 7bit, 8bit
     * and binary as they are); a part that does not exist is empty.
     *
     * @throws Reply {@code NO [UNKNOWN-CTE]} for an encoding this server cannot undo
     */
    static byte[] binaryBytes(LoadedMessage msg, Section s) throws IOException, Reply {
        if (s.path().isEmpty()) {
            return msg.data();
        }
        MimeTree node = part(msg.tree(), s.path());
        if (node == null) {
            return new byte[0];
        }
        String cte = node.headers.getHeader("Content-Transfer-Encoding", null);
        String encoding = cte == null ? "7bit" : cte.strip().toLowerCase(Locale.ROOT);
        byte[] body = node.bodyBytes();
        return switch (encoding) {
            case "7bit", "8bit", "binary" -> body;
            case "base64" -> {
                try {
                    yield java.util.Base64.getMimeDecoder().decode(java.util.Arrays.copyOf(body, base64Length(body)));
                } catch (IllegalArgumentException e) {
                    throw ImapArgs.no("[PARSE] the part's base64 is broken"); // RFC 5530 §3
                }
            }
            case "quoted-printable" -> quotedPrintable(body);
            default -> throw ImapArgs.no("[UNKNOWN-CTE] cannot decode " + encoding);
        };
    }

    /** How much of a base64 body the decoder may take: up to any padding, without what follows it. */
    private static int base64Length(byte[] body) {
        int n = 0;
        for (int i = 0; i < body.length; i++) {
            byte c = body[i];
            if (c == '=') {
                // after padding the data is over (RFC 2045 §6.8); trailing text would be refused
                int j = i;
                while (j < body.length && (body[j] == '=' || body[j] == '\r' || body[j] == '\n')) {
                    j++;
                }
                return j;
            }
            n = i + 1;
        }
        return n;
    }

    /**
     * Undoes quoted-printable (RFC 2045 §6.7): {@code =XX} is the octet, {@code =} at a line's
     * end joins the lines, white space before a line break goes; a malformed {@code =} stays.
     */
    static byte[] quotedPrintable(byte[] in) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(in.length);
        int pending = 0; // white space held back until we know it does not end a line
        for (int i = 0; i < in.length; i++) {
            byte c = in[i];
            if (c == ' ' || c == '\t') {
                pending++;
                continue;
            }
            if (c == '\r' || c == '\n') {
                pending = 0;
                out.write(c);
                continue;
            }
            for (int k = i - pending; k < i; k++) {
                out.write(in[k]);
            }
            pending = 0;
            if (c != '=') {
                out.write(c);
            } else if (i + 1 < in.length && (in[i + 1] == '\r' || in[i + 1] == '\n')) {
                i += in[i + 1] == '\r' && i + 2 < in.length && in[i + 2] == '\n' ? 2 : 1; // soft line break
            } else if (i + 2 < in.length && Character.digit(in[i + 1], 16) >= 0 && Character.digit(in[i + 2], 16) >= 0) {
                out.write(Character.digit(in[i + 1], 16) * 16 + Character.digit(in[i + 2], 16));
                i += 2;
            } else {
                out.write(c);
            }
        }
        for (int k = in.length - pending; k < in.length; k++) {
            out.write(in[k]);
        }
        return out.toByteArray();
    }

    static Set<String> upper(Set<String> names) {
        Set<String> out = new HashSet<>();
        names.forEach(n -> out.add(n.toUpperCase(Locale.ROOT)));
        return out;
    }
}
