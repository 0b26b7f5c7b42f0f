package dev.twine.mail.smtp;

import dev.twine.core.Binding;
import dev.twine.core.auth.UsersFile;
import dev.twine.mail.maildir.Maildir;
import java.nio.file.Path;

/**
 * Starts Twine's SMTP server (port 25 role, Maildir delivery with fsync) for {@code ci/bench-smtp}:
 * {@code SmtpBenchMain DOMAIN USERS MAILDIR ENDPOINT}. Prints {@code listening smtp tcp ADDR:PORT}
 * and runs until killed. With the launcher's classes on the class path ({@code samples/target/classes},
 * which {@code ci/bench-smtp} adds) it logs as {@code twine mail} does, through the launcher's own
 * handler and line; else through the JDK's {@code ConsoleHandler}, which costs more per line and
 * says so on standard error.
 */
public final class SmtpBenchMain {
    private SmtpBenchMain() {}

    /** Entry point. */
    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: SmtpBenchMain DOMAIN USERS MAILDIR ENDPOINT");
            System.exit(2);
        }
        launcherLogging();
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

    /** Installs the launcher's log handler ({@code dev.twine.samples.LogHandler.install}) if it is here. */
    private static void launcherLogging() {
        try {
            java.lang.reflect.Method install = Class.forName("dev.twine.samples.LogHandler")
                    .getDeclaredMethod("install", java.io.PrintStream.class);
            install.setAccessible(true);
            install.invoke(null, System.err);
        } catch (ReflectiveOperationException e) {
            System.err.println("SmtpBenchMain: the launcher's classes are not on the class path ("
                    + e + "); logging through the JDK's ConsoleHandler");
        }
    }
}
