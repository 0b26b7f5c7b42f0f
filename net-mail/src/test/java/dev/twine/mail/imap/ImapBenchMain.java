package dev.twine.mail.imap;

import dev.twine.core.ConnectionLimits;
import dev.twine.core.Server;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UsersFile;
import dev.twine.mail.maildir.Maildir;
import dev.twine.mail.smtp.MaildirDelivery;
import dev.twine.mail.smtp.SmtpServer;
import java.nio.file.Path;

/**
 * Starts Twine's IMAP server for {@code ci/bench-imap}: {@code USERS MAILDIR ENDPOINT [SMTP-ENDPOINT]};
 * prints {@code listening imap tcp ADDR:PORT} like the launcher (and {@code listening smtp tcp
 * ADDR:PORT} for an SMTP server delivering into the same Maildir, for {@code example.test}, when
 * asked) and serves until killed.
 */
public final class ImapBenchMain {
    private ImapBenchMain() {}

    public static void main(String[] args) throws Exception {
        UsersFile users = UsersFile.load(Path.of(args[0]));
        Portal portal = Portal.builder().users(users).build();
        Maildir maildir = Maildir.open(Path.of(args[1]));
        // the benchmark opens all its sessions from one address at once: the per-address caps
        // that protect a public server would refuse most of them
        ImapServer server = ImapServer.builder().store(maildir).portal(portal).limits(ConnectionLimits.none())
                .listen(args[2]).build();
        server.start();
        System.out.println("listening imap tcp 127.0.0.1:" + server.bindings().get(0).port());
        if (args.length > 3) {
            // the same Maildir instance: its deliveries wake the IDLE sessions in this process
            SmtpServer smtp = SmtpServer.builder().domain("example.test").limits(ConnectionLimits.none())
                    .delivery(MaildirDelivery.builder().domain("example.test").maildir(maildir).users(users).build())
                    .listen(args[3]).build();
            smtp.start();
            System.out.println("listening smtp tcp 127.0.0.1:" + smtp.bindings().get(0).port());
        }
        System.out.flush();
        server.awaitTermination();
    }
}
