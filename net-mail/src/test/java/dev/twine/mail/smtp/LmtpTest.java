package dev.twine.mail.smtp;

import static dev.twine.mail.smtp.SmtpTestSupport.delivered;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.Transcript;
import dev.twine.mail.maildir.MailFixture;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** LMTP (RFC 2033) on the SMTP session: LHLO only, and one reply per recipient after the message. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LmtpTest {
    @TempDir
    Path dir;

    private static final int RUNS = Chunking.standard().size();

    private SmtpServer.Builder lmtp() throws IOException {
        return SmtpServer.builder().domain(SmtpTestSupport.DOMAIN).role(SmtpServer.Role.LMTP)
                .delivery(SmtpTestSupport.local(dir).build());
    }

    private static final String LHLO = """
            S: 220 example.test LMTP Twine
            C: HELO c
            S: 500 5.5.1 This is LMTP: send LHLO
            C: EHLO c
            S: 500 5.5.1 This is LMTP: send LHLO
            C: LHLO c
            S: 250-example.test greets c
            S: 250-PIPELINING
            S: 250-SIZE 26214400
            S: 250-8BITMIME
            S: 250-CHUNKING
            S: 250-ENHANCEDSTATUSCODES
            S: 250-SMTPUTF8
            S: 250 DSN
            """;

    @Test
    void eachAcceptedRecipientGetsItsOwnReplyAfterTheMessageInRcptOrder() throws Exception {
        Transcript.parse(LHLO + """
                C: MAIL FROM:<someone@remote.example>
                C: RCPT TO:<bob@example.test>
                C: RCPT TO:<nobody@example.test>
                C: RCPT TO:<alice@example.test>
                C: DATA
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: Subject: over LMTP
                C:
                C: hi
                C: .
                S: 250 2.0.0 <bob@example.test> Ok: delivered
                S: 250 2.0.0 <alice@example.test> Ok: delivered
                C: QUIT
                S: 221 2.0.0 example.test Bye
                """).run(lmtp().build().handler());
        assertEquals(RUNS, delivered(dir, "alice").size());
        assertEquals(RUNS, delivered(dir, "bob").size());
        String stored = Files.readString(delivered(dir, "alice").get(0), StandardCharsets.UTF_8);
        assertTrue(stored.matches("(?s)Return-Path: <someone@remote.example>\r\nReceived: from c \\([^)]*\\)\r\n"
                + "\tby example.test \\(Twine\\) with LMTP id .*"), stored);
    }

    @Test
    void aPartialFailureIsToldToTheRecipientThatFailedOnly() throws Exception {
        MailDelivery<String> fullForBob = SmtpTestSupport.failingFor("bob@example.test",
                Reply.of(452, "4.2.2 <bob@example.test> Mailbox full"));
        Transcript.parse(LHLO + """
                C: MAIL FROM:<>
                C: RCPT TO:<alice@example.test>
                C: RCPT TO:<bob@example.test>
                C: RCPT TO:<carol@example.test>
                C: DATA
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 250 2.1.5 Ok
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: x
                C: .
                S: 250 2.0.0 <alice@example.test> Ok: delivered
                S: 452 4.2.2 <bob@example.test> Mailbox full
                S: 250 2.0.0 <carol@example.test> Ok: delivered
                """).run(lmtp().delivery(fullForBob).build().handler());
    }

    @Test
    void aMessageRefusedWholeGetsTheRefusalOncePerRecipient() throws Exception {
        Transcript.parse(LHLO + """
                C: MAIL FROM:<>
                C: RCPT TO:<alice@example.test>
                C: RCPT TO:<bob@example.test>
                C: DATA
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: a NUL: \0
                C: .
                S: 554 5.6.0 NUL character in message
                S: 554 5.6.0 NUL character in message
                C: RSET
                S: 250 2.0.0 Ok
                """).run(lmtp().build().handler());
        assertEquals(0, delivered(dir, "alice").size());
    }

    @Test
    void smtpKnowsNoLhlo() throws Exception {
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: LHLO c
                S: 500 5.5.2 Command unrecognized
                """).run(SmtpTestSupport.server(dir).build().handler());
    }

    @Test
    void pythonSmtplibLmtpReadsOneReplyPerRecipient() throws Exception {
        try (SmtpServer server = lmtp().listen("tcp:0:interface=127.0.0.1").build()) {
            server.start();
            // smtplib.LMTP speaks LHLO; its data() reads the first recipient's reply, the second is
            // read with getreply(), as RFC 2033 §4.2 lays them out
            String out = MailFixture.python(60, """
                    import smtplib, sys
                    s = smtplib.LMTP('127.0.0.1', int(sys.argv[1]))
                    code, _ = s.ehlo()
                    assert code == 250, code
                    assert s.does_esmtp and s.has_extn('pipelining'), s.esmtp_features
                    s.mail('sender@remote.example')
                    assert s.rcpt('alice@example.test')[0] == 250
                    assert s.rcpt('nobody@example.test')[0] == 550
                    assert s.rcpt('bob@example.test')[0] == 250
                    first = s.data(b'Subject: from smtplib.LMTP\\r\\n\\r\\nhello\\r\\n')
                    second = s.getreply()
                    print(first[0], first[1].decode(), second[0], second[1].decode())
                    s.quit()
                    """, String.valueOf(server.port()));
            assertEquals("250 2.0.0 <alice@example.test> Ok: delivered 250 2.0.0 <bob@example.test> Ok: delivered", out.strip());
        }
        assertEquals(1, delivered(dir, "alice").size());
        assertEquals(1, delivered(dir, "bob").size());
    }
}
