package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapArgs.arg;
import static dev.twine.mail.imap.ImapArgs.atom;
import static dev.twine.mail.imap.ImapArgs.bad;

import dev.twine.mail.imap.ImapArgs.Reply;
import dev.twine.mail.imap.ImapParser.Arg;
import dev.twine.mail.imap.ImapSort.Entry;
import dev.twine.mail.store.NoSuchMessageException;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * THREAD and UID THREAD (RFC 5256 §3) with the ORDEREDSUBJECT and REFERENCES algorithms (§4).
 */
final class ImapThread {
    private static final Pattern MSG_ID = Pattern.compile("<[^<>\\s]+>");

    private final ImapSession s;

    ImapThread(ImapSession s) {
        this.s = s;
    }

    /** {@code THREAD algorithm charset search-keys}. */
    void thread(String tag, List<Arg> args, boolean byUid) throws IOException, Reply {
        s.selected();
        String algorithm = atom(arg(args, 0)).toUpperCase(Locale.ROOT);
        if (!algorithm.equals("ORDEREDSUBJECT") && !algorithm.equals("REFERENCES")) {
            throw bad("unknown threading algorithm " + algorithm);
        }
        ImapSession.checkCharset(arg(args, 1), s.utf8);
        List<Node> nodes = new ArrayList<>();
        for (Entry e : ImapSort.entries(s, s.matching(new SearchKeys(s), args, 2))) {
            try {
                nodes.add(new Node(e));
            } catch (NoSuchMessageException gone) {
                // expunged by another session meanwhile: it is told at the next sync
            }
        }
        List<Node> roots = algorithm.equals("REFERENCES") ? references(nodes) : orderedSubject(nodes);
        StringBuilder sb = new StringBuilder("THREAD");
        if (!roots.isEmpty()) {
            sb.append(' ');
        }
        for (Node r : roots) {
            sb.append('(');
            members(sb, r, byUid);
            sb.append(')');
        }
        s.untagged(sb.toString());
        s.sync(false);
        s.ok(tag, (byUid ? "UID " : "") + "THREAD completed");
    }

    /** A message in a thread, or a dummy standing for one that is missing (entry null). */
    private static final class Node {
        final Entry entry;
        final Instant sent;
        final ImapSort.Subject subject;
        final String messageId;
        final List<String> references;
        Node parent;
        final List<Node> children = new ArrayList<>();

        Node(Entry e) throws IOException {
            entry = e;
            sent = e.sentDate();
            subject = ImapSort.baseSubject(e.decoded("Subject"));
            List<String> own = ids(e.msg.tree().header("Message-ID"));
            messageId = own.isEmpty() ? null : own.get(0);
            // §4 REFERENCES (1): the References field, else the first message id of In-Reply-To
            List<String> refs = ids(e.msg.tree().header("References"));
            if (refs.isEmpty()) {
                List<String> reply = ids(e.msg.tree().header("In-Reply-To"));
                refs = reply.isEmpty() ? List.of() : List.of(reply.get(0));
            }
            references = refs;
        }

        Node() {
            entry = null;
            sent = null;
            subject = null;
            messageId = null;
            references = List.of();
        }

        boolean dummy() {
            return entry == null;
        }

        /** The node that stands for this one in sorting and subjects: a dummy's first child. */
        Node first() {
            return dummy() && !children.isEmpty() ? children.get(0).first() : this;
        }

        boolean hasAncestor(Node n) {
            for (Node p = this; p != null; p = p.parent) {
                if (p == n) {
                    return true;
                }
            }
            return false;
        }

        void adopt(Node child) {
            if (child.parent != null) {
                child.parent.children.remove(child);
            }
            child.parent = this;
            children.add(child);
        }
    }

    private static List<String> ids(String field) {
        List<String> out = new ArrayList<>();
        if (field != null) {
            Matcher m = MSG_ID.matcher(field);
            while (m.find()) {
                out.add(m.group());
            }
        }
        return out;
    }

    /** §2.2: by sent date, then by sequence number. */
    private static final Comparator<Node> BY_DATE = Comparator
            .comparing((Node n) -> n.first().sent).thenComparingInt(n -> n.first().entry.seq);

    // ---- ORDEREDSUBJECT (§4) ----

    /**
     * Messages sorted by base subject, then sent date; each run of one subject is a thread whose
     * first message is the parent of all the others; threads in the order of their first
     * message's sent date.
     */
    private static List<Node> orderedSubject(List<Node> nodes) {
        Map<String, Node> threads = new LinkedHashMap<>();
        List<Node> byDate = new ArrayList<>(nodes);
        byDate.sort(BY_DATE);
        for (Node n : byDate) {
            Node head = threads.putIfAbsent(ImapSort.casemap(n.subject.text()), n);
            if (head != null) {
                head.adopt(n);
            }
        }
        List<Node> roots = new ArrayList<>(threads.values());
        roots.sort(BY_DATE);
        return roots;
    }

