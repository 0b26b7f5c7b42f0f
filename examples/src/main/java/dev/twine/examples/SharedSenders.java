package dev.twine.examples;

import dev.twine.core.Service;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UsersFile;
import dev.twine.mail.smtp.MailDelivery;
import dev.twine.mail.smtp.SenderLogins;
import dev.twine.mail.smtp.SmtpServer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A submission server whose users may send as shared addresses: a {@link SenderLogins} of our
 * own lets alice and bob send as {@code support@team.test} besides their own address; anything
 * else is refused with {@code 553 5.7.1} at MAIL FROM (and {@code 550 5.7.1} for a From: they do
 * not own). Mail that passes is printed, not sent on.
 *
 * <p>Run: {@code ./twine run examples/src/main/java/dev/twine/examples/SharedSenders.java [PORT]}
 * (port 2588 by default; user alice, password secret), then try it with swaks:
 * {@code swaks --server 127.0.0.1:2588 --auth PLAIN --auth-user alice --auth-password secret --from support@team.test --to someone@example.org}
 */
public final class SharedSenders {
    static final String DOMAIN = "team.test";
    /** Who may send as which shared address: the application's own table. */
    static final Map<String, Set<String>> SHARED = Map.of("support@team.test", Set.of("alice", "bob"));

    /** Takes every recipient and hands a line per message to {@code sent}. */
    record Printer(Consumer<String> sent) implements MailDelivery<String> {
        @Override
        public String recipient(Session session, String sender, String address) {
            return address;
        }

        @Override
        public void deliver(Envelope<String> envelope, InputStream message) {
            sent.accept("from " + envelope.sender() + " by " + envelope.session().principal().orElseThrow().name()
                    + " to " + envelope.recipients().get(0).address());
        }
    }

    /** Starts the server on {@code endpoint}, messages going to {@code sent}; the caller stops it. */
    static Service start(String endpoint, Consumer<String> sent) throws IOException {
        Path users = Files.createTempFile("twine-users", "");
        Files.delete(users);
        users.toFile().deleteOnExit();
        UsersFile.addUser(users, "alice", "secret".toCharArray());
        SenderLogins shared = (user, address) -> SHARED.getOrDefault(address.toLowerCase(Locale.ROOT), Set.of()).contains(user.name());
        SmtpServer server = SmtpServer.builder().domain(DOMAIN).role(SmtpServer.Role.SUBMISSION)
                .portal(Portal.builder().users(UsersFile.load(users)).build())
                .allowPlainAuth(true)                      // a loopback demo: no TLS certificate
                .senderLogins(SenderLogins.byName(List.of(DOMAIN)).or(shared))
                .delivery(new Printer(sent)).listen(endpoint).build();
        server.start();
        return server;
    }

    public static void main(String[] args) throws Exception {
        Service server = start("tcp:" + (args.length > 0 ? args[0] : "2588") + ":interface=127.0.0.1", System.out::println);
        System.out.println(server.bindings().get(0).listeningLine());
        server.awaitTermination();
    }
}
