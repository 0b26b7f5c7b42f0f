package dev.twine.mail.smtp;

import static dev.twine.mail.smtp.SmtpTestSupport.delivered;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.twine.core.Connection;
import dev.twine.core.LineReader;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SMTP smuggling (issue 10, finding 6): a message whose data holds a bare CR or a bare LF, in
 * particular next to a dot, is refused whole with 550 5.5.2, nothing of it is stored, and the
 * session goes on; and the relay client never puts a bare CR or LF on the wire.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SmtpSmugglingTest {
    @TempDir
    Path dir;

    /** The end-of-data look-alikes other servers have accepted (the 2023 smuggling reports). */
    private static final List<String> PAYLOADS = List.of("\r\n.\n", "\n.\r\n", "\r\n.\r", "\r.\r\n");

    @Test
    void eachSmugglingPayloadRefusesTheWholeMessageAndTheSessionGoesOn() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).build();
        for (String payload : PAYLOADS) {
            for (Chunking c : Chunking.standard()) {
                try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), c)) {
                    LineReader in = LineReader.of(s.client(), 1000);
                    assertEquals("220 example.test ESMTP Twine", in.readLine());
                    send(s.client(), "HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
                    assertEquals("250 example.test", in.readLine());
                    assertEquals("250 2.1.0 Ok", in.readLine());
                    assertEquals("250 2.1.5 Ok", in.readLine());
                    assertEquals("354 End data with <CR><LF>.<CR><LF>", in.readLine());
                    // a second transaction hidden behind the look-alike end marker
                    send(s.client(), "Subject: first\r\n\r\nhello" + payload
                            + "MAIL FROM:<evil@b.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
                            + "Subject: smuggled\r\n\r\nspoofed\r\n.\r\nNOOP\r\n");
                    String reply = in.readLine();
                    assertEquals(true, reply.startsWith("550 5.5.2 Bare "), "[" + c + "] " + escape(payload) + ": " + reply);
                    // the session is back in its initial state (RSET semantics) and still usable
                    assertEquals("250 2.0.0 Ok", in.readLine(), "[" + c + "] " + escape(payload));
                    send(s.client(), "RCPT TO:<alice@example.test>\r\nQUIT\r\n");
                    assertEquals("503 5.5.1 Need MAIL before RCPT", in.readLine());
                    assertEquals("221 2.0.0 example.test Bye", in.readLine());
                    assertEquals(Optional.empty(), s.awaitHandler(Duration.ofSeconds(10)));
                }
            }
        }
        assertEquals(0, delivered(dir, "alice").size(), "the carrier message is not stored");
        assertEquals(0, delivered(dir, "bob").size(), "the smuggled message is not stored");
    }

    @Test
    void aBareCrOrBareLfAnywhereInTheDataGets550AndNothingIsStored() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).build();
        List<String[]> bodies = List.of(
                new String[] {"Subject: x\r\n\r\nbare\rcr inside a line\r\n", "550 5.5.2 Bare CR in message; lines must end with CRLF"},
                new String[] {"Subject: x\r\n\r\nline ending in CR CR\r\r\n", "550 5.5.2 Bare CR in message; lines must end with CRLF"},
                new String[] {"Subject: x\r\n\r\nbare\nlf\r\n", "550 5.5.2 Bare LF in message; lines must end with CRLF"},
                new String[] {"Subject: x\rBcc: someone@else.example\r\n\r\nheader injection\r\n",
                    "550 5.5.2 Bare CR in message; lines must end with CRLF"});
        for (String[] body : bodies) {
            for (Chunking c : Chunking.standard()) {
                try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), c)) {
                    LineReader in = LineReader.of(s.client(), 1000);
                    assertEquals("220 example.test ESMTP Twine", in.readLine());
                    send(s.client(), "HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
                    for (int i = 0; i < 4; i++) {
                        in.readLine();
                    }
                    send(s.client(), body[0] + ".\r\nNOOP\r\n");
                    assertEquals(body[1], in.readLine(), "[" + c + "] " + escape(body[0]));
                    assertEquals("250 2.0.0 Ok", in.readLine());
                }
            }
        }
        assertEquals(0, delivered(dir, "alice").size());
    }

    @Test
    void aBareCrInACommandLineIsRefusedNotTakenAsALineEnd() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).build();
        for (Chunking c : Chunking.standard()) {
            try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), c)) {
                LineReader in = LineReader.of(s.client(), 1000);
                assertEquals("220 example.test ESMTP Twine", in.readLine());
                send(s.client(), "HELO c\r\nMAIL FROM:<a@b.example>\rRCPT TO:<alice@example.test>\r\nNOOP\r\n");
                assertEquals("250 example.test", in.readLine());
                assertEquals("500 5.5.2 Bare CR received; lines must end with CRLF", in.readLine(), c.toString());
                assertEquals("250 2.0.0 Ok", in.readLine());
            }
        }
    }

    @Test
    void theClientTurnsEveryBareCrAndLfIntoCrlfAndDotStuffsTheLinesAfterThem() throws Exception {
        byte[] message = "Subject: mixed\r\n\r\none\rtwo\nthree\r\n.four\r.five\n.six\r\r\nend"
                .getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        try (MemoryConnections.Pair pair = MemoryConnections.pair()) {
            Thread peer = Thread.ofVirtual().start(() -> fakeServer(pair.server(), wire));
            SmtpClient client = SmtpClient.over(pair.client());
            client.ehlo("c");
            client.send("alice@example.test", List.of("bob@remote.example"), message);
            client.quit();
            peer.join(10_000);
        }
        String data = wire.toString(StandardCharsets.US_ASCII);
        assertEquals("Subject: mixed\r\n\r\none\r\ntwo\r\nthree\r\n..four\r\n..five\r\n..six\r\n\r\nend\r\n.\r\n", data);
    }

    @Test
    void aMessageRelayedByTheClientToATwineServerArrivesWhole() throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).build();
        byte[] message = "Subject: relayed\r\n\r\nold mac\rline\nunix line\r\n.\rnot the end\n".getBytes(StandardCharsets.US_ASCII);
        for (Chunking c : Chunking.standard()) {
            try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), c)) {
                SmtpClient client = SmtpClient.over(s.client());
                client.ehlo("c");
                client.send("a@b.example", List.of("alice@example.test"), message);
                client.quit();
            }
        }
        List<Path> files = delivered(dir, "alice");
        assertEquals(Chunking.standard().size(), files.size());
        String stored = java.nio.file.Files.readString(files.get(0), StandardCharsets.US_ASCII);
        assertEquals(true, stored.endsWith("\r\nSubject: relayed\r\n\r\nold mac\r\nline\r\nunix line\r\n.\r\nnot the end\r\n"),
                escape(stored));
    }

    /** Answers a client's session and records what it sent after 354, up to and including the end marker. */
    private static void fakeServer(Connection c, ByteArrayOutputStream data) {
        try {
            LineReader in = LineReader.of(c, 4096);
            reply(c, "220 fake ESMTP");
            boolean inData = false;
            while (true) {
                String line = in.readLine();
                if (line == null) {
                    return;
                }
                if (inData) {
                    data.writeBytes(line.getBytes(StandardCharsets.US_ASCII));
                    data.writeBytes(in.lastTerminator() == LineReader.Terminator.CRLF ? new byte[] {'\r', '\n'} : new byte[] {'\n'});
                    if (line.equals(".")) {
                        inData = false;
                        reply(c, "250 queued");
                    }
                    continue;
                }
                String verb = line.split(" ", 2)[0].toUpperCase(java.util.Locale.ROOT);
                switch (verb) {
                    case "EHLO" -> reply(c, "250-fake\r\n250 8BITMIME");
                    case "DATA" -> {
                        inData = true;
                        reply(c, "354 go ahead");
                    }
                    case "QUIT" -> {
                        reply(c, "221 bye");
                        c.close();
                        return;
                    }
                    default -> reply(c, "250 ok");
                }
            }
        } catch (IOException e) {
            // the test fails on what was recorded
        }
    }

    private static void reply(Connection c, String text) throws IOException {
        c.output().write((text + "\r\n").getBytes(StandardCharsets.US_ASCII));
        c.flush();
    }

    private static String escape(String s) {
        return s.replace("\r", "\\r").replace("\n", "\\n");
    }

    private static void send(Connection c, String s) throws Exception {
        c.output().write(s.getBytes(StandardCharsets.UTF_8));
        c.flush();
    }
}
