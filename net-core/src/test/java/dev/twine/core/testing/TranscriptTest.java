package dev.twine.core.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.ConnectionHandler;
import dev.twine.core.LineReader;
import dev.twine.core.LineWriter;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** If a script matches what a handler says, then {@link Transcript} passes; if not, it fails naming the line. */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TranscriptTest {

    /** Echoes each line; "QUIT" is answered and ends the connection. */
    static final ConnectionHandler ECHO = c -> {
        LineReader r = LineReader.of(c, 1024);
        LineWriter w = LineWriter.of(c);
        String line;
        while ((line = r.readLine()) != null) {
            if (line.equals("QUIT")) {
                w.writeLine("221 bye").flush();
                return;
            }
            w.writeLine(line).flush();
        }
    };

    @Test
    void passesACorrectEchoScriptUnderEveryChunking() throws Exception {
        List<String> heard = new CopyOnWriteArrayList<>();
        ConnectionHandler recording = c -> {
            LineReader r = LineReader.of(c, 1024);
            String line;
            while ((line = r.readLine()) != null) {
                heard.add(line);
                LineWriter.of(c).writeLine(line).flush();
            }
        };
        Transcript.parse("""
                # pipelined lines go out in one write
                C: hello
                S: hello
                C: one
                C: two

                S: one
                S: two
                """).run(recording);
        // one conversation per standard chunking
        assertEquals(Chunking.standard().size() * 3, heard.size(), heard.toString());
    }

    @Test
    void passesWhenTheServerClosesWhereTheScriptSaysSo() throws Exception {
        Transcript.parse("""
                C: ping
                S: ping
                C: QUIT
                S: 221 bye
                S: <closed>
                """).run(ECHO);
    }

    @Test
    void failsNamingTheLineWhenTheReplyDiffers() {
        Transcript wrong = Transcript.parse("""
                C: hello
                S: hello
                C: again
                S: AGAIN
                """);
        AssertionError e = assertThrows(AssertionError.class, () -> wrong.run(ECHO, Chunking.byteByByte()));
        assertTrue(e.getMessage().contains("transcript line 4"), e.getMessage());
        assertTrue(e.getMessage().contains("expected 'AGAIN' but got 'again'"), e.getMessage());
        assertTrue(e.getMessage().contains("byte-by-byte"), e.getMessage());
    }

    @Test
    void failsWhenTheServerClosesBeforeTheScriptExpects() {
        Transcript early = Transcript.parse("""
                C: QUIT
                S: 221 bye
                S: more
                """);
        AssertionError e = assertThrows(AssertionError.class, () -> early.run(ECHO));
        assertTrue(e.getMessage().contains("transcript line 3"), e.getMessage());
        assertTrue(e.getMessage().contains("closed the connection"), e.getMessage());
    }

    @Test
    void failsWhenTheServerStaysOpenWhereTheScriptExpectsClose() {
        Transcript t = Transcript.parse("""
                C: a
                S: a
                C: b
                S: <closed>
                """);
        AssertionError e = assertThrows(AssertionError.class, () -> t.run(ECHO, Chunking.whole()));
        assertTrue(e.getMessage().contains("transcript line 4"), e.getMessage());
        assertTrue(e.getMessage().contains("expected the server to close, but it sent: b"), e.getMessage());
    }

    @Test
    void failsWhenTheHandlerThrows() {
        ConnectionHandler broken = c -> {
            LineReader.of(c, 100).readLine();
            throw new IllegalStateException("handler bug");
        };
        AssertionError e = assertThrows(AssertionError.class, () -> Transcript.parse("C: hi").run(broken, Chunking.whole()));
        assertTrue(e.getMessage().contains("handler failed"), e.getMessage());
        assertTrue(e.getMessage().contains("handler bug"), e.getMessage());
    }

    @Test
    void rejectsAScriptLineThatIsNeitherClientNorServer() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Transcript.parse("""
                C: hello
                X: what
                """));
        assertTrue(e.getMessage().contains("transcript line 2"), e.getMessage());
    }

    @Test
    void keepsATrailingSpaceThatTheProtocolSends() throws Exception {
        // SMTP's empty AUTH challenge is "334 " with its space (RFC 4954 section 4)
        ConnectionHandler challenge = c -> {
            LineReader.of(c, 100).readLine();
            LineWriter.of(c).writeLine("334 ").flush();
        };
        Transcript.parse("""
                C: AUTH PLAIN
                S: 334\s
                """).run(challenge);
        AssertionError e = assertThrows(AssertionError.class, () -> Transcript.parse("""
                C: AUTH PLAIN
                S: 334
                """).run(challenge, Chunking.whole()));
        assertTrue(e.getMessage().contains("expected '334' but got '334 '"), e.getMessage());
    }
}
