package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapTranscriptTest.GREETING;
import static dev.twine.mail.imap.ImapTranscriptTest.LOGIN;
import static dev.twine.mail.imap.ImapTranscriptTest.SELECT;

import dev.twine.mail.maildir.MailFixture;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * ESEARCH (RFC 4731), STATUS=SIZE (RFC 8438) and APPENDLIMIT (RFC 7889), after the RFCs'
 * examples, replayed whole, byte by byte and in random chunks on a Maildir and in memory.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ImapExtensionsTranscriptTest {
    @TempDir
    Path tmp;

    private void replay(String script) throws Exception {
        ImapTranscriptTest.replay(tmp, script, MailFixture.HELLO, MailFixture.MULTIPART, MailFixture.HELLO);
    }

    @Test
    void esearchReturnsMinMaxCountAndAllAsAskedAndClassicSearchStays() throws Exception {
        replay(GREETING + LOGIN + SELECT.replace("2 EXISTS", "3 EXISTS").replace("2 RECENT", "3 RECENT")
                .replace("UIDNEXT 3", "UIDNEXT 4") + """
                C: a3 STORE 2 +FLAGS (\\Seen)
                S: * 2 FETCH (FLAGS (\\Seen \\Recent))
                S: a3 OK STORE completed
                C: a4 SEARCH RETURN (MIN COUNT) UNSEEN
                S: * ESEARCH (TAG "a4") MIN 1 COUNT 2
                S: a4 OK SEARCH completed
                C: a5 UID SEARCH RETURN () UNSEEN
                S: * ESEARCH (TAG "a5") UID ALL 1,3
                S: a5 OK UID SEARCH completed
                C: a6 SEARCH RETURN (MAX ALL COUNT) CHARSET UTF-8 ALL
                S: * ESEARCH (TAG "a6") MAX 3 COUNT 3 ALL 1:3
                S: a6 OK SEARCH completed
                C: a7 SEARCH RETURN (MIN MAX ALL COUNT) SUBJECT nothing-like-this
                S: * ESEARCH (TAG "a7") COUNT 0
                S: a7 OK SEARCH completed
                C: a8 SEARCH RETURN (SAVE) ALL
                S: a8 OK SEARCH completed
                C: a9 SEARCH UNSEEN
                S: * SEARCH 1 3
                S: a9 OK SEARCH completed
                """);
    }

    @Test
    void statusTellsTheMailboxSizeAndTheAppendLimit() throws Exception {
        long size = 2L * MailFixture.HELLO.length() + MailFixture.MULTIPART.length();
        replay(GREETING + LOGIN + """
                C: a2 STATUS INBOX (MESSAGES SIZE APPENDLIMIT)
                S: * STATUS "INBOX" (MESSAGES 3 SIZE %d APPENDLIMIT 67108864)
                S: a2 OK STATUS completed
                C: a3 STATUS Trash (SIZE)
                S: * STATUS "Trash" (SIZE 0)
                S: a3 OK STATUS completed
                """.formatted(size));
    }
}
