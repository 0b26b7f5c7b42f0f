package dev.twine.mail.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UsersFile;
import dev.twine.mail.maildir.Maildir;
import dev.twine.mail.smtp.MaildirDelivery;
import dev.twine.mail.smtp.SmtpServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The SMTP command line and DATA reader on arbitrary client bytes (issue 16): a whole session over
 * in-memory connections, delivering into a real Maildir. If a client sends anything, then every
 * line the server writes is an SMTP reply (RFC 5321 §4.2: three digits 2xx-5xx, then a space or
 * a hyphen and a textstring, HT and printable ASCII only, whatever the client sent), the first is
 * the 220 greeting, the session ends when the client's input ends, and the handler throws nothing.
 */
class SmtpSessionFuzzTest {
    /** RFC 5321 §4.2: reply-code, then SP or "-" and a textstring (HT and printable ASCII). */
    private static final Pattern REPLY = Pattern.compile("[2-5][0-9][0-9]([ -][\\t\\x20-\\x7e]*)?");
    private static final SmtpServer SERVER = server();

    @FuzzTest(maxDuration = "10m")
    void everyReplyIsAnSmtpReply(byte[] input) throws Exception {
        List<String> lines = Conversation.run(SERVER.handler(), input);
        assertTrue(!lines.isEmpty() && lines.get(0).startsWith("220 "), () -> "no greeting: " + lines);
        Conversation.assertEveryLine(lines, REPLY);
    }

    private static SmtpServer server() {
        try {
            Path dir = Files.createTempDirectory("twine-smtp-fuzz");
            Path users = dir.resolve("users");
            UsersFile.addUser(users, "alice", "secret".toCharArray());
            UsersFile file = UsersFile.load(users);
            MaildirDelivery delivery = MaildirDelivery.builder().domain("example.test")
                    .maildir(Maildir.open(dir.resolve("maildir"))).users(file).build();
            return SmtpServer.builder().domain("example.test").delivery(delivery)
                    .portal(Portal.builder().users(file).build()).build();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
