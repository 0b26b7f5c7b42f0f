package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapArgs.arg;
import static dev.twine.mail.imap.ImapArgs.astring;
import static dev.twine.mail.imap.ImapArgs.atom;
import static dev.twine.mail.imap.ImapArgs.bad;
import static dev.twine.mail.imap.ImapArgs.no;
import static dev.twine.mail.imap.ImapArgs.parenthesized;
import static dev.twine.mail.imap.MailboxNames.mailbox;
import static dev.twine.mail.imap.MailboxNames.matches;
import static dev.twine.mail.imap.MailboxNames.newMailbox;

import dev.twine.mail.imap.ImapArgs.Reply;
import dev.twine.mail.imap.ImapParser.Arg;
import dev.twine.mail.imap.ImapParser.Atom;
import dev.twine.mail.imap.ImapParser.Group;
import dev.twine.mail.store.Mailbox;
import dev.twine.mail.store.NoSuchMessageException;
import dev.twine.mail.store.StoredMessage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The commands about the mailbox list: LIST with LIST-EXTENDED (RFC 5258) and LIST-STATUS
 * (RFC 5819), LSUB, STATUS, and CREATE with CREATE-SPECIAL-USE (RFC 6154 §3). Special uses come
 * from the account ({@code MailStore.Account.specialUses}).
 */
final class ImapList {
    /** The special-use attributes of RFC 6154 §2, in their canonical spelling. */
    static final List<String> USES = List.of("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash");
    private static final List<String> STATUS_ITEMS = List.of("MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED",
            "SIZE", "APPENDLIMIT", "HIGHESTMODSEQ");

    private final ImapSession s;

    ImapList(ImapSession s) {
        this.s = s;
    }

    /** What a LIST command asked for (RFC 5258 §3): selection options, patterns, return options. */
    private record Request(Set<String> select, String ref, List<String> patterns, Set<String> returns,
            List<String> status, boolean extended) {
        boolean selects(String option) {
            return select.contains(option);
        }

        boolean returns(String option) {
            return returns.contains(option);
        }
    }

    /**
     * {@code LIST [(selection)] ref (pattern | (patterns...)) [RETURN (options)]} (RFC 5258 §6):
     * the basic form answers as RFC 3501 with CHILDREN (RFC 3348) and special-use attributes; the
     * extended form gives only what its options ask for, as Dovecot does.
     */
    private Request request(List<Arg> args) throws Reply {
        int i = 0;
        boolean extended = false;
        Set<String> select = new HashSet<>();
        if (i < args.size() && args.get(i) instanceof Group g) {
            extended = true;
            for (Arg o : g.items()) {
                String opt = atom(o).toUpperCase(Locale.ROOT);
                if (!List.of("SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE").contains(opt)) {
                    throw bad("unknown LIST selection option " + opt);
                }
                select.add(opt);
            }
            i++;
        }
        // RFC 5258 §3.1: RECURSIVEMATCH alone (or with REMOTE) is an error
        if (select.contains("RECURSIVEMATCH") && !select.contains("SUBSCRIBED") && !select.contains("SPECIAL-USE")) {
            throw bad("RECURSIVEMATCH needs another selection option");
        }
        String ref = astring(arg(args, i++));
        List<String> patterns = new ArrayList<>();
        if (arg(args, i) instanceof Group g) {
            extended = true;
            for (Arg o : g.items()) {
                patterns.add(astring(o));
            }
            if (patterns.isEmpty()) {
                throw bad("LIST needs a pattern");
            }
        } else {
            patterns.add(astring(args.get(i)));
        }
        i++;
        Set<String> returns = new HashSet<>();
        List<String> status = null;
        if (i < args.size()) {
            if (!(args.get(i) instanceof Atom a) || !a.value().equalsIgnoreCase("RETURN") || i + 2 != args.size()) {
                throw bad("unexpected LIST arguments");
            }
            extended = true;
            List<Arg> opts = parenthesized(args.get(i + 1));
            for (int k = 0; k < opts.size(); k++) {
                String opt = atom(opts.get(k)).toUpperCase(Locale.ROOT);
                switch (opt) {
                    case "SUBSCRIBED", "CHILDREN", "SPECIAL-USE" -> returns.add(opt);
                    case "STATUS" -> status = statusItems(parenthesized(arg(opts, ++k))); // RFC 5819 §2
                    default -> throw bad("unknown LIST return option " + opt);
                }
            }
        }
        // implied return options: RFC 5258 §3.1 (SUBSCRIBED), RFC 6154 §3 (SPECIAL-USE)
        for (String implied : List.of("SUBSCRIBED", "SPECIAL-USE")) {
            if (select.contains(implied)) {
                returns.add(implied);
            }
        }
        return new Request(select, ref, patterns, returns, status, extended);
    }

