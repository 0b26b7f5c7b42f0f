package dev.twine.mail.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.Transcript;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A delivery of the user's own, over in-memory connections: what the session asks it and when,
 * what it is handed, and how each of its exceptions is answered.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MailDeliveryTest {
    @TempDir
    Path dir;

    private static final int RUNS = Chunking.standard().size();

    /** Takes mail for tickets@example.test, refuses spam@ senders, fails as told at DATA. */
    private static final class Tickets implements MailDelivery<String> {
        final List<String> calls = new CopyOnWriteArrayList<>();
        final List<String> messages = new CopyOnWriteArrayList<>();
        final Exception failure;

        Tickets(Exception failure) {
            this.failure = failure;
        }

        @Override
        public void sender(Session session, String sender) throws SmtpException {
            calls.add("MAIL " + sender + " helo=" + session.heloName() + " tls=" + session.tls().isPresent()
                    + " auth=" + session.principal().isPresent());
            if (sender.startsWith("spam@")) {
                throw new SmtpException(Reply.of(550, "5.7.1 not from you"));
            }
        }

        @Override
        public String recipient(Session session, String sender, String address) throws IOException {
            calls.add("RCPT " + address);
            if (address.startsWith("broken@")) {
                throw new IOException("disk on fire");
            }
            if (!address.toLowerCase().startsWith("tickets@")) {
                throw new SmtpException(Reply.of(550, "5.1.1 <" + address + ">: no such mailbox"));
            }
            return "queue-" + address.substring(0, address.indexOf('@')).toLowerCase();
        }

        @Override
        public void deliver(Envelope<String> envelope, InputStream message) throws IOException {
            calls.add("DATA " + envelope.sender() + " " + envelope.recipients());
            if (failure instanceof IOException e) {
                throw e;
            }
            if (failure instanceof RuntimeException e) {
                throw e;
            }
            messages.add(new String(message.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    private static SmtpServer server(MailDelivery<?> delivery) {
        return SmtpServer.builder().domain(SmtpTestSupport.DOMAIN).delivery(delivery).build();
    }

    private static final String TO_DATA = """
            S: 220 example.test ESMTP Twine
            C: HELO client.example
            S: 250 example.test
            C: MAIL FROM:<spam@remote.example>
            S: 550 5.7.1 not from you
            C: MAIL FROM:<alice@remote.example>
            S: 250 2.1.0 Ok
            C: RCPT TO:<bob@example.test>
            S: 550 5.1.1 <bob@example.test>: no such mailbox
            C: RCPT TO:<broken@example.test>
            S: 451 4.3.0 Local error in processing; try again later
            C: RCPT TO:<someone@remote.example>
            S: 550 5.7.1 <someone@remote.example>: Relay access denied
            C: RCPT TO:<Tickets@example.test>
            S: 250 2.1.5 Ok
            C: DATA
            S: 354 End data with <CR><LF>.<CR><LF>
            C: Subject: printer
            C:
            C: ..on fire
            C: .
            """;

    @Test
    void theDeliveryIsAskedAtMailAndRcptAndGetsTheDotUnstuffedMessageWithItsReceivedField() throws Exception {
        Tickets tickets = new Tickets(null);
        Transcript.parse(TO_DATA + "S: 250 2.0.0 Ok: queued\nC: QUIT\nS: 221 2.0.0 example.test Bye\n")
                .run(server(tickets).handler());
        assertEquals(RUNS, tickets.messages.size());
        assertEquals(List.of("MAIL spam@remote.example helo=client.example tls=false auth=false",
                "MAIL alice@remote.example helo=client.example tls=false auth=false",
                "RCPT bob@example.test", "RCPT broken@example.test", "RCPT Tickets@example.test",
                "DATA alice@remote.example [Recipient[address=Tickets@example.test, destination=queue-tickets, parameters=RcptParameters[notifyOn=[], originalRecipient=Optional.empty]]]"),
                tickets.calls.subList(0, 6), "the relay refusal is the session's: the delivery is not asked");
        String m = tickets.messages.get(0);
        assertTrue(m.matches("(?s)Received: from client\\.example \\([^)]*\\)\r\n\tby example\\.test \\(Twine\\) with SMTP id \\w+\r\n"
                + "\tfor <Tickets@example\\.test>;\r\n\t[^\r]+\r\nSubject: printer\r\n\r\n\\.on fire\r\n"), m);
        assertTrue(!m.contains("Return-Path"), "the final delivery adds Return-Path, not the session");
    }

    @Test
    void anIOExceptionAtDataIs451AndTheTransactionIsOver() throws Exception {
        Transcript.parse(TO_DATA + """
                S: 451 4.3.0 Local error in processing; try again later
                C: RCPT TO:<tickets@example.test>
                S: 503 5.5.1 Need MAIL before RCPT
                """).run(server(new Tickets(new IOException("disk full"))).handler());
    }

    @Test
    void anSmtpExceptionAtDataIsAnsweredWithItsReply() throws Exception {
        Transcript.parse(TO_DATA + "S: 554 5.7.0 we do not want it\n")
                .run(server(new Tickets(new SmtpException(Reply.of(554, "5.7.0 we do not want it")))).handler());
    }

    @Test
    void aRuntimeExceptionIs451AndTheSessionGoesOn() throws Exception {
        Transcript.parse(TO_DATA + """
                S: 451 4.3.0 Local error in processing; try again later
                C: NOOP
                S: 250 2.0.0 Ok
                """).run(server(new Tickets(new IllegalStateException("bug"))).handler());
    }

    @Test
    void aPartialFailureIsOneRetryableReplyInSmtp() throws Exception {
        MailDelivery<String> half = SmtpTestSupport.failingFor("b@example.test", Reply.of(452, "4.2.2 mailbox full"));
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO c
                C: MAIL FROM:<>
                C: RCPT TO:<a@example.test>
                C: RCPT TO:<b@example.test>
                C: DATA
                S: 250 example.test
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: x
                C: .
                S: 452 4.2.2 mailbox full
                """).run(server(half).handler());
    }

    @Test
    void byDomainHandsEachDeliveryItsOwnRecipientsAndReportsTheOneThatFailed() throws Exception {
        List<String> relayed = new CopyOnWriteArrayList<>();
        MailDelivery<Integer> local = new MailDelivery<>() {
            @Override
            public Integer recipient(Session session, String sender, String address) {
                return address.length();
            }

            @Override
            public void deliver(Envelope<Integer> envelope, InputStream message) throws IOException {
                throw new IOException("local disk gone");
            }
        };
        MailDelivery<String> remote = new MailDelivery<>() {
            @Override
            public String recipient(Session session, String sender, String address) {
                return address.toUpperCase();
            }

            @Override
            public void deliver(Envelope<String> envelope, InputStream message) throws IOException {
                relayed.add(envelope.recipients() + " " + new String(message.readAllBytes(), StandardCharsets.UTF_8).contains("\r\nhi\r\n"));
            }
        };
        SmtpServer lmtp = SmtpServer.builder().domain(SmtpTestSupport.DOMAIN).role(SmtpServer.Role.LMTP)
                .delivery(MailDelivery.byDomain(List.of(SmtpTestSupport.DOMAIN), local, remote))
                .portal(dev.twine.core.auth.Portal.builder().users(SmtpTestSupport.users(dir)).build()).allowPlainAuth(true).build();
        Transcript.parse("""
                S: 220 example.test LMTP Twine
                C: LHLO c
                S: 250-example.test greets c
                S: 250-PIPELINING
                S: 250-SIZE 26214400
                S: 250-8BITMIME
                S: 250-CHUNKING
                S: 250-ENHANCEDSTATUSCODES
                S: 250-SMTPUTF8
                S: 250-DSN
                S: 250 AUTH SCRAM-SHA-256 PLAIN LOGIN
                C: AUTH PLAIN %s
                S: 235 2.7.0 Authentication successful
                C: MAIL FROM:<alice@example.test>
                C: RCPT TO:<bob@example.test>
                C: RCPT TO:<carol@remote.example>
                C: DATA
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: hi
                C: .
                S: 451 4.3.0 Local error in processing; try again later
                S: 250 2.0.0 <carol@remote.example> Ok: delivered
                """.formatted(SmtpTestSupport.plain("alice", "secret"))).run(lmtp.handler());
        assertEquals(RUNS, relayed.size());
        assertEquals("[Recipient[address=carol@remote.example, destination=CAROL@REMOTE.EXAMPLE, parameters=RcptParameters[notifyOn=[], originalRecipient=Optional.empty]]] true", relayed.get(0));
    }

    @Test
    void aMessageOverTheLimitNeverReachesTheDelivery() throws Exception {
        Tickets tickets = new Tickets(null);
        SmtpServer server = SmtpServer.builder().domain(SmtpTestSupport.DOMAIN).delivery(tickets).maxMessageSize(1024).build();
        String big = "C: " + "x".repeat(900) + "\n";
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO c
                S: 250 example.test
                C: MAIL FROM:<a@remote.example>
                S: 250 2.1.0 Ok
                C: RCPT TO:<tickets@example.test>
                S: 250 2.1.5 Ok
                C: DATA
                S: 354 End data with <CR><LF>.<CR><LF>
                """ + big + big + """
                C: .
                S: 552 5.3.4 Message size exceeds fixed maximum message size
                """).run(server.handler());
        assertEquals(0, tickets.messages.size());
        assertTrue(tickets.calls.stream().noneMatch(c -> c.startsWith("DATA")), tickets.calls.toString());
    }
}
