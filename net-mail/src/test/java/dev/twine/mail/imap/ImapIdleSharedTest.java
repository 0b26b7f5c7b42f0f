package dev.twine.mail.imap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.ConnectionLimits;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import dev.twine.mail.maildir.MailFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Many IMAP IDLE sessions on one Maildir folder, all told of each change through its one shared watch. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ImapIdleSharedTest {
    private static final int SESSIONS = 100;

    @TempDir
    Path tmp;

    @Test
    void everyIdleSessionOnAFolderIsToldOfADeliveryAndOfAFileAnotherProgramDropped() throws Exception {
        MailFixture f = MailFixture.create(tmp);
        f.inbox("alice", 1000, MailFixture.HELLO, MailFixture.MULTIPART);
        // a recheck longer than the test: only the watch can tell the sessions
        ImapServer server = ImapServer.builder().store(f.store).portal(f.portal).limits(ConnectionLimits.none())
                .idleRecheck(Duration.ofHours(1)).build();
        List<MemoryConnections.Served> served = new ArrayList<>();
        List<ImapTestClient> clients = new ArrayList<>();
        try {
            List<Chunking> chunkings = Chunking.standard();
            for (int i = 0; i < SESSIONS; i++) {
                // whole, byte by byte and in random chunks, in turn
                MemoryConnections.Served s = MemoryConnections.serve(server.handler(), chunkings.get(i % chunkings.size()));
                served.add(s);
                ImapTestClient c = new ImapTestClient(s.client());
                c.readResponse();
                c.command("l", "LOGIN alice secret");
                // EXAMINE: no session claims \Recent, so every one sees the same responses
                c.command("e", "EXAMINE INBOX");
                c.send("i IDLE\r\n");
                assertEquals("+ idling", c.readResponse());
                clients.add(c);
            }
            f.deliver("alice", MailFixture.HELLO);
            for (ImapTestClient c : clients) {
                assertEquals("* 3 EXISTS", c.readResponse());
                assertTrue(c.readResponse().endsWith(" RECENT"));
            }
            Path inbox = f.maildir.inbox("alice");
            Path t = inbox.resolve("tmp/1700000000.M1P1.other");
            Files.writeString(t, "Subject: dropped\r\n\r\nhi\r\n");
            Files.move(t, inbox.resolve("new/1700000000.M1P1.other"), StandardCopyOption.ATOMIC_MOVE);
            for (ImapTestClient c : clients) {
                assertEquals("* 4 EXISTS", c.readResponse());
                assertTrue(c.readResponse().endsWith(" RECENT"));
                c.send("DONE\r\n");
                assertEquals("i OK IDLE terminated", c.readResponse());
            }
        } finally {
            served.forEach(MemoryConnections.Served::close);
        }
    }
}
