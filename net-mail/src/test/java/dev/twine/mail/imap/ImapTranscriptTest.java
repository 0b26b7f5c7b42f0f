package dev.twine.mail.imap;

import dev.twine.core.ConnectionHandler;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.Transcript;
import dev.twine.mail.maildir.MailFixture;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exact IMAP conversations, each replayed whole, byte by byte and in random chunks on a fresh
 * store: a Maildir and the in-memory store.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ImapTranscriptTest {
    static final String CAPS = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID IDLE NAMESPACE UIDPLUS MOVE UNSELECT ENABLE SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS CHILDREN CONDSTORE QRESYNC ESEARCH BINARY QUOTA QUOTA=RES-STORAGE STATUS=SIZE APPENDLIMIT=67108864 SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES UTF8=ACCEPT COMPRESS=DEFLATE SEARCHRES";
    static final String GREETING = "S: * OK [CAPABILITY " + CAPS + " AUTH=SCRAM-SHA-256 AUTH=PLAIN] Twine IMAP4rev1 ready\n";
    static final String LOGIN = "C: a1 LOGIN alice secret\nS: a1 OK [CAPABILITY " + CAPS + "] logged in\n";
    static final String SELECT = """
            C: a2 SELECT INBOX
            S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
            S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] flags permanent
            S: * 2 EXISTS
            S: * 2 RECENT
            S: * OK [UNSEEN 1] first unseen
            S: * OK [UIDVALIDITY 1000] UIDs valid
            S: * OK [UIDNEXT 3] predicted next UID
            S: a2 OK [READ-WRITE] SELECT completed
            """;

    @TempDir
    Path tmp;

    private void replay(String script) throws Exception {
        replay(tmp, script, MailFixture.HELLO, MailFixture.MULTIPART);
    }

    /**
     * Replays {@code script} whole, byte by byte and in random chunks, each time on a fresh
     * Maildir and a fresh in-memory store under {@code dir} whose alice has {@code messages}.
     */
    static void replay(Path dir, String script, String... messages) throws Exception {
        for (Chunking c : Chunking.standard()) {
            for (MailFixture f : MailFixture.both(java.nio.file.Files.createTempDirectory(dir, "run"))) {
                f.inbox("alice", 1000, messages);
                ConnectionHandler h = ImapServer.builder().store(f.store).portal(f.portal).build().handler();
                Transcript.parse(script).run(h, c);
            }
        }
    }

    @Test
    void logsInSelectsAndFetchesFlagsSizeAndDate() throws Exception {
        replay(GREETING + LOGIN + SELECT + """
                C: a3 FETCH 1:2 (FLAGS RFC822.SIZE INTERNALDATE)
                S: * 1 FETCH (FLAGS (\\Recent) RFC822.SIZE %d INTERNALDATE "08-Feb-1994 12:00:00 +0000")
                S: * 2 FETCH (FLAGS (\\Recent) RFC822.SIZE %d INTERNALDATE "09-Feb-1994 12:00:00 +0000")
                S: a3 OK FETCH completed
                C: a4 LOGOUT
                S: * BYE logging out
                S: a4 OK LOGOUT completed
                S: <closed>
                """.formatted(MailFixture.HELLO.length(), MailFixture.MULTIPART.length()));
    }

    @Test
    void fetchesEnvelopeAndBodyStructureFromMimeParsing() throws Exception {
        replay(GREETING + LOGIN + SELECT + """
                C: a3 UID FETCH 1 ENVELOPE
                S: * 1 FETCH (UID 1 ENVELOPE ("Mon, 7 Feb 1994 21:52:25 -0800" "Hello there" (("Alice Example" NIL "alice" "example.org")) (("Alice Example" NIL "alice" "example.org")) (("Alice Example" NIL "alice" "example.org")) ((NIL NIL "bob" "example.org")(NIL NIL "carol" "example.net")) NIL NIL NIL "<1@example.org>"))
                S: a3 OK UID FETCH completed
                C: a4 FETCH 2 BODYSTRUCTURE
                S: * 2 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 11 1 NIL NIL NIL NIL)("APPLICATION" "OCTET-STREAM" ("NAME" "r.bin") NIL NIL "BASE64" 8 NIL ("attachment" ("FILENAME" "r.bin")) NIL NIL) "MIXED" ("BOUNDARY" "XYZ") NIL NIL NIL))
                S: a4 OK FETCH completed
                C: a5 FETCH 2 BODY
                S: * 2 FETCH (BODY (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 11 1)("APPLICATION" "OCTET-STREAM" ("NAME" "r.bin") NIL NIL "BASE64" 8) "MIXED"))
                S: a5 OK FETCH completed
                """);
    }

    @Test
    void fetchesSectionsAndPartialsAndPeekLeavesSeenUnset() throws Exception {
        replay(GREETING + LOGIN + SELECT + """
                C: a3 FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)])
                S: * 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {24}
                S: Subject: Hello there
                S: 
                S: )
                S: a3 OK FETCH completed
                C: a4 FETCH 2 (BODY.PEEK[2]<2.4> BODY.PEEK[1.MIME])
                S: * 2 FETCH (BODY[2]<2> {4}
                S: ECAw BODY[1.MIME] {43}
                S: Content-Type: text/plain; charset=utf-8
                S: 
                S: )
                S: a4 OK FETCH completed
                C: a5 FETCH 1 FLAGS
                S: * 1 FETCH (FLAGS (\\Recent))
                S: a5 OK FETCH completed
                C: a6 FETCH 1 BODY[TEXT]
                S: * 1 FETCH (FLAGS (\\Seen \\Recent) BODY[TEXT] {23}
                S: Hi Bob.
                S: .dotted line
                S: )
                S: a6 OK FETCH completed
                """);
    }

    @Test
    void readsSynchronizingAndNonSynchronizingLiterals() throws Exception {
        replay(GREETING + """
                C: a1 LOGIN {5}
                S: + Ready for literal data
                C: alice {6}
                S: + Ready for literal data
                C: secret
                S: a1 OK [CAPABILITY %s] logged in
                C: a2 CREATE {4+}
                C: Work
                S: a2 OK CREATE completed
                C: a3 LIST "" W*
                S: * LIST (\\HasNoChildren) "." "Work"
                S: a3 OK LIST completed
                """.formatted(CAPS));
    }

    @Test
    void pipelinedCommandsAreAnsweredInOrder() throws Exception {
        replay(GREETING + """
                C: a1 LOGIN alice "secret"
                C: a2 NOOP
                C: a3 STATUS INBOX (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)
                S: a1 OK [CAPABILITY %s] logged in
                S: a2 OK NOOP completed
                S: * STATUS "INBOX" (MESSAGES 2 UNSEEN 2 UIDNEXT 3 UIDVALIDITY 1000)
                S: a3 OK STATUS completed
                """.formatted(CAPS));
    }

    @Test
    void badSyntaxGetsBadAndTheSessionContinues() throws Exception {
        replay(GREETING + """
                C: a1 FROB
                S: a1 BAD unknown command
                C: a2 LOGIN "alice
                S: a2 BAD unterminated quoted string
                C: a3 SELECT INBOX
                S: a3 BAD log in first
                C: ()
                S: * BAD missing or invalid tag
                C: a4 LOGIN alice wrong
                S: a4 NO [AUTHENTICATIONFAILED] authentication failed
                C: a5 CAPABILITY
                S: * CAPABILITY %s AUTH=SCRAM-SHA-256 AUTH=PLAIN
                S: a5 OK CAPABILITY completed
                """.formatted(CAPS));
    }

    @Test
    void searchesFlagsHeadersTextAndDates() throws Exception {
        replay(GREETING + LOGIN + SELECT + """
                C: a3 STORE 2 +FLAGS.SILENT (\\Flagged)
                S: a3 OK STORE completed
                C: a4 SEARCH FLAGGED
                S: * SEARCH 2
                S: a4 OK SEARCH completed
                C: a5 SEARCH OR SUBJECT hello SUBJECT café
                S: * SEARCH 1 2
                S: a5 OK SEARCH completed
                C: a6 UID SEARCH BODY "dotted" NOT FLAGGED
                S: * SEARCH 1
                S: a6 OK UID SEARCH completed
                C: a7 SEARCH SINCE 9-Feb-1994
                S: * SEARCH 2
                S: a7 OK SEARCH completed
                C: a8 SEARCH SENTBEFORE 8-Feb-1994 HEADER Message-ID example
                S: * SEARCH 1
                S: a8 OK SEARCH completed
                C: a9 SEARCH TEXT report LARGER 100 UNSEEN
                S: * SEARCH 2
                S: a9 OK SEARCH completed
                C: a10 SEARCH FROB
                S: a10 BAD unknown search key FROB
                """);
    }

    @Test
    void storeExpungeAndUidplusResponses() throws Exception {
        replay(GREETING + LOGIN + SELECT + """
                C: a3 STORE 1 +FLAGS (\\Deleted \\Seen)
                S: * 1 FETCH (FLAGS (\\Seen \\Deleted \\Recent))
                S: a3 OK STORE completed
                C: a5 EXPUNGE
                S: * 1 EXPUNGE
                S: a5 OK EXPUNGE completed
                C: a6 UID FETCH 1:* (UID FLAGS)
                S: * 1 FETCH (UID 2 FLAGS (\\Recent))
                S: a6 OK UID FETCH completed
                """);
    }
}
