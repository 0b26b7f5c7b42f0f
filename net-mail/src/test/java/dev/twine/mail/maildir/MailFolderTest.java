package dev.twine.mail.maildir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Scope;
import dev.twine.mail.store.StoredMessage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MailFolderTest {
    @TempDir
    Path tmp;

    private static ByteArrayInputStream msg(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void uidsAndUidValiditySurviveARestartAndNewMailGetsTheNextUids() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        f.deliver("alice", MailFixture.HELLO);
        f.deliver("alice", MailFixture.MULTIPART);
        MailFolder box = f.maildir.mailbox("alice", "INBOX");
        List<MailMessage> before = box.messages();
        long validity = box.uidValidity();
        assertEquals(List.of(1L, 2L), before.stream().map(MailMessage::uid).toList());

        f.restart(box.directory());
        MailFolder again = f.maildir.mailbox("alice", "INBOX");
        assertEquals(validity, again.uidValidity());
        assertEquals(before.stream().map(MailMessage::name).toList(),
                again.messages().stream().map(MailMessage::name).toList());
        f.deliver("alice", MailFixture.HELLO);
        List<MailMessage> after = again.messages();
        assertEquals(List.of(1L, 2L, 3L), after.stream().map(MailMessage::uid).toList());
        assertEquals(4, again.uidNext());
    }

    /**
     * Found by ImapCrashTest: an APPEND with \Seen delivers to new/ and then renames into cur/
     * with its flags; another session claiming recent messages from a scan taken in between
     * renamed it back to its old, flagless name. Here the rename comes from outside, right after
     * a scan (the directory times put back, so the folder does not notice it before the claim).
     */
    @Test
    void claimingRecentKeepsFlagsSetSinceTheLastScan() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        f.deliver("alice", MailFixture.HELLO);
        MailFolder box = f.maildir.mailbox("alice", "INBOX");
        MailMessage m = box.messages().get(0);
        assertTrue(m.recent());
        Path nu = box.directory().resolve("new");
        Path cur = box.directory().resolve("cur");
        var newTime = Files.getLastModifiedTime(nu);
        var curTime = Files.getLastModifiedTime(cur);
        Files.move(m.file(), cur.resolve(m.name() + ":2,S"));
        Files.setLastModifiedTime(nu, newTime);
        Files.setLastModifiedTime(cur, curTime);

        box.claimRecent();
        assertEquals("S", box.find(m.uid()).orElseThrow().flags(), "\\Seen kept");
        assertTrue(Files.exists(cur.resolve(m.name() + ":2,S")));
    }

    /**
     * The sessions a delivery wakes (10,000 IDLE sessions on one inbox) and SELECTs after one
     * change share one converted list of the folder's messages until a message changes.
     */
    @Test
    void sessionsShareOneListingUntilAMessageChanges() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        f.deliver("alice", MailFixture.HELLO);
        f.deliver("alice", MailFixture.MULTIPART);
        MaildirMailbox mailbox = f.maildir.mailbox("alice", "INBOX").mailbox();
        List<StoredMessage> first = mailbox.messages();
        assertSame(first, mailbox.messages());
        assertThrows(UnsupportedOperationException.class, () -> first.remove(0));

        mailbox.setFlags(first.get(1).uid(), Set.of(StoredMessage.SEEN));
        List<StoredMessage> after = mailbox.messages();
        assertNotSame(first, after);
        assertTrue(after.get(1).has(StoredMessage.SEEN));
        assertFalse(first.get(1).has(StoredMessage.SEEN));
        assertSame(after, mailbox.messages());
    }

    @Test
    void expungedUidsAreNeverReused() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        f.deliver("alice", MailFixture.HELLO);
        f.deliver("alice", MailFixture.HELLO);
        MailFolder box = f.maildir.mailbox("alice", "");
        box.expunge(List.of(2L));
        f.restart(box.directory());
        box = f.maildir.mailbox("alice", "");
        f.deliver("alice", MailFixture.HELLO);
        assertEquals(List.of(1L, 3L), box.messages().stream().map(MailMessage::uid).toList());
    }

    @Test
    void flagsAreStoredInMaildirFileNamesInCur() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        Path delivered = f.maildir.deliver("alice", new java.io.ByteArrayInputStream(MailFixture.HELLO.getBytes(StandardCharsets.UTF_8)));
        MailFolder box = f.maildir.mailbox("alice", "");
        MailMessage m = box.messages().get(0);
        assertTrue(m.recent());
        MailMessage now = box.setFlags(m.uid(), "TSF").orElseThrow();
        assertEquals("FST", now.flags());
        assertFalse(Files.exists(delivered));
        assertEquals(delivered.getFileName() + ":2,FST", now.file().getFileName().toString());
        assertEquals("cur", now.file().getParent().getFileName().toString());
        // another reader (a fresh process) sees the same flags
        f.restart(box.directory());
        assertEquals("FST", f.maildir.mailbox("alice", "").messages().get(0).flags());
    }

    @Test
    void messagesRenamedByAnotherProgramKeepTheirUid() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        Path delivered = f.maildir.deliver("alice", new java.io.ByteArrayInputStream(MailFixture.HELLO.getBytes(StandardCharsets.UTF_8)));
        MailFolder box = f.maildir.mailbox("alice", "");
        long uid = box.messages().get(0).uid();
        Path moved = box.directory().resolve("cur").resolve(delivered.getFileName() + ":2,S");
        Files.move(delivered, moved);
        MailMessage m = box.messages().get(0);
        assertEquals(uid, m.uid());
        assertEquals("S", m.flags());
    }

    @Test
    void anUnreadableUidListStartsANewUidValidity() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        f.inbox("alice", 42, MailFixture.HELLO);
        MailFolder box = f.maildir.mailbox("alice", "");
        assertEquals(42, box.uidValidity());
        f.restart(box.directory());
        Files.writeString(box.directory().resolve("twine-uidlist"), "garbage\n");
        MailFolder again = f.maildir.mailbox("alice", "");
        assertNotEquals(42, again.uidValidity());
        assertEquals(1, again.messages().size());
    }

    @Test
    void appendStoresInCurWithFlagsAndDate() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        MailFolder box = f.maildir.mailbox("alice", "");
        Instant date = Instant.parse("2001-02-03T04:05:06Z");
        MailMessage m = box.append(msg(MailFixture.HELLO), "SD", date);
        assertEquals("DS", m.flags());
        assertTrue(Files.exists(m.file()));
        assertEquals(date, box.internalDate(m));
        assertTrue(m.file().toString().contains("/cur/"));
        assertEquals(List.of(), Files.list(box.directory().resolve("tmp")).toList());
    }

    @Test
    void bareLfMessagesAreReadWithCrlf() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        f.deliver("alice", "Subject: x\n\nbody\n");
        MailFolder box = f.maildir.mailbox("alice", "");
        MailMessage m = box.messages().get(0);
        assertArrayEquals("Subject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII), box.read(m));
        assertEquals(20, box.size(m));
    }

    @Test
    void concurrentAppendsGetDistinctUids() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        MailFolder box = f.maildir.mailbox("alice", "");
        Set<Long> uids = java.util.concurrent.ConcurrentHashMap.newKeySet();
        try (Scope scope = Scope.open("appenders")) {
            for (int t = 0; t < 8; t++) {
                scope.fork("a" + t, () -> {
                    for (int i = 0; i < 10; i++) {
                        uids.add(box.append(msg(MailFixture.HELLO), "", null).uid());
                    }
                });
            }
            scope.join();
        }
        assertEquals(80, uids.size());
        assertEquals(80, box.messages().size());
        assertEquals(new HashSet<>(uids), new HashSet<>(box.messages().stream().map(MailMessage::uid).toList()));
    }

    @Test
    void foldersAreCreatedListedRenamedAndDeleted() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        assertTrue(f.maildir.createFolder("alice", "Work"));
        assertTrue(f.maildir.createFolder("alice", "Work.2024"));
        assertFalse(f.maildir.createFolder("alice", "Work"));
        assertEquals(List.of("INBOX", "Work", "Work.2024"), f.maildir.folders("alice"));
        assertTrue(Files.isDirectory(f.maildir.inbox("alice").resolve(".Work.2024/cur")));
        assertTrue(f.maildir.renameFolder("alice", "Work", "Jobs"));
        assertEquals(List.of("INBOX", "Jobs", "Jobs.2024"), f.maildir.folders("alice"));
        assertTrue(f.maildir.deleteFolder("alice", "Jobs.2024"));
        assertEquals(List.of("INBOX", "Jobs"), f.maildir.folders("alice"));
        f.maildir.subscribe("alice", "Jobs", true);
        f.maildir.subscribe("alice", "Jobs", true);
        assertEquals(List.of("Jobs"), f.maildir.subscriptions("alice"));
    }

    @Test
    void concurrentSubscriptionsAreAllKept() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        try (Scope scope = Scope.open("subscribers")) {
            for (int t = 0; t < 8; t++) {
                String name = "F" + t;
                scope.fork(name, () -> f.maildir.subscribe("alice", name, true));
            }
            scope.join();
        }
        assertEquals(Set.of("F0", "F1", "F2", "F3", "F4", "F5", "F6", "F7"), new HashSet<>(f.maildir.subscriptions("alice")));
    }

    @Test
    void aFileSystemWatchWakesOnDelivery() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        MailFolder box = f.maildir.mailbox("alice", "");
        try (FolderWatch w = box.watch()) {
            assertFalse(w.awaitChange(Duration.ofMillis(50)));
            f.deliver("alice", MailFixture.HELLO);
            assertTrue(w.awaitChange(Duration.ofSeconds(20)));
        }
    }

    @Test
    void aPollingWatchAlsoWakesOnDeliveryAndEndsWhenClosed() throws Exception {
        Maildir store = Maildir.open(tmp.resolve("polled"), new FolderWatches(false));
        MailFolder box = store.mailbox("alice", "");
        FolderWatch w = box.watch();
        assertFalse(w.isNotified());
        store.deliver("alice", msg(MailFixture.HELLO));
        assertTrue(w.awaitChange(Duration.ofSeconds(20)));
        w.close();
        assertThrows(java.nio.file.ClosedWatchServiceException.class, () -> w.awaitChange(Duration.ofSeconds(5)));
    }

    @Test
    void onlyOneExclusiveLockHolderAtATime() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        MailFolder box = f.maildir.mailbox("alice", "");
        assertTrue(box.tryLockExclusive());
        assertFalse(box.tryLockExclusive());
        box.unlockExclusive();
        assertTrue(box.tryLockExclusive());
        box.unlockExclusive();
    }
}
