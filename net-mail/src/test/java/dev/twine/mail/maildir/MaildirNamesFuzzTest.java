package dev.twine.mail.maildir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Maildir file names and flags (the {@code :2,} info of the Maildir spec) as another program may
 * leave them in {@code cur/} and {@code new/} (issue 16). If a folder holds files of any names,
 * then scanning it gives each base name once with a positive, unique UID and normalized flags
 * (the known letters in ASCII order), and a fresh scan from the saved UID list (a restarted
 * server) gives the same UIDs under the same UIDVALIDITY. Names with a line break are left out:
 * no Maildir writer makes them, and the UID list is line-based (an unreadable list resets
 * UIDVALIDITY, which IMAP allows).
 */
class MaildirNamesFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void everyFileGetsOneStableUid(FuzzedDataProvider data) throws IOException {
        Path dir = Files.createTempDirectory("twine-maildir-fuzz");
        try {
            MailFolder.prepare(dir);
            Set<String> bases = new HashSet<>();
            int files = data.consumeInt(0, 8);
            for (int i = 0; i < files; i++) {
                String sub = data.consumeBoolean() ? "cur" : "new";
                String name = data.consumeString(40);
                if (name.isEmpty() || name.startsWith(".") || name.contains("/") || name.indexOf('\0') >= 0
                        || name.indexOf('\n') >= 0 || name.indexOf('\r') >= 0
                        || name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 200) {
                    continue;
                }
                Files.writeString(dir.resolve(sub).resolve(name), "Subject: " + i + "\r\n\r\nbody\r\n");
                int info = name.indexOf(":2,");
                bases.add(info >= 0 ? name.substring(0, info) : name);
            }
            MailFolder folder = new MailFolder(dir);
            List<MailMessage> first = folder.messages();
            assertEquals(bases.size(), first.size(), () -> "base names " + bases + " scanned as " + first);
            Set<Long> uids = new HashSet<>();
            for (MailMessage m : first) {
                assertTrue(m.uid() > 0 && uids.add(m.uid()), () -> "UIDs " + first);
                assertEquals(MailFolder.normalizeFlags(m.flags()), m.flags());
                assertTrue(bases.contains(m.name()), m::name);
            }
            MailFolder restarted = new MailFolder(dir);
            assertEquals(folder.uidValidity(), restarted.uidValidity(), "UIDVALIDITY after a restart");
            assertEquals(first.stream().map(m -> m.uid() + " " + m.name()).toList(),
                    restarted.messages().stream().map(m -> m.uid() + " " + m.name()).toList());
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
