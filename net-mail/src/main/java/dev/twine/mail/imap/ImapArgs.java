package dev.twine.mail.imap;

import dev.twine.mail.imap.ImapParser.Arg;
import dev.twine.mail.imap.ImapParser.Atom;
import dev.twine.mail.imap.ImapParser.Group;
import dev.twine.mail.imap.ImapParser.Literal;
import dev.twine.mail.imap.ImapParser.Quoted;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A command's arguments as {@link ImapParser} returns them (atoms, strings, literals and
 * parenthesized lists; RFC 3501 §4), read one at a time; a wrong kind or a missing one is the
 * command's {@code BAD}.
 */
final class ImapArgs {
    private ImapArgs() {}

    /** An error answered with {@code tag BAD} (syntax) or {@code tag NO} (refused). */
    static final class Reply extends Exception {
        final String kind;

        Reply(String kind, String message) {
            super(message, null, false, false);
            this.kind = kind;
        }
    }

    static Reply bad(String m) {
        return new Reply("BAD", m);
    }

    static Reply no(String m) {
        return new Reply("NO", m);
    }

    static Arg arg(List<Arg> args, int i) throws Reply {
        if (i >= args.size()) {
            throw bad("missing argument");
        }
        return args.get(i);
    }

    static String astring(Arg o) throws Reply {
        return switch (o) {
            case Atom a -> a.value();
            case Quoted q -> q.value();
            case Literal l when l.binary() -> throw bad("a literal8 is only for APPEND's message");
            case Literal l -> new String(l.bytes(), StandardCharsets.UTF_8);
            case Group g -> throw bad("expected a string");
        };
    }

    static String atom(Arg o) throws Reply {
        if (o instanceof Atom a) {
            return a.value();
        }
        throw bad("expected an atom");
    }

    static List<Arg> parenthesized(Arg o) throws Reply {
        if (o instanceof Group g) {
            return g.items();
        }
        throw bad("expected a parenthesized list");
    }
}
