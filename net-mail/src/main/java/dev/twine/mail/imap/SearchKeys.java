package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapArgs.arg;
import static dev.twine.mail.imap.ImapArgs.astring;
import static dev.twine.mail.imap.ImapArgs.atom;
import static dev.twine.mail.imap.ImapArgs.bad;
import static dev.twine.mail.imap.SequenceSets.inRanges;
import static dev.twine.mail.imap.SequenceSets.ranges;

import dev.twine.mail.imap.ImapArgs.Reply;
import dev.twine.mail.imap.ImapParser.Arg;
import dev.twine.mail.imap.ImapParser.Group;
import dev.twine.mail.store.Mailbox;
import dev.twine.mail.store.StoredMessage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * SEARCH keys (RFC 3501 §6.4.4) parsed into tests of one message, against the session's view at
 * the time of the command: its sequence numbers, UIDs, recent messages and mailbox.
 */
final class SearchKeys {
    private static final DateTimeFormatter SEARCH_DATE = new DateTimeFormatterBuilder()
            .parseCaseInsensitive().appendPattern("d-MMM-yyyy").toFormatter(Locale.ENGLISH);

    /** One parsed key: does message number {@code seq} match. */
    interface Key {
        boolean test(int seq, LoadedMessage m) throws IOException;
    }

    private final List<Long> view;
    private final Set<Long> recent;
    private final Mailbox folder;
    private final Set<Long> saved;
    /** Whether a MODSEQ key was parsed: SEARCH then answers with the highest (RFC 7162 §3.1.5). */
    boolean modSeq;

    SearchKeys(ImapSession s) {
        this.view = s.view;
        this.recent = s.recent;
        this.folder = s.folder;
        this.saved = s.saved;
    }

    /**
     * The deepest nesting of NOT, OR and parentheses a search may have (Dovecot allows about as
     * much): parsing and evaluating keys recurse, so without a bound {@code NOT NOT ... ALL}
     * would overflow the stack.
     */
    static final int MAX_SEARCH_DEPTH = 100;

    Key key(List<Arg> args, int[] pos, int depth) throws Reply {
        if (depth > MAX_SEARCH_DEPTH) {
            throw bad("search keys nested too deeply");
        }
        Arg o = arg(args, pos[0]++);
        if (o instanceof Group g) {
            List<Arg> inner = g.items();
            int[] p = {0};
            List<Key> all = new ArrayList<>();
            while (p[0] < inner.size()) {
                all.add(key(inner, p, depth + 1));
            }
            return (seq, m) -> {
                for (Key k : all) {
                    if (!k.test(seq, m)) {
                        return false;
                    }
                }
                return true;
            };
        }
        String k = atom(o).toUpperCase(Locale.ROOT);
        if (!k.isEmpty() && (Character.isDigit(k.charAt(0)) || k.charAt(0) == '*')) {
            List<long[]> r = ranges(k, view.size());
            return (seq, m) -> inRanges(r, seq);
        }
        switch (k) {
            case "$": // RFC 5182 §2.1: the saved result
                return (seq, m) -> saved.contains(m.meta.uid());
            case "ALL":
                return (seq, m) -> true;
            case "ANSWERED":
                return flag(StoredMessage.ANSWERED, true);
            case "DELETED":
                return flag(StoredMessage.DELETED, true);
            case "DRAFT":
                return flag(StoredMessage.DRAFT, true);
            case "FLAGGED":
                return flag(StoredMessage.FLAGGED, true);
            case "SEEN":
                return flag(StoredMessage.SEEN, true);
            case "UNANSWERED":
                return flag(StoredMessage.ANSWERED, false);
            case "UNDELETED":
                return flag(StoredMessage.DELETED, false);
            case "UNDRAFT":
                return flag(StoredMessage.DRAFT, false);
            case "UNFLAGGED":
                return flag(StoredMessage.FLAGGED, false);
            case "UNSEEN":
                return flag(StoredMessage.SEEN, false);
            case "RECENT":
                return (seq, m) -> recent.contains(m.meta.uid());
            case "OLD":
                return (seq, m) -> !recent.contains(m.meta.uid());
            case "NEW":
                return (seq, m) -> recent.contains(m.meta.uid()) && !m.meta.has(StoredMessage.SEEN);
            case "KEYWORD", "UNKEYWORD": {
                String kw = astring(arg(args, pos[0]++));
                boolean want = k.equals("KEYWORD");
                return (seq, m) -> m.meta.has(kw) == want;
            }
            case "BCC", "CC", "FROM", "SUBJECT", "TO": {
                String needle = astring(arg(args, pos[0]++)).toLowerCase(Locale.ROOT);
                String field = k;
                return (seq, m) -> headerContains(m, field, needle);
            }
            case "HEADER": {
                String field = astring(arg(args, pos[0]++));
                String needle = astring(arg(args, pos[0]++)).toLowerCase(Locale.ROOT);
                return (seq, m) -> headerContains(m, field, needle);
            }
            case "BODY": {
                String needle = astring(arg(args, pos[0]++)).toLowerCase(Locale.ROOT);
                return (seq, m) -> contains(m.tree().bodyBytes(), needle);
            }
            case "TEXT": {
                String needle = astring(arg(args, pos[0]++)).toLowerCase(Locale.ROOT);
                return (seq, m) -> contains(m.data(), needle);
            }
            case "BEFORE", "ON", "SINCE": {
                LocalDate d = date(arg(args, pos[0]++));
                String op = k;
                return (seq, m) -> compareDate(folder.internalDate(m.meta.uid()).atZone(ZoneOffset.UTC).toLocalDate(), d, op);
            }
            case "SENTBEFORE", "SENTON", "SENTSINCE": {
                LocalDate d = date(arg(args, pos[0]++));
                String op = k.substring(4);
                return (seq, m) -> {
                    LocalDate sent = sentDate(m);
                    return sent != null && compareDate(sent, d, op);
                };
            }
            case "LARGER", "SMALLER": {
                long n;
                try {
                    n = Long.parseLong(atom(arg(args, pos[0]++)));
                } catch (NumberFormatException e) {
                    throw bad("invalid number");
                }
                boolean larger = k.equals("LARGER");
                return (seq, m) -> larger ? folder.size(m.meta.uid()) > n : folder.size(m.meta.uid()) < n;
            }
            case "NOT": {
                Key inner = key(args, pos, depth + 1);
                return (seq, m) -> !inner.test(seq, m);
            }
            case "OR": {
                Key a = key(args, pos, depth + 1);
                Key b = key(args, pos, depth + 1);
                return (seq, m) -> a.test(seq, m) || b.test(seq, m);
            }
            case "MODSEQ": {
                // RFC 7162 §3.1.5: MODSEQ [entry-name entry-type-req] mod-sequence-valzer; the
                // flag entry only narrows what counts, which this store does not record per flag
                if (arg(args, pos[0]) instanceof ImapParser.Quoted) {
                    pos[0] += 2;
                }
                long n = Resync.modSeq(arg(args, pos[0]++), true);
                modSeq = true;
                return (seq, m) -> m.meta.modSeq() >= n;
            }
            case "UID": {
                String set = atom(arg(args, pos[0]++));
                if (set.equals("$")) {
                    return (seq, m) -> saved.contains(m.meta.uid());
                }
                long max = view.isEmpty() ? 1 : view.get(view.size() - 1);
                List<long[]> r = ranges(set, max);
                return (seq, m) -> inRanges(r, m.meta.uid());
            }
            default:
                throw bad("unknown search key " + k);
        }
    }

