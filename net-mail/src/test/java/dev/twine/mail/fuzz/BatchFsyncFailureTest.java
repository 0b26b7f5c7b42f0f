package dev.twine.mail.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Scope;
import dev.twine.core.auth.UsersFile;
import dev.twine.core.testing.FsyncFailures;
import dev.twine.mail.maildir.Maildir;
import dev.twine.mail.smtp.MaildirDelivery;
import dev.twine.mail.smtp.SmtpServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The group commit of {@code new/} failing as a whole: many SMTP sessions finish DATA at once, every
 * message file is forced, but the one force of {@code new/} their batch shares fails
 * ({@link FsyncFailures} on that directory only). Every session of the batch is answered
 * 451 4.3.0, none 250, and no message is left in the mailbox to be read beside the client's retry.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BatchFsyncFailureTest {
    private static final int SESSIONS = 16;

    @TempDir
    Path dir;

    @Test
    void aFailedDirectoryForceAnswers451ToEverySessionOfTheBatchAndStoresNothing() throws Exception {
        Path usersFile = dir.resolve("users");
        UsersFile.addUser(usersFile, "alice", "secret".toCharArray());
        UsersFile users = UsersFile.load(usersFile);
        Path root = dir.resolve("mail");
        Maildir maildir = Maildir.open(root);
        SmtpServer server = SmtpServer.builder().domain("example.test")
                .delivery(MaildirDelivery.builder().domain("example.test").maildir(maildir).users(users).build()).build();
        // the Maildir exists before the disk starts failing, so only the batch's force can fail
        maildir.deliver("alice", "Subject: first\r\n\r\nfirst\r\n".getBytes(StandardCharsets.US_ASCII));
        Path inbox = root.resolve("alice");
        AtomicReferenceArray<List<String>> replies = new AtomicReferenceArray<>(SESSIONS);
        try (FsyncFailures failing = FsyncFailures.under(inbox.resolve("new"))) {
            try (Scope scope = Scope.open("sessions")) {
                for (int i = 0; i < SESSIONS; i++) {
                    int k = i;
                    scope.fork("session-" + k, () -> {
                        replies.set(k, Conversation.run(server.handler(), session(k)));
                        return null;
                    });
                }
                scope.join();
            }
            assertTrue(failing.failures() >= 1, "the injected failure was reached");
        }
        for (int i = 0; i < SESSIONS; i++) {
            List<String> r = replies.get(i);
            assertTrue(r.stream().anyMatch(l -> l.startsWith("451 4.3.0")), () -> "451 4.3.0 for the message: " + r);
            assertTrue(r.stream().noneMatch(l -> l.startsWith("250 2.0.0")), () -> "no 250 for it: " + r);
        }
        assertEquals(1, count(inbox.resolve("new")), "only the message delivered before the failure is in new/");
        assertEquals(0, count(inbox.resolve("tmp")), "nothing left in tmp/");
        List<String> again = Conversation.run(server.handler(), session(SESSIONS));
        assertTrue(again.stream().anyMatch(l -> l.startsWith("250 2.0.0")), () -> "delivered once forces work: " + again);
        assertEquals(2, count(inbox.resolve("new")));
    }

    private static byte[] session(int k) {
        return ("EHLO c" + k + "\r\nMAIL FROM:<s" + k + "@b.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
                + "Subject: batch " + k + "\r\n\r\nbody " + k + "\r\n.\r\nQUIT\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    private static long count(Path d) throws Exception {
        try (Stream<Path> files = Files.list(d)) {
            return files.count();
        }
    }
}
