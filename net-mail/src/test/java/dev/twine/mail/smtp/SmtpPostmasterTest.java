package dev.twine.mail.smtp;

import static dev.twine.mail.smtp.SmtpTestSupport.delivered;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.twine.core.auth.UsersFile;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.Transcript;
import dev.twine.mail.maildir.Maildir;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * postmaster (issue 10, part of finding 9): RFC 5321 §4.5.1 requires every SMTP server to accept
 * mail for postmaster, with or without the domain (§4.1.1.3) and in any case, even when no user of
 * that name exists.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SmtpPostmasterTest {
    @TempDir
    Path dir;

    private static final int RUNS = Chunking.standard().size();

    private static final String SCRIPT = """
            S: 220 example.test ESMTP Twine
            C: HELO c
            S: 250 example.test
            C: MAIL FROM:<someone@remote.example>
            C: RCPT TO:<postmaster@example.test>
            C: RCPT TO:<PostMaster@EXAMPLE.TEST>
            C: RCPT TO:<Postmaster>
            C: RCPT TO:<postmaster@elsewhere.example>
            C: DATA
            S: 250 2.1.0 Ok
            S: 250 2.1.5 Ok
            S: 250 2.1.5 Ok
            S: 250 2.1.5 Ok
            S: 550 5.7.1 <postmaster@elsewhere.example>: Relay access denied
            S: 354 End data with <CR><LF>.<CR><LF>
            C: Subject: your server
            C:
            C: is misbehaving
            C: .
            S: 250 2.0.0 Ok: queued
            """;

    /** Local delivery for a users file without a postmaster: only carol and dave. */
    private MaildirDelivery.Builder withoutPostmasterUser() throws Exception {
        Path f = dir.resolve("users-nopm");
        UsersFile.addUser(f, "carol", "pw1".toCharArray());
        UsersFile.addUser(f, "dave", "pw2".toCharArray());
        return MaildirDelivery.builder().domain(SmtpTestSupport.DOMAIN).maildir(Maildir.open(dir.resolve("maildir")))
                .users(UsersFile.load(f));
    }

    private SmtpServer server(MaildirDelivery.Builder delivery) {
        return SmtpServer.builder().domain(SmtpTestSupport.DOMAIN).delivery(delivery.build()).build();
    }

    @Test
    void postmasterIsAcceptedWithoutAUserOfThatNameAndGoesToTheConfiguredUser() throws Exception {
        Transcript.parse(SCRIPT).run(server(withoutPostmasterUser().postmaster("dave")).handler());
        assertEquals(RUNS, delivered(dir, "dave").size(), "one copy per message, however many spellings");
        assertEquals(0, delivered(dir, "carol").size());
    }

    @Test
    void withoutAConfiguredUserPostmasterMailIsStillAcceptedAndKeptInThePostmasterMailbox() throws Exception {
        Transcript.parse(SCRIPT).run(server(withoutPostmasterUser()).handler());
        assertEquals(RUNS, delivered(dir, "postmaster").size());
    }

    @Test
    void aRealPostmasterUserGetsItsOwnMail() throws Exception {
        Transcript.parse(SCRIPT).run(server(SmtpTestSupport.local(dir).postmaster("bob")).handler());
        assertEquals(RUNS, delivered(dir, "postmaster").size());
        assertEquals(0, delivered(dir, "bob").size());
    }
}
