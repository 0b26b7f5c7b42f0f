package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapTranscriptTest.GREETING;
import static dev.twine.mail.imap.ImapTranscriptTest.LOGIN;

import dev.twine.mail.maildir.MailFixture;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * CONDSTORE and QRESYNC (RFC 7162) conversations, after the RFC's examples, replayed whole, byte
 * by byte and in random chunks on a Maildir and on the in-memory store, which number
 * mod-sequences alike: each new message, flag change and expunge takes the next one.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CondStoreTranscriptTest {
    static final String SELECTED = """
            S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
            S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] flags permanent
            S: * 2 EXISTS
            S: * 2 RECENT
            S: * OK [UNSEEN 1] first unseen
            S: * OK [UIDVALIDITY 1000] UIDs valid
            S: * OK [UIDNEXT 3] predicted next UID
            S: * OK [HIGHESTMODSEQ 3] highest
            """;

    /** SELECT INBOX again in the QRESYNC test, after one message went and one changed. */
    static final String RESELECTED = """
            S: * OK [CLOSED] previous mailbox closed
            S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
            S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] flags permanent
            S: * 1 EXISTS
            S: * 0 RECENT
            S: * OK [UIDVALIDITY 1000] UIDs valid
            S: * OK [UIDNEXT 3] predicted next UID
            S: * OK [HIGHESTMODSEQ 6] highest
            """;

    @TempDir
    Path tmp;

    private void replay(String script) throws Exception {
        ImapTranscriptTest.replay(tmp, script, MailFixture.HELLO, MailFixture.MULTIPART);
    }

    @Test
    void condstoreTellsModSeqsAndStoresOnlyWhatIsUnchangedSince() throws Exception {
        replay(GREETING + LOGIN + """
                C: a2 ENABLE CONDSTORE
                S: * ENABLED CONDSTORE
                S: a2 OK ENABLE completed
                C: a3 SELECT INBOX
                """ + SELECTED + """
                S: a3 OK [READ-WRITE] SELECT completed
                C: a4 FETCH 1:* (FLAGS MODSEQ)
                S: * 1 FETCH (FLAGS (\\Recent) MODSEQ (2))
                S: * 2 FETCH (FLAGS (\\Recent) MODSEQ (3))
                S: a4 OK FETCH completed
                C: a5 STORE 1 +FLAGS (\\Seen)
                S: * 1 FETCH (FLAGS (\\Seen \\Recent) MODSEQ (4))
                S: a5 OK STORE completed
                C: a6 UID STORE 1:2 (UNCHANGEDSINCE 3) +FLAGS (\\Flagged)
                S: * 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent) MODSEQ (5))
                S: a6 OK [MODIFIED 1] UID STORE completed
                C: a7 FETCH 1:* (FLAGS) (CHANGEDSINCE 4)
                S: * 2 FETCH (FLAGS (\\Flagged \\Recent) MODSEQ (5))
                S: a7 OK FETCH completed
                C: a8 SEARCH MODSEQ 4
                S: * SEARCH 1 2 (MODSEQ 5)
                S: a8 OK SEARCH completed
                C: a9 SEARCH MODSEQ "/flags/\\\\draft" all 6
                S: * SEARCH
                S: a9 OK SEARCH completed
                C: b1 STATUS INBOX (HIGHESTMODSEQ MESSAGES)
                S: * STATUS "INBOX" (HIGHESTMODSEQ 5 MESSAGES 2)
                S: b1 OK STATUS completed
                C: b2 STORE 1 (UNCHANGEDSINCE x) FLAGS ()
                S: b2 BAD invalid mod-sequence
                """);
    }

    @Test
    void aFetchOrSelectParameterEnablesCondstoreWithoutEnable() throws Exception {
        replay(GREETING + LOGIN + """
                C: a2 SELECT INBOX (CONDSTORE)
                """ + SELECTED + """
                S: a2 OK [READ-WRITE] SELECT completed
                C: a3 STORE 2 +FLAGS.SILENT (\\Answered)
                S: * 2 FETCH (MODSEQ (4))
                S: a3 OK STORE completed
                """);
        replay(GREETING + LOGIN + """
                C: a2 SELECT INBOX
                """ + SELECTED.replace("S: * OK [HIGHESTMODSEQ 3] highest\n", "") + """
                S: a2 OK [READ-WRITE] SELECT completed
                C: a3 FETCH 2 (UID) (CHANGEDSINCE 1)
                S: * 2 FETCH (UID 2 MODSEQ (3))
                S: a3 OK FETCH completed
                C: a4 STORE 1 FLAGS (\\Seen)
                S: * 1 FETCH (FLAGS (\\Seen \\Recent) MODSEQ (4))
                S: a4 OK STORE completed
                """);
    }

    @Test
    void qresyncTellsVanishedAndChangedMessagesOnSelectAndFetch() throws Exception {
        replay(GREETING + LOGIN + """
                C: a2 ENABLE QRESYNC
                S: * ENABLED QRESYNC
                S: a2 OK ENABLE completed
                C: a3 SELECT INBOX
                """ + SELECTED + """
                S: a3 OK [READ-WRITE] SELECT completed
                C: a4 STORE 2 +FLAGS.SILENT (\\Deleted)
                S: * 2 FETCH (UID 2 MODSEQ (4))
                S: a4 OK STORE completed
                C: a5 EXPUNGE
                S: * VANISHED 2
                S: a5 OK [HIGHESTMODSEQ 5] EXPUNGE completed
                C: a6 STORE 1 +FLAGS (\\Seen)
                S: * 1 FETCH (UID 1 FLAGS (\\Seen \\Recent) MODSEQ (6))
                S: a6 OK STORE completed
                C: a7 SELECT INBOX (QRESYNC (1000 3))
                """ + RESELECTED + """
                S: * VANISHED (EARLIER) 2
                S: * 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (6))
                S: a7 OK [READ-WRITE] SELECT completed
                C: a8 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 5 VANISHED)
                S: * VANISHED (EARLIER) 2
                S: * 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (6))
                S: a8 OK UID FETCH completed
                C: a9 SELECT INBOX (QRESYNC (999 1))
                """ + RESELECTED + """
                S: a9 OK [READ-WRITE] SELECT completed
                C: b1 UID EXPUNGE 1
                S: b1 OK [HIGHESTMODSEQ 6] UID EXPUNGE completed
                """);
    }

    @Test
    void qresyncParametersNeedEnableFirst() throws Exception {
        replay(GREETING + LOGIN + """
                C: a2 SELECT INBOX (QRESYNC (1000 1))
                S: a2 BAD unknown SELECT parameter QRESYNC
                C: a3 ENABLE QRESYNC
                S: * ENABLED QRESYNC
                S: a3 OK ENABLE completed
                C: a4 SELECT INBOX (QRESYNC (1000))
                S: a4 BAD QRESYNC needs UIDVALIDITY and a mod-sequence
                """);
    }
}
