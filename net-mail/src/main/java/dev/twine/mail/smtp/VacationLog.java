package dev.twine.mail.smtp;

import dev.twine.core.DurableFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Whom a user's vacation has answered lately (RFC 5230 §4.2: one reply per sender and handle per
 * {@code :days}), in {@code twine-vacation} in the user's Maildir: one {@code <until> <key>} line
 * each, {@code until} in epoch seconds, {@code key} a digest of the handle and the sender (so the
 * file names nobody). Replaced durably on each change; entries past their time are dropped, and
 * the soonest-ending ones when there are more than {@link #MAX_ENTRIES}.
 */
final class VacationLog {
    static final String FILE = "twine-vacation";
    static final int MAX_ENTRIES = 10_000;
    private static final ConcurrentHashMap<Path, ReentrantLock> LOCKS = new ConcurrentHashMap<>();

    private final Clock clock;

    VacationLog(Clock clock) {
        this.clock = clock;
    }

    /**
     * Whether a reply to {@code sender} for {@code handle} is due in the Maildir {@code home}, and
     * if so records it as sent now, for {@code period}. Concurrent deliveries to one user are
     * serialised, so two messages at once get one reply.
     *
     * @throws IOException if the record cannot be read or written (no reply is then due)
     */
    boolean claim(Path home, String sender, String handle, Duration period) throws IOException {
        Path file = home.resolve(FILE);
        String key = key(sender, handle);
        long now = clock.instant().getEpochSecond();
        ReentrantLock lock = LOCKS.computeIfAbsent(file, f -> new ReentrantLock());
        lock.lock();
        try {
            Map<String, Long> entries = read(file, now);
            Long until = entries.get(key);
            if (until != null && until > now) {
                return false;
            }
            entries.put(key, now + period.toSeconds());
            while (entries.size() > MAX_ENTRIES) {
                String soonest = entries.entrySet().stream().min(Map.Entry.comparingByValue()).orElseThrow().getKey();
                entries.remove(soonest);
            }
            StringBuilder sb = new StringBuilder();
            entries.forEach((k, v) -> sb.append(v).append(' ').append(k).append('\n'));
            DurableFiles.replacePrivate(file, sb.toString().getBytes(StandardCharsets.US_ASCII));
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** The entries still running at {@code now}; lines that do not parse are dropped. */
    private static Map<String, Long> read(Path file, long now) throws IOException {
        Map<String, Long> out = new HashMap<>();
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException none) {
            return out;
        }
        for (String line : text.split("\n")) {
            String[] f = line.split(" ");
            if (f.length == 2 && f[0].matches("[0-9]{1,18}")) {
                long until = Long.parseLong(f[0]);
                if (until > now) {
                    out.put(f[1], until);
                }
            }
        }
        return out;
    }

    private static String key(String sender, String handle) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(handle.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(sender.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest(), 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always there", e);
        }
    }

    /** The time now, for the reply's fields. */
    Instant now() {
        return clock.instant();
    }
}
