package dev.twine.examples;

import dev.twine.core.Service;
import dev.twine.mail.smtp.MailDelivery;
import dev.twine.mail.smtp.Reply;
import dev.twine.mail.smtp.SmtpException;
import dev.twine.mail.smtp.SmtpServer;
import jakarta.mail.MessagingException;
import jakarta.mail.internet.MimeMessage;
import java.io.IOException;
import java.io.InputStream;
import java.util.function.Consumer;

/**
 * An SMTP server whose mail becomes tickets: a {@link MailDelivery} of our own accepts only
 * {@code tickets@tickets.test} at RCPT (anyone else gets {@code 550 5.1.1}), parses each message
 * with Angus Mail and opens a "ticket" by printing its sender and subject. The server keeps the
 * SMTP rules (syntax, size limit, no open relay); the delivery decides what mail is for.
 *
 * <p>Run: {@code ./twine run examples/src/main/java/dev/twine/examples/MailToTickets.java [PORT]}
 * (port 2526 by default), then try it with swaks:
 * {@code swaks --server 127.0.0.1:2526 --from alice@example.org --to tickets@tickets.test --header "Subject: Printer on fire"}
 */
public final class MailToTickets {
    static final String DOMAIN = "tickets.test";

    /** Mail for tickets@ only; each message is handed to {@code tickets} as one line. */
    static final class Tickets implements MailDelivery<String> {
        private final Consumer<String> tickets;

        Tickets(Consumer<String> tickets) {
            this.tickets = tickets;
        }

        @Override
        public String recipient(Session session, String sender, String address) throws SmtpException {
            if (!address.equalsIgnoreCase("tickets@" + DOMAIN)) {
                throw new SmtpException(Reply.of(550, "5.1.1 <" + address + ">: no such mailbox, write to tickets@" + DOMAIN));
            }
            return "helpdesk"; // the destination: which queue the ticket goes to
        }

        @Override
        public void deliver(Envelope<String> envelope, InputStream message) throws IOException {
            try {
                String subject = new MimeMessage(null, message).getSubject();
                String from = envelope.sender().isEmpty() ? "<>" : envelope.sender();
                // returning sends 250: the ticket must exist by now (a real one would be stored)
                tickets.accept("ticket from " + from + ": " + (subject != null ? subject : "(no subject)"));
            } catch (MessagingException e) {
                throw new SmtpException(Reply.of(554, "5.6.0 Cannot read that message"));
            }
        }
    }

    /** Starts the server on {@code endpoint}, tickets going to {@code tickets}; the caller stops it. */
    static Service start(String endpoint, Consumer<String> tickets) throws IOException {
        SmtpServer server = SmtpServer.builder().domain(DOMAIN).delivery(new Tickets(tickets)).listen(endpoint).build();
        server.start();
        return server;
    }

    public static void main(String[] args) throws Exception {
        Service server = start("tcp:" + (args.length > 0 ? args[0] : "2526") + ":interface=127.0.0.1", System.out::println);
        System.out.println(server.bindings().get(0).listeningLine());
        server.awaitTermination();
    }
}
