package dev.twine.mail.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.twine.core.auth.AuthenticationException;
import dev.twine.core.auth.Realm;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.Transcript;
import dev.twine.mail.imap.ImapServer;
import dev.twine.mail.maildir.MailFixture;
import dev.twine.mail.pop3.Pop3Server;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * How IMAP and POP3 answer what the realm says after the portal accepted a login: a refusal is a
 * failed login, an unavailable store a temporary failure; and what a server builder requires.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RealmLoginTest {
    private static final String IMAP_GREETING = "S: * OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID IDLE NAMESPACE"
            + " UIDPLUS MOVE UNSELECT ENABLE SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS CHILDREN CONDSTORE QRESYNC ESEARCH BINARY QUOTA QUOTA=RES-STORAGE STATUS=SIZE APPENDLIMIT=67108864 SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES UTF8=ACCEPT COMPRESS=DEFLATE SEARCHRES AUTH=SCRAM-SHA-256 AUTH=PLAIN] Twine IMAP4rev1 ready\n";

    @TempDir
    Path tmp;

    /** Alice gets the memory store's account; bob has no mail; carol's store is down. */
    private Realm<MailStore.Account> realm(MailStore store) {
        return p -> switch (p.name()) {
            case "alice" -> store.account("alice");
            case "bob" -> throw new AuthenticationException("no mail for bob");
            default -> throw new IOException("store unavailable");
        };
    }

    private MailFixture fixture() throws IOException {
        MailFixture f = MailFixture.memory(tmp);
        dev.twine.core.auth.UsersFile.addUser(f.usersFile, "carol", "pw".toCharArray());
        return f;
    }

    @Test
    void imapAnswersARealmRefusalAsAFailedLoginAndAnUnavailableStoreAsTemporary() throws Exception {
        MailFixture f = fixture();
        var portal = f.portal(MailFixture.noDelay().build());
        var handler = ImapServer.builder().portal(portal).realm(realm(f.store)).build().handler();
        Transcript.parse(IMAP_GREETING + """
                C: a LOGIN bob hunter2
                S: a NO [AUTHENTICATIONFAILED] authentication failed
                C: b LOGIN carol pw
                S: b NO [UNAVAILABLE] mail store unavailable, try again later
                C: c LOGIN alice secret
                S: c OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID IDLE NAMESPACE UIDPLUS MOVE UNSELECT ENABLE SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS CHILDREN CONDSTORE QRESYNC ESEARCH BINARY QUOTA QUOTA=RES-STORAGE STATUS=SIZE APPENDLIMIT=67108864 SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES UTF8=ACCEPT COMPRESS=DEFLATE SEARCHRES] logged in
                C: d STATUS INBOX (MESSAGES)
                S: * STATUS "INBOX" (MESSAGES 0)
                S: d OK STATUS completed
                C: e LOGOUT
                S: * BYE logging out
                S: e OK LOGOUT completed
                S: <closed>
                """).run(handler, Chunking.whole());
    }

    @Test
    void pop3AnswersARealmRefusalAsAFailedLoginAndAnUnavailableStoreAsTemporary() throws Exception {
        MailFixture f = fixture();
        var portal = f.portal(MailFixture.noDelay().build());
        var handler = Pop3Server.builder().portal(portal).realm(realm(f.store)).build().handler();
        Transcript.parse("""
                S: +OK Twine POP3 server ready
                C: USER bob
                S: +OK send PASS
                C: PASS hunter2
                S: -ERR [AUTH] authentication failed
                C: USER carol
                S: +OK send PASS
                C: PASS pw
                S: -ERR [SYS/TEMP] mail store unavailable, try again later
                C: USER alice
                S: +OK send PASS
                C: PASS secret
                S: +OK 0 messages
                C: QUIT
                S: +OK bye, 0 messages deleted
                S: <closed>
                """).run(handler, Chunking.whole());
    }

    @Test
    void aServerWithoutPortalOrStoreIsABuildError() throws Exception {
        MailFixture f = fixture();
        assertEquals("portal(...) is required", assertThrows(IllegalStateException.class,
                () -> ImapServer.builder().store(f.store).build()).getMessage());
        assertEquals("store(...) or realm(...) is required", assertThrows(IllegalStateException.class,
                () -> Pop3Server.builder().portal(f.portal).build()).getMessage());
        assertThrows(IllegalStateException.class,
                () -> ImapServer.builder().portal(f.portal).store(f.store).build().start(),
                "a server built without listen(...) has only a handler");
    }
}
