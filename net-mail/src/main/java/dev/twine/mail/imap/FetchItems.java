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
        if (u.startsWith("BODY.PEEK[")) {
            peek = true;
            rest = u.substring(10);
        } else if (u.startsWith("BODY[")) {
            peek = false;
            rest = u.substring(5);
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
        return new Item("BODY", section(sectionText), offset, length, peek);
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
        MimeTree node = root;
        for (int i = 0; i < s.path().size(); i++) {
            int n = s.path().get(i);
            MimeTree container = node.embedded != null && (i > 0 || node != root) ? node.embedded : node;
            if (container.isMultipart()) {
                if (n > container.children.size()) {
                    return new byte[0];
                }
                node = container.children.get(n - 1);
            } else if (n == 1) {
                node = container;
            } else {
                return new byte[0];
            }
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

    static Set<String> upper(Set<String> names) {
        Set<String> out = new HashSet<>();
        names.forEach(n -> out.add(n.toUpperCase(Locale.ROOT)));
        return out;
    }
}
