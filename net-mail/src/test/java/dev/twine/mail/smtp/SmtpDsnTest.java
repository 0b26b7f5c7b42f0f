package dev.twine.mail.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.Transcript;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DSN parameters (RFC 3461 §4) and REQUIRETLS (RFC 8689 §4) at the server: offered in EHLO,
 * parsed from MAIL and RCPT (xtext decoded), refused with {@code 501 5.5.4} when malformed, and
 * handed to the delivery with the envelope. Every transcript is replayed whole, byte by byte and
 * in random chunks.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SmtpDsnTest {
    @TempDir
    Path dir;

    private static final String EHLO = """
            S: 220 example.test ESMTP Twine
            C: EHLO client.example
            S: 250-example.test greets client.example
            S: 250-PIPELINING
            S: 250-SIZE 26214400
            S: 250-8BITMIME
            S: 250-CHUNKING
            S: 250-ENHANCEDSTATUSCODES
            S: 250-SMTPUTF8
            S: 250 DSN
            """;

    /** A delivery that keeps every envelope it is given. */
    private static final class Recording implements MailDelivery<String> {
        final List<Envelope<String>> envelopes = new CopyOnWriteArrayList<>();

        @Override
        public String recipient(Session session, String sender, String address) {
            return address;
        }

        @Override
        public void deliver(Envelope<String> envelope, InputStream message) {
            envelopes.add(envelope);
        }
    }

    private SmtpServer server(MailDelivery<?> delivery) {
        return SmtpServer.builder().domain("example.test").delivery(delivery).build();
    }

    @Test
    void dsnParametersReachTheDeliveryDecodedFromXtext() throws Exception {
        Recording delivery = new Recording();
        Transcript.parse(EHLO + """
                C: MAIL FROM:<a@remote.example> RET=HDRS ENVID=QQ+2B314159
                S: 250 2.1.0 Ok
                C: RCPT TO:<alice@example.test> NOTIFY=success,FAILURE ORCPT=rfc822;Alice+2Btag@example.test
                S: 250 2.1.5 Ok
                C: RCPT TO:<bob@example.test> NOTIFY=NEVER
                S: 250 2.1.5 Ok
                C: RCPT TO:<carol@example.test>
                S: 250 2.1.5 Ok
                C: DATA
                S: 354 End data with <CR><LF>.<CR><LF>
                C: Subject: dsn
                C:
                C: x
                C: .
                S: 250 2.0.0 Ok: queued
                C: QUIT
                S: 221 2.0.0 example.test Bye
                S: <closed>
                """).run(server(delivery).handler());
        assertEquals(Chunking.standard().size(), delivery.envelopes.size());
        for (MailDelivery.Envelope<String> e : delivery.envelopes) {
            assertEquals(new MailParameters(Optional.of(MailParameters.Ret.HDRS), Optional.of("QQ+314159"), false), e.parameters());
            assertEquals(new RcptParameters(Set.of(RcptParameters.Notify.SUCCESS, RcptParameters.Notify.FAILURE),
                    Optional.of("rfc822;Alice+tag@example.test")), e.recipients().get(0).parameters());
            assertEquals(new RcptParameters(Set.of(RcptParameters.Notify.NEVER), Optional.empty()),
                    e.recipients().get(1).parameters());
            assertEquals(RcptParameters.none(), e.recipients().get(2).parameters());
        }
    }

    @Test
    void malformedOrRepeatedDsnParametersAre501AndUnknownOnes555() throws Exception {
        Recording delivery = new Recording();
        Transcript.parse(EHLO + """
                C: MAIL FROM:<a@remote.example> RET=SOME
                S: 501 5.5.4 Bad RET parameter
                C: MAIL FROM:<a@remote.example> RET=FULL RET=HDRS
                S: 501 5.5.4 Bad RET parameter
                C: MAIL FROM:<a@remote.example> ENVID=a+zz
                S: 501 5.5.4 Bad ENVID parameter
                C: MAIL FROM:<a@remote.example> ENVID=
                S: 501 5.5.4 Bad ENVID parameter
                C: MAIL FROM:<a@remote.example> RET=FULL
                S: 250 2.1.0 Ok
                C: RCPT TO:<alice@example.test> NOTIFY=NEVER,SUCCESS
                S: 501 5.5.4 Bad NOTIFY parameter
                C: RCPT TO:<alice@example.test> NOTIFY=SOMETIMES
                S: 501 5.5.4 Bad NOTIFY parameter
                C: RCPT TO:<alice@example.test> NOTIFY=FAILURE,FAILURE
                S: 501 5.5.4 Bad NOTIFY parameter
                C: RCPT TO:<alice@example.test> ORCPT=alice@example.test
                S: 501 5.5.4 Bad ORCPT parameter
                C: RCPT TO:<alice@example.test> ORCPT=rfc822;a ORCPT=rfc822;b
                S: 501 5.5.4 Bad ORCPT parameter
                C: RCPT TO:<alice@example.test> XFOO=1
                S: 555 5.5.4 Unsupported RCPT parameter XFOO
                C: RCPT TO:<alice@example.test> NOTIFY=DELAY
                S: 250 2.1.5 Ok
                C: QUIT
                S: 221 2.0.0 example.test Bye
                S: <closed>
                """).run(SmtpServer.builder().domain("example.test").delivery(delivery).maxErrors(20).build().handler());
    }

    @Test
    void requireTlsIsNotOfferedNorAcceptedWithoutTls() throws Exception {
        Transcript.parse(EHLO + """
                C: MAIL FROM:<a@remote.example> REQUIRETLS
                S: 530 5.7.0 Must issue a STARTTLS command first
                C: QUIT
                S: 221 2.0.0 example.test Bye
                S: <closed>
                """).run(server(new Recording()).handler());
    }
}
