package dev.twine.mail.imap;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits one complete IMAP command (its lines and literals already read, literals kept inline as
 * {@code {N}CRLF} followed by N bytes) into {@link Arg}s, RFC 3501 §9: atoms ({@link Atom}),
 * quoted strings ({@link Quoted}), literals ({@link Literal}) and parenthesized lists
 * ({@link Group}).
 * An atom that opens a {@code [} runs to the matching {@code ]} and an optional {@code <...>}
 * (fetch attributes such as {@code BODY[HEADER.FIELDS (TO)]<0.100>} and response codes).
 */
final class ImapParser {
    /** One argument of a command, as RFC 3501 §9 writes them. */
    sealed interface Arg permits Atom, Quoted, Literal, Group {}

    /** A bare word: a command name, flag, sequence set, NIL. */
    record Atom(String value) implements Arg {
        @Override
        public String toString() {
            return value;
        }
    }

    /** A quoted string, its escapes undone. */
    record Quoted(String value) implements Arg {}

    /**
     * A literal's bytes ({@code {N}} and N bytes, RFC 3501 §4.3); {@code binary} for a literal8
     * ({@code ~{N}}, RFC 3516 §4.1), which only APPEND takes.
     */
    record Literal(byte[] bytes, boolean binary) implements Arg {}

    /** A parenthesized list. */
    record Group(List<Arg> items) implements Arg {
        /** Keeps an unmodifiable copy. */
        Group {
            items = List.copyOf(items);
        }
    }

    /** Malformed syntax: answered with BAD, the session goes on. */
    static final class SyntaxException extends Exception {
        SyntaxException(String message) {
            super(message);
        }
    }

    private final byte[] b;
    private int pos;
    private int depth;

    private ImapParser(byte[] b) {
        this.b = b;
    }

    /** All tokens of a command. */
    static List<Arg> tokens(byte[] command) throws SyntaxException {
        return new ImapParser(command).sequence(false);
    }

    private List<Arg> sequence(boolean inList) throws SyntaxException {
        List<Arg> out = new ArrayList<>();
        while (true) {
            while (pos < b.length && b[pos] == ' ') {
                pos++;
            }
            if (pos >= b.length) {
                if (inList) {
                    throw new SyntaxException("missing )");
                }
                return out;
            }
            byte c = b[pos];
            if (c == ')') {
                if (!inList) {
                    throw new SyntaxException("unexpected )");
                }
                pos++;
                return out;
            }
            out.add(token());
        }
    }

    private Arg token() throws SyntaxException {
        byte c = b[pos];
        switch (c) {
            case '(' -> {
                if (++depth > 50) {
                    throw new SyntaxException("lists nested too deeply");
                }
                pos++;
                List<Arg> l = sequence(true);
                depth--;
                return new Group(l);
            }
            case '"' -> {
                return new Quoted(quoted());
            }
            case '{' -> {
                return new Literal(literal(), false);
            }
            case '~' -> {
                if (pos + 1 < b.length && b[pos + 1] == '{') {
                    pos++;
                    return new Literal(literal(), true);
                }
                return atom();
            }
            default -> {
                return atom();
            }
        }
    }

    private String quoted() throws SyntaxException {
        pos++;
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        while (pos < b.length) {
            byte c = b[pos++];
            if (c == '"') {
                return out.toString(StandardCharsets.UTF_8);
            }
            if (c == '\\') {
                if (pos >= b.length || (b[pos] != '"' && b[pos] != '\\')) {
                    throw new SyntaxException("bad escape in quoted string");
                }
                c = b[pos++];
            } else if (c == '\r' || c == '\n') {
                throw new SyntaxException("line break in quoted string");
            }
            out.write(c);
        }
        throw new SyntaxException("unterminated quoted string");
    }

    private byte[] literal() throws SyntaxException {
        int close = pos;
        while (close < b.length && b[close] != '}') {
            close++;
        }
        String spec = new String(b, pos + 1, close - pos - 1, StandardCharsets.US_ASCII);
        if (spec.endsWith("+")) {
            spec = spec.substring(0, spec.length() - 1);
        }
        long n;
        try {
            n = Long.parseLong(spec);
        } catch (NumberFormatException e) {
            throw new SyntaxException("bad literal length");
        }
        int dataStart = close + 3;
        if (close + 2 >= b.length || b[close + 1] != '\r' || b[close + 2] != '\n' || n < 0 || dataStart + n > b.length) {
            throw new SyntaxException("bad literal");
        }
        byte[] data = new byte[(int) n];
        System.arraycopy(b, dataStart, data, 0, (int) n);
        pos = dataStart + (int) n;
        return data;
    }

    private Atom atom() throws SyntaxException {
        int start = pos;
        while (pos < b.length) {
            int c = b[pos] & 0xff;
            if (c == ' ' || c == '(' || c == ')' || c == '"' || c == '{' || c < 0x20 || c == 0x7f) {
                if (c == '{' && pos > start) {
                    pos++; // a brace inside a word is harmless
                    continue;
                }
                break;
            }
            if (c == '[') {
                int level = 0;
                while (pos < b.length) {
                    if (b[pos] == '[') {
                        level++;
                    } else if (b[pos] == ']' && --level == 0) {
                        break;
                    } else if (b[pos] == '\r' || b[pos] == '\n') {
                        throw new SyntaxException("unterminated [");
                    }
                    pos++;
                }
                if (pos >= b.length) {
                    throw new SyntaxException("unterminated [");
                }
                pos++;
                if (pos < b.length && b[pos] == '<') {
                    while (pos < b.length && b[pos] != '>') {
                        pos++;
                    }
                    if (pos >= b.length) {
                        throw new SyntaxException("unterminated <");
                    }
                    pos++;
                }
                continue;
            }
            pos++;
        }
        if (pos == start) {
            throw new SyntaxException("unexpected character");
        }
        return new Atom(new String(b, start, pos - start, StandardCharsets.UTF_8));
    }
}
