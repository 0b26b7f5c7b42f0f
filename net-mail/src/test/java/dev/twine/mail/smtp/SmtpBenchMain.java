package dev.twine.mail.smtp;

import dev.twine.core.Binding;
import dev.twine.core.auth.UsersFile;
import dev.twine.mail.maildir.Maildir;
import java.nio.file.Path;

/**
 * Starts Twine's SMTP server (port 25 role, Maildir delivery with fsync) for {@code ci/bench-smtp}:
 * {@code SmtpBenchMain DOMAIN USERS MAILDIR ENDPOINT}. Prints {@code listening smtp tcp ADDR:PORT}
 * and runs until killed.
 */
public final class SmtpBenchMain {
    private SmtpBenchMain() {}

    /** Entry point. */
    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: SmtpBenchMain DOMAIN USERS MAILDIR ENDPOINT");
            System.exit(2);
        }
        UsersFile users = UsersFile.load(Path.of(args[1]));
        SmtpServer server = SmtpServer.builder().domain(args[0])
                .delivery(MaildirDelivery.builder().domain(args[0]).users(users).maildir(Maildir.open(Path.of(args[2]))).build())
                // every benchmark session comes from 127.0.0.1: the per-address caps would refuse most
                .limits(dev.twine.core.ConnectionLimits.none())
                .listen(args[3])
                .build();
        server.start();
        Runtime.getRuntime().addShutdownHook(new Thread(server::close));
        for (Binding b : server.bindings()) {
            System.out.println(b.listeningLine());
        }
        System.out.flush();
        server.awaitTermination();
    }
}
