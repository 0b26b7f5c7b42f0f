package dev.twine.mail.maildir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store is private to its owner (issue 10, finding 9): directories 0700 and files 0600
 * whatever the umask, and crashed deliveries' leftovers in tmp/ are removed after 36 hours.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MaildirPrivacyTest {
    @TempDir
    Path dir;

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void newDirectoriesAre0700AndMessageFilesAndIndexes0600UnderAPermissiveUmask() throws Exception {
        assumeTrue(dir.getFileSystem().supportedFileAttributeViews().contains("posix"), "POSIX file system");
        // the test JVM runs with the usual umask 022, under which the old code made 0755 and 0644
        Path root = dir.resolve("mail");
        Maildir d = Maildir.open(root);
        Path delivered = d.deliver("alice", new ByteArrayInputStream("Subject: s\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII)));
        d.createFolder("alice", "Work");
        d.subscribe("alice", "Work", true);
        MailFolder inbox = d.mailbox("alice", "");
        inbox.messages(); // writes the UID list
        MailMessage appended = d.mailbox("alice", "Work").append(
                new ByteArrayInputStream("Subject: a\r\n\r\ny\r\n".getBytes(StandardCharsets.US_ASCII)), "S", null);
        d.mailbox("alice", "Work").keywords().letter("$Label1", true);

        for (Path p : List.of(root, root.resolve("alice"), root.resolve("alice/new"), root.resolve("alice/cur"),
                root.resolve("alice/tmp"), root.resolve("alice/.Work"), root.resolve("alice/.Work/cur"))) {
            assertEquals("rwx------", mode(p), p.toString());
        }
        for (Path p : List.of(delivered, appended.file(), root.resolve("alice/twine-uidlist"),
                root.resolve("alice/subscriptions"), root.resolve("alice/.Work/dovecot-keywords"))) {
            assertEquals("rw-------", mode(p), p.toString());
        }
    }

    @Test
    void openingAFolderRemovesTmpFilesOlderThan36HoursAndKeepsYoungerOnes() throws Exception {
        Maildir d = Maildir.open(dir.resolve("mail"));
        d.deliver("alice", new ByteArrayInputStream("Subject: s\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII)));
        Path tmp = d.inbox("alice").resolve("tmp");
        Instant now = Instant.now();
        Path stale = age(Files.writeString(tmp.resolve("1.M1P1Q1.crashed"), "half a message"), now.minus(Duration.ofHours(37)));
        Path young = age(Files.writeString(tmp.resolve("2.M2P2Q2.writing"), "being written"), now.minus(Duration.ofHours(35)));
        Path fresh = Files.writeString(tmp.resolve("3.M3P3Q3.new"), "just begun");
        // a directory in tmp/ is nobody's delivery: left alone however old
        Path subdir = age(Files.createDirectory(tmp.resolve("old-dir")), now.minus(Duration.ofDays(10)));

        d.forget(d.inbox("alice")); // as after a restart: the first open cleans
        d.mailbox("alice", "");

        assertFalse(Files.exists(stale), "a 37-hour-old tmp file is a crashed delivery");
        assertTrue(Files.exists(young), "35 hours is not yet stale");
        assertTrue(Files.exists(fresh));
        assertTrue(Files.isDirectory(subdir));
        try (Stream<Path> s = Files.list(d.inbox("alice").resolve("new"))) {
            assertEquals(1, s.count(), "delivered mail is untouched");
        }
    }

    @Test
    void theFirstDeliveryOfAProcessAlsoCleansTmp() throws Exception {
        Path box = dir.resolve("box");
        Files.createDirectories(box.resolve("tmp"));
        Path stale = age(Files.writeString(box.resolve("tmp/1.M1P1Q1.crashed"), "x"), Instant.now().minus(Duration.ofDays(3)));
        Maildir.deliver(box, new ByteArrayInputStream("Subject: s\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertFalse(Files.exists(stale));
    }

    /** Sets both the modification and the access time, as a file untouched since then has. */
    private static Path age(Path p, Instant when) throws Exception {
        FileTime t = FileTime.from(when);
        Files.getFileAttributeView(p, BasicFileAttributeView.class).setTimes(t, t, null);
        return p;
    }
}