    void list(String tag, List<Arg> args, boolean lsub) throws IOException, Reply {
        s.authenticated();
        String cmd = lsub ? "LSUB" : "LIST";
        Request r;
        if (lsub) {
            r = new Request(Set.of("SUBSCRIBED"), astring(arg(args, 0)), List.of(astring(arg(args, 1))), Set.of(), null, false);
        } else {
            r = request(args);
        }
        if (!r.extended() && r.patterns().get(0).isEmpty()) {
            // RFC 3501 §6.3.8: the hierarchy delimiter and root
            s.untagged(cmd + " (\\Noselect) \".\" \"\"");
            s.ok(tag, cmd + " completed");
            return;
        }
        List<String> all = s.account.mailboxes();
        Set<String> exists = new HashSet<>(all);
        boolean subscribed = r.selects("SUBSCRIBED") || r.returns("SUBSCRIBED");
        Set<String> subs = subscribed ? new LinkedHashSet<>(s.account.subscriptions()) : Set.of();
        Map<String, Set<String>> uses = !r.extended() || r.returns("SPECIAL-USE") ? s.account.specialUses() : Map.of();
        boolean recursive = r.selects("RECURSIVEMATCH") && r.selects("SUBSCRIBED");
        // the candidates, in the order they are told: the subscriptions or every mailbox, and
        // under RECURSIVEMATCH the superiors of each subscription before it (RFC 5258 §3.5)
        Set<String> names = new LinkedHashSet<>();
        for (String name : r.selects("SUBSCRIBED") ? subs : all) {
            if (recursive) {
                for (int dot = name.indexOf('.'); dot > 0; dot = name.indexOf('.', dot + 1)) {
                    names.add(name.substring(0, dot));
                }
            }
            names.add(name);
        }
        for (String name : names) {
            if (!matchesAny(r, name)) {
                continue;
            }
            // RFC 5258 §3.5: a mailbox that meets the criteria tells of any descendant that does;
            // one that does not is told only for a descendant the patterns leave out
            boolean satisfies = satisfies(r, name, exists, subs, uses);
            boolean childInfo = recursive && names.stream().anyMatch(n -> n.startsWith(name + ".")
                    && satisfies(r, n, exists, subs, uses) && (satisfies || !matchesAny(r, n)));
            if (!satisfies && !childInfo) {
                continue;
            }
            List<String> attrs = new ArrayList<>();
            if (lsub) {
                attrs.add(hasChildren(all, name) ? "\\HasChildren" : "\\HasNoChildren");
                if (!exists.contains(name)) {
                    attrs = List.of("\\Noselect");
                }
            } else {
                if (r.returns("SUBSCRIBED") && subs.contains(name)) {
                    attrs.add("\\Subscribed");
                }
                if (!exists.contains(name)) {
                    attrs.add("\\NonExistent"); // RFC 5258 §3.4: implies \Noselect
                }
                if (!r.extended() || r.returns("CHILDREN")) {
                    attrs.add(hasChildren(all, name) ? "\\HasChildren" : "\\HasNoChildren");
                }
            }
            if (exists.contains(name) && (!r.extended() || r.returns("SPECIAL-USE"))) {
                USES.stream().filter(uses.getOrDefault(name, Set.of())::contains).forEach(attrs::add);
            }
            ImapWriter w = s.writer().raw("* " + cmd + " (" + String.join(" ", attrs) + ") \".\" ").string(s.wireName(name));
            if (childInfo) {
                w.raw(" (\"CHILDINFO\" (\"SUBSCRIBED\"))"); // RFC 5258 §3.5
            }
            s.out.write(w.raw("\r\n").toBytes());
            if (r.status() != null && exists.contains(name)) {
                // RFC 5819 §2: STATUS right after the mailbox's LIST, not for \NonExistent ones
                status(name, s.account.mailbox(name).orElse(null), r.status());
            }
        }
        s.ok(tag, cmd + " completed");
    }

    /** Patterns match names as the client writes them: in UTF-8 once UTF8=ACCEPT is enabled. */
    /**
     * The LIST response a plain LIST gives one existing mailbox: what SELECT tells under
     * IMAP4rev2 (RFC 9051 §6.3.2).
     */
    void listLine(String name) throws IOException {
        List<String> attrs = new ArrayList<>();
        attrs.add(hasChildren(s.account.mailboxes(), name) ? "\\HasChildren" : "\\HasNoChildren");
        USES.stream().filter(s.account.specialUses().getOrDefault(name, Set.of())::contains).forEach(attrs::add);
        s.out.write(s.writer().raw("* LIST (" + String.join(" ", attrs) + ") \".\" ").string(s.wireName(name)).raw("\r\n").toBytes());
    }

    private boolean matchesAny(Request r, String name) {
        String shown = s.wireName(name);
        return r.patterns().stream().anyMatch(p -> !p.isEmpty() && matches(r.ref() + p, shown));
    }

