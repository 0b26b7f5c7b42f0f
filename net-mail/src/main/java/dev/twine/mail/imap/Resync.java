package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapArgs.atom;
import static dev.twine.mail.imap.ImapArgs.bad;
import static dev.twine.mail.imap.SequenceSets.inRanges;

import dev.twine.mail.imap.ImapArgs.Reply;
import dev.twine.mail.imap.ImapParser.Arg;
import dev.twine.mail.store.StoredMessage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * QRESYNC (RFC 7162 §3.2) for one {@link ImapSession}: what changed in the selected mailbox
 * since a mod-sequence the client gives, told as {@code VANISHED (EARLIER)} and FETCH responses.
 *
 * <p>Vanished UIDs are those the client may know (its known-uids, or every UID below UIDNEXT)
 * that are no longer there; the store keeps no history of when each went, so a client may hear
 * of a UID expunged before its mod-sequence again, which §3.2.5.1 allows.
 */
final class Resync {
    private Resync() {}

    /** The {@code QRESYNC (uidvalidity modseq [known-uids [seq-match-data]])} of a SELECT. */
    record Request(long uidValidity, long modSeq, String knownUids) {}

    /** The largest mod-sequence value (RFC 7162 §7, {@code mod-sequence-value}: 63 bits). */
    static long modSeq(Arg a, boolean zeroAllowed) throws Reply {
        String s = atom(a);
        long v;
        try {
            v = Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw bad("invalid mod-sequence");
        }
        if (v < 0 || (v == 0 && !zeroAllowed) || !s.chars().allMatch(Character::isDigit)) {
            throw bad("invalid mod-sequence");
        }
        return v;
    }

    static Request request(List<Arg> p) throws Reply {
        if (p.size() < 2 || p.size() > 4) {
            throw bad("QRESYNC needs UIDVALIDITY and a mod-sequence");
        }
        long validity;
        try {
            validity = Long.parseLong(atom(p.get(0)));
        } catch (NumberFormatException e) {
            throw bad("invalid UIDVALIDITY");
        }
        long modSeq = modSeq(p.get(1), false);
        String known = null;
        if (p.size() > 2 && !(p.get(2) instanceof ImapParser.Group)) {
            known = atom(p.get(2));
            SequenceSets.ranges(known, 1); // syntax only
        }
        // the sequence match data only narrows what the server must tell (§3.2.5.2): all is told
        return new Request(validity, modSeq, known);
    }

    /** After SELECT's responses: the vanished UIDs, then each message changed since the request's mod-sequence. */
    static void tell(ImapSession s, Request r) throws IOException, Reply {
        List<long[]> known = known(s, r.knownUids());
        if (known.isEmpty()) {
            return;
        }
        String gone = missing(known, s.view);
        if (!gone.isEmpty()) {
            s.untagged("VANISHED (EARLIER) " + gone);
        }
        for (int i = 0; i < s.view.size(); i++) {
            StoredMessage m = s.viewMessages.get(s.view.get(i));
            if (m.modSeq() > r.modSeq() && inRanges(known, m.uid())) {
                s.untagged(s.flagsResponse(i + 1, m, true));
            }
        }
    }

    /** UID FETCH ... (CHANGEDSINCE n VANISHED): the UIDs of the set that are gone (RFC 7162 §3.2.6). */
    static void vanished(ImapSession s, String uidSet) throws IOException, Reply {
        List<long[]> known = known(s, uidSet);
        String gone = known.isEmpty() ? "" : missing(known, s.view);
        if (!gone.isEmpty()) {
            s.untagged("VANISHED (EARLIER) " + gone);
        }
    }

    /** The ranges of {@code set} (null: all) below the mailbox's UIDNEXT. */
    private static List<long[]> known(ImapSession s, String set) throws IOException, Reply {
        long last = s.folder.uidNext() - 1;
        if (last < 1) {
            return List.of();
        }
        List<long[]> out = new ArrayList<>();
        for (long[] r : set == null ? List.of(new long[] {1, last}) : SequenceSets.ranges(set, last)) {
            if (r[0] <= last) {
                out.add(new long[] {r[0], Math.min(r[1], last)});
            }
        }
        out.sort((a, b) -> Long.compare(a[0], b[0]));
        return out;
    }

    /** The UIDs in the sorted {@code ranges} that are not in {@code view} (ascending), as a set. */
    static String missing(List<long[]> ranges, List<Long> view) {
        StringBuilder sb = new StringBuilder();
        long next = 1; // UIDs below this are already handled
        for (long[] r : ranges) {
            long from = Math.max(r[0], next);
            if (from > r[1]) {
                continue;
            }
            int i = java.util.Collections.binarySearch(view, from);
            i = i < 0 ? -i - 1 : i;
            long at = from;
            while (at <= r[1]) {
                long present = i < view.size() ? view.get(i) : Long.MAX_VALUE;
                long gapEnd = Math.min(present - 1, r[1]);
                if (gapEnd >= at) {
                    sb.append(sb.isEmpty() ? "" : ",").append(at);
                    if (gapEnd > at) {
                        sb.append(':').append(gapEnd);
                    }
                }
                if (present >= r[1]) {
                    break;
                }
                at = present + 1;
                i++;
            }
            next = r[1] + 1;
        }
        return sb.toString();
    }
}
