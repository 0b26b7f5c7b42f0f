package dev.twine.mail.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UsersFile;
import dev.twine.core.testing.FsyncFailures;
import dev.twine.mail.imap.ImapServer;
import dev.twine.mail.maildir.Maildir;
import dev.twine.mail.smtp.MaildirDelivery;
import dev.twine.mail.smtp.SmtpServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A failing {@code fsync} (issue 16's fault injection where {@code kill -9} cannot reach): with
 * {@link FsyncFailures} making every force under the Maildir throw, as {@code fsync} does with
 * {@code EIO}, SMTP answers the message 451 4.3.0 (never 250) and IMAP answers APPEND with NO;
 * nothing is reported stored: no file is left in {@code tmp/}, {@code new/} or {@code cur/}, the
 * mailbox shows no message once forces work again, and the next delivery is acknowledged as usual.
 */
class FsyncFailureTest {
    private static final String MESSAGE = "Subject: fsync\r\n\r\nbody\r\nEND\r\n";

    @TempDir
    Path dir;

    @Test
    void smtpAnswers451NotA250WhenTheMaildirCannotBeForced() throws Exception {
        UsersFile users = users();
        Path root = dir.resolve("mail");
        SmtpServer server = SmtpServer.builder().domain("example.test").portal(Portal.builder().users(users).build())
                .delivery(MaildirDelivery.builder().domain("example.test").maildir(Maildir.open(root)).users(users).build()).build();
        byte[] session = ("HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n" + MESSAGE + ".\r\nQUIT\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        try (FsyncFailures failing = FsyncFailures.under(root)) {
            List<String> replies = Conversation.run(server.handler(), session);
            assertTrue(replies.stream().anyMatch(r -> r.startsWith("451 4.3.0")), () -> "451 4.3.0 for the message: " + replies);
            assertTrue(replies.stream().noneMatch(r -> r.startsWith("250 2.0.0")), () -> "no 250 for it: " + replies);
            assertTrue(failing.failures() > 0, "the injected failure was reached");
        }
        assertEquals(0, files(root.resolve("alice")), "nothing stored in tmp/, new/ or cur/");
        List<String> replies = Conversation.run(server.handler(), session);
        assertTrue(replies.stream().anyMatch(r -> r.startsWith("250 2.0.0")), () -> "delivered once forces work: " + replies);
        assertEquals(1, files(root.resolve("alice")));
    }

    @Test
    void imapAnswersAppendWithNoWhenTheMaildirCannotBeForced() throws Exception {
        UsersFile users = users();
        Path root = dir.resolve("mail");
        ImapServer server = ImapServer.builder().store(Maildir.open(root)).portal(Portal.builder().users(users).build()).build();
        byte[] append = ("a LOGIN alice secret\r\nb APPEND INBOX {" + MESSAGE.length() + "+}\r\n" + MESSAGE + "\r\nc SELECT INBOX\r\nz LOGOUT\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        // the mailbox and its UID list exist before the disk starts failing
        Conversation.run(server.handler(), "a LOGIN alice secret\r\nc SELECT INBOX\r\nz LOGOUT\r\n".getBytes(StandardCharsets.US_ASCII));
        try (FsyncFailures failing = FsyncFailures.under(root)) {
            List<String> replies = Conversation.run(server.handler(), append);
            assertTrue(replies.stream().anyMatch(r -> r.startsWith("b NO ")), () -> "APPEND answered NO: " + replies);
            assertTrue(failing.failures() > 0, "the injected failure was reached");
        }
        assertEquals(0, files(root.resolve("alice")), "nothing stored in tmp/, new/ or cur/");
        List<String> replies = Conversation.run(server.handler(), append);
        assertTrue(replies.stream().anyMatch(r -> r.startsWith("b OK [APPENDUID ")), () -> "APPEND stored once forces work: " + replies);
        assertTrue(replies.contains("* 1 EXISTS"), () -> "only the second APPEND's message is there: " + replies);
    }

    private UsersFile users() throws IOException {
        Path f = dir.resolve("users");
        UsersFile.addUser(f, "alice", "secret".toCharArray());
        return UsersFile.load(f);
    }

    /** Files in a mailbox's tmp/, new/ and cur/. */
    private static long files(Path mailbox) throws IOException {
        long n = 0;
        for (String sub : List.of("tmp", "new", "cur")) {
            if (Files.isDirectory(mailbox.resolve(sub))) {
                try (Stream<Path> files = Files.list(mailbox.resolve(sub))) {
                    n += files.count();
                }
            }
        }
        return n;
    }
}