    /** Whether {@code name} meets the selection options themselves (not through a child). */
    private static boolean satisfies(Request r, String name, Set<String> exists, Set<String> subs,
            Map<String, Set<String>> uses) {
        if (r.selects("SUBSCRIBED") ? !subs.contains(name) : !exists.contains(name)) {
            return false;
        }
        return !r.selects("SPECIAL-USE") || exists.contains(name) && !uses.getOrDefault(name, Set.of()).isEmpty();
    }

    /** Whether a mailbox of {@code all} is below {@code name} (the hierarchy delimiter is {@code .}). */
    static boolean hasChildren(List<String> all, String name) {
        return all.stream().anyMatch(n -> n.startsWith(name + "."));
    }

    /** {@code STATUS mailbox (items)} (RFC 3501 §6.3.10, RFC 8438, RFC 7889 §4, RFC 7162 §3.1.5). */
    void status(String tag, List<Arg> args) throws IOException, Reply {
        s.authenticated();
        String name = mailbox(arg(args, 0), s.utf8Names());
        List<String> items = statusItems(parenthesized(arg(args, 1)));
        status(name, s.existing(name, "[NONEXISTENT]"), items);
        s.ok(tag, "STATUS completed");
    }

    private static List<String> statusItems(List<Arg> items) throws Reply {
        List<String> names = new ArrayList<>();
        for (Arg o : items) {
            String item = atom(o).toUpperCase(Locale.ROOT);
            if (!STATUS_ITEMS.contains(item)) {
                throw bad("unknown STATUS item " + item);
            }
            names.add(item);
        }
        return names;
    }

    /** Writes one STATUS response; a mailbox gone since it was listed ({@code f} null) is left out. */
    private void status(String name, Mailbox f, List<String> items) throws IOException {
        if (f == null) {
            return;
        }
        List<StoredMessage> all = f.messages();
        StringBuilder sb = new StringBuilder();
        for (String item : items) {
            long v = switch (item) {
                case "MESSAGES" -> all.size();
                case "RECENT" -> all.stream().filter(StoredMessage::recent).count();
                case "UIDNEXT" -> f.uidNext();
                case "UIDVALIDITY" -> f.uidValidity();
                case "UNSEEN" -> all.stream().filter(m -> !m.has(StoredMessage.SEEN)).count();
                case "DELETED" -> all.stream().filter(m -> m.has(StoredMessage.DELETED)).count(); // RFC 9051 §6.3.11
                case "SIZE" -> { // RFC 8438
                    long size = 0;
                    for (StoredMessage m : all) {
                        try {
                            size += f.size(m.uid());
                        } catch (NoSuchMessageException gone) {
                            // expunged meanwhile: not counted
                        }
                    }
                    yield size;
                }
                case "APPENDLIMIT" -> s.config.maxLiteral(); // RFC 7889 §4
                case "HIGHESTMODSEQ" -> {
                    s.condstore = true; // RFC 7162 §3.1.5
                    yield f.highestModSeq();
                }
                default -> throw new AssertionError(item);
            };
            sb.append(sb.isEmpty() ? "" : " ").append(item).append(' ').append(v);
        }
        s.out.write(s.writer().raw("* STATUS ").string(s.wireName(name)).raw(" (" + sb + ")\r\n").toBytes());
    }

    /**
     * {@code CREATE name [(USE (attrs))]} (RFC 3501 §6.3.3, RFC 6154 §3): a use that is not
     * RFC 6154's, or a store that keeps none, is {@code NO [USEATTR]}.
     */
    void create(String tag, List<Arg> args) throws IOException, Reply {
        s.authenticated();
        String name = newMailbox(arg(args, 0), s.utf8Names());
        Set<String> uses = new LinkedHashSet<>();
        if (args.size() > 1) {
            List<Arg> params = parenthesized(args.get(1));
            for (int i = 0; i < params.size(); i++) {
                if (!atom(params.get(i)).equalsIgnoreCase("USE")) {
                    throw bad("unknown CREATE parameter " + atom(params.get(i)));
                }
                for (Arg a : parenthesized(arg(params, ++i))) {
                    String given = atom(a);
                    String use = USES.stream().filter(given::equalsIgnoreCase).findFirst().orElse(null);
                    if (use == null) {
                        throw no("[USEATTR] " + given + " is not a special use");
                    }
                    uses.add(use);
                }
            }
            if (args.size() > 2) {
                throw bad("unexpected CREATE arguments");
            }
        }
        boolean created;
        try {
            created = !name.equals("INBOX") && s.account.create(name, uses);
        } catch (UnsupportedOperationException e) {
            throw no("[USEATTR] this server keeps no special uses here");
        }
        if (!created) {
            throw no("[ALREADYEXISTS] mailbox exists");
        }
        // RFC 3501 §6.3.3: create the superior names too, so LIST can show the hierarchy
        for (int dot = name.indexOf('.'); dot > 0; dot = name.indexOf('.', dot + 1)) {
            s.account.create(name.substring(0, dot));
        }
        s.ok(tag, "CREATE completed");
    }
}
