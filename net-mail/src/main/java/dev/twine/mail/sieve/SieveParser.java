package dev.twine.mail.sieve;

import java.util.ArrayList;
import java.util.List;

/**
 * RFC 5228 §8's grammar, read into a tree of {@link Node}s: the lexical rules of §2 (comments,
 * quoted strings with {@code \\} escapes, {@code text:} multi-line strings with dot-stuffing,
 * numbers with K/M/G quantifiers, tags) and commands with arguments, tests and blocks. What the
 * commands mean is {@link SieveScript}'s.
 */
final class SieveParser {
    /** Blocks and test lists nested deeper than this are refused, so a script cannot exhaust the stack. */
    static final int MAX_DEPTH = 64;

    sealed interface Arg {
        int line();
    }

    record Strings(List<String> values, boolean isList, int line) implements Arg {}

    record Number(long value, int line) implements Arg {}

    record Tag(String name, int line) implements Arg {}

    /** A command or a test: a name, its arguments, its tests (for {@code if} and {@code allof}...) and its block. */
    record Node(String name, List<Arg> args, List<Node> tests, List<Node> block, int line) {}

    private final String text;
    private int pos;
    private int line = 1;

    private SieveParser(String text) {
        this.text = text;
    }

    static List<Node> parse(String script) throws SieveException {
        SieveParser p = new SieveParser(script);
        List<Node> commands = p.commands(0);
        p.skipSpace();
        if (p.pos < p.text.length()) {
            throw new SieveException(p.line, "unexpected '" + p.text.charAt(p.pos) + "'");
        }
        return commands;
    }

    private List<Node> commands(int depth) throws SieveException {
        List<Node> out = new ArrayList<>();
        while (true) {
            skipSpace();
            if (pos >= text.length() || peek() == '}') {
                return out;
            }
            out.add(command(depth));
        }
    }

    private Node command(int depth) throws SieveException {
        int at = line;
        String name = identifier("a command");
        List<Arg> args = arguments();
        List<Node> tests = testsAfterArguments(depth);
        skipSpace();
        if (peek() == ';') {
            pos++;
            return new Node(name, args, tests, null, at);
        }
        if (peek() == '{') {
            if (depth >= MAX_DEPTH) {
                throw new SieveException(line, "blocks nested more than " + MAX_DEPTH + " deep");
            }
            pos++;
            List<Node> block = commands(depth + 1);
            skipSpace();
            expect('}');
            return new Node(name, args, tests, block, at);
        }
        throw new SieveException(line, "expected ';' or '{' after " + name);
    }

    private List<Node> testsAfterArguments(int depth) throws SieveException {
        skipSpace();
        if (peek() == '(') {
            if (depth >= MAX_DEPTH) {
                throw new SieveException(line, "tests nested more than " + MAX_DEPTH + " deep");
            }
            pos++;
            List<Node> tests = new ArrayList<>();
            do {
                tests.add(test(depth + 1));
                skipSpace();
            } while (consume(','));
            expect(')');
            return tests;
        }
        if (isIdentifierStart(peek())) {
            if (depth >= MAX_DEPTH) {
                throw new SieveException(line, "tests nested more than " + MAX_DEPTH + " deep");
            }
            return List.of(test(depth + 1));
        }
        return List.of();
    }

    private Node test(int depth) throws SieveException {
        skipSpace();
        int at = line;
        String name = identifier("a test");
        List<Arg> args = arguments();
        return new Node(name, args, testsAfterArguments(depth), null, at);
    }

    private List<Arg> arguments() throws SieveException {
        List<Arg> args = new ArrayList<>();
        while (true) {
            skipSpace();
            char c = peek();
            int at = line;
            if (c == ':') {
                pos++;
                args.add(new Tag(identifier("a tag").toLowerCase(java.util.Locale.ROOT), at));
            } else if (c >= '0' && c <= '9') {
                args.add(number());
            } else if (c == '"' || startsWithText()) {
                args.add(new Strings(List.of(string()), false, at));
            } else if (c == '[') {
                pos++;
                List<String> values = new ArrayList<>();
                do {
                    skipSpace();
                    values.add(string());
                    skipSpace();
                } while (consume(','));
                expect(']');
                args.add(new Strings(List.copyOf(values), true, at));
            } else {
                return args;
            }
        }
    }

