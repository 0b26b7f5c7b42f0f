package dev.twine.mail.maildir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.twine.core.Scope;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The shared folder watches IDLE waits on: one per folder, woken by deliveries and by other programs. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FolderWatchesTest {
    private static final Duration LONG = Duration.ofSeconds(30);

    @TempDir
    Path tmp;
    private FolderWatches watches;
    private Maildir store;

    /** alice's inbox in a store of its own whose watches use notifications if {@code notify}. */
    private MailFolder inbox(boolean notify) throws Exception {
        watches = new FolderWatches(notify);
        store = Maildir.open(tmp.resolve("mail"), watches);
        return store.mailbox("alice", "");
    }

    private static ByteArrayInputStream msg(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    /** What another Maildir program does: write into tmp/, rename into new/. */
    private static void dropIntoNew(Path box, String name) throws Exception {
        Path t = box.resolve("tmp").resolve(name);
        Files.writeString(t, "Subject: dropped\r\n\r\nhi\r\n");
        Files.move(t, box.resolve("new").resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    void manySessionsOnOneFolderShareOneWatchAndADeliveryTellsThemAll() throws Exception {
        MailFolder box = inbox(true);
        int sessions = 200;
        List<FolderWatch> open = new ArrayList<>();
        for (int i = 0; i < sessions; i++) {
            open.add(box.watch());
        }
        assertEquals(1, watches.watchedFolders());
        AtomicInteger told = new AtomicInteger();
        CountDownLatch waiting = new CountDownLatch(sessions);
        try (Scope scope = Scope.open("idlers")) {
            for (FolderWatch w : open) {
                scope.fork("idle", () -> {
                    waiting.countDown();
                    if (w.awaitChange(LONG)) {
                        told.incrementAndGet();
                    }
                    return null;
                });
            }
            waiting.await();
            store.deliver("alice", msg("Subject: hi\r\n\r\nhello\r\n"));
            scope.join();
        }
        assertEquals(sessions, told.get());
        assertEquals(1, box.messages().size());
        for (FolderWatch w : open) {
            w.close();
        }
        assertEquals(0, watches.watchedFolders());
    }

    @Test
    void aDeliveryBetweenTheLookAndTheWaitIsNotLost() throws Exception {
        MailFolder box = inbox(true);
        try (FolderWatch w = box.watch()) {
            assertTrue(box.messages().isEmpty()); // the session's look
            store.deliver("alice", msg("Subject: hi\r\n\r\nhello\r\n"));
            // no time left to wait: the change is already there
            assertTrue(w.awaitChange(Duration.ZERO));
            assertFalse(w.awaitChange(Duration.ZERO));
        }
    }

    @Test
    void anotherProgramsWritesAndFlagRenamesAreSeenThroughTheNotification() throws Exception {
        MailFolder box = inbox(true);
        try (FolderWatch w = box.watch()) {
            assumeTrue(w.isNotified(), "no file-system notifications here");
            dropIntoNew(box.directory(), "1700000000.M1P1.other");
            assertTrue(w.awaitChange(LONG));
            Files.move(box.directory().resolve("new/1700000000.M1P1.other"),
                    box.directory().resolve("cur/1700000000.M1P1.other:2,S"), StandardCopyOption.ATOMIC_MOVE);
            assertTrue(w.awaitChange(LONG));
        }
    }

    @Test
    void withoutNotificationsOnePollerSeesOtherProgramsAndDeliveriesStillWakeAtOnce() throws Exception {
        MailFolder box = inbox(false);
        try (FolderWatch w = box.watch(); FolderWatch other = store.mailbox("alice", "").watch()) {
            assertFalse(w.isNotified());
            assertEquals(1, watches.watchedFolders());
            dropIntoNew(box.directory(), "1700000000.M1P1.other");
            assertTrue(w.awaitChange(LONG));
            assertTrue(other.awaitChange(LONG));
            store.deliver("alice", msg("Subject: hi\r\n\r\nhello\r\n"));
            // told by the delivery itself, not a second later by the poller
            assertTrue(w.awaitChange(Duration.ZERO));
        }
        assertEquals(0, watches.watchedFolders());
    }

    @Test
    void theLastSessionOutReleasesTheWatchAndAClosedWatchRefusesToWait() throws Exception {
        MailFolder inbox = inbox(true);
        MailFolder sent = store.mailbox("alice", "Sent");
        FolderWatch a = inbox.watch();
        FolderWatch b = inbox.watch();
        FolderWatch c = sent.watch();
        assertEquals(2, watches.watchedFolders());
        a.close();
        a.close(); // idempotent: b's share stays
        assertEquals(2, watches.watchedFolders());
        b.close();
        c.close();
        assertEquals(0, watches.watchedFolders());
        assertThrows(ClosedWatchServiceException.class, () -> a.awaitChange(LONG));
        // a new session after everyone left watches afresh
        try (FolderWatch again = inbox.watch()) {
            store.deliver("alice", msg("Subject: hi\r\n\r\nhello\r\n"));
            assertTrue(again.awaitChange(LONG));
        }
    }

    @Test
    void closingAWatchWakesTheThreadWaitingOnIt() throws Exception {
        MailFolder box = inbox(true);
        FolderWatch w = box.watch();
        CountDownLatch waiting = new CountDownLatch(1);
        try (Scope scope = Scope.open("closer")) {
            var waiter = scope.fork("idle", () -> {
                waiting.countDown();
                return assertThrows(ClosedWatchServiceException.class, () -> w.awaitChange(LONG));
            });
            waiting.await();
            w.close();
            waiter.await();
        }
    }

    @Test
    void thisProcesssOwnChangesWakeNobodyThroughTheFileSystemButTellTheFolderAtOnce() throws Exception {
        MailFolder box = inbox(true);
        store.deliver("alice", msg("Subject: hi\r\n\r\nhello\r\n"));
        long uid = box.messages().get(0).uid();
        try (FolderWatch w = box.watch()) {
            assumeTrue(w.isNotified(), "no file-system notifications here");
            store.deliver("alice", msg("Subject: again\r\n\r\nhello\r\n"));
            assertTrue(w.awaitChange(Duration.ZERO)); // told by the delivery itself
            assertEquals(2, box.claimRecent().size()); // new/ to cur/: nobody needs to know
            dropIntoNew(box.directory(), "1700000000.M1P1.other");
            assertTrue(w.awaitChange(LONG));
            // events come in order: the delivery's and the claim's came before the drop's and
            // woke nobody, so the drop is the second change
            assertEquals(2, w.seen());
            assertTrue(w.watched().own.isEmpty());
            box.setFlags(uid, "S");
            assertTrue(w.awaitChange(Duration.ZERO)); // told by the folder itself
            dropIntoNew(box.directory(), "1700000000.M2P1.other");
            assertTrue(w.awaitChange(LONG));
            assertEquals(4, w.seen());
            assertTrue(w.watched().own.isEmpty());
        }
    }
}
