package dev.twine.mail.imap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.mail.maildir.MailFixture;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SEARCHRES (RFC 5182, part of IMAP4rev2): {@code SEARCH RETURN (SAVE ...)} and {@code $} in
 * FETCH, STORE, COPY, SEARCH and their UID forms, from a raw Python client
 * ({@link DovecotPeer#imap}) against Twine and against Dovecot on a copy of one Maildir: the same
 * FETCH, SEARCH and ESEARCH answers and the same tagged results.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SearchResInteropTest {
    @TempDir
    Path tmp;

    private static final String[] COMMANDS = {
        "SEARCH RETURN (SAVE) SUBJECT two",
        "FETCH $ (UID)",
        "UID FETCH $ (FLAGS)",
        "STORE $ +FLAGS.SILENT (\\Flagged)",
        "SEARCH FLAGGED",
        "SEARCH $",
        "UID SEARCH UID $",
        "SEARCH NOT $",
        "SEARCH RETURN (SAVE MIN) ALL",
        "FETCH $ (UID)",
        "SEARCH RETURN (SAVE MAX MIN) ALL",
        "UID FETCH $ (UID)",
        "SEARCH RETURN (SAVE COUNT) UNFLAGGED",
        "FETCH $ (UID)",
        "COPY $ Trash",
        "SEARCH RETURN (SAVE) SUBJECT nothing",
        "FETCH $ (UID)",
        "UID SEARCH RETURN (SAVE ALL) OR SUBJECT one SUBJECT three",
        "UID FETCH $ (UID)",
        "UNSELECT",
        "SELECT INBOX",
        "FETCH $ (UID)",
    };

    @Test
    void pythonGetsTheSameSavedResultsFromTwineAndDovecot() throws Exception {
        MailFixture f = MailFixture.create(tmp.resolve("twine"));
        for (String subject : new String[] {"one", "two", "three", "two again", "four"}) {
            f.deliver("alice", "Subject: " + subject + "\r\n\r\nbody\r\n");
        }
        f.maildir.account("alice").create("Trash");
        DovecotPeer.Answers answers = DovecotPeer.ask(tmp, f, "", DovecotPeer.imap(Set.of("SEARCH", "ESEARCH", "FETCH"), COMMANDS));
        String twine = answers.twine();
        assertTrue(twine.contains("  * 2 FETCH (UID 2)\n  * 4 FETCH (UID 4)\nFETCH $ (UID) -> OK\n"), twine);
        assertEquals(answers.dovecot(), twine);
    }
}
