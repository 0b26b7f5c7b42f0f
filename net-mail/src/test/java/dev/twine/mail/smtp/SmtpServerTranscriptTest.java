package dev.twine.mail.smtp;

import static dev.twine.mail.smtp.SmtpTestSupport.DOMAIN;
import static dev.twine.mail.smtp.SmtpTestSupport.b64;
import static dev.twine.mail.smtp.SmtpTestSupport.delivered;
import static dev.twine.mail.smtp.SmtpTestSupport.plain;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.LineReader;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.ManualClock;
import dev.twine.core.testing.MemoryConnections;
import dev.twine.core.testing.Transcript;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The ESMTP server's conversation, over in-memory connections (whole, byte by byte, random chunks). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SmtpServerTranscriptTest {
    @TempDir
    Path dir;

    private static final int RUNS = Chunking.standard().size();

    private static final String EHLO = """
            C: EHLO client.example
            S: 250-example.test greets client.example
            S: 250-PIPELINING
            S: 250-SIZE 26214400
            S: 250-8BITMIME
            S: 250-CHUNKING
            S: 250-ENHANCEDSTATUSCODES
            S: 250-SMTPUTF8
            S: 250-DSN
            """;

    @Test
    void deliversToLocalUserAndAnswers250OnlyWhenTheMessageIsInNew() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).build();
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO client.example
                S: 250 example.test
                C: MAIL FROM:<sender@remote.example>
                S: 250 2.1.0 Ok
                C: RCPT TO:<alice@example.test>
                S: 250 2.1.5 Ok
                C: DATA
                S: 354 End data with <CR><LF>.<CR><LF>
                C: Subject: hi
                C:
                C: ..leading dot
                C: body
                C: .
                S: 250 2.0.0 Ok: queued
                C: QUIT
                S: 221 2.0.0 example.test Bye
                S: <closed>
                """).run(server.handler());
        List<Path> files = delivered(dir, "alice");
        assertEquals(RUNS, files.size(), "one delivery per chunking");
        String stored = Files.readString(files.get(0), StandardCharsets.UTF_8);
        assertTrue(stored.startsWith("Return-Path: <sender@remote.example>\r\nReceived: from client.example"), stored);
        assertTrue(stored.endsWith("\r\nSubject: hi\r\n\r\n.leading dot\r\nbody\r\n"), "dot-unstuffed, CRLF kept: " + stored);
        assertTrue(Files.list(dir.resolve("maildir/alice/tmp")).findAny().isEmpty(), "nothing left in tmp/");
    }

    @Test
    void ehloAdvertisesExtensionsAndPipelinedCommandsAreAnsweredInOrder() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).allowPlainAuth(true).build();
        Transcript.parse("S: 220 example.test ESMTP Twine\n" + EHLO + """
                S: 250 AUTH SCRAM-SHA-256 PLAIN LOGIN
                C: MAIL FROM:<a@remote.example> SIZE=100 BODY=8BITMIME
                C: RCPT TO:<alice@example.test>
                C: RCPT TO:<bob@example.test>
                C: RCPT TO:<Postmaster>
                C: DATA
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 250 2.1.5 Ok
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: x
                C: .
                C: RSET
                C: NOOP
                C: VRFY alice
                C: QUIT
                S: 250 2.0.0 Ok: queued
                S: 250 2.0.0 Ok
                S: 250 2.0.0 Ok
                S: 252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery
                S: 221 2.0.0 example.test Bye
                S: <closed>
                """).run(server.handler());
        assertEquals(RUNS, delivered(dir, "alice").size());
        assertEquals(RUNS, delivered(dir, "bob").size());
        assertEquals(RUNS, delivered(dir, "postmaster").size());
    }

    @Test
    void rejectsUnknownLocalUserWith550AtRcptAndNeverRelaysForStrangers() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).build();
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: EHLO c
                S: 250-example.test greets c
                S: 250-PIPELINING
                S: 250-SIZE 26214400
                S: 250-8BITMIME
                S: 250-CHUNKING
                S: 250-ENHANCEDSTATUSCODES
                S: 250-SMTPUTF8
                S: 250 DSN
                C: MAIL FROM:<spammer@remote.example>
                S: 250 2.1.0 Ok
                C: RCPT TO:<nobody@example.test>
                S: 550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown
                C: RCPT TO:<victim@elsewhere.example>
                S: 550 5.7.1 <victim@elsewhere.example>: Relay access denied
                C: RCPT TO:<alice@EXAMPLE.test>
                S: 250 2.1.5 Ok
                C: QUIT
                S: 221 2.0.0 example.test Bye
                """).run(server.handler());
        assertEquals(0, delivered(dir, "alice").size(), "no DATA, nothing delivered");
    }

    @Test
    void commandsOutOfSequenceAndBadSyntaxGetTheirCodes() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).maxErrors(50).build();
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: MAIL FROM:<a@b.example>
                S: 503 5.5.1 Send EHLO or HELO first
                C: HELO
                S: 501 5.5.4 Syntax: HELO hostname
                C: HELO c
                S: 250 example.test
                C: RCPT TO:<alice@example.test>
                S: 503 5.5.1 Need MAIL before RCPT
                C: DATA
                S: 503 5.5.1 Need MAIL command
                C: MAIL FROM:a@b.example
                S: 501 5.1.7 Bad sender address syntax
                C: MAIL FROM:<a@b.example> FOO=BAR
                S: 555 5.5.4 Unsupported MAIL parameter FOO
                C: MAIL FROM:<>
                S: 250 2.1.0 Ok
                C: MAIL FROM:<>
                S: 503 5.5.1 Nested MAIL command
                C: DATA
                S: 554 5.5.1 No valid recipients
                C: EXPN staff
                S: 502 5.5.1 EXPN not supported
                C: FROB
                S: 500 5.5.2 Command unrecognized
                C: STARTTLS
                S: 502 5.5.1 STARTTLS not available
                C: QUIT
                S: 221 2.0.0 example.test Bye
                """).run(server.handler());
    }

    @Test
    void overlongLinesBareLfAndNulBytesGet500AndTheSessionGoesOn() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).build();
        String longCommand = "NOOP " + "x".repeat(600);
        String hugeLine = "y".repeat(20000);
        Transcript.parse("S: 220 example.test ESMTP Twine\n"
                + "C: " + longCommand + "\n"
                + "S: 500 5.5.2 Line too long\n"
                + "C: " + hugeLine + "\n"
                + "S: 500 5.5.2 Line too long\n"
                + "C: NOOP\u0000\n"
                + "S: 500 5.5.2 NUL character in command\n"
                + "C: NOOP\n"
                + "S: 250 2.0.0 Ok\n").run(server.handler());
        // a bare LF cannot be written with Transcript's CRLF lines: send it raw
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.byteByByte())) {
            LineReader in = LineReader.of(s.client(), 1000);
            assertEquals("220 example.test ESMTP Twine", in.readLine());
            send(s.client(), "NOOP\nNOOP\r\n");
            assertEquals("500 5.5.2 Bare LF received; lines must end with CRLF", in.readLine());
            assertEquals("250 2.0.0 Ok", in.readLine());
        }
    }

    @Test
    void ehloNamesThatCannotBeADomainGet501AndNoReplyEchoesAnythingButAscii() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).build();
        // RFC 5321 §4.2: reply text is HT and printable ASCII; a U-label is a name (RFC 6531
        // §3.3) but is not echoed, and a MAIL parameter is echoed with '?' for what is not ASCII
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: EHLO bücher.example
                S: 250-example.test
                S: 250-PIPELINING
                S: 250-SIZE 26214400
                S: 250-8BITMIME
                S: 250-CHUNKING
                S: 250-ENHANCEDSTATUSCODES
                S: 250-SMTPUTF8
                S: 250 DSN
                C: MAIL FROM:<a@b.example> FÖÖ=1
                S: 555 5.5.4 Unsupported MAIL parameter F??
                """).run(server.handler());
        // bytes that are not UTF-8, and C1 controls, are in no Domain (RFC 5321 §4.1.1.1): the
        // fuzz finding echoed them back, and a 0x85 read as Latin-1 is a line end (NEL)
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.byteByByte())) {
            LineReader in = LineReader.of(s.client(), 1000);
            assertEquals("220 example.test ESMTP Twine", in.readLine());
            s.client().output().write(new byte[] {'E', 'H', 'L', 'O', ' ', 0x7f, 'E', (byte) 0x86, '\r', '\n'});
            s.client().output().write(new byte[] {'H', 'E', 'L', 'O', ' ', 'c', (byte) 0xc2, (byte) 0x85, '\r', '\n'});
            send(s.client(), "MAIL FROM:<a@b.example>\r\nHELO c\r\n");
            assertEquals("500 5.5.2 Error: bad UTF-8 syntax", in.readLine());
            assertEquals("501 5.5.2 Invalid domain name", in.readLine());
            assertEquals("503 5.5.1 Send EHLO or HELO first", in.readLine());
            assertEquals("250 example.test", in.readLine());
        }
    }

    @Test
    void commandsThatAreNotUtf8AreRefusedWholeAndTheSessionGoesOn() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).build();
        // RFC 6531 §3.3: non-ASCII command text is UTF-8. Before, an 0xff in an address was read
        // as U+FFFD and accepted, so the envelope named an address the client never sent
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.random(5))) {
            LineReader in = LineReader.of(s.client(), 1000);
            assertEquals("220 example.test ESMTP Twine", in.readLine());
            send(s.client(), "HELO c\r\n");
            assertEquals("250 example.test", in.readLine());
            s.client().output().write("MAIL FROM:<a".getBytes(StandardCharsets.US_ASCII));
            s.client().output().write(new byte[] {(byte) 0xff, (byte) 0xfe});
            send(s.client(), "@b.example> SMTPUTF8\r\nMAIL FROM:<a@b.example> SMTPUTF8\r\n");
            assertEquals("500 5.5.2 Error: bad UTF-8 syntax", in.readLine());
            assertEquals("250 2.1.0 Ok", in.readLine());
            // an overlong encoding of '@' (0xc0 0x80) and a lone continuation byte
            s.client().output().write("RCPT TO:<u".getBytes(StandardCharsets.US_ASCII));
            s.client().output().write(new byte[] {(byte) 0xc0, (byte) 0x80, (byte) 0x80});
            send(s.client(), "ser@example.test>\r\nRCPT TO:<üser@example.test>\r\n");
            assertEquals("500 5.5.2 Error: bad UTF-8 syntax", in.readLine());
            // well-formed UTF-8 is read as an address (and echoed as ASCII, RFC 5321 §4.2)
            assertEquals("550 5.1.1 <?ser@example.test>: Recipient address rejected: User unknown", in.readLine());
        }
    }

    @Test
    void messageDataRulesSizeLongLinesBareLfAndSmuggledEndMarker() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).maxMessageSize(2048).build();
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.random(7))) {
            LineReader in = LineReader.of(s.client(), 1000);
            assertEquals("220 example.test ESMTP Twine", in.readLine());
            send(s.client(), "HELO c\r\nMAIL FROM:<a@b.example> SIZE=4096\r\n");
            assertEquals("250 example.test", in.readLine());
            assertEquals("552 5.3.4 Message size exceeds fixed maximum message size", in.readLine());
            // too big without a SIZE hint: read to the end, then 552
            transaction(s.client(), in);
            send(s.client(), ("z".repeat(100) + "\r\n").repeat(30) + ".\r\n");
            assertEquals("552 5.3.4 Message size exceeds fixed maximum message size", in.readLine());
            // a text line over 998 octets
            transaction(s.client(), in);
            send(s.client(), "a\r\n" + "b".repeat(1200) + "\r\nc\r\n.\r\n");
            assertEquals("500 5.5.2 Line too long (the limit is 998 octets, RFC 5321 section 4.5.3.1.6)", in.readLine());
            transaction(s.client(), in);
            send(s.client(), "b".repeat(5000) + "\r\n.\r\n");
            assertEquals("500 5.5.2 Line too long (the limit is 998 octets, RFC 5321 section 4.5.3.1.6)", in.readLine());
            // SMTP smuggling: <LF>.<CR><LF> is not the end of data, and a bare LF rejects the message
            transaction(s.client(), in);
            send(s.client(), "Subject: x\r\n\r\nhello\n.\r\nMAIL FROM:<evil@b.example>\r\nRCPT TO:<bob@example.test>\r\n.\r\n");
            assertEquals("550 5.5.2 Bare LF in message; lines must end with CRLF", in.readLine());
            // NUL in the body
            transaction(s.client(), in);
            send(s.client(), "a\u0000b\r\n.\r\n");
            assertEquals("554 5.6.0 NUL character in message", in.readLine());
            send(s.client(), "NOOP\r\n");
            assertEquals("250 2.0.0 Ok", in.readLine());
        }
        assertEquals(0, delivered(dir, "alice").size());
        assertEquals(0, delivered(dir, "bob").size(), "the smuggled transaction never ran");
    }

    @Test
    void commandsPipelinedRightAfterTheEndOfDataAreAnsweredAndBothMessagesStored() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).build();
        for (Chunking c : Chunking.standard()) {
            try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), c)) {
                LineReader in = LineReader.of(s.client(), 1000);
                assertEquals("220 example.test ESMTP Twine", in.readLine());
                send(s.client(), "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
                while (!in.readLine().startsWith("250 ")) {
                    // the EHLO reply's lines
                }
                assertEquals("250 2.1.0 Ok", in.readLine());
                assertEquals("250 2.1.5 Ok", in.readLine());
                assertEquals("354 End data with <CR><LF>.<CR><LF>", in.readLine());
                // one write: the end of the first message, a whole second transaction, QUIT
                send(s.client(), "Subject: one\r\n\r\n..1\r\n.\r\nMAIL FROM:<a@b.example>\r\n"
                        + "RCPT TO:<alice@example.test>\r\nDATA\r\nSubject: two\r\n\r\n2\r\n.\r\nQUIT\r\n");
                assertEquals("250 2.0.0 Ok: queued", in.readLine());
                assertEquals("250 2.1.0 Ok", in.readLine());
                assertEquals("250 2.1.5 Ok", in.readLine());
                assertEquals("354 End data with <CR><LF>.<CR><LF>", in.readLine());
                assertEquals("250 2.0.0 Ok: queued", in.readLine());
                assertEquals("221 2.0.0 example.test Bye", in.readLine());
                assertEquals(null, in.readLine());
            }
        }
        List<Path> files = delivered(dir, "alice");
        assertEquals(2 * RUNS, files.size());
        int ones = 0;
        for (Path f : files) {
            String text = Files.readString(f, StandardCharsets.UTF_8);
            if (text.endsWith("\r\nSubject: one\r\n\r\n.1\r\n")) {
                ones++;
            } else {
                assertTrue(text.endsWith("\r\nSubject: two\r\n\r\n2\r\n"), text);
            }
        }
        assertEquals(RUNS, ones);
    }

    @Test
    void aMessageLargerThanTheReadBufferIsStoredByteForByteWithDotsUnstuffed() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).build();
        StringBuilder wire = new StringBuilder();
        StringBuilder stored = new StringBuilder("Subject: big\r\n\r\n");
        wire.append(stored);
        for (int i = 0; i < 300; i++) {
            // lines of up to 998 octets on the wire, every third one starting with a dot
            String line = (i % 3 == 0 ? "." : "") + ("L" + i + "-").repeat(400).substring(0, 1 + i * 37 % 996);
            stored.append(line).append("\r\n");
            wire.append(line.startsWith(".") ? "." + line : line).append("\r\n");
        }
        assertTrue(wire.length() > 2 * SmtpInput.LARGE, "the message must not fit in one read");
        for (Chunking c : List.of(Chunking.whole(), Chunking.random(11))) {
            try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), c)) {
                LineReader in = LineReader.of(s.client(), 1000);
                assertEquals("220 example.test ESMTP Twine", in.readLine());
                send(s.client(), "HELO c\r\n");
                assertEquals("250 example.test", in.readLine());
                transaction(s.client(), in);
                send(s.client(), wire + ".\r\n");
                assertEquals("250 2.0.0 Ok: queued", in.readLine());
            }
        }
        List<Path> files = delivered(dir, "alice");
        assertEquals(2, files.size());
        for (Path f : files) {
            String text = Files.readString(f, StandardCharsets.UTF_8);
            assertTrue(text.endsWith("\r\n" + stored), "stored exactly as sent, dots unstuffed");
            assertTrue(f.getFileName().toString().endsWith(",S=" + Files.size(f)), f.toString());
        }
    }

    @Test
    void traceFieldsLongerThanTheRoomKeptForThemStillPrecedeTheWholeMessage() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).build();
        String helo = "h".repeat(500);
        String sender = "s".repeat(480) + "@b.example";
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.random(3))) {
            LineReader in = LineReader.of(s.client(), 1000);
            assertEquals("220 example.test ESMTP Twine", in.readLine());
            send(s.client(), "HELO " + helo + "\r\nMAIL FROM:<" + sender + ">\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
            assertEquals("250 example.test", in.readLine());
            assertEquals("250 2.1.0 Ok", in.readLine());
            assertEquals("250 2.1.5 Ok", in.readLine());
            assertEquals("354 End data with <CR><LF>.<CR><LF>", in.readLine());
            send(s.client(), "Subject: long trace\r\n\r\nbody\r\n.\r\n");
            assertEquals("250 2.0.0 Ok: queued", in.readLine());
        }
        List<Path> files = delivered(dir, "alice");
        assertEquals(1, files.size());
        String text = Files.readString(files.get(0), StandardCharsets.UTF_8);
        assertTrue(text.startsWith("Return-Path: <" + sender + ">\r\nReceived: from " + helo + " ("), text);
        assertTrue(text.length() > 1024, "longer than the room kept in front: " + text.length());
        assertTrue(text.endsWith(";\r\n\t" + text.split(";\r\n\t", 2)[1].split("\r\n", 2)[0]
                + "\r\nSubject: long trace\r\n\r\nbody\r\n"), text);
    }

    @Test
    void nonAsciiAddressesNeedSmtputf8AndBodyTypesAreChecked() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).build();
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO c
                S: 250 example.test
                C: MAIL FROM:<jürgen@remote.example>
                S: 553 5.6.7 Non-ASCII address requires SMTPUTF8
                C: MAIL FROM:<a@remote.example> BODY=BINARYMIME
                S: 501 5.5.4 Bad BODY parameter
                C: MAIL FROM:<jürgen@remote.example> SMTPUTF8 BODY=8BITMIME
                S: 250 2.1.0 Ok
                C: RCPT TO:<alice@example.test>
                S: 250 2.1.5 Ok
                C: DATA
                S: 354 End data with <CR><LF>.<CR><LF>
                C: Subject: Grüße
                C:
                C: ü
                C: .
                S: 250 2.0.0 Ok: queued
                """).run(server.handler());
        String stored = Files.readString(delivered(dir, "alice").get(0), StandardCharsets.UTF_8);
        assertTrue(stored.startsWith("Return-Path: <jürgen@remote.example>\r\n") && stored.endsWith("Subject: Grüße\r\n\r\nü\r\n"), stored);
    }

    @Test
    void tooManyRecipientsGets452AndTooManyErrorsCloseWith421() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).maxRecipients(2).maxErrors(3).build();
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO c
                S: 250 example.test
                C: MAIL FROM:<a@b.example>
                S: 250 2.1.0 Ok
                C: RCPT TO:<alice@example.test>
                S: 250 2.1.5 Ok
                C: RCPT TO:<bob@example.test>
                S: 250 2.1.5 Ok
                C: RCPT TO:<postmaster@example.test>
                S: 452 4.5.3 Too many recipients
                C: XX1
                S: 500 5.5.2 Command unrecognized
                C: XX2
                S: 500 5.5.2 Command unrecognized
                C: XX3
                S: 500 5.5.2 Command unrecognized
                S: 421 4.7.0 example.test Too many errors, closing connection
                S: <closed>
                """).run(server.handler());
    }

    @Test
    void authPlainAndLoginAgainstThePortalThenRelayGoesToTheQueue() throws Exception {
        RelayQueue queue = RelayQueue.builder().directory(dir.resolve("queue")).heloName(DOMAIN)
                .resolver(MxResolver.fixed("127.0.0.1:1")).build();
        SmtpServer server = SmtpTestSupport.server(dir, MailDelivery.byDomain(List.of(DOMAIN), SmtpTestSupport.local(dir).build(), queue))
                .allowPlainAuth(true).build();
        Transcript.parse("S: 220 example.test ESMTP Twine\n" + EHLO + "S: 250 AUTH SCRAM-SHA-256 PLAIN LOGIN\n"
                + "C: AUTH PLAIN " + plain("alice", "wrong") + "\n"
                + "S: 535 5.7.8 Authentication credentials invalid\n"
                + "C: AUTH CRAM-MD5\n"
                + "S: 504 5.5.4 Unrecognized authentication mechanism\n"
                + "C: AUTH LOGIN\n"
                + "S: 334 VXNlcm5hbWU6\n"
                + "C: *\n"
                + "S: 501 5.0.0 Authentication cancelled\n"
                + "C: AUTH LOGIN\n"
                + "S: 334 VXNlcm5hbWU6\n"
                + "C: " + b64("alice") + "\n"
                + "S: 334 UGFzc3dvcmQ6\n"
                + "C: " + b64("secret") + "\n"
                + "S: 235 2.7.0 Authentication successful\n"
                + "C: AUTH PLAIN " + plain("alice", "secret") + "\n"
                + "S: 503 5.5.1 Already authenticated\n"
                + """
                C: MAIL FROM:<alice@example.test>
                S: 250 2.1.0 Ok
                C: RCPT TO:<friend@elsewhere.example>
                S: 250 2.1.5 Ok
                C: DATA
                S: 354 End data with <CR><LF>.<CR><LF>
                C: Subject: out
                C:
                C: bye
                C: .
                S: 250 2.0.0 Ok: queued
                C: QUIT
                S: 221 2.0.0 example.test Bye
                """).run(server.handler());
        assertEquals(RUNS, queue.size(), "one queued message per chunking");
        assertEquals(List.of("friend@elsewhere.example"), queue.pending().values().iterator().next());
        // AUTH PLAIN with the response on its own line, after an empty "334 " challenge
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.byteByByte())) {
            LineReader in = LineReader.of(s.client(), 1000);
            assertEquals("220 example.test ESMTP Twine", in.readLine());
            send(s.client(), "HELO c\r\nEHLO c\r\nAUTH PLAIN\r\n");
            assertEquals("250 example.test", in.readLine());
            for (int i = 0; i < 8; i++) {
                assertTrue(in.readLine().startsWith("250-"));
            }
            assertEquals("250 AUTH SCRAM-SHA-256 PLAIN LOGIN", in.readLine());
            assertEquals("334 ", in.readLine());
            send(s.client(), plain("bob", "hunter2") + "\r\n");
            assertEquals("235 2.7.0 Authentication successful", in.readLine());
        }
    }

    @Test
    void authIsRefusedWithoutTlsUnlessAllowedAndSubmissionNeedsAuth() throws Exception {
        SmtpServer mx = SmtpTestSupport.server(dir).build();
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: EHLO c
                S: 250-example.test greets c
                S: 250-PIPELINING
                S: 250-SIZE 26214400
                S: 250-8BITMIME
                S: 250-CHUNKING
                S: 250-ENHANCEDSTATUSCODES
                S: 250-SMTPUTF8
                S: 250 DSN
                C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
                S: 538 5.7.11 Encryption required for requested authentication mechanism
                """).run(mx.handler());
        SmtpServer submission = SmtpTestSupport.server(dir).role(SmtpServer.Role.SUBMISSION).build();
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO c
                S: 250 example.test
                C: MAIL FROM:<alice@example.test>
                S: 530 5.7.0 Authentication required
                """).run(submission.handler());
    }

    @Test
    void submissionAddsDateAndMessageIdOnlyWhenMissing() throws Exception {
        SmtpServer submission = SmtpTestSupport.server(dir).role(SmtpServer.Role.SUBMISSION).allowPlainAuth(true).build();
        Transcript.parse("S: 220 example.test ESMTP Twine\nC: EHLO c\n"
                + "S: 250-example.test greets c\nS: 250-PIPELINING\nS: 250-SIZE 26214400\nS: 250-8BITMIME\nS: 250-CHUNKING\n"
                + "S: 250-ENHANCEDSTATUSCODES\nS: 250-SMTPUTF8\nS: 250-DSN\nS: 250 AUTH SCRAM-SHA-256 PLAIN LOGIN\n"
                + "C: AUTH PLAIN " + plain("bob", "hunter2") + "\n"
                + "S: 235 2.7.0 Authentication successful\n"
                + """
                C: MAIL FROM:<bob@example.test>
                C: RCPT TO:<alice@example.test>
                C: DATA
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: Subject: no date
                C:
                C: text
                C: .
                S: 250 2.0.0 Ok: queued
                C: MAIL FROM:<bob@example.test>
                C: RCPT TO:<alice@example.test>
                C: DATA
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: Date: Mon, 1 Jan 2024 00:00:00 +0000
                C: message-id: <given@example.test>
                C:
                C: text
                C: .
                S: 250 2.0.0 Ok: queued
                """).run(submission.handler(), Chunking.whole());
        List<Path> files = delivered(dir, "alice");
        assertEquals(2, files.size());
        String[] texts = {Files.readString(files.get(0)), Files.readString(files.get(1))};
        String added = texts[0].contains("Subject: no date") ? texts[0] : texts[1];
        String kept = texts[0].contains("Subject: no date") ? texts[1] : texts[0];
        assertTrue(added.matches("(?s).*\r\nDate: [A-Z][a-z]{2}, \\d{1,2} [A-Z][a-z]{2} \\d{4} \\d\\d:\\d\\d:\\d\\d \\+0000\r\n.*"), added);
        assertTrue(added.contains("\r\nMessage-ID: <"), added);
        assertTrue(added.contains("with ESMTPA id"), "RFC 3848 protocol keyword: " + added);
        assertEquals(1, kept.split("(?i)message-id:", -1).length - 1, "no second Message-ID: " + kept);
        assertEquals(1, kept.split("Date:", -1).length - 1, "no second Date: " + kept);
    }

    @Test
    void aClientThatVanishesInsideDataLeavesNoMessageAndNoFailure() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).build();
        for (Chunking c : Chunking.standard()) {
            try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), c)) {
                LineReader in = LineReader.of(s.client(), 1000);
                assertEquals("220 example.test ESMTP Twine", in.readLine());
                send(s.client(), "HELO c\r\n");
                assertEquals("250 example.test", in.readLine());
                transaction(s.client(), in);
                send(s.client(), "Subject: cut\r\n\r\nhalf a mess");
                s.client().shutdownOutput();
                assertEquals(java.util.Optional.empty(), s.awaitHandler(Duration.ofSeconds(10)), "the handler ends quietly");
            }
        }
        assertEquals(0, delivered(dir, "alice").size());
        assertTrue(Files.notExists(dir.resolve("maildir/alice/tmp")), "not even a temporary file was started");
    }

    @Test
    void idleSessionGets421AndIsClosed() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).idleTimeout(Duration.ofMinutes(5)).build();
        ManualClock clock = ManualClock.create();
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.whole(), clock)) {
            LineReader in = LineReader.of(s.client(), 1000);
            assertEquals("220 example.test ESMTP Twine", in.readLine());
            send(s.client(), "HELO c\r\n");
            assertEquals("250 example.test", in.readLine());
            // once the session waits for the next command, five minutes pass
            clock.awaitWaiters(1, Duration.ofSeconds(10));
            clock.advance(Duration.ofMinutes(5));
            assertEquals("421 4.4.2 example.test Idle timeout, closing connection", in.readLine());
            assertEquals(null, in.readLine());
        }
    }

    private static void transaction(Connection c, LineReader in) throws Exception {
        send(c, "RSET\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
        assertEquals("250 2.0.0 Ok", in.readLine());
        assertEquals("250 2.1.0 Ok", in.readLine());
        assertEquals("250 2.1.5 Ok", in.readLine());
        assertEquals("354 End data with <CR><LF>.<CR><LF>", in.readLine());
    }

    private static void send(Connection c, String s) throws Exception {
        c.output().write(s.getBytes(StandardCharsets.UTF_8));
        c.flush();
    }
}
