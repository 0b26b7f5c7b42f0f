package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapArgs.bad;

import dev.twine.mail.imap.ImapArgs.Reply;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Sequence sets (RFC 3501 §9, {@code sequence-set}): message sequence numbers and UIDs, with
 * {@code *} for the largest, over a session's view (its UIDs in sequence-number order).
 */
final class SequenceSets {
    private SequenceSets() {}

    /** Ranges of a sequence set; {@code *} becomes {@code star}. */
    static List<long[]> ranges(String set, long star) throws Reply {
        List<long[]> out = new ArrayList<>();
        for (String part : set.split(",", -1)) {
            String[] ends = part.split(":", -1);
            if (ends.length > 2 || part.isEmpty()) {
                throw bad("invalid sequence set");
            }
            long a = number(ends[0], star);
            long b = ends.length == 2 ? number(ends[1], star) : a;
            out.add(new long[] {Math.min(a, b), Math.max(a, b)});
        }
        return out;
    }

    static long number(String s, long star) throws Reply {
        if (s.equals("*")) {
            return star;
        }
        try {
            long v = Long.parseLong(s);
            if (v <= 0) {
                throw bad("invalid sequence number");
            }
            return v;
        } catch (NumberFormatException e) {
            throw bad("invalid sequence set");
        }
    }

    /** The 1-based sequence numbers a set names, in order. */
    static List<Integer> messages(List<Long> view, String set, boolean uid) throws Reply {
        TreeSet<Integer> out = new TreeSet<>();
        if (view.isEmpty()) {
            if (!uid) {
                throw bad("no messages");
            }
            return List.of();
        }
        if (uid) {
            long maxUid = view.get(view.size() - 1);
            for (long[] r : ranges(set, maxUid)) {
                // the view is in ascending UID order: start at the first UID >= r[0]
                int i = java.util.Collections.binarySearch(view, r[0]);
                for (i = i < 0 ? -i - 1 : i; i < view.size() && view.get(i) <= r[1]; i++) {
                    out.add(i + 1);
                }
            }
        } else {
            for (long[] r : ranges(set, view.size())) {
                if (r[1] > view.size()) {
                    throw bad("invalid message sequence number");
                }
                for (long i = r[0]; i <= r[1]; i++) {
                    out.add((int) i);
                }
            }
        }
        return new ArrayList<>(out);
    }

    static Set<Long> uidSet(List<Long> view, String set) throws Reply {
        Set<Long> out = new HashSet<>();
        long max = view.isEmpty() ? 0 : view.get(view.size() - 1);
        for (long[] r : ranges(set, Math.max(max, 1))) {
            int i = java.util.Collections.binarySearch(view, r[0]);
            for (i = i < 0 ? -i - 1 : i; i < view.size() && view.get(i) <= r[1]; i++) {
                out.add(view.get(i));
            }
        }
        return out;
    }

    static String compactSet(List<Long> values) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < values.size(); ) {
            int j = i;
            while (j + 1 < values.size() && values.get(j + 1) == values.get(j) + 1) {
                j++;
            }
            sb.append(sb.isEmpty() ? "" : ",").append(values.get(i));
            if (j > i) {
                sb.append(':').append(values.get(j));
            }
            i = j + 1;
        }
        return sb.toString();
    }


    static boolean inRanges(List<long[]> ranges, long v) {
        for (long[] r : ranges) {
            if (v >= r[0] && v <= r[1]) {
                return true;
            }
        }
        return false;
    }
}
