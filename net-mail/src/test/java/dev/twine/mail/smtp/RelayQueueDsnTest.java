package dev.twine.mail.smtp;

import static dev.twine.mail.smtp.SmtpTestSupport.delivered;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.ManualClock;
import dev.twine.core.testing.Transcript;
import dev.twine.mail.maildir.Maildir;
import java.io.ByteArrayInputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * DSN (RFC 3461) through the relay queue: the parameters kept on disk (and old queue files still
 * read), the notifications they ask for (failures, delays, successes) with RET, ENVID and ORCPT
 * in them (RFC 3464), and the parameters passed on to a next hop that offers DSN.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RelayQueueDsnTest {
    @TempDir
    Path dir;

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose.reversed()) {
            c.close();
        }
    }

    private RecordingHop hop(String... keywords) throws Exception {
        RecordingHop h = RecordingHop.offering(keywords);
        toClose.add(h);
        return h;
    }

    private RelayQueue.Builder queue(MxResolver resolver, ManualClock clock) throws Exception {
        SmtpTestSupport.users(dir);
        return RelayQueue.builder().directory(dir.resolve("queue")).heloName("example.test").resolver(resolver)
                .localDelivery("example.test", Maildir.open(dir.resolve("maildir"))).clock(clock)
                .timeout(Duration.ofSeconds(10)).retryDelays(List.of(Duration.ofMinutes(1), Duration.ofMinutes(5)));
    }

    private static final byte[] MESSAGE = "From: alice@example.test\r\nSubject: dsn\r\n\r\nthe body text\r\n"
            .getBytes(StandardCharsets.US_ASCII);

    private static final MailDelivery.Session SESSION = new MailDelivery.Session(new InetSocketAddress("127.0.0.1", 1),
            "client.example", Optional.empty(), Optional.empty());

    /** Queues {@link #MESSAGE} from alice as a server would: with envelope and recipient parameters. */
    private static void deliver(RelayQueue q, MailParameters mail, List<MailDelivery.Recipient<String>> rcpts) throws Exception {
        q.deliver(new MailDelivery.Envelope<>(SESSION, "ID1", "alice@example.test", rcpts, mail),
                new ByteArrayInputStream(MESSAGE));
    }

    private static MailDelivery.Recipient<String> rcpt(String address, Set<RcptParameters.Notify> notify, String orcpt) {
        return new MailDelivery.Recipient<>(address, address, new RcptParameters(notify, Optional.ofNullable(orcpt)));
    }

    private static MailParameters mail(MailParameters.Ret ret, String envid) {
        return new MailParameters(Optional.ofNullable(ret), Optional.ofNullable(envid), false);
    }

    @Test
    void aFailureWithRetFullEnvidAndOrcptReturnsTheWholeMessageAndNamesThem() throws Exception {
        RecordingHop h = hop();
        RelayQueue q = queue(MxResolver.fixed(h.hostPort()), ManualClock.create()).build();
        deliver(q, mail(MailParameters.Ret.FULL, "env 42"),
                List.of(rcpt("ghost@remote.test", Set.of(), "rfc822;info@example.test")));
        q.deliverDue();
        List<Path> bounces = delivered(dir, "alice");
        assertEquals(1, bounces.size());
        String dsn = Files.readString(bounces.get(0));
        assertTrue(dsn.contains("Original-Envelope-Id: env 42\r\nReporting-MTA: dns; example.test\r\n"), dsn);
        assertTrue(dsn.contains("\r\nOriginal-Recipient: rfc822; info@example.test\r\nFinal-Recipient: rfc822; ghost@remote.test\r\n"
                + "Action: failed\r\nStatus: 5.1.1\r\n"), dsn);
        assertTrue(dsn.contains("Content-Type: message/rfc822\r\n\r\nFrom: alice@example.test\r\nSubject: dsn\r\n\r\nthe body text\r\n"),
                dsn);
    }

    @Test
    void aFailureWithRetHdrsOrNoRetReturnsOnlyTheHeaders() throws Exception {
        RecordingHop h = hop();
        RelayQueue q = queue(MxResolver.fixed(h.hostPort()), ManualClock.create()).build();
        deliver(q, mail(MailParameters.Ret.HDRS, null), List.of(rcpt("ghost@remote.test", Set.of(), null)));
        deliver(q, MailParameters.none(), List.of(rcpt("ghost@remote.test", Set.of(), null)));
        q.deliverDue();
        List<Path> bounces = delivered(dir, "alice");
        assertEquals(2, bounces.size());
        for (Path b : bounces) {
            String dsn = Files.readString(b);
            assertTrue(dsn.contains("Content-Type: text/rfc822-headers\r\n\r\nFrom: alice@example.test\r\nSubject: dsn\r\n"), dsn);
            assertFalse(dsn.contains("the body text"), dsn);
            assertFalse(dsn.contains("Original-Envelope-Id"), dsn);
        }
    }

    @Test
    void notifyNeverOrOnlySuccessMeansNoBounce() throws Exception {
        RecordingHop h = hop();
        RelayQueue q = queue(MxResolver.fixed(h.hostPort()), ManualClock.create()).build();
        deliver(q, MailParameters.none(), List.of(rcpt("ghost@remote.test", Set.of(RcptParameters.Notify.NEVER), null),
                rcpt("ghost@other.test", Set.of(RcptParameters.Notify.SUCCESS), null)));
        q.deliverDue();
        assertEquals(0, q.size(), "failed for good");
        assertEquals(List.of(), delivered(dir, "alice"));
    }

    @Test
    void successOnAHopWithoutDsnIsReportedAsRelayedOnce() throws Exception {
        RecordingHop h = hop();
        RelayQueue q = queue(MxResolver.fixed(h.hostPort()), ManualClock.create()).build();
        deliver(q, mail(null, "E1"), List.of(rcpt("bob@remote.test", Set.of(RcptParameters.Notify.SUCCESS), null),
                rcpt("carol@remote.test", Set.of(), null)));
        q.deliverDue();
        assertEquals(1, h.messages.size());
        assertTrue(h.commands.contains("MAIL FROM:<alice@example.test>"), "no DSN parameters to a hop without DSN: " + h.commands);
        assertTrue(h.commands.contains("RCPT TO:<bob@remote.test>"), h.commands.toString());
        List<Path> notices = delivered(dir, "alice");
        assertEquals(1, notices.size());
        String dsn = Files.readString(notices.get(0));
        assertTrue(dsn.contains("Subject: Successful Mail Delivery Report\r\n"), dsn);
        assertTrue(dsn.contains("Final-Recipient: rfc822; bob@remote.test\r\nAction: relayed\r\nStatus: 2.0.0\r\nRemote-MTA: dns; 127.0.0.1\r\n"),
                dsn);
        assertFalse(dsn.contains("carol@"), "carol asked for no success notice: " + dsn);
    }

    @Test
    void theParametersArePassedOnToAHopThatOffersDsnWhichThenReportsItself() throws Exception {
        RecordingHop h = hop("DSN");
        RelayQueue q = queue(MxResolver.fixed(h.hostPort()), ManualClock.create()).build();
        deliver(q, mail(MailParameters.Ret.HDRS, "a b+c"), List.of(
                rcpt("bob@remote.test", Set.of(RcptParameters.Notify.SUCCESS, RcptParameters.Notify.DELAY), "rfc822;b=b@example.test"),
                rcpt("carol@remote.test", Set.of(), null)));
        q.deliverDue();
        assertTrue(h.commands.contains("MAIL FROM:<alice@example.test> RET=HDRS ENVID=a+20b+2Bc"), h.commands.toString());
        assertTrue(h.commands.contains("RCPT TO:<bob@remote.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b+3Db@example.test"),
                h.commands.toString());
        assertTrue(h.commands.contains("RCPT TO:<carol@remote.test>"), h.commands.toString());
        assertEquals(List.of(), delivered(dir, "alice"), "the hop that offers DSN tells the sender itself");
    }

    @Test
    void aDelayIsReportedOnceAfterTheDelayWarningToThoseWhoAskedAndTheMarkSurvivesARestart() throws Exception {
        ManualClock clock = ManualClock.create();
        MxResolver unreachable = MxResolver.fixed("127.0.0.1:1");
        RelayQueue q = queue(unreachable, clock).retryDelays(List.of(Duration.ofMinutes(1), Duration.ofMinutes(5),
                Duration.ofMinutes(15))).delayWarning(Duration.ofMinutes(4)).build();
        deliver(q, mail(null, "late-1"), List.of(rcpt("bob@remote.test", Set.of(), null),
                rcpt("carol@remote.test", Set.of(RcptParameters.Notify.FAILURE), null)));
        q.deliverDue();
        assertEquals(List.of(), delivered(dir, "alice"), "not yet: under the delay warning time");
        clock.advance(Duration.ofMinutes(5));
        q.deliverDue();
        List<Path> notices = delivered(dir, "alice");
        assertEquals(1, notices.size());
        String dsn = Files.readString(notices.get(0));
        assertTrue(dsn.contains("Subject: Delayed Mail (still being retried)\r\n"), dsn);
        assertTrue(dsn.contains("Original-Envelope-Id: late-1\r\n"), dsn);
        assertTrue(dsn.contains("Final-Recipient: rfc822; bob@remote.test\r\nAction: delayed\r\nStatus: 4.0.0\r\n"), dsn);
        assertFalse(dsn.contains("carol@"), "NOTIFY=FAILURE asks for no delay notice: " + dsn);
        assertEquals(1, q.size(), "still queued");
        // a new queue over the same directory knows bob was told
        RelayQueue again = queue(unreachable, clock).retryDelays(List.of(Duration.ofMinutes(1), Duration.ofMinutes(5),
                Duration.ofMinutes(15))).delayWarning(Duration.ofMinutes(4)).build();
        clock.advance(Duration.ofMinutes(6));
        again.deliverDue();
        assertEquals(1, delivered(dir, "alice").size(), "told once");
    }

    @Test
    void theParametersSurviveARestartOnDisk() throws Exception {
        ManualClock clock = ManualClock.create();
        RelayQueue down = queue(MxResolver.fixed("127.0.0.1:1"), clock).build();
        deliver(down, mail(MailParameters.Ret.FULL, "keep me"),
                List.of(rcpt("ghost@remote.test", Set.of(RcptParameters.Notify.FAILURE), "rfc822;x y@example.test")));
        down.deliverDue();
        assertEquals(1, down.size(), "retried later");
        RecordingHop h = hop();
        RelayQueue up = queue(MxResolver.fixed(h.hostPort()), clock).build();
        clock.advance(Duration.ofMinutes(2));
        up.deliverDue();
        String dsn = Files.readString(delivered(dir, "alice").get(0));
        assertTrue(dsn.contains("Original-Envelope-Id: keep me\r\n"), dsn);
        assertTrue(dsn.contains("Original-Recipient: rfc822; x y@example.test\r\n"), dsn);
        assertTrue(dsn.contains("Content-Type: message/rfc822\r\n"), "RET=FULL kept: " + dsn);
    }

    @Test
    void aQueueFileWrittenBeforeDsnIsStillDeliveredAndBounced() throws Exception {
        Path queueDir = dir.resolve("queue");
        Files.createDirectories(queueDir);
        Files.write(queueDir.resolve("1-old.msg"), MESSAGE);
        Files.writeString(queueDir.resolve("1-old.env"),
                "from alice@example.test\nattempts 0\narrived 0\nnext 0\nrcpt bob@remote.test\nrcpt ghost@remote.test\n");
        RecordingHop h = hop();
        RelayQueue q = queue(MxResolver.fixed(h.hostPort()), ManualClock.create()).build();
        assertEquals(1, q.deliverDue());
        assertEquals(1, h.messages.size());
        String dsn = Files.readString(delivered(dir, "alice").get(0));
        assertTrue(dsn.contains("Final-Recipient: rfc822; ghost@remote.test\r\nAction: failed\r\n"), dsn);
        assertEquals(0, q.size());
    }

    @Test
    void localDeliveryWithNotifySuccessTellsTheSenderDelivered() throws Exception {
        RelayQueue q = queue(MxResolver.fixed("127.0.0.1:1"), ManualClock.create()).build();
        SmtpServer server = SmtpTestSupport.server(dir, q.notifyingSuccess(SmtpTestSupport.local(dir).build())).build();
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO client.example
                S: 250 example.test
                C: MAIL FROM:<bob@example.test> ENVID=local-1
                S: 250 2.1.0 Ok
                C: RCPT TO:<alice@example.test> NOTIFY=SUCCESS ORCPT=rfc822;info@example.test
                S: 250 2.1.5 Ok
                C: RCPT TO:<postmaster@example.test>
                S: 250 2.1.5 Ok
                C: DATA
                S: 354 End data with <CR><LF>.<CR><LF>
                C: Subject: hello
                C:
                C: hi
                C: .
                S: 250 2.0.0 Ok: queued
                C: QUIT
                S: 221 2.0.0 example.test Bye
                S: <closed>
                """).run(server.handler());
        int runs = dev.twine.core.testing.Chunking.standard().size();
        assertEquals(runs, delivered(dir, "alice").size());
        List<Path> notices = delivered(dir, "bob");
        assertEquals(runs, notices.size(), "one notice per message");
        String dsn = Files.readString(notices.get(0));
        assertTrue(dsn.contains("Original-Envelope-Id: local-1\r\n"), dsn);
        assertTrue(dsn.contains("Original-Recipient: rfc822; info@example.test\r\nFinal-Recipient: rfc822; alice@example.test\r\n"
                + "Action: delivered\r\nStatus: 2.0.0\r\n"), dsn);
        assertFalse(dsn.contains("Final-Recipient: rfc822; postmaster"), "postmaster asked for nothing: " + dsn);
        assertTrue(dsn.contains("Subject: hello\r\n"), dsn);
    }
}
