package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapTestClient.last;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import dev.twine.mail.maildir.MailFixture;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.Deflater;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * COMPRESS DEFLATE (RFC 4978) over in-memory connections in every chunking: refused before
 * login, OK then raw DEFLATE both ways (a command pipelined behind COMPRESS included), a second
 * COMPRESS {@code NO [COMPRESSIONACTIVE]}, an unknown mechanism {@code BAD}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ImapCompressTest {
    @TempDir
    Path tmp;

    @Test
    void compressesBothWaysAfterTheOkAndRefusesASecondCompress() throws Exception {
        for (Chunking chunking : Chunking.standard()) {
            MailFixture f = MailFixture.create(Files.createTempDirectory(tmp, "run"));
            f.inbox("alice", 1000, MailFixture.HELLO, MailFixture.MULTIPART);
            try (MemoryConnections.Served s = MemoryConnections.serve(
                    ImapServer.builder().store(f.maildir).portal(f.portal).build().handler(), chunking)) {
                ImapTestClient c = new ImapTestClient(s.client());
                c.readResponse();
                assertEquals("a BAD log in first", last(c.command("a", "COMPRESS DEFLATE")));
                assertTrue(last(c.command("b", "LOGIN alice secret")).startsWith("b OK"));
                assertEquals("c BAD unknown compression mechanism GZIP", last(c.command("c", "COMPRESS GZIP")));
                // the client pipelines a command, compressed by its own Deflater, behind COMPRESS
                Deflater own = new Deflater(9, true);
                own.setInput("e SELECT INBOX\r\n".getBytes(StandardCharsets.US_ASCII));
                byte[] deflated = new byte[200];
                int n = own.deflate(deflated, 0, deflated.length, Deflater.SYNC_FLUSH);
                s.client().output().write("d COMPRESS DEFLATE\r\n".getBytes(StandardCharsets.US_ASCII));
                s.client().output().write(deflated, 0, n);
                s.client().flush();
                assertEquals(List.of("d OK DEFLATE active"), c.until("d"));
                s.client().startCompression(Deflater.DEFAULT_COMPRESSION);
                assertEquals("e OK [READ-WRITE] SELECT completed", last(c.until("e")), chunking.toString());
                // the client's connection now compresses with a stream of its own, which starts on
                // the block boundary the sync flush left: the server inflates it as what follows
                List<String> fetched = c.command("f", "FETCH 2 BODY.PEEK[]");
                assertEquals("* 2 FETCH (BODY[] {" + MailFixture.MULTIPART.length() + "}\r\n" + MailFixture.MULTIPART + ")",
                        fetched.get(0));
                assertEquals("g NO [COMPRESSIONACTIVE] DEFLATE active via COMPRESS", last(c.command("g", "COMPRESS DEFLATE")));
            }
        }
    }
}
