package dev.twine.mail.smtp;

import dev.twine.core.auth.Principal;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketAddress;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLSession;

/**
 * What an {@link SmtpServer} does with mail: the backend a user implements, consulted at the
 * protocol's own decision points. The server asks it at {@code MAIL FROM} ({@link #sender}), at
 * each {@code RCPT TO} ({@link #recipient}, which returns the recipient's <em>destination</em>, a
 * value of the implementation's choosing), and hands it the message at the end of {@code DATA}
 * ({@link #deliver}). Every call runs on the connection's own virtual thread and may block.
 *
 * <pre>{@code
 * MailDelivery<String> tickets = new MailDelivery<>() {
 *     public String recipient(Session session, String from, String address) throws IOException {
 *         if (!address.equalsIgnoreCase("tickets@example.org")) {
 *             throw new SmtpException(Reply.of(550, "5.1.1 <" + address + ">: no such mailbox"));
 *         }
 *         return "tickets";                          // the destination deliver() gets back
 *     }
 *
 *     public void deliver(Envelope<String> envelope, InputStream message) throws IOException {
 *         try {
 *             MimeMessage mime = new MimeMessage(null, message);             // Angus Mail parses
 *             openTicket(envelope.sender(), mime.getSubject());  // stored before returning: then 250
 *         } catch (MessagingException e) {
 *             throw new SmtpException(Reply.of(554, "5.6.0 Cannot read that message"));
 *         }
 *     }
 * };
 * SmtpServer server = SmtpServer.builder().domain("example.org").delivery(tickets)
 *         .listen("tcp:2525:interface=127.0.0.1").build();
 * server.start();
 * }</pre>
 *
 * <h2>What the server decides before asking</h2>
 * Whatever the implementation, the session keeps these rules (so a delivery need not): the
 * command syntax, sizes ({@code SIZE} and the message limit: a message over it is answered
 * {@code 552 5.3.4} and never reaches {@link #deliver}), the most recipients, bare CR/LF and NUL
 * (SMTP smuggling), AUTH and STARTTLS; <strong>no open relay</strong>: a recipient outside the
 * server's {@linkplain SmtpServer.Builder#domain domain} is refused with {@code 550 5.7.1} unless
 * the client authenticated, before {@link #recipient} is asked; {@code <postmaster>} without a
 * domain is passed as {@code postmaster@domain} (RFC 5321 §4.1.1.3); <strong>sender
 * ownership</strong>: an authenticated user sends only as an address their
 * {@link SenderLogins} grants, in the envelope and in {@code From:} (RFC 6409 §6.1, see
 * {@link SmtpServer.Builder#acceptAnySender}); and the {@link SendingLimits}. With
 * PIPELINING nothing changes for the implementation: calls come one at a time, in command order.
 *
 * <h2>Error handling</h2>
 * Each method refuses by throwing. An {@link SmtpException} is answered with its
 * {@linkplain SmtpException#reply() reply} (a 4xx or 5xx code the implementation chooses); any
 * other {@link IOException} with {@code 451 4.3.0} (try again later); any other exception with
 * {@code 451 4.3.0} and one log line. A refused {@code MAIL} or {@code RCPT} leaves the session as
 * it was, so the client may try another. {@link InterruptedException} means the server is
 * stopping: the client gets {@code 421} and the connection closes, nothing having been accepted.
 *
 * @param <T> the per-recipient destination: a mailbox name, a queue, a ticket project
 */
public interface MailDelivery<T> {

    /**
     * Asked at {@code MAIL FROM}: whether to take mail from {@code sender}. Returning accepts it
     * ({@code 250}). By default every sender is accepted.
     *
     * @param session who is sending
     * @param sender the reverse path, empty for the null sender {@code <>} (a bounce)
     * @throws SmtpException to refuse with its reply (e.g. {@code 550 5.7.1})
     * @throws IOException for a temporary failure: {@code 451 4.3.0}
     * @throws InterruptedException if the server is stopping
     */
    default void sender(Session session, String sender) throws IOException, InterruptedException {}

    /**
     * Asked at each {@code RCPT TO}: whether to take mail for {@code address}, and where it goes.
     * Returning accepts it ({@code 250}); the value returned comes back in the
     * {@linkplain Envelope#recipients() envelope} given to {@link #deliver}.
     *
     * @param session who is sending
     * @param sender the transaction's reverse path, empty for {@code <>}
     * @param address the forward path as the client wrote it (a local part's case kept), with
     *     {@code postmaster@domain} for a bare {@code <postmaster>}
     * @return the recipient's destination, never null
     * @throws SmtpException to refuse with its reply (e.g. {@code 550 5.1.1} for an unknown user)
     * @throws IOException for a temporary failure: {@code 451 4.3.0}
     * @throws InterruptedException if the server is stopping
     */
    T recipient(Session session, String sender, String address) throws IOException, InterruptedException;

