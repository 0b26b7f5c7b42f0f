package dev.twine.mail.maildir;

import dev.twine.core.DurableFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The keywords of one folder, kept as Dovecot keeps them so both servers agree: names in
 * {@code dovecot-keywords} ({@code <index> <name>} lines), the letter {@code 'a' + index} in
 * message file names, 26 at most. Re-read when the file changes; a new keyword replaces the file
 * atomically.
 */
final class FolderKeywords {
    private static final String KEYWORDS = "dovecot-keywords";
    private final Path dir;
    private final ReentrantLock lock = new ReentrantLock();
    // guarded by lock
    private List<String> keywords;
    private FileTime keywordsTime;

    FolderKeywords(Path dir) {
        this.dir = dir;
    }


    /**
     * The flag letter of an IMAP keyword (RFC 3501 §2.3.2), stored as Dovecot does: letters
     * {@code a}-{@code z} in the file name, their names in {@code dovecot-keywords}, so both
     * servers agree on them.
     *
     * @param create whether to allocate a letter for a new keyword (the file is then replaced
     *     atomically)
     * @return the letter, or empty if the keyword is unknown (and not created) or all 26 are taken
     */
    Optional<Character> letter(String keyword, boolean create) throws IOException {
        lock.lock();
        try {
            load();
            for (int i = 0; i < keywords.size(); i++) {
                if (keywords.get(i).equalsIgnoreCase(keyword)) {
                    return Optional.of((char) ('a' + i));
                }
            }
            if (!create || keywords.size() >= 26) {
                return Optional.empty();
            }
            keywords.add(keyword);
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < keywords.size(); i++) {
                sb.append(i).append(' ').append(keywords.get(i)).append('\n');
            }
            DurableFiles.replacePrivate(dir.resolve(KEYWORDS), sb.toString().getBytes(StandardCharsets.UTF_8));
            return Optional.of((char) ('a' + keywords.size() - 1));
        } finally {
            lock.unlock();
        }
    }

    /** The keyword a lowercase flag letter stands for, if one is defined. */
    Optional<String> name(char letter) throws IOException {
        lock.lock();
        try {
            load();
            int i = letter - 'a';
            return i >= 0 && i < keywords.size() ? Optional.of(keywords.get(i)) : Optional.empty();
        } finally {
            lock.unlock();
        }
    }

    /** The keywords defined in this folder, in letter order. */
    List<String> all() throws IOException {
        lock.lock();
        try {
            load();
            return List.copyOf(keywords);
        } finally {
            lock.unlock();
        }
    }

    private void load() throws IOException {
        Path f = dir.resolve(KEYWORDS);
        FileTime t = Files.exists(f) ? Files.getLastModifiedTime(f) : null;
        if (keywords != null && Objects.equals(t, keywordsTime)) {
            return;
        }
        List<String> names = new ArrayList<>();
        if (t != null) {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                int sp = line.indexOf(' ');
                if (sp <= 0) {
                    continue;
                }
                try {
                    int i = Integer.parseInt(line.substring(0, sp));
                    if (i < 0 || i >= 26) {
                        continue;
                    }
                    while (names.size() <= i) {
                        names.add("");
                    }
                    names.set(i, line.substring(sp + 1).strip());
                } catch (NumberFormatException e) {
                    // a line we do not understand names no keyword
                }
            }
        }
        keywords = names;
        keywordsTime = t;
    }
}
