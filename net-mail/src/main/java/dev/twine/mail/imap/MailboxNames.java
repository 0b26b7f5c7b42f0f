package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapArgs.astring;
import static dev.twine.mail.imap.ImapArgs.no;

import dev.twine.mail.imap.ImapArgs.Reply;
import dev.twine.mail.imap.ImapParser.Arg;
import java.nio.charset.StandardCharsets;

/**
 * Mailbox names as commands give them (RFC 3501 §5.1): checked before they reach the store, and
 * matched against LIST patterns.
 */
final class MailboxNames {
    private MailboxNames() {}

    /**
     * The longest mailbox name, in UTF-8 bytes: a folder is one directory named {@code .Name}
     * (Maildir++ keeps every hierarchy level in that one name), and file systems allow 255 bytes.
     */
    static final int MAX_MAILBOX_NAME = 200;

    /**
     * A mailbox name from a command, checked before it reaches the store: too long is
     * {@code NO [LIMIT]}, names that no folder can have (control characters, {@code /} or
     * {@code \}, an empty hierarchy level such as {@code a..b} or a leading {@code .}) are
     * {@code NO [CANNOT]} (RFC 5530 §3). A trailing delimiter is dropped (RFC 3501 §6.3.3).
     * With {@code utf8} (UTF8=ACCEPT or IMAP4rev2 enabled, RFC 6855 §3, RFC 9051 §5.1) the name
     * is UTF-8 and is turned into the modified UTF-7 the store keeps (RFC 3501 §5.1.3); else it
     * is taken as sent.
     */
    static String mailbox(Arg arg, boolean utf8) throws Reply {
        String name = utf8 ? ModifiedUtf7.encode(astring(arg)) : astring(arg);
        while (name.endsWith(".")) {
            name = name.substring(0, name.length() - 1);
        }
        if (name.equalsIgnoreCase("INBOX")) {
            return "INBOX";
        }
        if (name.isEmpty()) {
            throw no("[CANNOT] empty mailbox name");
        }
        if (name.getBytes(StandardCharsets.UTF_8).length > MAX_MAILBOX_NAME) {
            throw no("[LIMIT] mailbox name longer than " + MAX_MAILBOX_NAME + " bytes");
        }
        for (int i = 0; i < name.length(); i++) {
            char ch = name.charAt(i);
            if (ch < 0x20 || ch == 0x7f || ch == '/' || ch == '\\') {
                throw no("[CANNOT] mailbox names cannot contain control characters, / or \\");
            }
        }
        if (name.startsWith(".") || name.contains("..")) {
            throw no("[CANNOT] empty hierarchy level in mailbox name");
        }
        return name;
    }

    /**
     * {@link #mailbox} for a name about to be created (CREATE, RENAME's target): also no LIST
     * wildcards, since a mailbox called {@code %} or {@code *} could never be listed by name
     * alone (RFC 3501 §5.1 advises against them; Dovecot refuses them).
     */
    static String newMailbox(Arg arg, boolean utf8) throws Reply {
        String name = mailbox(arg, utf8);
        if (name.indexOf('%') >= 0 || name.indexOf('*') >= 0) {
            throw no("[CANNOT] mailbox names cannot contain the LIST wildcards % or *");
        }
        return name;
    }

    /** LIST wildcard matching: {@code *} matches anything, {@code %} anything but the delimiter. */
    static boolean matches(String pattern, String name) {
        if (pattern.regionMatches(true, 0, "INBOX", 0, 5) && name.equals("INBOX")) {
            pattern = "INBOX" + pattern.substring(5);
        }
        return matchFrom(pattern, 0, name, 0);
    }

    /**
     * Matches by dynamic programming over the name, one pattern character at a time: time
     * proportional to pattern length times name length and no recursion, so a pattern of
     * thousands of wildcards costs no more than its length (a backtracking matcher takes
     * exponential time and overflows the stack on it).
     */
    static boolean matchFrom(String p, int i, String n, int j) {
        int len = n.length();
        // at[k]: the pattern so far matches the name's first k characters
        boolean[] at = new boolean[len + 1];
        at[j] = true;
        for (; i < p.length(); i++) {
            char c = p.charAt(i);
            // a run of wildcards is one wildcard (a * in it makes it a *)
            while ((c == '*' || c == '%') && i + 1 < p.length() && (p.charAt(i + 1) == '*' || p.charAt(i + 1) == '%')) {
                char d = p.charAt(++i);
                c = c == '*' || d == '*' ? '*' : '%';
            }
            boolean[] next = new boolean[len + 1];
            if (c == '*') {
                boolean any = false;
                for (int k = 0; k <= len; k++) {
                    any |= at[k];
                    next[k] = any;
                }
            } else if (c == '%') {
                // like *, but the run may not cross the hierarchy delimiter
                boolean any = false;
                for (int k = 0; k <= len; k++) {
                    if (k > 0 && n.charAt(k - 1) == '.') {
                        any = false;
                    }
                    any |= at[k];
                    next[k] = any;
                }
            } else {
                boolean alive = false;
                for (int k = 1; k <= len; k++) {
                    next[k] = at[k - 1] && n.charAt(k - 1) == c;
                    alive |= next[k];
                }
                if (!alive) {
                    // each literal consumes a character, so a long pattern dies within the name's length
                    return false;
                }
            }
            at = next;
        }
        return at[len];
    }
}
