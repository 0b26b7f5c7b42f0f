package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapTranscriptTest.GREETING;
import static dev.twine.mail.imap.ImapTranscriptTest.LOGIN;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * ENABLE UTF8=ACCEPT (RFC 6855): UTF-8 mailbox names kept as modified UTF-7 (so other clients
 * and Dovecot see the same folders), UTF-8 quoted strings both ways, envelopes of 8-bit headers
 * as they are, APPEND's {@code UTF8 (...)}, and the charset rules; replayed whole, byte by byte
 * and in random chunks on a Maildir and in memory.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class Utf8AcceptTranscriptTest {
    @TempDir
    Path tmp;

    static final String EIGHT_BIT = "From: Émile <emile@example.org>\r\nSubject: Grüße\r\n"
            + "Date: 1 Mar 2020 10:00:00 +0000\r\n\r\nhallo\r\n";

    private void replay(String script) throws Exception {
        ImapTranscriptTest.replay(tmp, GREETING + LOGIN + script, EIGHT_BIT);
    }

    private static final String ENABLE = """
            C: e1 ENABLE UTF8=ACCEPT
            S: * ENABLED UTF8=ACCEPT
            S: e1 OK ENABLE completed
            """;

    private static final String SELECT = """
            C: s1 SELECT INBOX
            S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
            S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] flags permanent
            S: * 1 EXISTS
            S: * 1 RECENT
            S: * OK [UNSEEN 1] first unseen
            S: * OK [UIDVALIDITY 1000] UIDs valid
            S: * OK [UIDNEXT 2] predicted next UID
            S: s1 OK [READ-WRITE] SELECT completed
            """;

    @Test
    void modifiedUtf7RoundTripsAndRefusesWhatIsNotCanonical() {
        assertEquals("&AOk-t&AOk-", ModifiedUtf7.encode("été"));
        assertEquals("&ZeVnLIqe-", ModifiedUtf7.encode("日本語"));
        assertEquals("Tom &- Jerry", ModifiedUtf7.encode("Tom & Jerry"));
        assertEquals("&2D3eAA-", ModifiedUtf7.encode("\uD83D\uDE00"));
        for (String name : new String[] {"été", "日本語", "Tom & Jerry", "a.b", "\uD83D\uDE00 x", "~peter/mail/台北/日本語"}) {
            assertEquals(name, ModifiedUtf7.decode(ModifiedUtf7.encode(name)), name);
        }
        // not modified UTF-7: kept as is, so the folder can still be named as listed
        for (String raw : new String[] {"&AOk", "&AOk=-", "&AGE-", "&-&-x&", "été"}) {
            assertEquals(raw, ModifiedUtf7.decode(raw), raw);
        }
        assertEquals("&&x", ModifiedUtf7.decode("&-&-x"));
    }

    @Test
    void utf8NamesAreStoredAsModifiedUtf7AndShownInUtf8OnceEnabled() throws Exception {
        replay("""
                C: a2 CREATE "&AOk-t&AOk-.&ZeVnLIqe-"
                S: a2 OK CREATE completed
                C: a3 LIST "" "&AOk-t*"
                S: * LIST (\\HasChildren) "." "&AOk-t&AOk-"
                S: * LIST (\\HasNoChildren) "." "&AOk-t&AOk-.&ZeVnLIqe-"
                S: a3 OK LIST completed
                """ + ENABLE + """
                C: a4 LIST "" "ét*"
                S: * LIST (\\HasChildren) "." "été"
                S: * LIST (\\HasNoChildren) "." "été.日本語"
                S: a4 OK LIST completed
                C: a5 LIST "été." %
                S: * LIST (\\HasNoChildren) "." "été.日本語"
                S: a5 OK LIST completed
                C: a6 CREATE "Tom & Jerry"
                S: a6 OK CREATE completed
                C: a7 STATUS "été.日本語" (MESSAGES)
                S: * STATUS "été.日本語" (MESSAGES 0)
                S: a7 OK STATUS completed
                C: a8 SUBSCRIBE "été"
                S: a8 OK SUBSCRIBE completed
                C: a9 LSUB "" "é*"
                S: * LSUB (\\HasChildren) "." "été"
                S: a9 OK LSUB completed
                C: b1 RENAME "Tom & Jerry" "Tom & Jerry 日本"
                S: b1 OK RENAME completed
                C: b2 LIST "" "Tom*"
                S: * LIST (\\HasNoChildren) "." "Tom & Jerry 日本"
                S: b2 OK LIST completed
                C: b3 GETQUOTAROOT "été"
                S: * QUOTAROOT "été"
                S: b3 OK GETQUOTAROOT completed
                """);
    }

    @Test
    void envelopeOf8BitHeadersIsSentAsItIsQuotedOnceEnabled() throws Exception {
        replay(SELECT + """
                C: a3 FETCH 1 (ENVELOPE)
                S: * 1 FETCH (ENVELOPE ("1 Mar 2020 10:00:00 +0000" {7}
                S: Grüße ((\"=?UTF-8?Q?=C3=89mile?=\" NIL "emile" "example.org")) ((\"=?UTF-8?Q?=C3=89mile?=\" NIL "emile" "example.org")) ((\"=?UTF-8?Q?=C3=89mile?=\" NIL "emile" "example.org")) NIL NIL NIL NIL NIL))
                S: a3 OK FETCH completed
                """ + ENABLE + """
                C: a4 FETCH 1 (ENVELOPE)
                S: * 1 FETCH (ENVELOPE ("1 Mar 2020 10:00:00 +0000" "Grüße" (("Émile" NIL "emile" "example.org")) (("Émile" NIL "emile" "example.org")) (("Émile" NIL "emile" "example.org")) NIL NIL NIL NIL NIL))
                S: a4 OK FETCH completed
                C: a5 SEARCH SUBJECT "grüße"
                S: * SEARCH 1
                S: a5 OK SEARCH completed
                C: a6 SEARCH CHARSET UTF-8 SUBJECT "grüße"
                S: a6 BAD no CHARSET once UTF8=ACCEPT is enabled
                C: a7 SORT (SUBJECT) US-ASCII ALL
                S: a7 BAD only UTF-8 once UTF8=ACCEPT is enabled
                C: a8 THREAD REFERENCES UTF-8 FROM "Émile"
                S: * THREAD (1)
                S: a8 OK THREAD completed
                """);
    }

    @Test
    void appendTakesUtf8DataOnlyOnceEnabled() throws Exception {
        replay("""
                C: a2 APPEND INBOX UTF8 (~{24+}
                C: Subject: Grüße
                C: 
                C: hi
                C: )
                S: a2 BAD UTF8 needs ENABLE UTF8=ACCEPT
                """ + ENABLE + """
                C: a3 CREATE "Grüße"
                S: a3 OK CREATE completed
                C: a4 APPEND INBOX (\\Seen) UTF8 (~{24+}
                C: Subject: Grüße
                C: 
                C: hi
                C: )
                S: a4 OK [APPENDUID 1000 2] APPEND completed
                C: a5 APPEND "Grüße" UTF8 ({24+}
                C: Subject: Grüße
                C: 
                C: hi
                C: )
                S: a5 BAD UTF8 takes a literal8 in parentheses
                C: a6 APPEND INBOX {10+}
                C: Subject: x
                S: a6 OK [APPENDUID 1000 3] APPEND completed
                C: a7 STATUS INBOX (MESSAGES UNSEEN)
                S: * STATUS "INBOX" (MESSAGES 3 UNSEEN 2)
                S: a7 OK STATUS completed
                C: a8 STATUS "Grüße" (MESSAGES)
                S: * STATUS "Grüße" (MESSAGES 0)
                S: a8 OK STATUS completed
                """);
    }
}