    // ---- REFERENCES (§4) ----

    private static List<Node> references(List<Node> nodes) {
        // (1) link messages by their references; a message without an id, or with one an
        // earlier message has, stands alone
        Map<String, Node> byId = new HashMap<>();
        List<Node> all = new ArrayList<>(nodes);
        for (Node n : nodes) {
            if (n.messageId != null) {
                byId.putIfAbsent(n.messageId, n);
            }
        }
        for (Node n : nodes) {
            Node prev = null;
            for (String ref : n.references) {
                Node r = byId.get(ref);
                if (r == null) {
                    r = new Node();
                    byId.put(ref, r);
                    all.add(r);
                }
                // (1A) a link is made only where there is none, and never into a loop
                if (prev != null && r.parent == null && r != prev && !prev.hasAncestor(r)) {
                    prev.adopt(r);
                }
                prev = r;
            }
            // (1B) the last reference is the parent, replacing any link made before
            if (n.parent != null) {
                n.parent.children.remove(n);
                n.parent = null;
            }
            if (prev != null && prev != n && !prev.hasAncestor(n)) {
                prev.adopt(n);
            }
        }
        // (2) the roots
        List<Node> roots = new ArrayList<>();
        for (Node n : all) {
            if (n.parent == null) {
                roots.add(n);
            }
        }
        // (3) dummies pruned
        roots = prune(roots, true);
        // (4) roots by sent date, a dummy by its first child's
        for (Node r : roots) {
            if (r.dummy()) {
                r.children.sort(BY_DATE);
            }
        }
        roots.sort(BY_DATE);
        // (5) roots with one base subject gathered
        Map<String, Node> table = new HashMap<>();
        for (Node r : roots) {
            String subject = threadSubject(r);
            if (subject.isEmpty()) {
                continue;
            }
            Node old = table.get(subject);
            if (old == null || (!old.dummy() && (r.dummy()
                    || (old.subject.replyOrForward() && !r.first().subject.replyOrForward())))) {
                table.put(subject, r);
            }
        }
        List<Node> merged = new ArrayList<>();
        for (Node r : roots) {
            String subject = threadSubject(r);
            Node old = subject.isEmpty() ? null : table.get(subject);
            if (old == null || old == r) {
                merged.add(r);
                continue;
            }
            if (old.dummy() && r.dummy()) {
                for (Node c : new ArrayList<>(r.children)) {
                    old.adopt(c);
                }
            } else if (old.dummy()) {
                old.adopt(r);
            } else if (!old.subject.replyOrForward() && r.subject.replyOrForward()) {
                old.adopt(r);
            } else {
                Node d = new Node();
                int at = merged.indexOf(old);
                d.adopt(old);
                d.adopt(r);
                table.put(subject, d);
                if (at >= 0) {
                    merged.set(at, d);
                } else {
                    // the table's message comes later among the roots: it is replaced there
                    roots.set(roots.indexOf(old), d);
                }
            }
        }
        // (6) siblings by sent date at every level
        sortAll(merged);
        return merged;
    }

    private static String threadSubject(Node r) {
        return ImapSort.casemap(r.first().subject.text());
    }

    /**
     * §4 REFERENCES (3): a dummy without children goes; one with children gives way to them,
     * except at the root when it has several (they would become separate threads).
     */
    private static List<Node> prune(List<Node> siblings, boolean root) {
        List<Node> out = new ArrayList<>();
        for (Node n : siblings) {
            List<Node> kids = prune(new ArrayList<>(n.children), false);
            n.children.clear();
            for (Node k : kids) {
                k.parent = n;
                n.children.add(k);
            }
            if (!n.dummy() || (root && n.children.size() > 1)) {
                out.add(n);
            } else {
                for (Node k : n.children) {
                    k.parent = root ? null : n.parent;
                    out.add(k);
                }
            }
        }
        return out;
    }

    private static void sortAll(List<Node> siblings) {
        for (Node n : siblings) {
            sortAll(n.children);
        }
        siblings.sort(BY_DATE);
    }

    /** thread-members / thread-nested (§5): a chain of single children, then each branch in parentheses. */
    private static void members(StringBuilder sb, Node n, boolean byUid) {
        if (!n.dummy()) {
            sb.append(byUid ? n.entry.meta.uid() : n.entry.seq);
        }
        if (n.children.size() == 1 && !n.dummy()) {
            sb.append(' ');
            members(sb, n.children.get(0), byUid);
        } else if (!n.children.isEmpty()) {
            if (!n.dummy()) {
                sb.append(' ');
            }
            for (Node c : n.children) {
                sb.append('(');
                members(sb, c, byUid);
                sb.append(')');
            }
        }
    }
}
