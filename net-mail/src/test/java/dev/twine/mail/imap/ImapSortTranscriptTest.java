package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapTranscriptTest.GREETING;
import static dev.twine.mail.imap.ImapTranscriptTest.LOGIN;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SORT, ESORT and THREAD (RFC 5256, 5267, 5957) over a mailbox of replies, forwards and a
 * missing parent, replayed whole, byte by byte and in random chunks on a Maildir and in memory.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ImapSortTranscriptTest {
    @TempDir
    Path tmp;

    /**
     * Eight messages: a lunch thread (1, 2 replying to 1, 4 replying to 2, 8 a reply naming no
     * parent), a report (7, no Date or Message-ID, so its internal date, the earliest, is its sent
     * date) and its forward (3), two replies to a message not in the mailbox (5, 6). Message 4's
     * Date is 10:30 UTC in another zone, between 1 and 2.
     */
    static final String[] THREADED = {
        message("Carol Example <carol@example.org>", "lunch", "1 Mar 2020 10:00:00 +0000", "<a@x>", null),
        message("alice@example.org", "Re: lunch", "1 Mar 2020 11:00:00 +0000", "<b@x>", "<a@x>"),
        message("\"Zed\" <bob@example.org>", "[list] Fwd: report (fwd)", "28 Feb 2020 09:00:00 +0000", "<c@x>", null),
        message("Dave <dave@example.org>", "Re: lunch", "1 Mar 2020 12:30:00 +0200", "<d@x>", "<a@x> <b@x>"),
        message(null, "Re: missing", "3 Mar 2020 10:00:00 +0000", "<e@x>", "<gone@x>"),
        message("eve@example.org", "RE: Re:  missing", "4 Mar 2020 10:00:00 +0000", "<f@x>", "<gone@x>"),
        message("Carol Example <carol@example.org>", "report", null, null, null),
        message("\"Al\" <zoe@example.org>", "Re: lunch", "5 Mar 2020 10:00:00 +0000", "<g@x>", null),
    };

    static String message(String from, String subject, String date, String id, String references) {
        StringBuilder sb = new StringBuilder();
        if (from != null) {
            sb.append("From: ").append(from).append("\r\n");
        }
        sb.append("To: list@example.org\r\nSubject: ").append(subject).append("\r\n");
        if (date != null) {
            sb.append("Date: ").append(date).append("\r\n");
        }
        if (id != null) {
            sb.append("Message-ID: ").append(id).append("\r\n");
        }
        if (references != null) {
            sb.append("References: ").append(references).append("\r\n");
        }
        return sb.append("\r\nbody\r\n").toString();
    }

    static final String SELECT = """
            C: a2 SELECT INBOX
            S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
            S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] flags permanent
            S: * 8 EXISTS
            S: * 8 RECENT
            S: * OK [UNSEEN 1] first unseen
            S: * OK [UIDVALIDITY 1000] UIDs valid
            S: * OK [UIDNEXT 9] predicted next UID
            S: a2 OK [READ-WRITE] SELECT completed
            """;

    private void replay(String script) throws Exception {
        ImapTranscriptTest.replay(tmp, GREETING + LOGIN + SELECT + script, THREADED);
    }

    @Test
    void sortsByBaseSubjectDateInUtcSenderAndDisplayNameWithMailboxOrderForTies() throws Exception {
        replay("""
                C: a3 SORT (SUBJECT) UTF-8 ALL
                S: * SORT 1 2 4 8 5 6 3 7
                S: a3 OK SORT completed
                C: a4 SORT (DATE) UTF-8 ALL
                S: * SORT 7 3 1 4 2 5 6 8
                S: a4 OK SORT completed
                C: a5 SORT (REVERSE DATE) US-ASCII ALL
                S: * SORT 8 6 5 2 4 1 3 7
                S: a5 OK SORT completed
                C: a6 sort (subject date) utf-8 all
                S: * SORT 1 4 2 8 5 6 7 3
                S: a6 OK SORT completed
                C: a7 SORT (FROM) UTF-8 ALL
                S: * SORT 5 2 3 1 7 4 6 8
                S: a7 OK SORT completed
                C: a8 SORT (DISPLAYFROM) UTF-8 ALL
                S: * SORT 5 8 2 1 7 4 6 3
                S: a8 OK SORT completed
                C: a9 SORT (TO REVERSE ARRIVAL) UTF-8 ALL
                S: * SORT 8 7 6 5 4 3 2 1
                S: a9 OK SORT completed
                C: b1 SORT (DATE) UTF-8 SUBJECT lunch
                S: * SORT 1 4 2 8
                S: b1 OK SORT completed
                """);
    }

    @Test
    void rfcExamplesAndErrors() throws Exception {
        // RFC 5256 §3: A284 finds nothing; an unknown charset is NO [BADCHARSET]
        replay("""
                C: A284 SORT (SUBJECT) US-ASCII TEXT "not in mailbox"
                S: * SORT
                S: A284 OK SORT completed
                C: A285 SORT (SUBJECT) ISO-2022-JP ALL
                S: A285 NO [BADCHARSET (UTF-8 US-ASCII)] unsupported charset
                C: a3 SORT (SUBJECT) ALL
                S: a3 NO [BADCHARSET (UTF-8 US-ASCII)] unsupported charset
                C: a4 SORT (COLOUR) UTF-8 ALL
                S: a4 BAD unknown sort criterion COLOUR
                C: a5 SORT () UTF-8 ALL
                S: a5 BAD SORT needs a sort criterion
                C: a6 SORT (REVERSE) UTF-8 ALL
                S: a6 BAD missing argument
                C: a7 THREAD SOMETIMES UTF-8 ALL
                S: a7 BAD unknown threading algorithm SOMETIMES
                C: a8 THREAD REFERENCES UTF-8
                S: a8 BAD SEARCH needs a key
                C: a9 THREAD REFERENCES UTF-8 SUBJECT nothing
                S: * THREAD
                S: a9 OK THREAD completed
                """);
    }

    @Test
    void esortReturnsFirstLastCountAndAllInSortedOrder() throws Exception {
        replay("""
                C: a3 SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL
                S: * ESEARCH (TAG "a3") MIN 7 MAX 8 COUNT 8 ALL 7,3,1,4,2,5:6,8
                S: a3 OK SORT completed
                C: a4 UID SORT RETURN () (REVERSE SUBJECT) UTF-8 UNDELETED
                S: * ESEARCH (TAG "a4") UID ALL 3,7,5:6,1:2,4,8
                S: a4 OK UID SORT completed
                C: a5 SORT RETURN (COUNT) (SUBJECT) UTF-8 SUBJECT nothing
                S: * ESEARCH (TAG "a5") COUNT 0
                S: a5 OK SORT completed
                C: a6 SORT RETURN (SAVE) (SUBJECT) UTF-8 ALL
                S: a6 BAD unknown SORT return option SAVE
                """);
    }

    @Test
    void threadsByReferencesMergingSubjectsAndKeepingADummyForTheMissingParent() throws Exception {
        replay("""
                C: a3 THREAD REFERENCES UTF-8 ALL
                S: * THREAD (7 3)(1 (2 4)(8))((5)(6))
                S: a3 OK THREAD completed
                C: a4 THREAD ORDEREDSUBJECT UTF-8 ALL
                S: * THREAD (7 3)(1 (4)(2)(8))(5 6)
                S: a4 OK THREAD completed
                C: a5 THREAD REFERENCES US-ASCII NOT SUBJECT report
                S: * THREAD (1 (2 4)(8))((5)(6))
                S: a5 OK THREAD completed
                C: a6 THREAD REFERENCES UTF-8 5
                S: * THREAD (5)
                S: a6 OK THREAD completed
                """);
    }

    @Test
    void uidSortAndUidThreadAnswerWithUids() throws Exception {
        replay("""
                C: a3 STORE 1 +FLAGS.SILENT (\\Deleted)
                S: a3 OK STORE completed
                C: a4 EXPUNGE
                S: * 1 EXPUNGE
                S: a4 OK EXPUNGE completed
                C: a5 SORT (DATE) UTF-8 ALL
                S: * SORT 6 2 3 1 4 5 7
                S: a5 OK SORT completed
                C: a6 UID SORT (DATE) UTF-8 ALL
                S: * SORT 7 3 4 2 5 6 8
                S: a6 OK UID SORT completed
                C: a7 UID THREAD REFERENCES UTF-8 ALL
                S: * THREAD (7 3)((2 4)(8))((5)(6))
                S: a7 OK UID THREAD completed
                C: a8 THREAD REFERENCES UTF-8 ALL
                S: * THREAD (6 2)((1 3)(7))((4)(5))
                S: a8 OK THREAD completed
                """);
    }
}
