package dev.twine.mail.maildir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** CONDSTORE's mod-sequences (RFC 7162) in a Maildir folder: kept, crash-safe, and noticed when others change files. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ModSeqTest {
    @TempDir
    Path tmp;

    private static MailFolder twoMessages(MailFixture f) throws Exception {
        f.deliver("alice", MailFixture.HELLO);
        f.deliver("alice", MailFixture.MULTIPART);
        return f.maildir.mailbox("alice", "");
    }

    @Test
    void everyNewMessageFlagChangeAndExpungeTakesTheNextModSeq() throws Exception {
        MailFolder box = twoMessages(MailFixture.create(tmp));
        List<MailMessage> all = box.messages();
        long first = all.get(0).modSeq();
        assertEquals(first + 1, all.get(1).modSeq());
        assertEquals(first + 1, box.highestModSeq());
        MailMessage seen = box.setFlags(all.get(0).uid(), "S").orElseThrow();
        assertEquals(first + 2, seen.modSeq());
        assertEquals(first + 2, box.setFlags(all.get(0).uid(), "S").orElseThrow().modSeq(), "no change, no new modseq");
        box.expunge(List.of(all.get(1).uid()));
        assertEquals(first + 3, box.highestModSeq());
    }

    @Test
    void modSeqsSurviveARestartThroughTheLog() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        MailFolder box = twoMessages(f);
        long uid = box.messages().get(0).uid();
        long modSeq = box.setFlags(uid, "F").orElseThrow().modSeq();
        assertTrue(Files.readString(box.directory().resolve(UidList.LOG)).contains(uid + " " + modSeq + " :F\n"));
        f.restart(box.directory());
        MailFolder again = f.maildir.mailbox("alice", "");
        assertEquals(modSeq, again.find(uid).orElseThrow().modSeq());
        assertEquals(modSeq, again.highestModSeq());
        assertEquals(modSeq + 1, again.setFlags(uid, "FS").orElseThrow().modSeq());
    }

    @Test
    void aLogLineTornByACrashIsCutOffAndLaterChangesStillCount() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        MailFolder box = twoMessages(f);
        long uid = box.messages().get(0).uid();
        long modSeq = box.setFlags(uid, "S").orElseThrow().modSeq();
        Path log = box.directory().resolve(UidList.LOG);
        Files.writeString(log, uid + " 9", StandardOpenOption.APPEND); // a crash mid-append
        f.restart(box.directory());
        MailFolder again = f.maildir.mailbox("alice", "");
        assertEquals(modSeq, again.highestModSeq());
        long next = again.setFlags(uid, "RS").orElseThrow().modSeq();
        assertEquals(modSeq + 1, next);
        f.restart(box.directory());
        assertEquals(next, f.maildir.mailbox("alice", "").find(uid).orElseThrow().modSeq());
    }

    @Test
    void flagsAnotherProgramChangedGetANewModSeqAndDeletedFilesRaiseTheHighest() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        Path delivered = f.maildir.deliver("alice", new ByteArrayInputStream(MailFixture.HELLO.getBytes(StandardCharsets.UTF_8)));
        f.deliver("alice", MailFixture.MULTIPART);
        MailFolder box = f.maildir.mailbox("alice", "");
        List<MailMessage> before = box.messages();
        long highest = box.highestModSeq();
        // mutt marks the first one seen behind the server's back, while the server is down
        f.restart(box.directory());
        Files.move(delivered, box.directory().resolve("cur").resolve(delivered.getFileName() + ":2,S"));
        MailFolder again = f.maildir.mailbox("alice", "");
        MailMessage changed = again.find(before.get(0).uid()).orElseThrow();
        assertEquals("S", changed.flags());
        assertEquals(highest + 1, changed.modSeq());
        assertEquals(before.get(1).modSeq(), again.find(before.get(1).uid()).orElseThrow().modSeq());
        Files.delete(again.find(before.get(1).uid()).orElseThrow().file());
        again.rescan();
        assertEquals(highest + 2, again.highestModSeq());
    }

    @Test
    void aVersionOneUidListIsReadWithEveryMessageAtModSeqOne() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        MailFolder box = twoMessages(f);
        List<MailMessage> all = box.messages();
        Path list = box.directory().resolve(UidList.NAME);
        Files.writeString(list, "twine-uidlist 1 " + box.uidValidity() + " 3\n1 " + all.get(0).name() + "\n2 "
                + all.get(1).name() + "\n");
        Files.deleteIfExists(box.directory().resolve(UidList.LOG));
        long validity = box.uidValidity();
        f.restart(box.directory());
        MailFolder again = f.maildir.mailbox("alice", "");
        assertEquals(validity, again.uidValidity());
        assertEquals(List.of(1L, 1L), again.messages().stream().map(MailMessage::modSeq).toList());
        assertEquals(2, again.setFlags(1, "S").orElseThrow().modSeq());
    }
}
