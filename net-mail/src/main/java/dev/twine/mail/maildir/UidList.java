package dev.twine.mail.maildir;

import dev.twine.core.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The UIDs and mod-sequences of one {@link MailFolder}, in the manner of Dovecot's
 * {@code dovecot-uidlist}.
 *
 * <h2>Files</h2>
 * {@code twine-uidlist}: a header {@code twine-uidlist 2 <uidvalidity> <uidnext> <highestmodseq>}
 * and one line {@code <uid> <modseq> :<flags> <base name>} per message, where {@code flags} are
 * the Maildir letters the message had at that mod-sequence. It is replaced durably
 * ({@link DurableFiles}) whenever messages appear or go, so UIDVALIDITY and every UID survive
 * restarts and crashes (RFC 9051 §2.3.1.1). Version 1 lists ({@code <uid> <base name>} lines, no
 * mod-sequences) are read as every message at mod-sequence 1.
 *
 * <p>{@code twine-modseq}: flag changes between two such rewrites, appended and forced one line
 * each ({@code <uid> <modseq> :<flags>}) after a header {@code twine-modseq <uidvalidity>}, so
 * a flag change is durable without rewriting the whole list (RFC 7162 §3.1: a mod-sequence a
 * client was told is never given again). On reading, a line counts when its mod-sequence is
 * above the list's for that UID; a torn last line (a crash mid-write) is ignored. The log is
 * emptied after a list rewrite once it is long.
 *
 * <p>The recorded flags let {@link MailFolder} notice flags that another Maildir program
 * changed: such a message gets a new mod-sequence on the next scan.
 *
 * <p>A missing or unreadable list starts a new UIDVALIDITY, which tells clients to forget their
 * cache. Not thread-safe: the folder calls it with its lock held.
 */
final class UidList {
    static final String NAME = "twine-uidlist";
    static final String LOG = "twine-modseq";

    /** What the list records of one message. */
    record Entry(long uid, long modSeq, String flags) {}

    private final Path file;
    private final Path log;
    private long uidValidity;
    private long uidNext;
    private long highestModSeq;
    private final Map<String, Entry> byName = new HashMap<>();
    private int logLines;

    UidList(Path dir) {
        this.file = dir.resolve(NAME);
        this.log = dir.resolve(LOG);
    }

    long uidValidity() {
        return uidValidity;
    }

    long uidNext() {
        return uidNext;
    }

    /** The mailbox's HIGHESTMODSEQ (RFC 7162 §3.1.2.1). */
    long highestModSeq() {
        return highestModSeq;
    }

    /** What is recorded for the message with this base name, or null if it has no UID yet. */
    Entry entry(String name) {
        return byName.get(name);
    }

    /** The UID of the message with this base name, or null if it has none yet. */
    Long uid(String name) {
        Entry e = byName.get(name);
        return e == null ? null : e.uid();
    }

    /** The base names that have UIDs. */
    Set<String> names() {
        return byName.keySet();
    }

    /**
     * Gives the message with this base name the next UID and a new mod-sequence (both recorded
     * on the next {@link #write}).
     */
    Entry assign(String name, String flags) {
        Entry e = new Entry(uidNext++, ++highestModSeq, flags);
        byName.put(name, e);
        return e;
    }

    /** Forgets an expunged message; the mailbox's mod-sequence grows (RFC 7162 §3.2.10). */
    void remove(String name) {
        if (byName.remove(name) != null) {
            highestModSeq++;
        }
    }

    /**
     * Records that a message's flags are now {@code flags}: if they differ from what is recorded,
     * the message gets a new mod-sequence, forced to the log before this returns.
     *
     * @return the message's mod-sequence now
     * @throws IOException if the log cannot be written; nothing is then recorded
     */
    long flagsChanged(String name, String flags) throws IOException {
        Entry e = byName.get(name);
        if (e.flags() == null) {
            // read from a version 1 list: these are the flags at its mod-sequence
            byName.put(name, new Entry(e.uid(), e.modSeq(), flags));
            return e.modSeq();
        }
        if (e.flags().equals(flags)) {
            return e.modSeq();
        }
        long modSeq = highestModSeq + 1;
        append(e.uid() + " " + modSeq + " :" + flags + "\n");
        highestModSeq = modSeq;
        byName.put(name, new Entry(e.uid(), modSeq, flags));
        return modSeq;
    }