    /**
     * Takes the message for every recipient of {@code envelope}. The server answers {@code 250}
     * only when this returns, so returning means the implementation has taken responsibility for
     * the message (RFC 5321 §6.1): a durable implementation has it on disk by then. A message is
     * delivered at most once per transaction, however the client chunks or pipelines it.
     *
     * <p>{@code message} is the whole message as it will be stored: the {@code Received:} trace
     * field the server adds (RFC 5321 §4.4), on the submission port {@code Date:} and
     * {@code Message-ID:} where the client left them out (RFC 6409 §8), then the client's text,
     * dot-unstuffed, lines ending in CRLF. It has no {@code Return-Path:}: the agent that makes the
     * final delivery adds that from {@link Envelope#sender()} (as {@link MaildirDelivery} does).
     * The stream is the server's and is valid only during the call; it need not be read to its end.
     *
     * @throws SmtpException to refuse the message for every recipient with its reply
     * @throws PartialDeliveryException when some recipients have the message and others do not:
     *     an LMTP server answers each recipient on its own (RFC 2033 §4.2); an SMTP server, which
     *     has one reply, sends {@link PartialDeliveryException#reply()} so that the client retries
     *     (a recipient may then see the message twice, but none loses it)
     * @throws IOException for a temporary failure of every recipient: {@code 451 4.3.0}
     * @throws InterruptedException if the server is stopping
     */
    void deliver(Envelope<T> envelope, InputStream message) throws IOException, InterruptedException;

    /**
     * Rereads whatever configuration the delivery keeps in files (an aliases map, say): what
     * {@link SmtpServer#reload()} asks of its delivery, and so what {@code twine mail} does on
     * SIGHUP. A delivery that wraps another reloads that one too. It runs on the caller's thread
     * while sessions go on; a session sees the old configuration or the new, never a mixture. By
     * default there is nothing to reload.
     *
     * @return whether anything changed
     * @throws IOException naming the file and the problem, if what is there now is bad; the
     *     delivery then keeps what it had
     */
    default boolean reload() throws IOException {
        return false;
    }

    /**
     * A delivery that sends recipients in {@code domains} (ignoring case) to {@code local} and
     * every other recipient to {@code remote}; both are asked at {@code MAIL FROM}, and both
     * {@linkplain #reload() reloaded}. A message for both is read once and handed to each with its
     * own recipients; when one of them fails, the other's recipients still have it
     * ({@link PartialDeliveryException}). What {@code twine mail} runs:
     * {@code byDomain(domains, maildirDelivery, relayQueue)}.
     *
     * @param domains the local domains, whose recipients go to {@code local}
     * @param local the delivery for those domains
     * @param remote the delivery for every other domain (the server asks for those only for
     *     authenticated clients)
     * @return the combined delivery; its destinations are those of the two deliveries
     */
    static MailDelivery<?> byDomain(Collection<String> domains, MailDelivery<?> local, MailDelivery<?> remote) {
        return new DomainRouter(Objects.requireNonNull(domains, "domains"), Objects.requireNonNull(local, "local"),
                Objects.requireNonNull(remote, "remote"));
    }

    /**
     * What the server knows about the client when it asks.
     *
     * @param client the client's address (an {@link java.net.InetSocketAddress} for TCP)
     * @param heloName the name the client gave in {@code EHLO}, {@code HELO} or {@code LHLO}
     * @param principal the authenticated user, if the client logged in with AUTH
     * @param tls the TLS session, if the connection is encrypted (a {@code tls:} endpoint or
     *     STARTTLS)
     */
    record Session(SocketAddress client, String heloName, Optional<Principal> principal, Optional<SSLSession> tls) {
        /** Checks that nothing is null. */
        public Session {
            Objects.requireNonNull(client, "client");
            Objects.requireNonNull(heloName, "heloName");
            Objects.requireNonNull(principal, "principal");
            Objects.requireNonNull(tls, "tls");
        }
    }

    /**
     * One accepted recipient.
     *
     * @param address the forward path as given at {@code RCPT TO}
     * @param destination what {@link MailDelivery#recipient} returned for it
     * @param parameters its DSN parameters ({@code NOTIFY}, {@code ORCPT}, RFC 3461 §4)
     * @param <T> the destination type
     */
    record Recipient<T>(String address, T destination, RcptParameters parameters) {
        /** Checks that nothing is null. */
        public Recipient {
            Objects.requireNonNull(address, "address");
            Objects.requireNonNull(destination, "destination");
            Objects.requireNonNull(parameters, "parameters");
        }

        /** A recipient without DSN parameters. */
        public Recipient(String address, T destination) {
            this(address, destination, RcptParameters.none());
        }

        /** The same recipient with {@code others} (a delivery that expands an alias passes them on). */
        public Recipient<T> withParameters(RcptParameters others) {
            return new Recipient<>(address, destination, others);
        }
    }

    /**
     * A mail transaction's envelope (RFC 5321 §3.3) as the message arrives.
     *
     * @param session who sent it
     * @param id the server's id for the message, as in its {@code Received:} field and log lines
     * @param sender the reverse path, empty for the null sender {@code <>}
     * @param recipients every accepted recipient, in {@code RCPT} order (at least one)
     * @param parameters the {@code MAIL FROM} parameters that go with the message: DSN's
     *     {@code RET} and {@code ENVID}, {@code REQUIRETLS}
     * @param <T> the destination type
     */
    record Envelope<T>(Session session, String id, String sender, List<Recipient<T>> recipients, MailParameters parameters) {
        /** Checks that nothing is null and copies the list. */
        public Envelope {
            Objects.requireNonNull(session, "session");
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(sender, "sender");
            recipients = List.copyOf(recipients);
            Objects.requireNonNull(parameters, "parameters");
        }

        /** An envelope without MAIL FROM parameters. */
        public Envelope(Session session, String id, String sender, List<Recipient<T>> recipients) {
            this(session, id, sender, recipients, MailParameters.none());
        }

        /** The same envelope with other recipients (a wrapping delivery passes these on). */
        public <U> Envelope<U> withRecipients(List<Recipient<U>> others) {
            return new Envelope<>(session, id, sender, others, parameters);
        }
    }
}
