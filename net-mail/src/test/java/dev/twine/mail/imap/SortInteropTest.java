package dev.twine.mail.imap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.mail.maildir.MailFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SORT, ESORT and THREAD (RFC 5256, 5267, 5957) from a raw Python client ({@link DovecotPeer#imap}),
 * against Twine and against Dovecot on a copy of one Maildir of threaded mail (replies, Re:/Fwd:
 * prefixes, list tags, a missing parent, a duplicate Message-ID, a References loop, encoded words): the
 * untagged answers and the tagged results must be the same (ESEARCH return data in one order,
 * which RFC 4731 leaves free; Dovecot's {@code "* THREAD "} for no threads without its space,
 * which RFC 5256 §5's grammar does not have). Dovecot's {@code REVERSE DISPLAYFROM} puts a name
 * starting with an accented letter first, though its {@code DISPLAYFROM} sorts it among the
 * plain letters, so that one is not compared.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SortInteropTest {
    @TempDir
    Path tmp;

    private static final String[] COMMANDS = {
        "SORT (SUBJECT) UTF-8 ALL",
        "SORT (DATE) UTF-8 ALL",
        "SORT (REVERSE DATE) UTF-8 ALL",
        "SORT (SUBJECT DATE) UTF-8 ALL",
        "SORT (FROM) UTF-8 ALL",
        "SORT (DISPLAYFROM) UTF-8 ALL",
        "SORT (REVERSE FROM DATE) UTF-8 ALL",
        "SORT (CC DATE) UTF-8 ALL",
        "SORT (TO) UTF-8 ALL",
        "SORT (DISPLAYTO REVERSE SUBJECT) UTF-8 ALL",
        "SORT (SIZE) UTF-8 ALL",
        "SORT (REVERSE SIZE) UTF-8 ALL",
        "SORT (ARRIVAL) UTF-8 ALL",
        "SORT (REVERSE ARRIVAL) UTF-8 ALL",
        "UID SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994",
        "SORT (SUBJECT) US-ASCII TEXT \"not in mailbox\"",
        "SORT (DATE) UTF-8 SUBJECT lunch",
        "SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL",
        "UID SORT RETURN (COUNT ALL) (REVERSE SUBJECT) UTF-8 UNDELETED",
        "THREAD REFERENCES UTF-8 ALL",
        "THREAD ORDEREDSUBJECT UTF-8 ALL",
        "UID THREAD REFERENCES UTF-8 ALL",
        "THREAD REFERENCES UTF-8 NOT SUBJECT report",
        "THREAD REFERENCES UTF-8 2:6",
        "THREAD ORDEREDSUBJECT US-ASCII SUBJECT nothing",
    };

    @Test
    void pythonGetsTheSameSortsAndThreadsFromTwineAndDovecot() throws Exception {
        MailFixture f = MailFixture.create(tmp.resolve("twine"));
        List<String> mail = new ArrayList<>(List.of(ImapSortTranscriptTest.THREADED));
        mail.add(ImapSortTranscriptTest.message("x@example.org", "[Fwd: lunch]", "6 Mar 2020 10:00:00 +0000", "<h@x>", "<g@x>"));
        mail.add(ImapSortTranscriptTest.message("y@example.org", "other", "7 Mar 2020 10:00:00 +0000", "<a@x>", null));
        mail.add(ImapSortTranscriptTest.message("z@example.org", "loop", "8 Mar 2020 10:00:00 +0000", "<i@x>", "<j@x>"));
        mail.add(ImapSortTranscriptTest.message("z@example.org", "Re: loop", "9 Mar 2020 10:00:00 +0000", "<j@x>", "<i@x>"));
        mail.add(ImapSortTranscriptTest.message("w@example.org", "", "10 Mar 2020 10:00:00 +0000", null, null));
        mail.add("From: =?UTF-8?Q?=C3=89mile?= <emile@example.org>\r\nTo: \"Zoe\" <a@example.org>\r\n"
                + "Cc: Bob <bob@example.org>\r\nSubject: =?UTF-8?Q?Re:_caf=C3=A9?=\r\n"
                + "Date: 2 Mar 2020 08:00:00 -0500\r\nMessage-ID: <k@x>\r\nIn-Reply-To: <a@x> (lunch)\r\n\r\nbody\r\n");
        mail.add("From: ann@example.org\r\nCc: carl@example.org\r\nSubject: Re: [list] lunch (fwd)\r\n"
                + "Date: Mon, 2 Mar 2020 09:00:00 GMT\r\nMessage-ID: <l@x>\r\n\r\nsome longer body text\r\n");
        for (String m : mail) {
            f.deliver("alice", m);
        }
        // distinct internal dates, 1994-02-08 on, in delivery order, kept by the copy Dovecot reads
        List<Path> files;
        try (Stream<Path> all = Files.list(f.maildir.inbox("alice").resolve("new"))) {
            files = all.sorted().toList();
        }
        Instant date = Instant.parse("1994-02-08T12:00:00Z");
        for (Path p : files) {
            Files.setLastModifiedTime(p, FileTime.from(date));
            date = date.plusSeconds(86400);
        }
        DovecotPeer.Answers answers = DovecotPeer.ask(tmp, f, "", DovecotPeer.imap(Set.of("SORT", "THREAD", "ESEARCH"), COMMANDS));
        String twine = answers.twine();
        assertTrue(twine.contains("* THREAD (7 3)"), twine);
        assertEquals(answers.dovecot(), twine);
    }
}
