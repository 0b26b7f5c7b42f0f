package dev.twine.mail.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.Transcript;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The junk command limit (issue 10, finding 5): a session that sends only NOOP, RSET, VRFY, HELP
 * or HELO/EHLO cannot keep its connection forever; it is closed with 421 after the limit (100 by
 * default, as Postfix's smtpd_junk_command_limit), and a delivered message starts the count anew.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SmtpJunkCommandTest {
    @TempDir
    Path dir;

    @Test
    void aHundredJunkCommandsAreAnsweredAndTheNextClosesTheSessionWith421() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).build();
        StringBuilder script = new StringBuilder("S: 220 example.test ESMTP Twine\n");
        String[][] junk = {
            {"NOOP", "250 2.0.0 Ok"},
            {"RSET", "250 2.0.0 Ok"},
            {"VRFY alice", "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery"},
            {"HELP", "214 2.0.0 See RFC 5321"},
            {"HELO c", "250 example.test"},
        };
        for (int i = 0; i < 100; i++) {
            script.append("C: ").append(junk[i % junk.length][0]).append('\n');
            script.append("S: ").append(junk[i % junk.length][1]).append('\n');
        }
        script.append("C: NOOP\n");
        script.append("S: 421 4.7.0 example.test Error: too many commands without mail, closing connection\n");
        script.append("S: <closed>\n");
        Transcript.parse(script.toString()).run(server.handler(), Chunking.whole());
        Transcript.parse(script.toString()).run(server.handler(), Chunking.random(5));
    }

    @Test
    void aDeliveredMessageStartsTheCountAgain() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).maxJunkCommands(3).build();
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO c
                S: 250 example.test
                C: NOOP
                S: 250 2.0.0 Ok
                C: RSET
                S: 250 2.0.0 Ok
                C: MAIL FROM:<a@b.example>
                S: 250 2.1.0 Ok
                C: RCPT TO:<alice@example.test>
                S: 250 2.1.5 Ok
                C: DATA
                S: 354 End data with <CR><LF>.<CR><LF>
                C: x
                C: .
                S: 250 2.0.0 Ok: queued
                C: NOOP
                S: 250 2.0.0 Ok
                C: NOOP
                S: 250 2.0.0 Ok
                C: NOOP
                S: 250 2.0.0 Ok
                C: NOOP
                S: 421 4.7.0 example.test Error: too many commands without mail, closing connection
                S: <closed>
                """).run(server.handler());
        assertEquals(Chunking.standard().size(), SmtpTestSupport.delivered(dir, "alice").size());
    }

    @Test
    void rcptsRefusedForTooManyRecipientsCountAsJunk() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).maxRecipients(1).maxJunkCommands(2).build();
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO c
                S: 250 example.test
                C: MAIL FROM:<a@b.example>
                S: 250 2.1.0 Ok
                C: RCPT TO:<alice@example.test>
                S: 250 2.1.5 Ok
                C: RCPT TO:<bob@example.test>
                S: 452 4.5.3 Too many recipients
                C: RCPT TO:<bob@example.test>
                S: 452 4.5.3 Too many recipients
                C: NOOP
                S: 421 4.7.0 example.test Error: too many commands without mail, closing connection
                S: <closed>
                """).run(server.handler());
    }
}
