package dev.twine.mail.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * CHUNKING (RFC 3030): BDAT chunks, with and without LAST, under DATA's rules (size limit, bare
 * CR and LF, line length), a failed chunk consuming its bytes and the pipelined ones behind it.
 * Every conversation is sent pipelined in one write, then replayed whole, byte by byte and in
 * random pieces.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SmtpChunkingTest {
    private static final String START = "EHLO c\r\nMAIL FROM:<someone@remote.example>\r\nRCPT TO:<alice@example.test>\r\n";
    private static final String STARTED = greeting() + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n";

    @TempDir
    Path dir;

    @Test
    void chunksSplitAnywhereMakeOneMessageStoredAsSentWithoutDotUnstuffing() throws Exception {
        String message = "Subject: chunked\r\n\r\n.a line with a dot stays as it is\r\nsplit across chunks\r\n";
        int cr = message.indexOf("\r\n", 30);
        String first = message.substring(0, cr + 1); // a CR at the end of one chunk, its LF in the next
        String second = message.substring(cr + 1, cr + 10); // and this one ends inside a line
        String third = message.substring(cr + 10);
        String wire = START + "BDAT " + first.length() + "\r\n" + first + "BDAT " + second.length() + "\r\n" + second
                + "BDAT " + third.length() + "\r\n" + third + "BDAT 0 LAST\r\nQUIT\r\n";
        String replies = STARTED + "250 2.0.0 " + first.length() + " octets received\r\n250 2.0.0 " + second.length()
                + " octets received\r\n250 2.0.0 " + third.length() + " octets received\r\n250 2.0.0 Ok: queued\r\n" + BYE;
        assertEveryChunking(SmtpTestSupport.server(dir).build(), wire, replies);
        List<Path> stored = SmtpTestSupport.delivered(dir, "alice");
        assertEquals(Chunking.standard().size(), stored.size());
        for (Path p : stored) {
            String s = Files.readString(p, StandardCharsets.UTF_8);
            assertTrue(s.endsWith("\r\n\r\n" + message) || s.endsWith(message), s);
            assertTrue(s.contains("\r\n.a line with a dot"), "not dot-unstuffed: " + s);
        }
    }

    @Test
    void aLastLineWithoutCrlfIsEndedAndOneChunkWithLastIsAWholeMessage() throws Exception {
        String message = "Subject: one\r\n\r\nno line end";
        assertEveryChunking(SmtpTestSupport.server(dir).build(),
                START + "BDAT " + message.length() + " LAST\r\n" + message + "QUIT\r\n",
                STARTED + "250 2.0.0 Ok: queued\r\n" + BYE);
        for (Path p : SmtpTestSupport.delivered(dir, "alice")) {
            assertTrue(Files.readString(p, StandardCharsets.UTF_8).endsWith("\r\n" + message + "\r\n"));
        }
    }

    @Test
    void aBareLfFailsTheTransactionAndPipelinedChunksBehindItAreReadAndRefused() throws Exception {
        // the second chunk looks like commands: it is read as the chunk it is, never run
        String bad = "Subject: x\n\r\n";
        String next = "QUIT\r\n";
        assertEveryChunking(SmtpTestSupport.server(dir).build(),
                START + "BDAT " + bad.length() + "\r\n" + bad + "BDAT " + next.length() + " LAST\r\n" + next
                        + "RSET\r\nMAIL FROM:<someone@remote.example>\r\nQUIT\r\n",
                STARTED + "550 5.5.2 Bare LF in message; lines must end with CRLF\r\n"
                        + "503 5.5.1 Error: an earlier BDAT failed; send RSET\r\n250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n" + BYE);
        assertEquals(List.of(), SmtpTestSupport.delivered(dir, "alice"));
    }

    @Test
    void aCrEndingOneChunkAndNoLfBeginningTheNextIsABareCr() throws Exception {
        assertEveryChunking(SmtpTestSupport.server(dir).build(),
                START + "BDAT 3\r\nab\rBDAT 3 LAST\r\ncd\n" + "QUIT\r\n",
                STARTED + "250 2.0.0 3 octets received\r\n550 5.5.2 Bare CR in message; lines must end with CRLF\r\n" + BYE);
        assertEveryChunking(SmtpTestSupport.server(dir).build(),
                START + "BDAT 3 LAST\r\nab\r" + "QUIT\r\n",
                STARTED + "550 5.5.2 Bare CR in message; lines must end with CRLF\r\n" + BYE);
        assertEquals(List.of(), SmtpTestSupport.delivered(dir, "alice"));
    }

    @Test
    void aMessageOverTheSizeLimitIsRefusedOnceItsBytesAreRead() throws Exception {
        String big = ("x".repeat(98) + "\r\n").repeat(15); // 1,500 octets
        assertEveryChunking(SmtpTestSupport.server(dir).maxMessageSize(1024).build(),
                START + "BDAT 1000\r\n" + big.substring(0, 1000) + "BDAT 500 LAST\r\n" + big.substring(1000) + "NOOP\r\nQUIT\r\n",
                STARTED.replace("SIZE 26214400", "SIZE 1024") + "250 2.0.0 1000 octets received\r\n552 5.3.4 Message size exceeds fixed maximum message size\r\n"
                        + "250 2.0.0 Ok\r\n" + BYE);
    }

    @Test
    void aLineLongerThan998OctetsIsRefusedAsInData() throws Exception {
        String chunk = "y".repeat(999) + "\r\n";
        assertEveryChunking(SmtpTestSupport.server(dir).build(),
                START + "BDAT " + chunk.length() + " LAST\r\n" + chunk + "QUIT\r\n",
                STARTED + "500 5.5.2 Line too long (the limit is 998 octets, RFC 5321 section 4.5.3.1.6)\r\n" + BYE);
    }

    @Test
    void withoutMailOrRecipientsTheChunkIsStillReadAndRefused() throws Exception {
        assertEveryChunking(SmtpTestSupport.server(dir).build(),
                "EHLO c\r\nBDAT 6 LAST\r\nQUIT\r\nNOOP\r\n"
                        + "MAIL FROM:<someone@remote.example>\r\nRCPT TO:<nobody@example.test>\r\nBDAT 4 LAST\r\nab\r\nQUIT\r\n",
                greeting() + "503 5.5.1 Need MAIL command\r\n250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n"
                        + "550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown\r\n"
                        + "554 5.5.1 No valid recipients\r\n" + BYE);
    }

    @Test
    void dataOrRcptAfterBdatIsASequenceErrorAndBadSyntaxIs501() throws Exception {
        assertEveryChunking(SmtpTestSupport.server(dir).build(),
                START + "BDAT 4\r\nab\r\nDATA\r\nRCPT TO:<bob@example.test>\r\nBDAT\r\nBDAT x\r\nBDAT 5 NOW\r\nBDAT -1\r\nRSET\r\nQUIT\r\n",
                STARTED + "250 2.0.0 4 octets received\r\n503 5.5.1 DATA after BDAT; send RSET\r\n503 5.5.1 RCPT after BDAT; send RSET\r\n"
                        + "501 5.5.4 Syntax: BDAT chunk-size [LAST]\r\n".repeat(4) + "250 2.0.0 Ok\r\n" + BYE);
        assertEquals(List.of(), SmtpTestSupport.delivered(dir, "alice"));
    }

    @Test
    void lmtpAnswersBdatLastOncePerRecipient() throws Exception {
        String message = "Subject: lmtp\r\n\r\nhi\r\n";
        SmtpServer lmtp = SmtpTestSupport.server(dir).role(SmtpServer.Role.LMTP).build();
        String hello = greeting().replace("220 example.test ESMTP Twine", "220 example.test LMTP Twine");
        assertEveryChunking(lmtp,
                "LHLO c\r\nMAIL FROM:<someone@remote.example>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\n"
                        + "BDAT " + message.length() + " LAST\r\n" + message + "QUIT\r\n",
                hello + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
                        + "250 2.0.0 <alice@example.test> Ok: delivered\r\n250 2.0.0 <bob@example.test> Ok: delivered\r\n" + BYE);
    }

    private static final String BYE = "221 2.0.0 example.test Bye\r\n";

    private static String greeting() {
        return "220 example.test ESMTP Twine\r\n250-example.test greets c\r\n250-PIPELINING\r\n250-SIZE 26214400\r\n"
                + "250-8BITMIME\r\n250-CHUNKING\r\n250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250-DSN\r\n250 AUTH SCRAM-SHA-256 PLAIN LOGIN\r\n"
                        .replace("250-DSN\r\n250 AUTH SCRAM-SHA-256 PLAIN LOGIN\r\n", "250 DSN\r\n");
    }

    /** Sends {@code wire} in one write and reads every reply until the session closes, under every chunking. */
    private static void assertEveryChunking(SmtpServer server, String wire, String replies) throws Exception {
        for (Chunking chunking : Chunking.standard()) {
            try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), chunking)) {
                s.client().output().write(wire.getBytes(StandardCharsets.UTF_8));
                s.client().flush();
                String got = new String(s.client().input().readAllBytes(), StandardCharsets.UTF_8);
                assertEquals(replies, got, chunking.toString());
            }
        }
    }
}
