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
 * ENABLE IMAP4rev2 (RFC 9051) beside IMAP4rev1: what changes once it is enabled (no RECENT,
 * no {@code \Recent}, SELECT with LIST and {@code [CLOSED]}, SEARCH as ESEARCH, UTF-8 names,
 * STATUS DELETED) and that a rev1 session keeps its old answers; replayed whole, byte by byte
 * and in random chunks on a Maildir and in memory.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class Imap4Rev2TranscriptTest {
    @TempDir
    Path tmp;

    private void replay(String script) throws Exception {
        ImapTranscriptTest.replay(tmp, GREETING + LOGIN + script, MailFixture.HELLO, MailFixture.MULTIPART);
    }

    private static final String ENABLE = """
            C: e1 ENABLE IMAP4rev2
            S: * ENABLED IMAP4rev2
            S: e1 OK ENABLE completed
            """;

    @Test
    void selectTellsListInsteadOfRecentAndUnseenAndSearchAnswersWithEsearch() throws Exception {
        replay(ENABLE + """
                C: a2 SELECT INBOX
                S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
                S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] flags permanent
                S: * 2 EXISTS
                S: * LIST (\\HasNoChildren) "." "INBOX"
                S: * OK [UIDVALIDITY 1000] UIDs valid
                S: * OK [UIDNEXT 3] predicted next UID
                S: a2 OK [READ-WRITE] SELECT completed
                C: a3 FETCH 1:2 (FLAGS)
                S: * 1 FETCH (FLAGS ())
                S: * 2 FETCH (FLAGS ())
                S: a3 OK FETCH completed
                C: a4 STORE 2 +FLAGS (\\Deleted)
                S: * 2 FETCH (FLAGS (\\Deleted))
                S: a4 OK STORE completed
                C: a5 SEARCH UNDELETED
                S: * ESEARCH (TAG "a5") ALL 1
                S: a5 OK SEARCH completed
                C: a6 UID SEARCH ALL
                S: * ESEARCH (TAG "a6") UID ALL 1:2
                S: a6 OK UID SEARCH completed
                C: a7 SEARCH SUBJECT nothing
                S: * ESEARCH (TAG "a7")
                S: a7 OK SEARCH completed
                C: a8 SEARCH RETURN (COUNT) ALL
                S: * ESEARCH (TAG "a8") COUNT 2
                S: a8 OK SEARCH completed
                C: a9 STATUS INBOX (MESSAGES DELETED)
                S: * STATUS "INBOX" (MESSAGES 2 DELETED 1)
                S: a9 OK STATUS completed
                C: b1 EXAMINE INBOX
                S: * OK [CLOSED] previous mailbox closed
                S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
                S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] flags permanent
                S: * 2 EXISTS
                S: * LIST (\\HasNoChildren) "." "INBOX"
                S: * OK [UIDVALIDITY 1000] UIDs valid
                S: * OK [UIDNEXT 3] predicted next UID
                S: b1 OK [READ-ONLY] EXAMINE completed
                """);
    }

    @Test
    void utf8NamesAndARev1SessionUnchanged() throws Exception {
        replay("""
                C: a2 SEARCH ALL
                S: a2 BAD select a mailbox first
                C: a3 STATUS INBOX (RECENT DELETED)
                S: * STATUS "INBOX" (RECENT 2 DELETED 0)
                S: a3 OK STATUS completed
                """ + ENABLE + """
                C: a4 CREATE "Übersicht"
                S: a4 OK CREATE completed
                C: a5 LIST "" "Ü*"
                S: * LIST (\\HasNoChildren) "." "Übersicht"
                S: a5 OK LIST completed
                C: a6 SEARCH CHARSET UTF-8 ALL
                S: a6 BAD select a mailbox first
                """);
    }

    @Test
    void deleteOfAMailboxWithChildrenIsRefusedUnderRev2Only() throws Exception {
        // RFC 9051 §6.3.5: a server that keeps the inferior names answers NO [HASCHILDREN]; a rev1
        // session may still delete the parent, the child staying
        replay("""
                C: a1 CREATE Work
                S: a1 OK CREATE completed
                C: a2 CREATE Work.Projects
                S: a2 OK CREATE completed
                C: a3 CREATE Old
                S: a3 OK CREATE completed
                C: a3b CREATE Old.Year
                S: a3b OK CREATE completed
                C: a4 DELETE Old
                S: a4 OK DELETE completed
                C: a4b LIST "" "Old*"
                S: * LIST (\\HasNoChildren) "." "Old.Year"
                S: a4b OK LIST completed
                """ + ENABLE + """
                C: a5 DELETE Work
                S: a5 NO [HASCHILDREN] delete the mailboxes below it first
                C: a6 DELETE Work.Projects
                S: a6 OK DELETE completed
                C: a7 DELETE Work
                S: a7 OK DELETE completed
                C: a8 LIST "" "Work*"
                S: a8 OK LIST completed
                """);
    }

    @Test
    void searchResSavesAResultForDollarInLaterCommands() throws Exception {
        // RFC 5182 §4's shape: save, then use $ in FETCH, STORE, SEARCH and UID commands
        replay(ImapTranscriptTest.SELECT + """
                C: a3 SEARCH RETURN (SAVE) SUBJECT report
                S: a3 OK SEARCH completed
                C: a4 FETCH $ (UID)
                S: * 2 FETCH (UID 2)
                S: a4 OK FETCH completed
                C: a5 UID STORE $ +FLAGS.SILENT (\\Seen)
                S: a5 OK UID STORE completed
                C: a6 SEARCH SEEN NOT $
                S: * SEARCH
                S: a6 OK SEARCH completed
                C: a7 SEARCH RETURN (SAVE MAX COUNT) ALL
                S: * ESEARCH (TAG "a7") MAX 2 COUNT 2
                S: a7 OK SEARCH completed
                C: a8 UID SEARCH UID $
                S: * SEARCH 1 2
                S: a8 OK UID SEARCH completed
                C: a9 SORT RETURN (SAVE) (DATE) UTF-8 ALL
                S: a9 BAD unknown SORT return option SAVE
                C: b1 UNSELECT
                S: b1 OK UNSELECT completed
                """);
    }
}
