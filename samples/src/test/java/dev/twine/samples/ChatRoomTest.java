package dev.twine.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.LineReader;
import dev.twine.core.LineWriter;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import dev.twine.core.testing.Transcript;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class ChatRoomTest {
    @Test
    void aLoneUserJoinsListsAndLeaves() throws Exception {
        Transcript.parse("""
                S: Welcome to Twine chat. What is your name?
                C: bad name!
                S: A name is 1-24 letters, digits, '_' or '-'. What is your name?
                C: alice
                S: Hello alice. You are the first one here. Type /help for commands.
                C: /who
                S: * here: alice
                C: /frob
                S: * unknown command /frob; try /help
                C: hello room
                S: <alice> hello room
                C: /quit
                S: Bye.
                S: <closed>
                """).run(new ChatRoom());
    }

    @Test
    void answersAnOverlongLineAndKeepsTheSession() throws Exception {
        String longLine = "x".repeat(ChatRoom.MAX_LINE + 1);
        Transcript.parse("""
                S: Welcome to Twine chat. What is your name?
                C: bob
                S: Hello bob. You are the first one here. Type /help for commands.
                C: %s
                S: * line too long (at most 512 bytes)
                C: still here
                S: <bob> still here
                """.formatted(longLine)).run(new ChatRoom());
    }

    @Test
    void deliversOneUsersLinesToAnotherAndRefusesATakenName() throws Exception {
        ChatRoom room = new ChatRoom();
        for (Chunking chunking : Chunking.standard()) {
            try (var a = MemoryConnections.serve(room, chunking);
                    var b = MemoryConnections.serve(room, chunking)) {
                LineReader ra = LineReader.of(a.client(), 1024);
                LineReader rb = LineReader.of(b.client(), 1024);
                a.client().readTimeout(Duration.ofSeconds(10));
                b.client().readTimeout(Duration.ofSeconds(10));
                assertEquals("Welcome to Twine chat. What is your name?", ra.readLine());
                LineWriter.of(a.client()).writeLine("ann").flush();
                assertEquals("Hello ann. You are the first one here. Type /help for commands.", ra.readLine());

                assertEquals("Welcome to Twine chat. What is your name?", rb.readLine());
                LineWriter.of(b.client()).writeLine("ANN").writeLine("ben").flush();
                assertEquals("'ANN' is taken. What is your name?", rb.readLine(), chunking.toString());
                assertEquals("Hello ben. Here: ann. Type /help for commands.", rb.readLine());
                assertEquals("* ben joined", ra.readLine());

                LineWriter.of(b.client()).writeLine("hi ann").flush();
                assertEquals("<ben> hi ann", ra.readLine());
                assertEquals("<ben> hi ann", rb.readLine());

                b.client().close();
                assertEquals("* ben left", ra.readLine());
                LineWriter.of(a.client()).writeLine("/quit").flush();
                assertEquals("Bye.", ra.readLine());
                assertNull(ra.readLine());
            }
        }
    }

    @Test
    void disconnectsAUserWhoStopsReadingInsteadOfBufferingForever() throws Exception {
        ChatRoom room = new ChatRoom();
        try (var talker = MemoryConnections.serve(room, Chunking.whole());
                var deaf = MemoryConnections.serve(room, Chunking.whole())) {
            LineReader rt = LineReader.of(talker.client(), 1024);
            talker.client().readTimeout(Duration.ofSeconds(10));
            rt.readLine();
            LineWriter.of(talker.client()).writeLine("talker").flush();
            rt.readLine();
            LineWriter.of(deaf.client()).writeLine("deaf").flush();
            assertEquals("* deaf joined", rt.readLine());
            // the deaf user never reads: its pipe fills (256 KiB), then its outbox (256 lines)
            LineWriter w = LineWriter.of(talker.client());
            String chatter = "y".repeat(400);
            boolean left = false;
            for (int i = 0; i < 5_000 && !left; i++) {
                w.writeLine(chatter).flush();
                String got = rt.readLine();
                left = got.equals("* deaf left");
                if (!left) {
                    assertEquals("<talker> " + chatter, got);
                }
            }
            assertTrue(left, "the deaf user was never disconnected");
            assertTrue(deaf.server().isClosed());
        }
    }
}
