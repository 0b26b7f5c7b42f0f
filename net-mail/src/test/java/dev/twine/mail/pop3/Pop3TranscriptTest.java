package dev.twine.mail.pop3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.LineReader;
import dev.twine.core.LineWriter;
import dev.twine.core.Tls;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import dev.twine.core.testing.Transcript;
import dev.twine.mail.maildir.MailFixture;
import dev.twine.mail.store.StoredMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** POP3 conversations replayed whole, byte by byte and in random chunks, each on a fresh store. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class Pop3TranscriptTest {
    @TempDir
    Path tmp;

    private int runs;

    private MailFixture fixture() throws Exception {
        MailFixture f = MailFixture.create(tmp.resolve("run" + runs++));
        f.inbox("alice", 1000, MailFixture.HELLO, MailFixture.MULTIPART);
        return f;
    }

    private String replayed(String script) throws Exception {
        String names = null;
        for (Chunking c : Chunking.standard()) {
            for (MailFixture f : MailFixture.both(tmp.resolve("run" + runs++))) {
                f.inbox("alice", 1000, MailFixture.HELLO, MailFixture.MULTIPART);
                List<StoredMessage> msgs = f.mailbox("alice", "").messages();
                String s = script.replace("UID1", Pop3Session.uid(msgs.get(0))).replace("UID2", Pop3Session.uid(msgs.get(1)));
                Transcript.parse(s).run(Pop3Server.builder().store(f.store).portal(f.portal).build().handler(), c);
                String left = String.valueOf(f.mailbox("alice", "").messages().size());
                if (names != null && !names.equals(left)) {
                    throw new AssertionError(f + " kept " + left + " messages, the other store " + names);
                }
                names = left;
            }
        }
        return names;
    }

    @Test
    void userPassStatListUidlRetrAndQuitDeletesOnlyAtUpdate() throws Exception {
        int h = MailFixture.HELLO.length();
        int m = MailFixture.MULTIPART.length();
        String left = replayed("""
                S: +OK Twine POP3 server ready
                C: USER alice
                S: +OK send PASS
                C: PASS secret
                S: +OK 2 messages
                C: STAT
                S: +OK 2 %d
                C: LIST
                S: +OK listing follows
                S: 1 %d
                S: 2 %d
                S: .
                C: UIDL 2
                S: +OK 2 UID2
                C: RETR 1
                S: +OK %d octets
                S: From: Alice Example <alice@example.org>
                S: To: bob@example.org, carol@example.net
                S: Subject: Hello there
                S: Date: Mon, 7 Feb 1994 21:52:25 -0800
                S: Message-ID: <1@example.org>
                S: 
                S: Hi Bob.
                S: ..dotted line
                S: .
                C: DELE 1
                S: +OK message 1 deleted
                C: RETR 1
                S: -ERR message 1 already deleted
                C: UIDL
                S: +OK listing follows
                S: 2 UID2
                S: .
                C: QUIT
                S: +OK bye, 1 messages deleted
                S: <closed>
                """.formatted(h + m, h, m, h));
        assertEquals("1", left);
    }

    @Test
    void rsetUndeletesAndTopSendsHeaderAndLines() throws Exception {
        String left = replayed("""
                S: +OK Twine POP3 server ready
                C: USER alice
                C: PASS secret
                C: DELE 2
                C: RSET
                S: +OK send PASS
                S: +OK 2 messages
                S: +OK message 2 deleted
                S: +OK 2 messages
                C: TOP 1 1
                S: +OK top of message follows
                S: From: Alice Example <alice@example.org>
                S: To: bob@example.org, carol@example.net
                S: Subject: Hello there
                S: Date: Mon, 7 Feb 1994 21:52:25 -0800
                S: Message-ID: <1@example.org>
                S: 
                S: Hi Bob.
                S: .
                C: NOOP
                S: +OK
                C: FROB
                S: -ERR unknown command or wrong state
                C: RETR 9
                S: -ERR no such message
                C: QUIT
                S: +OK bye, 0 messages deleted
                S: <closed>
                """);
        assertEquals("2", left);
    }

    @Test
    void capaAuthPlainAndBadPasswords() throws Exception {
        String plain = Base64.getEncoder().encodeToString("\0alice\0secret".getBytes(StandardCharsets.UTF_8));
        replayed("""
                S: +OK Twine POP3 server ready
                C: CAPA
                S: +OK capability list follows
                S: TOP
                S: UIDL
                S: RESP-CODES
                S: AUTH-RESP-CODE
                S: PIPELINING
                S: USER
                S: SASL SCRAM-SHA-256 PLAIN
                S: IMPLEMENTATION Twine
                S: .
                C: STAT
                S: -ERR unknown command or wrong state
                C: USER alice
                S: +OK send PASS
                C: PASS nope
                S: -ERR [AUTH] authentication failed
                C: AUTH PLAIN %s
                S: +OK 2 messages
                C: QUIT
                S: +OK bye, 0 messages deleted
                S: <closed>
                """.formatted(plain));
    }

    @Test
    void aSecondSessionFindsTheMailboxLocked() throws Exception {
        MailFixture f = fixture();
        var handler = Pop3Server.builder().store(f.maildir).portal(f.portal).build().handler();
        try (var first = MemoryConnections.serve(handler, Chunking.whole());
                var second = MemoryConnections.serve(handler, Chunking.whole())) {
            LineReader r1 = LineReader.of(first.client(), 1000);
            LineWriter w1 = LineWriter.of(first.client());
            r1.readLine();
            w1.writeLine("USER alice").writeLine("PASS secret").flush();
            r1.readLine();
            assertEquals("+OK 2 messages", r1.readLine());
            LineReader r2 = LineReader.of(second.client(), 1000);
            LineWriter w2 = LineWriter.of(second.client());
            r2.readLine();
            w2.writeLine("USER alice").writeLine("PASS secret").flush();
            r2.readLine();
            assertEquals("-ERR [IN-USE] mailbox is locked by another POP3 session", r2.readLine());
            // a vanished first client releases the lock without deleting anything
            w1.writeLine("DELE 1").flush();
            r1.readLine();
            first.client().close();
            first.awaitHandler(java.time.Duration.ofSeconds(10));
            w2.writeLine("USER alice").writeLine("PASS secret").flush();
            r2.readLine();
            assertEquals("+OK 2 messages", r2.readLine());
        }
    }

    @Test
    void userIsRefusedBeforeStlsWhenTlsIsConfigured() throws Exception {
        MailFixture f = fixture();
        Tls tls = Tls.of(SSLContext.getDefault(), false);
        Transcript.parse("""
                S: +OK Twine POP3 server ready
                C: CAPA
                S: +OK capability list follows
                S: TOP
                S: UIDL
                S: RESP-CODES
                S: AUTH-RESP-CODE
                S: PIPELINING
                S: STLS
                S: IMPLEMENTATION Twine
                S: .
                C: USER alice
                S: -ERR [AUTH] use STLS first
                C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
                S: -ERR [AUTH] use STLS first
                """).run(Pop3Server.builder().store(f.maildir).portal(f.portal).tls(tls).build().handler());
        assertTrue(f.mailbox("alice", "").messages().size() == 2);
    }
}
