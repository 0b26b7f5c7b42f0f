package dev.twine.mail.pop3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.LineReader;
import dev.twine.core.LineWriter;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import dev.twine.mail.maildir.MailFixture;
import dev.twine.mail.store.StoredMessage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What a hostile client or a broken store does to a POP3 session (issue 10). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Pop3AbuseTest {
    @TempDir
    Path tmp;

    @Test
    void aStoreFailureAnswersAnIdWithoutPathOrExceptionTextAndTheSessionGoesOn() throws Exception {
        MailFixture f = MailFixture.create(tmp.resolve("f"));
        f.inbox("alice", 1000, MailFixture.HELLO, MailFixture.MULTIPART);
        try (var s = MemoryConnections.serve(Pop3Server.builder().store(f.maildir).portal(f.portal).build().handler(), Chunking.whole())) {
            LineReader r = LineReader.of(s.client(), 1000);
            LineWriter w = LineWriter.of(s.client());
            r.readLine();
            w.writeLine("USER alice").writeLine("PASS secret").flush();
            r.readLine();
            assertEquals("+OK 2 messages", r.readLine());
            // the first message's file becomes something that cannot be read as one
            StoredMessage first = f.mailbox("alice", "").messages().get(0);
            Path file = f.maildir.inbox("alice").resolve("new").resolve(first.uniqueId());
            Files.delete(file);
            Files.createDirectory(file);
            w.writeLine("RETR 1").flush();
            String reply = r.readLine();
            assertFalse(reply.contains(tmp.toString()), reply);
            assertFalse(reply.contains("Exception"), reply);
            assertTrue(reply.matches("-ERR \\[SYS/TEMP] Internal error occurred\\. Refer to server log for more"
                    + " information\\. \\[[0-9a-f]{8}]"), reply);
            w.writeLine("LIST 2").flush();
            assertEquals("+OK 2 " + MailFixture.MULTIPART.length(), r.readLine());
        }
    }
}
