package dev.twine.mail.imap;

import dev.twine.mail.imap.ImapParser.Atom;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
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

    static Object arg(List<Object> args, int i) throws Reply {
        if (i >= args.size()) {
            throw bad("missing argument");
        }
        return args.get(i);
    }

    static String astring(Object o) throws Reply {
        if (o instanceof Atom a) {
            return a.value();
        }
        if (o instanceof String s) {
            return s;
        }
        if (o instanceof byte[] b) {
            return new String(b, StandardCharsets.UTF_8);
        }
        throw bad("expected a string");
    }

    static String atom(Object o) throws Reply {
        if (o instanceof Atom a) {
            return a.value();
        }
        throw bad("expected an atom");
    }

    static List<Object> parenthesized(Object o) throws Reply {
        if (o instanceof List<?> l) {
            return new ArrayList<>(l);
        }
        throw bad("expected a parenthesized list");
    }
}
