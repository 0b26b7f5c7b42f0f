package dev.twine.mail.maildir;

import dev.twine.core.DurableFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The UIDs of one {@link MailFolder}, kept in {@code twine-uidlist} in the folder (in the manner
 * of Dovecot's {@code dovecot-uidlist}): a header line {@code twine-uidlist 1 <uidvalidity>
 * <uidnext>} and one {@code <uid> <base name>} line per message. The file is replaced durably
 * ({@link DurableFiles}) on every {@link #write}, so UIDVALIDITY and every UID survive restarts
 * and crashes (RFC 9051 §2.3.1.1). A missing or unreadable list starts a new UIDVALIDITY, which
 * tells clients to forget their cache.
 *
 * <p>Not thread-safe: the folder calls it with its lock held.
 */
final class UidList {
    static final String NAME = "twine-uidlist";

    private final Path file;
    private long uidValidity;
    private long uidNext;
    private final Map<String, Long> uidByName = new HashMap<>();

    UidList(Path dir) {
        this.file = dir.resolve(NAME);
    }

    long uidValidity() {
        return uidValidity;
    }

    long uidNext() {
        return uidNext;
    }

    /** The UID of the message with this base name, or null if it has none yet. */
    Long uid(String name) {
        return uidByName.get(name);
    }

    /** The base names with UIDs and their UIDs; removing from it forgets a message. */
    Map<String, Long> byName() {
        return uidByName;
    }

    /** Gives the message with this base name the next UID (recorded on the next {@link #write}). */
    long assign(String name) {
        long uid = uidNext++;
        uidByName.put(name, uid);
        return uid;
    }

    /**
     * Reads the list; a missing or unreadable one is replaced by an empty list with a new
     * UIDVALIDITY, written before this returns.
     *
     * @throws IOException if the new list cannot be written
     */
    void read() throws IOException {
        uidByName.clear();
        if (Files.exists(file)) {
            try {
                List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
                String[] head = lines.get(0).split(" ");
                if (head.length != 4 || !head[0].equals(NAME) || !head[1].equals("1")) {
                    throw new IOException("bad header");
                }
                uidValidity = Long.parseLong(head[2]);
                uidNext = Long.parseLong(head[3]);
                for (String line : lines.subList(1, lines.size())) {
                    if (line.isEmpty()) {
                        continue;
                    }
                    int sp = line.indexOf(' ');
                    long uid = Long.parseLong(line.substring(0, sp));
                    if (uid <= 0 || uid >= uidNext) {
                        throw new IOException("uid out of range");
                    }
                    uidByName.put(line.substring(sp + 1), uid);
                }
                return;
            } catch (IOException | RuntimeException e) {
                // an unreadable list: start over with a new UIDVALIDITY (RFC 9051 §2.3.1.1)
                uidByName.clear();
            }
        }
        long validity = Instant.now().getEpochSecond();
        if (validity <= uidValidity) {
            validity = uidValidity + 1;
        }
        uidValidity = validity;
        uidNext = 1;
        write(List.of());
    }

    /**
     * Replaces the file durably with these messages (the folder's, in UID order) and UIDNEXT.
     *
     * @throws IOException if it cannot be written; the old list then stays
     */
    void write(Collection<MailMessage> messages) throws IOException {
        StringBuilder sb = new StringBuilder(64 + messages.size() * 48);
        sb.append(NAME).append(" 1 ").append(uidValidity).append(' ').append(uidNext).append('\n');
        for (MailMessage m : messages) {
            sb.append(m.uid()).append(' ').append(m.name()).append('\n');
        }
        DurableFiles.replacePrivate(file, sb.toString().getBytes(StandardCharsets.UTF_8));
    }
}
