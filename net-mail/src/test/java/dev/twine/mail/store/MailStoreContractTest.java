package dev.twine.mail.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.mail.maildir.Maildir;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What every {@link MailStore} promises, checked against the Maildir store and the in-memory one. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MailStoreContractTest {
    @TempDir
    Path tmp;

    private MailStore store(String kind) {
        return kind.equals("maildir") ? Maildir.open(tmp.resolve("mail")) : MemoryMailStore.create();
    }

    private static ByteArrayInputStream text(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    private static Mailbox inbox(MailStore store) throws Exception {
        return store.account("alice").mailbox("INBOX").orElseThrow();
    }

    @ParameterizedTest
    @ValueSource(strings = {"maildir", "memory"})
    void aNewAccountHasOnlyAnInboxWhateverTheCaseOfItsName(String kind) throws Exception {
        MailStore.Account a = store(kind).account("alice");
        assertEquals("alice", a.user());
        assertEquals(List.of("INBOX"), a.mailboxes());
        assertTrue(a.mailbox("inbox").isPresent());
        assertTrue(a.mailbox("Nope").isEmpty());
        assertTrue(inbox(store(kind)).messages().isEmpty());
    }

    @ParameterizedTest
    @ValueSource(strings = {"maildir", "memory"})
    void mailboxesAreCreatedRenamedWithTheirChildrenAndDeleted(String kind) throws Exception {
        MailStore.Account a = store(kind).account("alice");
        assertTrue(a.create("Work"));
        assertTrue(a.create("Work.2024"));
        assertFalse(a.create("Work"));
        assertEquals(List.of("INBOX", "Work", "Work.2024"), a.mailboxes());
        assertTrue(a.rename("Work", "Jobs"));
        assertFalse(a.rename("Work", "Other"), "the old name is gone");
        assertEquals(List.of("INBOX", "Jobs", "Jobs.2024"), a.mailboxes());
        assertTrue(a.delete("Jobs.2024"));
        assertFalse(a.delete("Jobs.2024"));
        assertEquals(List.of("INBOX", "Jobs"), a.mailboxes());
        assertThrows(IllegalArgumentException.class, () -> a.delete("INBOX"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"maildir", "memory"})
    void specialUsesAreKeptAcrossRenameAndDeleteAndConventionalNamesHaveTheirs(String kind) throws Exception {
        MailStore store = store(kind);
        MailStore.Account a = store.account("alice");
        assertTrue(a.create("Sent"));
        assertTrue(a.create("Starred", Set.of("\\Flagged")));
        assertFalse(a.create("Starred", Set.of("\\Archive")), "an existing mailbox keeps its uses");
        assertTrue(a.create("Work"));
        assertTrue(a.create("Work.Old", Set.of("\\Archive", "\\All")));
        assertEquals(Map.of("Sent", Set.of("\\Sent"), "Starred", Set.of("\\Flagged"),
                "Work.Old", Set.of("\\Archive", "\\All")), a.specialUses());
        assertTrue(a.rename("Work", "Jobs"));
        assertTrue(a.rename("Sent", "Sent 2024"), "a conventional use goes with the name, not the folder");
        assertTrue(a.delete("Starred"));
        assertTrue(a.create("Starred"));
        Map<String, Set<String>> expected = Map.of("Jobs.Old", Set.of("\\Archive", "\\All"));
        assertEquals(expected, a.specialUses());
        // the Maildir keeps them on disk: a store opened afresh reads the same
        MailStore again = kind.equals("maildir") ? store(kind) : store;
        assertEquals(expected, again.account("alice").specialUses());
    }

    @ParameterizedTest
    @ValueSource(strings = {"maildir", "memory"})
    void subscriptionsNeedNotExistAndAreKeptOnce(String kind) throws Exception {
        MailStore.Account a = store(kind).account("alice");
        a.subscribe("Later", true);
        a.subscribe("Later", true);
        a.subscribe("Other", true);
        a.subscribe("Other", false);
        assertEquals(List.of("Later"), a.subscriptions());
    }

    @ParameterizedTest
    @ValueSource(strings = {"maildir", "memory"})
    void appendGivesAscendingUidsAndKeepsFlagsDateAndTheBytesWithCrlf(String kind) throws Exception {
        Mailbox box = inbox(store(kind));
        long next = box.uidNext();
        Instant date = Instant.parse("2001-03-05T09:00:00Z");
        StoredMessage first = box.append(text("Subject: a\n\nbare LF\n"), Set.of(StoredMessage.SEEN, "Work"), date);
        StoredMessage second = box.append(text("Subject: b\r\n\r\nx\r\n"), Set.of(), null);
        assertEquals(next, first.uid());
        assertTrue(second.uid() > first.uid());
        assertEquals(second.uid() + 1, box.uidNext());
        assertEquals(List.of(first.uid(), second.uid()), box.messages().stream().map(StoredMessage::uid).toList());
        assertEquals(Set.of(StoredMessage.SEEN, "Work"), box.find(first.uid()).orElseThrow().flags());
        assertTrue(box.find(first.uid()).orElseThrow().has("work"), "keywords compare without case");
        byte[] crlf = "Subject: a\r\n\r\nbare LF\r\n".getBytes(StandardCharsets.US_ASCII);
        assertArrayEquals(crlf, box.read(first.uid()));
        assertArrayEquals(crlf, box.open(first.uid()).readAllBytes());
        assertEquals(crlf.length, box.size(first.uid()));
        assertEquals(date, box.internalDate(first.uid()));
        assertTrue(box.keywords().contains("Work"));
        assertTrue(!first.uniqueId().equals(second.uniqueId()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"maildir", "memory"})
    void setFlagsReplacesTheFlagsAndAGoneMessageIsEmpty(String kind) throws Exception {
        Mailbox box = inbox(store(kind));
        long uid = box.append(text("x\r\n"), Set.of(StoredMessage.SEEN), null).uid();
        assertEquals(Set.of(StoredMessage.FLAGGED, "$Label1"),
                box.setFlags(uid, Set.of(StoredMessage.FLAGGED, "$Label1")).orElseThrow().flags());
        assertEquals(Set.of(StoredMessage.FLAGGED, "$Label1"), box.find(uid).orElseThrow().flags());
        box.expunge(List.of(uid));
        assertTrue(box.setFlags(uid, Set.of()).isEmpty());
    }

    @ParameterizedTest
    @ValueSource(strings = {"maildir", "memory"})
    void expungedMessagesAreGoneForEveryReaderAndTheirUidsAreNotUsedAgain(String kind) throws Exception {
        MailStore store = store(kind);
        Mailbox box = inbox(store);
        long a = box.append(text("a\r\n"), Set.of(), null).uid();
        long b = box.append(text("b\r\n"), Set.of(), null).uid();
        box.expunge(List.of(a, 999L));
        Mailbox other = inbox(store);
        assertEquals(List.of(b), other.messages().stream().map(StoredMessage::uid).toList());
        NoSuchMessageException e = assertThrows(NoSuchMessageException.class, () -> other.read(a));
        assertEquals(a, e.uid());
        assertThrows(NoSuchMessageException.class, () -> other.size(a));
        assertThrows(NoSuchMessageException.class, () -> other.internalDate(a));
        assertTrue(box.append(text("c\r\n"), Set.of(), null).uid() > b);
    }

    @ParameterizedTest
    @ValueSource(strings = {"maildir", "memory"})
    void eachRecentMessageIsClaimedOnce(String kind) throws Exception {
        MailStore store = store(kind);
        long uid = inbox(store).append(text("a\r\n"), Set.of(), null).uid();
        Mailbox one = inbox(store);
        Mailbox two = inbox(store);
        Set<Long> claimed = one.claimRecent();
        assertTrue(claimed.isEmpty() || claimed.equals(Set.of(uid)), claimed.toString());
        assertEquals(Set.of(), two.claimRecent());
        assertFalse(two.find(uid).orElseThrow().recent());
    }

    @ParameterizedTest
    @ValueSource(strings = {"maildir", "memory"})
    void thePop3LockIsExclusiveUntilReleased(String kind) throws Exception {
        MailStore store = store(kind);
        assertTrue(inbox(store).tryLockExclusive());
        assertFalse(inbox(store).tryLockExclusive());
        inbox(store).unlockExclusive();
        assertTrue(inbox(store).tryLockExclusive());
    }

    @ParameterizedTest
    @ValueSource(strings = {"maildir", "memory"})
    void aWatchWakesWhenAnotherSessionAppendsAndEndsWhenClosed(String kind) throws Exception {
        MailStore store = store(kind);
        Mailbox box = inbox(store);
        Mailbox.Watch watch = box.watch();
        assertFalse(watch.awaitChange(Duration.ZERO), "nothing changed yet");
        CountDownLatch waiting = new CountDownLatch(1);
        AtomicBoolean woke = new AtomicBoolean();
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                waiting.countDown();
                woke.set(watch.awaitChange(Duration.ofSeconds(30)));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        waiting.await();
        inbox(store).append(text("new\r\n"), Set.of(), null);
        t.join(Duration.ofSeconds(30));
        assertTrue(woke.get(), "the watch saw the delivery");
        assertEquals(1, box.messages().size(), "and the mailbox shows it");
        watch.close();
        assertThrows(IllegalStateException.class, () -> watch.awaitChange(Duration.ofSeconds(1)));
    }
}