    /**
     * Reads the list and the log; a missing or unreadable list is replaced by an empty list with
     * a new UIDVALIDITY, written before this returns.
     *
     * @throws IOException if the new list cannot be written
     */
    void read() throws IOException {
        byName.clear();
        if (Files.exists(file)) {
            try {
                List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
                String[] head = lines.get(0).split(" ");
                boolean v1 = head.length == 4 && head[0].equals(NAME) && head[1].equals("1");
                if (!v1 && (head.length != 5 || !head[0].equals(NAME) || !head[1].equals("2"))) {
                    throw new IOException("bad header");
                }
                uidValidity = Long.parseLong(head[2]);
                uidNext = Long.parseLong(head[3]);
                highestModSeq = v1 ? 1 : Long.parseLong(head[4]);
                for (String line : lines.subList(1, lines.size())) {
                    if (line.isEmpty()) {
                        continue;
                    }
                    String[] f = line.split(" ", v1 ? 2 : 4);
                    long uid = Long.parseLong(f[0]);
                    if (uid <= 0 || uid >= uidNext) {
                        throw new IOException("uid out of range");
                    }
                    if (v1) {
                        // flags unknown: what the first scan finds is taken as recorded
                        byName.put(f[1], new Entry(uid, 1, null));
                        continue;
                    }
                    long modSeq = Long.parseLong(f[1]);
                    if (modSeq <= 0 || modSeq > highestModSeq || !f[2].startsWith(":")) {
                        throw new IOException("bad modseq");
                    }
                    byName.put(f[3], new Entry(uid, modSeq, f[2].substring(1)));
                }
                readLog();
                return;
            } catch (IOException | RuntimeException e) {
                // an unreadable list: start over with a new UIDVALIDITY (RFC 9051 §2.3.1.1)
                byName.clear();
            }
        }
        long validity = Instant.now().getEpochSecond();
        if (validity <= uidValidity) {
            validity = uidValidity + 1;
        }
        uidValidity = validity;
        uidNext = 1;
        highestModSeq = 1;
        Files.deleteIfExists(log);
        write(List.of());
    }

    /** Applies the log's flag changes newer than the list's. */
    private void readLog() throws IOException {
        logLines = 0;
        if (!Files.exists(log)) {
            return;
        }
        byte[] bytes = Files.readAllBytes(log);
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') {
            end--;
        }
        if (end < bytes.length) {
            // a line torn by a crash: cut it off, so the next append does not continue it
            try (FileChannel ch = FileChannel.open(log, StandardOpenOption.WRITE)) {
                ch.truncate(end);
                DurableFiles.force(ch, log, false);
            }
        }
        List<String> lines = new String(bytes, 0, end, StandardCharsets.UTF_8).lines().toList();
        if (lines.isEmpty() || !lines.get(0).equals(LOG + " " + uidValidity)) {
            Files.delete(log); // another generation's log: the list is newer
            return;
        }
        Map<Long, String> names = new HashMap<>();
        byName.forEach((n, e) -> names.put(e.uid(), n));
        for (String line : lines.subList(1, lines.size())) {
            logLines++;
            String[] f = line.split(" ", 3);
            long uid;
            long modSeq;
            try {
                uid = Long.parseLong(f[0]);
                modSeq = Long.parseLong(f[1]);
            } catch (RuntimeException e) {
                continue;
            }
            if (f.length != 3 || !f[2].startsWith(":")) {
                continue;
            }
            String name = names.get(uid);
            highestModSeq = Math.max(highestModSeq, modSeq);
            if (name != null && modSeq > byName.get(name).modSeq()) {
                byName.put(name, new Entry(uid, modSeq, f[2].substring(1)));
            }
        }
    }

    /**
     * Replaces the list durably with these messages (the folder's, in UID order), UIDNEXT and
     * HIGHESTMODSEQ; empties the log once it is long.
     *
     * @throws IOException if it cannot be written; the old list then stays
     */
    void write(Collection<MailMessage> messages) throws IOException {
        StringBuilder sb = new StringBuilder(64 + messages.size() * 56);
        sb.append(NAME).append(" 2 ").append(uidValidity).append(' ').append(uidNext).append(' ')
                .append(highestModSeq).append('\n');
        for (MailMessage m : messages) {
            Entry e = byName.get(m.name());
            String flags = e == null || e.flags() == null ? m.flags() : e.flags();
            long modSeq = e == null ? 1 : e.modSeq();
            sb.append(m.uid()).append(' ').append(modSeq).append(" :").append(flags).append(' ')
                    .append(m.name()).append('\n');
        }
        DurableFiles.replacePrivate(file, sb.toString().getBytes(StandardCharsets.UTF_8));
        // the list now holds every change the log does: lines older than it are skipped on reading
        if (logLines > Math.max(1000, messages.size())) {
            DurableFiles.replacePrivate(log, (LOG + " " + uidValidity + "\n").getBytes(StandardCharsets.UTF_8));
            logLines = 0;
        }
    }

    private void append(String line) throws IOException {
        boolean fresh = !Files.exists(log);
        try (FileChannel ch = PrivateFiles.open(log, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND))) {
            if (fresh || ch.size() == 0) {
                ch.write(ByteBuffer.wrap((LOG + " " + uidValidity + "\n").getBytes(StandardCharsets.UTF_8)));
            }
            ch.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8)));
            DurableFiles.force(ch, log, false);
        }
        if (fresh) {
            DurableFiles.forceDirectory(log.getParent());
        }
        logLines++;
    }
}
