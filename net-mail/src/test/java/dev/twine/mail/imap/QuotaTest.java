package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapTranscriptTest.GREETING;
import static dev.twine.mail.imap.ImapTranscriptTest.LOGIN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.Transcript;
import dev.twine.mail.maildir.Maildir;
import dev.twine.mail.maildir.MailFixture;
import dev.twine.mail.store.Quota;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** QUOTA (RFC 9208) over a Maildir with a per-user quota: told in GETQUOTA, enforced at APPEND and COPY. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class QuotaTest {
    @TempDir
    Path tmp;

    @Test
    void theMaildirMeasuresEveryFolderAndSaysWhetherMoreFits() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        f.deliver("alice", MailFixture.HELLO);
        Maildir limited = f.maildir.withQuota(4096);
        limited.account("alice").create("Work");
        limited.account("alice").mailbox("Work").orElseThrow()
                .append(new java.io.ByteArrayInputStream(MailFixture.MULTIPART.getBytes()), java.util.Set.of(), null);
        Quota q = limited.quota("alice").orElseThrow();
        assertEquals(MailFixture.HELLO.length() + MailFixture.MULTIPART.length(), q.used());
        assertEquals(4096, q.limit());
        assertTrue(q.allows(4096 - q.used()));
        assertTrue(!q.allows(4096 - q.used() + 1));
        assertTrue(f.maildir.quota("alice").isEmpty(), "no quota unless one is given");
    }

    @Test
    void theUsageIsListedAgainOnlyWhenAFolderChangedAndNeverMissesAChange() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        Maildir limited = f.maildir.withQuota(1 << 20);
        f.deliver("alice", MailFixture.HELLO);
        int hello = MailFixture.HELLO.length();
        assertEquals(hello, limited.quota("alice").orElseThrow().used());
        // changes right after a listing, in the same clock tick as the last one, are all seen
        for (int i = 2; i <= 5; i++) {
            f.deliver("alice", MailFixture.HELLO);
            assertEquals((long) i * hello, limited.quota("alice").orElseThrow().used(), "after delivery " + i);
        }
        Path inboxNew = limited.inbox("alice").resolve("new");
        Path first;
        try (var files = java.nio.file.Files.list(inboxNew)) {
            first = files.findFirst().orElseThrow();
        }
        java.nio.file.Files.move(first, limited.inbox("alice").resolve("cur").resolve(first.getFileName() + ":2,S"));
        assertEquals(5L * hello, limited.quota("alice").orElseThrow().used(), "moved into cur/: still counted once");
        try (var files = java.nio.file.Files.list(inboxNew)) {
            java.nio.file.Files.delete(files.findFirst().orElseThrow());
        }
        assertEquals(4L * hello, limited.quota("alice").orElseThrow().used(), "an expunged file no longer counts");

        // a directory whose last change is long past is trusted: Maildir files never change in
        // place, so a file grown behind the store's back (which no Maildir writer does) shows
        // that the folder was not listed again
        java.nio.file.attribute.FileTime past = java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 10_000);
        for (String sub : java.util.List.of("cur", "new")) {
            java.nio.file.Files.setLastModifiedTime(limited.inbox("alice").resolve(sub), past);
        }
        assertEquals(4L * hello, limited.quota("alice").orElseThrow().used(), "listed again: the times changed");
        Path grown;
        try (var files = java.nio.file.Files.list(inboxNew)) {
            grown = files.findFirst().orElseThrow();
        }
        java.nio.file.Files.write(grown, new byte[100], java.nio.file.StandardOpenOption.APPEND);
        java.nio.file.Files.setLastModifiedTime(inboxNew, past);
        assertEquals(4L * hello, limited.quota("alice").orElseThrow().used(), "not listed again: nothing was added or removed");
        f.deliver("alice", MailFixture.HELLO);
        assertEquals(5L * hello + 100, limited.quota("alice").orElseThrow().used(), "a delivery changes new/: listed again");
    }

    @Test
    void imapTellsTheQuotaAndRefusesAppendAndCopyPastIt() throws Exception {
        int i = 0;
        for (Chunking c : Chunking.standard()) {
            MailFixture f = MailFixture.create(tmp.resolve("run" + i++));
            f.inbox("alice", 1000, MailFixture.HELLO, MailFixture.MULTIPART);
            long used = MailFixture.HELLO.length() + MailFixture.MULTIPART.length();
            long limit = used + MailFixture.HELLO.length() + 10; // one more HELLO fits, not two
            Maildir store = f.maildir.withQuota(limit);
            store.account("alice").create("Trash");
            long trash = store.account("alice").mailbox("Trash").orElseThrow().uidValidity();
            var h = ImapServer.builder().store(store).portal(f.portal).build().handler();
            Transcript.parse(GREETING + LOGIN + """
                    C: a2 GETQUOTAROOT INBOX
                    S: * QUOTAROOT "INBOX" ""
                    S: * QUOTA "" (STORAGE %1$d %2$d)
                    S: a2 OK GETQUOTAROOT completed
                    C: a3 GETQUOTA ""
                    S: * QUOTA "" (STORAGE %1$d %2$d)
                    S: a3 OK GETQUOTA completed
                    C: a4 SETQUOTA "" (STORAGE 1)
                    S: a4 NO [CANNOT] quotas are set by the server
                    C: a6 SELECT INBOX
                    """.formatted((used + 1023) / 1024, limit / 1024) + ImapTranscriptTest.SELECT.lines().skip(1)
                    .map(l -> l.replace("a2 OK", "a6 OK") + "\n").reduce("", String::concat) + """
                    C: a7 COPY 1:2 Trash
                    S: a7 NO [OVERQUOTA] quota exceeded
                    C: a8 COPY 1 Trash
                    S: a8 OK [COPYUID %d 1 1] COPY completed
                    C: a9 APPEND INBOX {20+}
                    C: 12345678901234567890
                    S: a9 NO [OVERQUOTA] quota exceeded
                    """.formatted(trash))
                    .run(h, c);
        }
    }
}