    private static Key flag(String name, boolean set) {
        return (seq, m) -> m.meta.has(name) == set;
    }

    private static boolean headerContains(LoadedMessage m, String field, String needle) throws IOException {
        String[] values = m.tree().headers.getHeader(field);
        if (values == null) {
            return false;
        }
        for (String v : values) {
            String decoded;
            try {
                decoded = jakarta.mail.internet.MimeUtility.decodeText(jakarta.mail.internet.MimeUtility.unfold(v));
            } catch (java.io.UnsupportedEncodingException | RuntimeException e) {
                decoded = v;
            }
            if (decoded.toLowerCase(Locale.ROOT).contains(needle)) {
                return true;
            }
        }
        return false;
    }

    private static boolean contains(byte[] haystack, String needle) {
        return new String(haystack, StandardCharsets.UTF_8).toLowerCase(Locale.ROOT).contains(needle);
    }

    private static LocalDate date(Arg o) throws Reply {
        try {
            return LocalDate.parse(astring(o), SEARCH_DATE);
        } catch (DateTimeParseException e) {
            throw bad("invalid date");
        }
    }

    private static boolean compareDate(LocalDate value, LocalDate d, String op) {
        return switch (op) {
            case "BEFORE" -> value.isBefore(d);
            case "ON" -> value.equals(d);
            default -> !value.isBefore(d);
        };
    }

    private static LocalDate sentDate(LoadedMessage m) throws IOException {
        ZonedDateTime sent = sentDateTime(m);
        return sent == null ? null : sent.toLocalDate();
    }

    /**
     * The message's Date field (RFC 5322 §3.6.1) in its own zone (in UTC when only a lenient
     * parse understands it), or null if it has none or it cannot be parsed.
     */
    static ZonedDateTime sentDateTime(LoadedMessage m) throws IOException {
        String v = m.tree().header("Date");
        if (v == null) {
            return null;
        }
        try {
            return ZonedDateTime.parse(v.replaceAll("\\s*\\(.*\\)\\s*$", ""), DateTimeFormatter.RFC_1123_DATE_TIME);
        } catch (DateTimeParseException e) {
            try {
                java.util.Date d = new jakarta.mail.internet.MailDateFormat().parse(v);
                return d == null ? null : d.toInstant().atZone(ZoneOffset.UTC);
            } catch (java.text.ParseException | RuntimeException e2) {
                return null;
            }
        }
    }
}
