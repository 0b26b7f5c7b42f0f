package dev.twine.mail.smtp;

import static dev.twine.mail.smtp.SmtpTestSupport.delivered;
import static dev.twine.mail.smtp.SmtpTestSupport.loginAs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.ConnectionHandler;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.ManualClock;
import dev.twine.core.testing.Transcript;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Submission policy (issue 18): the addresses a user may send as (their own in every local domain,
 * their aliases, a per-user list, a rule of one's own) and hourly limits per user and per client
 * address, over in-memory connections, whole, byte by byte and in random chunks.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SmtpSubmissionPolicyTest {
    @TempDir
    Path dir;

    private static final int RUNS = Chunking.standard().size();
    private static final List<String> DOMAINS = List.of("example.test", "example.org");

    private SmtpServer.Builder submission() throws IOException {
        MaildirDelivery.Builder local = SmtpTestSupport.local(dir);
        local.domain("example.org");
        return SmtpTestSupport.server(dir, local.build()).domain("example.org").role(SmtpServer.Role.SUBMISSION)
                .allowPlainAuth(true);
    }

    private Path file(String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    @Test
    void aUserSendsAsTheirOwnNameInEveryDomainWithTagsAndAsTheAliasesThatReachThem() throws Exception {
        Aliases aliases = Aliases.load(file("aliases", """
                info@example.org   alice, bob
                sales@example.org  carol@partner.example
                team:              bob
                """));
        SmtpServer s = submission().senderLogins(SenderLogins.byName(DOMAINS).or(aliases.senderLogins(DOMAINS))).build();
        Transcript.parse(loginAs("alice", "secret") + """
                C: MAIL FROM:<Alice@example.org>
                S: 250 2.1.0 Ok
                C: RSET
                S: 250 2.0.0 Ok
                C: MAIL FROM:<alice+lists@example.test>
                S: 250 2.1.0 Ok
                C: RSET
                S: 250 2.0.0 Ok
                C: MAIL FROM:<sales@example.org>
                S: 553 5.7.1 <sales@example.org>: Sender address rejected: not owned by user alice
                C: MAIL FROM:<team@example.org>
                S: 553 5.7.1 <team@example.org>: Sender address rejected: not owned by user alice
                C: MAIL FROM:<INFO@example.org>
                S: 250 2.1.0 Ok
                C: RCPT TO:<bob@example.test>
                S: 250 2.1.5 Ok
                C: DATA
                S: 354 End data with <CR><LF>.<CR><LF>
                C: From: Info desk <info@example.org>, alice@example.test
                C: Subject: from the desk
                C:
                C: .
                S: 250 2.0.0 Ok: queued
                C: MAIL FROM:<info@example.org>
                S: 250 2.1.0 Ok
                C: RCPT TO:<bob@example.test>
                S: 250 2.1.5 Ok
                C: DATA
                S: 354 End data with <CR><LF>.<CR><LF>
                C: From: team@example.org
                C:
                C: .
                S: 550 5.7.1 From: address not owned by user alice
                C: QUIT
                S: 221 2.0.0 example.test Bye
                """).run(s.handler());
        assertEquals(RUNS, delivered(dir, "bob").size(), "only the message whose From: alice owns");
    }

    @Test
    void aSenderLoginsFileGrantsAddressesAndWholeDomainsToListedUsersOnly() throws Exception {
        SenderLogins file = SenderLogins.load(file("senders", """
                # address             users
                sales@example.test    alice, bob
                @example.org          alice
                """));
        SmtpServer s = submission().senderLogins(SenderLogins.byName(DOMAINS).or(file)).build();
        Transcript.parse(loginAs("alice", "secret") + """
                C: MAIL FROM:<anyone@Example.ORG>
                S: 250 2.1.0 Ok
                C: RSET
                S: 250 2.0.0 Ok
                C: MAIL FROM:<sales@example.test>
                S: 250 2.1.0 Ok
                C: QUIT
                S: 221 2.0.0 example.test Bye
                """).run(s.handler());
        Transcript.parse(loginAs("bob", "hunter2") + """
                C: MAIL FROM:<anyone@example.org>
                S: 553 5.7.1 <anyone@example.org>: Sender address rejected: not owned by user bob
                C: MAIL FROM:<sales@example.test>
                S: 250 2.1.0 Ok
                C: QUIT
                S: 221 2.0.0 example.test Bye
                """).run(s.handler());
        String bad = assertThrows(IOException.class, () -> SenderLogins.load(file("bad", "sales@example.test\n"))).getMessage();
        assertTrue(bad.endsWith("bad:1: 'sales@example.test' has no user"), bad);
    }

    @Test
    void aSenderRuleThatCannotLookUpIsATemporaryFailure() throws Exception {
        SmtpServer s = submission().senderLogins((user, address) -> {
            throw new IOException("directory down");
        }).build();
        Transcript.parse(loginAs("alice", "secret") + """
                C: MAIL FROM:<alice@example.test>
                S: 451 4.3.0 Local error in processing; try again later
                C: MAIL FROM:<>
                S: 250 2.1.0 Ok
                C: QUIT
                S: 221 2.0.0 example.test Bye
                """).run(s.handler());
    }

    /** A handler whose sessions share one fresh set of limits per connection: each replay starts full. */
    private ConnectionHandler limited(SmtpServer.Builder b, ManualClock clock, int userMessages, int userRecipients,
            int addressMessages, int addressRecipients) {
        return conn -> {
            SendingLimits limits = SendingLimits.builder().perUser(userMessages, userRecipients)
                    .perAddress(addressMessages, addressRecipients).clock(clock).build();
            b.sendingLimits(limits).build().handler().handle(conn);
        };
    }

    @Test
    void aUserOverTheHourlyMessageOrRecipientLimitGets451Or452AndTheAllowanceRefills() throws Exception {
        ManualClock clock = ManualClock.create();
        ConnectionHandler h = conn -> {
            SendingLimits limits = SendingLimits.builder().perUser(2, 3).clock(clock).build();
            SmtpServer s = submission().sendingLimits(limits).build();
            s.handler().handle(conn);
        };
        Transcript.parse(loginAs("alice", "secret") + """
                C: MAIL FROM:<alice@example.test>
                S: 250 2.1.0 Ok
                C: RCPT TO:<bob@example.test>
                S: 250 2.1.5 Ok
                C: RCPT TO:<alice@example.test>
                S: 250 2.1.5 Ok
                C: RCPT TO:<postmaster@example.test>
                S: 250 2.1.5 Ok
                C: RCPT TO:<bob@example.org>
                S: 452 4.7.1 Error: too many recipients from user alice this hour; try again later
                C: RSET
                S: 250 2.0.0 Ok
                C: MAIL FROM:<alice@example.test>
                S: 250 2.1.0 Ok
                C: RSET
                S: 250 2.0.0 Ok
                C: MAIL FROM:<alice@example.test>
                S: 451 4.7.1 Error: too many messages from user alice this hour; try again later
                C: QUIT
                S: 221 2.0.0 example.test Bye
                """).run(h);
        // the allowance refills steadily: half an hour gives back one message of two
        SendingLimits limits = SendingLimits.builder().perUser(2, 100).clock(clock).build();
        SmtpServer s = submission().sendingLimits(limits).build();
        String twoThenNone = loginAs("alice", "secret") + """
                C: MAIL FROM:<alice@example.test>
                S: 250 2.1.0 Ok
                C: RSET
                S: 250 2.0.0 Ok
                C: MAIL FROM:<alice@example.test>
                S: 250 2.1.0 Ok
                C: RSET
                S: 250 2.0.0 Ok
                C: MAIL FROM:<alice@example.test>
                S: 451 4.7.1 Error: too many messages from user alice this hour; try again later
                C: QUIT
                S: 221 2.0.0 example.test Bye
                """;
        Transcript.parse(twoThenNone).run(s.handler(), Chunking.standard().get(0));
        clock.advance(Duration.ofMinutes(30));
        Transcript.parse(loginAs("alice", "secret") + """
                C: MAIL FROM:<alice@example.test>
                S: 250 2.1.0 Ok
                C: RSET
                S: 250 2.0.0 Ok
                C: MAIL FROM:<alice@example.test>
                S: 451 4.7.1 Error: too many messages from user alice this hour; try again later
                C: QUIT
                S: 221 2.0.0 example.test Bye
                """).run(s.handler(), Chunking.standard().get(0));
    }

    @Test
    void aClientAddressOverItsLimitIsDeferredOnPort25WithoutLoggingIn() throws Exception {
        ConnectionHandler h = limited(SmtpTestSupport.server(dir), ManualClock.create(), 0, 0, 1, 1);
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO c
                C: MAIL FROM:<someone@remote.example>
                C: RCPT TO:<alice@example.test>
                C: RCPT TO:<bob@example.test>
                C: DATA
                S: 250 example.test
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 452 4.7.1 Error: too many recipients from 127.0.0.1 this hour; try again later
                S: 354 End data with <CR><LF>.<CR><LF>
                C: .
                S: 250 2.0.0 Ok: queued
                C: MAIL FROM:<someone@remote.example>
                S: 451 4.7.1 Error: too many messages from 127.0.0.1 this hour; try again later
                C: QUIT
                S: 221 2.0.0 example.test Bye
                """).run(h);
        assertEquals(RUNS, delivered(dir, "alice").size());
        assertTrue(delivered(dir, "bob").isEmpty());
    }
}
