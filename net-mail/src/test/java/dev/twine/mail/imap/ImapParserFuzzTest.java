package dev.twine.mail.imap;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.twine.mail.imap.ImapParser.Arg;
import dev.twine.mail.imap.ImapParser.Atom;
import dev.twine.mail.imap.ImapParser.Group;
import dev.twine.mail.imap.ImapParser.Literal;
import dev.twine.mail.imap.ImapParser.Quoted;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;

/**
 * The IMAP command parser (RFC 3501 §9: atoms, quoted strings, literals, nested lists) on
 * arbitrary bytes (issue 16). If a command does not parse, then the only escape is
 * {@link ImapParser.SyntaxException} (answered BAD); if it does, then writing its arguments back
 * with the server's own {@link ImapWriter} parses to the same arguments (a quoted string and a
 * literal with the same bytes count as the same string).
 */
class ImapParserFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void writtenArgumentsParseToTheSameArguments(byte[] command) throws ImapParser.SyntaxException {
        List<Arg> args;
        try {
            args = ImapParser.tokens(command);
        } catch (ImapParser.SyntaxException refused) {
            return;
        }
        String canonical = canonical(args);
        if (canonical.indexOf('\uFFFD') >= 0) {
            return; // an atom that was not UTF-8: it is not written back byte for byte
        }
        ImapWriter w = new ImapWriter();
        write(w, args);
        assertEquals(canonical, canonical(ImapParser.tokens(w.toBytes())));
    }

    private static void write(ImapWriter w, List<Arg> args) {
        for (int i = 0; i < args.size(); i++) {
            if (i > 0) {
                w.raw(" ");
            }
            switch (args.get(i)) {
                case Atom a -> w.raw(a.value());
                case Quoted q -> w.string(q.value());
                case Literal l -> w.literal(l.bytes());
                case Group g -> {
                    w.raw("(");
                    write(w, g.items());
                    w.raw(")");
                }
            }
        }
    }

    private static String canonical(List<Arg> args) {
        StringBuilder b = new StringBuilder();
        for (Arg a : args) {
            switch (a) {
                case Atom atom -> b.append("atom:").append(atom.value());
                case Quoted q -> b.append("string:").append(HexFormat.of().formatHex(q.value().getBytes(StandardCharsets.UTF_8)));
                case Literal l -> b.append("string:").append(HexFormat.of().formatHex(l.bytes()));
                case Group g -> b.append('(').append(canonical(g.items())).append(')');
            }
            b.append(' ');
        }
        return b.toString();
    }
}
