package dev.twine.mail.maildir;

import dev.twine.core.DurableFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The special uses (RFC 6154) given to a user's folders by {@code CREATE ... (USE (...))}, kept in
 * {@code twine-special-use} in the user's Maildir beside Maildir++'s {@code subscriptions}: one
 * line per use, {@code \Sent Sent Items} (the use, a space, the folder's name to the line's end).
 * Dovecot keeps uses in its configuration, so a store shared with it shows them only to Twine;
 * folders not named here keep the conventional uses of their names. The file is replaced
 * durably (temporary file, fsync, rename) before a change returns.
 */
final class SpecialUseFile {
    static final String NAME = "twine-special-use";
    /** Serialises read-modify-write of the files in this process. */
    private static final ReentrantLock LOCK = new ReentrantLock();

    private SpecialUseFile() {}

    /** The recorded uses by folder name, in file order; empty if there is no file. */
    static Map<String, Set<String>> read(Path home) throws IOException {
        Map<String, Set<String>> uses = new LinkedHashMap<>();
        String text;
        try {
            text = Files.readString(home.resolve(NAME), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return uses;
        }
        for (String line : text.split("\n")) {
            int sp = line.indexOf(' ');
            if (line.startsWith("\\") && sp > 1 && sp + 1 < line.length()) {
                uses.computeIfAbsent(line.substring(sp + 1), k -> new LinkedHashSet<>()).add(line.substring(0, sp));
            }
        }
        return uses;
    }

    /**
     * Changes the record under the lock and replaces the file durably if {@code change} left it
     * different (no file is made for an empty record that had none).
     */
    static void update(Path home, Consumer<Map<String, Set<String>>> change) throws IOException {
        LOCK.lock();
        try {
            Map<String, Set<String>> uses = read(home);
            Map<String, Set<String>> before = new LinkedHashMap<>(uses);
            change.accept(uses);
            if (uses.equals(before)) {
                return;
            }
            StringBuilder sb = new StringBuilder();
            uses.forEach((name, set) -> set.forEach(use -> sb.append(use).append(' ').append(name).append('\n')));
            DurableFiles.replacePrivate(home.resolve(NAME), sb.toString().getBytes(StandardCharsets.UTF_8));
        } finally {
            LOCK.unlock();
        }
    }

    /** Moves the uses of {@code from} and the folders below it to their names under {@code to}. */
    static void renamed(Map<String, Set<String>> uses, String from, String to) {
        Map<String, Set<String>> moved = new LinkedHashMap<>();
        uses.keySet().removeIf(name -> {
            if (name.equals(from) || name.startsWith(from + ".")) {
                moved.put(to + name.substring(from.length()), uses.get(name));
                return true;
            }
            return false;
        });
        uses.putAll(moved);
    }
}
