package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapArgs.arg;
import static dev.twine.mail.imap.ImapArgs.atom;
import static dev.twine.mail.imap.ImapArgs.bad;
import static dev.twine.mail.imap.ImapArgs.parenthesized;

import dev.twine.mail.imap.ImapArgs.Reply;
import dev.twine.mail.imap.ImapParser.Arg;
import dev.twine.mail.store.NoSuchMessageException;
import dev.twine.mail.store.StoredMessage;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeUtility;
import java.io.IOException;
import java.text.Normalizer;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * SORT and UID SORT (RFC 5256 §3), with DISPLAYFROM and DISPLAYTO (RFC 5957) and the ESORT
 * return options (RFC 5267 §3.2); also what THREAD compares: the sent date (§2.2) and the base
 * subject (§2.1). Strings are compared as {@link #casemap} makes them.
 */
final class ImapSort {
    private static final List<String> CRITERIA =
            List.of("ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO");

    private final ImapSession s;

    ImapSort(ImapSession s) {
        this.s = s;
    }

    /** {@code SORT [RETURN (...)] (criteria) charset search-keys} (RFC 5256 §3, RFC 5267 §3.2). */
    void sort(String tag, List<Arg> args, boolean byUid) throws IOException, Reply {
        s.selected();
        Set<String> returns = ImapSession.returnOptions(args, "SORT");
        int pos = returns == null ? 0 : 2;
        List<Arg> criteria = parenthesized(arg(args, pos));
        if (criteria.isEmpty()) {
            throw bad("SORT needs a sort criterion");
        }
        List<String> keys = new ArrayList<>();
        List<Boolean> reverse = new ArrayList<>();
        for (int i = 0; i < criteria.size(); i++) {
            String k = atom(criteria.get(i)).toUpperCase(Locale.ROOT);
            boolean rev = k.equals("REVERSE");
            if (rev) {
                k = atom(arg(criteria, ++i)).toUpperCase(Locale.ROOT);
            }
            if (!CRITERIA.contains(k)) {
                throw bad("unknown sort criterion " + k);
            }
            keys.add(k);
            reverse.add(rev);
        }
        ImapSession.checkCharset(arg(args, pos + 1), s.utf8);
        List<Entry> entries = entries(s, s.matching(new SearchKeys(s), args, pos + 2));
        List<Comparable<?>[]> values = new ArrayList<>();
        List<Entry> kept = new ArrayList<>();
        for (Entry e : entries) {
            try {
                Comparable<?>[] v = new Comparable<?>[keys.size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = e.value(keys.get(i));
                }
                values.add(v);
                kept.add(e);
            } catch (NoSuchMessageException gone) {
                // expunged by another session meanwhile: it is told at the next sync
            }
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < kept.size(); i++) {
            order.add(i);
        }
        order.sort((a, b) -> {
            for (int i = 0; i < keys.size(); i++) {
                int c = compare(values.get(a)[i], values.get(b)[i]);
                if (c != 0) {
                    return reverse.get(i) ? -c : c;
                }
            }
            // §3: messages equal under every criterion stay in mailbox order, REVERSE or not
            return Integer.compare(kept.get(a).seq, kept.get(b).seq);
        });
        List<Long> found = new ArrayList<>();
        for (int i : order) {
            Entry e = kept.get(i);
            found.add(byUid ? e.meta.uid() : e.seq);
        }
        StringBuilder sb = new StringBuilder();
        if (returns == null) {
            sb.append("SORT");
            found.forEach(n -> sb.append(' ').append(n));
        } else {
            sb.append(ImapSession.esearch(tag, byUid, returns, found));
        }
        s.untagged(sb.toString());
        s.sync(false);
        s.ok(tag, (byUid ? "UID " : "") + "SORT completed");
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static int compare(Comparable a, Comparable b) {
        return a.compareTo(b);
    }

    /** The matching messages, by sequence number, for SORT and THREAD. */
    static List<Entry> entries(ImapSession s, List<Integer> seqs) {
        List<Entry> out = new ArrayList<>();
        for (int seq : seqs) {
            StoredMessage m = s.viewMessages.get(s.view.get(seq - 1));
            out.add(new Entry(seq, m, new LoadedMessage(s.folder, m), s));
        }
        return out;
    }

    /** One message with the values SORT and THREAD compare. */
    static final class Entry {
        final int seq;
        final StoredMessage meta;
        final LoadedMessage msg;
        private final ImapSession s;

        Entry(int seq, StoredMessage meta, LoadedMessage msg, ImapSession s) {
            this.seq = seq;
            this.meta = meta;
            this.msg = msg;
            this.s = s;
        }

        Comparable<?> value(String criterion) throws IOException {
            return switch (criterion) {
                case "ARRIVAL" -> s.folder.internalDate(meta.uid());
                case "DATE" -> sentDate();
                case "SIZE" -> s.folder.size(meta.uid());
                case "SUBJECT" -> casemap(baseSubject(decoded("Subject")).text());
                case "DISPLAYFROM", "DISPLAYTO" -> casemap(displayName(criterion.substring(7)));
                default -> casemap(mailboxOf(criterion)); // CC, FROM, TO
            };
        }

        /**
         * The sent date (RFC 5256 §2.2): the Date field in UTC, else (missing or not parsable)
         * the internal date.
         */
        Instant sentDate() throws IOException {
            ZonedDateTime sent = SearchKeys.sentDateTime(msg);
            return sent != null ? sent.toInstant() : s.folder.internalDate(meta.uid());
        }

        /** A header field unfolded with its encoded words decoded (RFC 2047), "" if missing. */
        String decoded(String field) throws IOException {
            String v = msg.tree().header(field);
            if (v == null) {
                return "";
            }
            try {
                return MimeUtility.decodeText(v);
            } catch (java.io.UnsupportedEncodingException | RuntimeException e) {
                return v;
            }
        }

        /** §3: the addr-mailbox (local part) of the field's first address, "" if none. */
        private String mailboxOf(String field) throws IOException {
            List<InternetAddress> list = MimeTree.addressList(msg.tree().header(field));
            if (list.isEmpty() || list.get(0).getAddress() == null) {
                return "";
            }
            String addr = list.get(0).getAddress();
            int at = addr.lastIndexOf('@');
            return at < 0 ? addr : addr.substring(0, at);
        }

        /**
         * RFC 5957 §3: the display name of the field's first address, decoded; without one, its
         * addr-spec ({@code mailbox@host}); "" if there is no address.
         */
        private String displayName(String field) throws IOException {
            List<InternetAddress> list = MimeTree.addressList(msg.tree().header(field));
            if (list.isEmpty()) {
                return "";
            }
            String personal = list.get(0).getPersonal();
            if (personal != null && !personal.isBlank()) {
                return personal;
            }
            return list.get(0).getAddress() == null ? "" : list.get(0).getAddress();
        }
    }

    /**
     * The form strings are compared in: i;unicode-casemap (RFC 5051 §2: each character in title
     * case, then decomposed), as Dovecot compares. For ASCII this is i;ascii-casemap, RFC 5256's
     * default (§2.3 lets a server offer other collations).
     */
    static String casemap(String v) {
        StringBuilder sb = new StringBuilder(v.length());
        v.codePoints().map(Character::toTitleCase).forEach(sb::appendCodePoint);
        return Normalizer.normalize(sb, Normalizer.Form.NFKD);
    }

    // ---- base subject (RFC 5256 §2.1) ----

    /**
     * A base subject, and whether extracting it removed a reply or forward marker ({@code Re:},
     * {@code Fwd:}, a {@code (fwd)} trailer or a {@code [fwd: ...]} wrapper), which THREAD uses.
     */
    record Subject(String text, boolean replyOrForward) {}

    /** The base subject of a decoded Subject field (§2.1 steps 1 to 6). */
    static Subject baseSubject(String decoded) {
        // step 1: tabs and line ends (the field is already unfolded) become spaces, runs of them one
        String t = decoded.replaceAll("[ \\t\\r\\n]+", " ");
        boolean marker = false;
        while (true) {
            // step 2: trailers "(fwd)" and white space, repeatedly
            while (true) {
                if (t.endsWith(" ")) {
                    t = t.substring(0, t.length() - 1);
                } else if (t.toLowerCase(Locale.ROOT).endsWith("(fwd)")) {
                    t = t.substring(0, t.length() - 5);
                    marker = true;
                } else {
                    break;
                }
            }
            // steps 3 to 5: leaders (blobs, then re/fw/fwd with an optional blob and a colon, or
            // white space), then one blob if something is left after it, until neither applies
            while (true) {
                String before = t;
                while (true) {
                    if (t.startsWith(" ")) {
                        t = t.substring(1);
                        continue;
                    }
                    int j = 0;
                    for (int b = blob(t, j); b > 0; b = blob(t, j)) {
                        j = b;
                    }
                    int r = refwd(t, j);
                    if (r < 0) {
                        break;
                    }
                    t = t.substring(r);
                    marker = true;
                }
                int b = blob(t, 0);
                if (b > 0 && b < t.length()) {
                    t = t.substring(b);
                }
                if (t.equals(before)) {
                    break;
                }
            }
            // step 6: "[fwd:" ... "]" around the whole rest, then again from step 2
            if (t.length() >= 6 && t.regionMatches(true, 0, "[fwd:", 0, 5) && t.endsWith("]")) {
                t = t.substring(5, t.length() - 1);
                marker = true;
                continue;
            }
            return new Subject(t, marker);
        }
    }

    /** subj-blob at {@code i}: "[" *BLOBCHAR "]" *WSP; the index after it, or -1. */
    private static int blob(String t, int i) {
        if (i >= t.length() || t.charAt(i) != '[') {
            return -1;
        }
        int j = i + 1;
        while (j < t.length() && t.charAt(j) != ']' && t.charAt(j) != '[') {
            j++;
        }
        if (j >= t.length() || t.charAt(j) != ']') {
            return -1;
        }
        j++;
        while (j < t.length() && t.charAt(j) == ' ') {
            j++;
        }
        return j;
    }

    /** subj-refwd at {@code i}: ("re" / "fw" ["d"]) *WSP [subj-blob] ":"; the index after it, or -1. */
    private static int refwd(String t, int i) {
        int j;
        if (t.regionMatches(true, i, "re", 0, 2)) {
            j = i + 2;
        } else if (t.regionMatches(true, i, "fw", 0, 2)) {
            j = i + 2;
            if (j < t.length() && Character.toLowerCase(t.charAt(j)) == 'd') {
                j++;
            }
        } else {
            return -1;
        }
        while (j < t.length() && t.charAt(j) == ' ') {
            j++;
        }
        int b = blob(t, j);
        if (b > 0) {
            j = b;
        }
        return j < t.length() && t.charAt(j) == ':' ? j + 1 : -1;
    }
}