    private Number number() throws SieveException {
        int at = line;
        int start = pos;
        while (pos < text.length() && Character.isDigit(text.charAt(pos))) {
            pos++;
        }
        long value;
        try {
            value = Long.parseLong(text.substring(start, pos));
        } catch (NumberFormatException e) {
            throw new SieveException(line, "number too large");
        }
        long unit = switch (Character.toUpperCase(peek())) {
            case 'K' -> 1L << 10;
            case 'M' -> 1L << 20;
            case 'G' -> 1L << 30;
            default -> 1;
        };
        if (unit != 1) {
            pos++;
        }
        if (value > Long.MAX_VALUE / unit) {
            throw new SieveException(line, "number too large");
        }
        return new Number(value * unit, at);
    }

    private boolean startsWithText() {
        return text.regionMatches(true, pos, "text:", 0, 5);
    }

    private String string() throws SieveException {
        if (startsWithText()) {
            return multiLine();
        }
        if (peek() != '"') {
            throw new SieveException(line, "expected a string");
        }
        pos++;
        StringBuilder s = new StringBuilder();
        while (true) {
            if (pos >= text.length()) {
                throw new SieveException(line, "unterminated string");
            }
            char c = text.charAt(pos++);
            if (c == '"') {
                return s.toString();
            }
            if (c == '\\') {
                if (pos >= text.length()) {
                    throw new SieveException(line, "unterminated string");
                }
                c = text.charAt(pos++); // §2.4.2: \" and \\; any other escaped character stands for itself
            }
            if (c == '\n') {
                line++;
            }
            s.append(c);
        }
    }

    /** {@code text:} then the rest of the line (spaces, a comment), lines up to a lone ".", dots unstuffed (§2.4.2). */
    private String multiLine() throws SieveException {
        pos += 5;
        while (pos < text.length() && (peek() == ' ' || peek() == '\t')) {
            pos++;
        }
        if (peek() == '#') {
            while (pos < text.length() && peek() != '\n') {
                pos++;
            }
        }
        if (peek() == '\r') {
            pos++;
        }
        if (peek() != '\n') {
            throw new SieveException(line, "text: must be followed by the end of the line");
        }
        pos++;
        line++;
        StringBuilder s = new StringBuilder();
        while (true) {
            if (pos >= text.length()) {
                throw new SieveException(line, "text: without its closing '.' line");
            }
            int end = text.indexOf('\n', pos);
            String l = end < 0 ? text.substring(pos) : text.substring(pos, end);
            pos = end < 0 ? text.length() : end + 1;
            line++;
            String bare = l.endsWith("\r") ? l.substring(0, l.length() - 1) : l;
            if (bare.equals(".")) {
                return s.toString();
            }
            s.append(bare.startsWith("..") ? bare.substring(1) : bare).append("\r\n");
        }
    }

    private String identifier(String what) throws SieveException {
        skipSpace();
        if (!isIdentifierStart(peek())) {
            throw new SieveException(line, "expected " + what);
        }
        int start = pos;
        while (pos < text.length() && (isIdentifierStart(peek()) || Character.isDigit(peek()))) {
            pos++;
        }
        return text.substring(start, pos).toLowerCase(java.util.Locale.ROOT);
    }

    private static boolean isIdentifierStart(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    }

    private void skipSpace() throws SieveException {
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c == '\n') {
                line++;
                pos++;
            } else if (c == ' ' || c == '\t' || c == '\r') {
                pos++;
            } else if (c == '#') {
                while (pos < text.length() && text.charAt(pos) != '\n') {
                    pos++;
                }
            } else if (c == '/' && pos + 1 < text.length() && text.charAt(pos + 1) == '*') {
                int end = text.indexOf("*/", pos + 2);
                if (end < 0) {
                    throw new SieveException(line, "unterminated /* comment");
                }
                line += (int) text.substring(pos, end).chars().filter(ch -> ch == '\n').count();
                pos = end + 2;
            } else {
                return;
            }
        }
    }

    private char peek() {
        return pos < text.length() ? text.charAt(pos) : '\0';
    }

    private boolean consume(char c) throws SieveException {
        skipSpace();
        if (peek() == c) {
            pos++;
            return true;
        }
        return false;
    }

    private void expect(char c) throws SieveException {
        skipSpace();
        if (peek() != c) {
            throw new SieveException(line, "expected '" + c + "'" + (pos < text.length() ? ", not '" + peek() + "'" : " before the end"));
        }
        pos++;
    }
}
