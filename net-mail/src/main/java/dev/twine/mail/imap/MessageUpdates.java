package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapArgs.arg;
import static dev.twine.mail.imap.ImapArgs.atom;
import static dev.twine.mail.imap.ImapArgs.bad;
import static dev.twine.mail.imap.MailboxNames.mailbox;
import static dev.twine.mail.imap.SequenceSets.compactSet;

import dev.twine.mail.imap.ImapArgs.Reply;
import dev.twine.mail.imap.ImapParser.Arg;
import dev.twine.mail.imap.ImapParser.Group;
import dev.twine.mail.store.Mailbox;
import dev.twine.mail.store.NoSuchMessageException;
import dev.twine.mail.store.StoredMessage;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The commands of one {@link ImapSession} that change messages in the selected mailbox:
 * STORE (RFC 9051 §6.4.6), COPY and MOVE (§6.4.7, §6.4.8, with UIDPLUS's COPYUID, RFC 4315) and
 * EXPUNGE (§6.4.3).
 */
final class MessageUpdates {
    private final ImapSession s;

    MessageUpdates(ImapSession s) {
        this.s = s;
    }

    // ---- STORE (RFC 3501 §6.4.6) ----

    void store(String tag, List<Arg> args, boolean byUid) throws IOException, Reply {
        s.selected();
        s.writable();
        List<Integer> seqs = s.messages(atom(arg(args, 0)), byUid);
        // RFC 7162 §3.1.3: STORE (UNCHANGEDSINCE n) changes only messages not changed since n
        long unchangedSince = -1;
        if (args.size() > 1 && args.get(1) instanceof Group mods) {
            if (mods.items().size() != 2 || !atom(mods.items().get(0)).equalsIgnoreCase("UNCHANGEDSINCE")) {
                throw bad("unknown STORE modifier");
            }
            unchangedSince = Resync.modSeq(mods.items().get(1), true);
            s.condstore = true;
            args = args.subList(1, args.size());
        }
        List<Long> modified = new ArrayList<>();
        String item = atom(arg(args, 1)).toUpperCase(Locale.ROOT);
        boolean silent = item.endsWith(".SILENT");
        if (silent) {
            item = item.substring(0, item.length() - 7);
        }
        int mode = switch (item) {
            case "FLAGS" -> 0;
            case "+FLAGS" -> 1;
            case "-FLAGS" -> -1;
            default -> throw bad("unknown STORE item");
        };
        List<Arg> flagArgs = args.size() == 3 && args.get(2) instanceof Group g ? g.items() : args.subList(2, args.size());
        Set<String> given = ImapSession.storeFlags(flagArgs);
        for (int seq : seqs) {
            long uid = s.view.get(seq - 1);
            StoredMessage m = s.viewMessages.get(uid);
            if (unchangedSince >= 0) {
                // the mod-sequence as stored now, not as this session last saw it
                var current = s.folder.find(uid);
                if (current.isEmpty()) {
                    continue;
                }
                m = current.get();
                if (m.modSeq() > unchangedSince) {
                    modified.add(byUid ? uid : seq);
                    continue;
                }
            }
            Set<String> target = new LinkedHashSet<>(mode == 0 ? given : m.flags());
            if (mode == 1) {
                target.addAll(given);
            } else if (mode == -1) {
                // flag names compare without regard to case (RFC 3501 §2.3.2)
                target.removeIf(f -> given.stream().anyMatch(f::equalsIgnoreCase));
            }
            var now = s.folder.setFlags(uid, target);
            if (now.isEmpty()) {
                continue;
            }
            boolean changed = now.get().modSeq() != m.modSeq();
            s.viewMessages.put(uid, now.get());
            if (!silent) {
                s.untagged(s.flagsResponse(seq, now.get(), byUid));
            } else if (s.condstore && changed) {
                // .SILENT under CONDSTORE still tells the new mod-sequence (RFC 7162 §3.1.3)
                s.untagged(seq + " FETCH (" + (byUid || s.qresync ? "UID " + uid + " " : "") + "MODSEQ ("
                        + now.get().modSeq() + "))");
            }
        }
        s.sync(false);
        String code = modified.isEmpty() ? "" : "[MODIFIED " + compactSet(modified) + "] ";
        s.ok(tag, code + (byUid ? "UID " : "") + "STORE completed");
    }

    // ---- COPY / MOVE (RFC 3501 §6.4.7, RFC 6851, RFC 4315 COPYUID) ----

    void copy(String tag, List<Arg> args, boolean byUid, boolean move) throws IOException, Reply {
        s.selected();
        if (move) {
            s.writable();
        }
        List<Integer> seqs = s.messages(atom(arg(args, 0)), byUid);
        String name = mailbox(arg(args, 1), s.utf8Names());
        Mailbox target = s.existing(name, "[TRYCREATE]");
        if (!move || !name.equals(s.folderName)) {
            long bytes = 0;
            for (int seq : seqs) {
                try {
                    bytes += s.folder.size(s.view.get(seq - 1));
                } catch (NoSuchMessageException e) {
                    // expunged meanwhile: not copied
                }
            }
            s.checkQuota(bytes); // RFC 9208 §4.3.1: the copy would pass the quota
        }
        List<Long> from = new ArrayList<>();
        List<Long> to = new ArrayList<>();
        for (int seq : seqs) {
            StoredMessage m = s.viewMessages.get(s.view.get(seq - 1));
            // the copy keeps flags and internal date (RFC 3501 §6.4.7), durably as APPEND does
            try (InputStream in = s.folder.open(m.uid())) {
                StoredMessage copied = target.append(in, m.flags(), s.folder.internalDate(m.uid()));
                from.add(m.uid());
                to.add(copied.uid());
            } catch (NoSuchMessageException e) {
                // expunged meanwhile
            }
        }
        String code = from.isEmpty() ? "" : "[COPYUID " + target.uidValidity() + " " + compactSet(from) + " "
                + compactSet(to) + "] ";
        String verb = (byUid ? "UID " : "") + (move ? "MOVE" : "COPY");
        if (!move) {
            if (name.equals(s.folderName)) {
                s.sync(false);
            }
            s.ok(tag, code + verb + " completed");
            return;
        }
        if (!code.isEmpty()) {
            s.untagged("OK " + code.strip() + " moved");
        }
        s.folder.expunge(from);
        s.sync(true);
        s.ok(tag, verb + " completed");
    }

    void expungeDeleted(Set<Long> only, boolean respond) throws IOException {
        List<Long> gone = new ArrayList<>();
        for (long uid : s.view) {
            StoredMessage m = s.viewMessages.get(uid);
            if (m != null && m.has(StoredMessage.DELETED) && (only == null || only.contains(uid))) {
                gone.add(uid);
            }
        }
        s.folder.expunge(gone);
        if (respond) {
            s.sync(true);
        }
    }
}
