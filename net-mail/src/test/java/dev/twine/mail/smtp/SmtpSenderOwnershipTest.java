package dev.twine.mail.smtp;

import static dev.twine.mail.smtp.SmtpTestSupport.delivered;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.Transcript;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Submission sender ownership (issue 10, finding 3): an authenticated user may send only as an
 * address of their own, in the envelope (553 5.7.1 at MAIL, RFC 6409 §6.1) and in From: (550
 * 5.7.1 at the end of DATA); and the Received field names the authenticated user.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SmtpSenderOwnershipTest {
    @TempDir
    Path dir;

    private static final int RUNS = Chunking.standard().size();

    private static final String LOGIN_AS_ALICE = SmtpTestSupport.loginAs("alice", "secret");

    private SmtpServer submission() throws Exception {
        return SmtpTestSupport.server(dir).role(SmtpServer.Role.SUBMISSION).allowPlainAuth(true).build();
    }

    @Test
    void anEnvelopeSenderTheUserDoesNotOwnIsRefusedWith553() throws Exception {
        Transcript.parse(LOGIN_AS_ALICE + """
                C: MAIL FROM:<bob@example.test>
                S: 553 5.7.1 <bob@example.test>: Sender address rejected: not owned by user alice
                C: MAIL FROM:<alice@elsewhere.example>
                S: 553 5.7.1 <alice@elsewhere.example>: Sender address rejected: not owned by user alice
                C: MAIL FROM:<ALICE@Example.Test>
                S: 250 2.1.0 Ok
                C: RSET
                S: 250 2.0.0 Ok
                C: MAIL FROM:<alice@example.test>
                S: 250 2.1.0 Ok
                C: RSET
                S: 250 2.0.0 Ok
                # the null sender, as Postfix's reject_sender_login_mismatch allows it (a bounce)
                C: MAIL FROM:<>
                S: 250 2.1.0 Ok
                C: QUIT
                S: 221 2.0.0 example.test Bye
                """).run(submission().handler());
    }

    @Test
    void aFromHeaderTheUserDoesNotOwnIsRefusedAtTheEndOfDataAndNothingIsDelivered() throws Exception {
        Transcript.parse(LOGIN_AS_ALICE + """
                C: MAIL FROM:<alice@example.test>
                C: RCPT TO:<postmaster@example.test>
                C: DATA
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: From: Bob <bob@example.test>
                C: Subject: spoofed
                C:
                C: pay the invoice
                C: .
                S: 550 5.7.1 From: address not owned by user alice
                C: MAIL FROM:<alice@example.test>
                C: RCPT TO:<postmaster@example.test>
                C: DATA
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: From: Alice <alice@example.test>,
                C:  "Bob" <bob@example.test>
                C: Subject: one of two spoofed, folded
                C:
                C: x
                C: .
                S: 550 5.7.1 From: address not owned by user alice
                C: MAIL FROM:<alice@example.test>
                C: RCPT TO:<postmaster@example.test>
                C: DATA
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: From: alice@example.test
                C: from: bob@example.test
                C: Subject: a second From field
                C:
                C: x
                C: .
                S: 550 5.7.1 From: address not owned by user alice
                C: QUIT
                S: 221 2.0.0 example.test Bye
                """).run(submission().handler());
        assertEquals(0, delivered(dir, "postmaster").size(), "no spoofed message was delivered");
    }

    @Test
    void theReceivedFieldRecordsTheAuthenticatedUser() throws Exception {
        Transcript.parse(LOGIN_AS_ALICE + """
                C: MAIL FROM:<alice@example.test>
                C: RCPT TO:<bob@example.test>
                C: DATA
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: From: "Alice A." <Alice@EXAMPLE.test>
                C: Subject: mine
                C:
                C: x
                C: .
                S: 250 2.0.0 Ok: queued
                """).run(submission().handler());
        List<Path> files = delivered(dir, "bob");
        assertEquals(RUNS, files.size());
        String stored = Files.readString(files.get(0), StandardCharsets.UTF_8);
        assertTrue(stored.matches("(?s)Return-Path: <alice@example.test>\r\nReceived: from c \\([^)]*\\)\r\n"
                + "\t\\(Authenticated sender: alice\\)\r\n\tby example.test \\(Twine\\) with ESMTPA id .*"), stored);
    }

    @Test
    void aSmarthostThatAcceptsAnySenderLetsItsClientsSendForOthers() throws Exception {
        SmtpServer smarthost = SmtpTestSupport.server(dir).role(SmtpServer.Role.SUBMISSION).allowPlainAuth(true)
                .acceptAnySender(true).build();
        Transcript.parse(LOGIN_AS_ALICE + """
                C: MAIL FROM:<bob@example.test>
                C: RCPT TO:<postmaster@example.test>
                C: DATA
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: From: bob@example.test
                C:
                C: x
                C: .
                S: 250 2.0.0 Ok: queued
                """).run(smarthost.handler());
        assertEquals(RUNS, delivered(dir, "postmaster").size());
    }

    @Test
    void unauthenticatedMailOnPort25IsNotChecked() throws Exception {
        SmtpServer mx = SmtpTestSupport.server(dir).build();
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO c
                S: 250 example.test
                C: MAIL FROM:<someone@remote.example>
                C: RCPT TO:<alice@example.test>
                C: DATA
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: From: someone@remote.example
                C:
                C: x
                C: .
                S: 250 2.0.0 Ok: queued
                """).run(mx.handler());
        String stored = Files.readString(delivered(dir, "alice").get(0), StandardCharsets.UTF_8);
        assertTrue(!stored.contains("Authenticated sender"), stored);
    }
}
