package dev.twine.examples;

import dev.twine.core.Service;
import dev.twine.core.auth.UsersFile;
import dev.twine.mail.maildir.Maildir;
import dev.twine.mail.sieve.SieveAction;
import dev.twine.mail.sieve.SieveFilter;
import dev.twine.mail.smtp.MaildirDelivery;
import dev.twine.mail.smtp.SmtpServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A mail filter in code: a {@link SieveFilter} of our own, the hook Twine's local delivery asks
 * before it stores a message (the same hook the users' Sieve scripts run through). Mail whose
 * subject starts with a tag, {@code [ci] build passed}, goes to the folder of that tag (made on
 * first use, flagged as seen); mail marked {@code X-Spam: yes} is thrown away; the rest goes to
 * INBOX. The Maildir++ store is in the directory given (Dovecot or mutt can read it).
 *
 * <p>Run: {@code ./twine run examples/src/main/java/dev/twine/examples/SieveFilterExample.java [PORT [DIR]]}
 * (port 2526 and directory ./sieve-example-mail by default; user alice), then try it with swaks:
 * {@code swaks --server 127.0.0.1:2526 --to alice@example.test --header "Subject: [ci] build passed"}
 * and look in {@code DIR/alice/.ci/cur/}.
 */
public final class SieveFilterExample {
    static final String DOMAIN = "example.test";
    private static final Pattern TAG = Pattern.compile("^\\[([A-Za-z0-9-]{1,32})\\]");

    /** Our filter: called once per user and message, on the delivering connection's thread. */
    static final SieveFilter BY_TAG = (user, message) -> {
        if (message.header("X-Spam").stream().anyMatch(v -> v.equalsIgnoreCase("yes"))) {
            return List.of(new SieveAction.Discard());
        }
        for (String subject : message.header("Subject")) {
            Matcher m = TAG.matcher(subject);
            if (m.find()) {
                String folder = m.group(1).toLowerCase(Locale.ROOT);
                return List.of(new SieveAction.FileInto(folder, Set.of("\\Seen"), true));
            }
        }
        return SieveFilter.KEEP;
    };

    /** Starts the server on {@code endpoint} delivering into {@code mail}; the caller stops it. */
    static Service start(String endpoint, Path mail) throws IOException {
        Path users = Files.createTempFile("twine-users", "");
        Files.delete(users);
        users.toFile().deleteOnExit();
        UsersFile.addUser(users, "alice", "secret".toCharArray());
        MaildirDelivery local = MaildirDelivery.builder().domain(DOMAIN).maildir(Maildir.open(mail))
                .users(UsersFile.load(users)).sieve(BY_TAG).build();
        SmtpServer server = SmtpServer.builder().domain(DOMAIN).delivery(local).listen(endpoint).build();
        server.start();
        return server;
    }

    public static void main(String[] args) throws Exception {
        Path mail = Path.of(args.length > 1 ? args[1] : "sieve-example-mail");
        Service server = start("tcp:" + (args.length > 0 ? args[0] : "2526") + ":interface=127.0.0.1", mail);
        System.out.println(server.bindings().get(0).listeningLine() + " delivering into " + mail.toAbsolutePath());
        server.awaitTermination();
    }
}
