package dev.twine.mail.smtp;

import static dev.twine.mail.smtp.SmtpTestSupport.delivered;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.LineReader;
import dev.twine.core.LineWriter;
import dev.twine.core.Server;
import dev.twine.core.testing.ManualClock;
import dev.twine.mail.maildir.Maildir;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;
import java.io.ByteArrayInputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The relay queue against Twine next hops over loopback, with a manual clock for retries. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RelayQueueTest {
    @TempDir
    Path dir;

    @TempDir
    Path remoteDir;

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose.reversed()) {
            c.close();
        }
    }

    /** A Twine MX for remote.test whose first {@code failFirst} sessions answer RCPT with 451. */
    private int nextHop(int failFirst) throws Exception {
        SmtpServer remote = SmtpTestSupport.server(remoteDir, "remote.test").build();
        AtomicInteger sessions = new AtomicInteger();
        Server s = Server.builder("next-hop").listen("tcp:0:interface=127.0.0.1").handler(conn -> {
            if (sessions.getAndIncrement() >= failFirst) {
                remote.handler().handle(conn);
                return;
            }
            LineReader in = LineReader.of(conn, 1000);
            LineWriter out = LineWriter.of(conn);
            out.writeLine("220 flaky.test ESMTP").flush();
            for (String l; (l = in.readLine()) != null; ) {
                String v = l.length() >= 4 ? l.substring(0, 4).toUpperCase() : l;
                switch (v) {
                    case "EHLO", "HELO" -> out.writeLine("250 flaky.test");
                    case "RCPT" -> out.writeLine("451 4.3.0 Try again later");
                    case "QUIT" -> {
                        out.writeLine("221 bye").flush();
                        return;
                    }
                    default -> out.writeLine("250 ok");
                }
                out.flush();
            }
        }).start();
        toClose.add(s);
        return s.port();
    }

    private RelayQueue.Builder queue(MxResolver resolver, ManualClock clock) throws Exception {
        SmtpTestSupport.users(dir);
        return RelayQueue.builder().directory(dir.resolve("queue")).heloName("example.test").resolver(resolver)
                .localDelivery("example.test", Maildir.open(dir.resolve("maildir"))).clock(clock)
                .timeout(Duration.ofSeconds(10)).retryDelays(List.of(Duration.ofMinutes(1), Duration.ofMinutes(5)));
    }

    private static byte[] message(String subject) {
        return ("From: alice@example.test\r\nTo: bob@remote.test\r\nSubject: " + subject + "\r\n\r\nhello\r\n.dot line\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void aNextHopThatAnswers4xxThenAccepts_getsTheMessageOnTheRetry() throws Exception {
        int port = nextHop(1);
        ManualClock clock = ManualClock.create();
        RelayQueue q = queue(MxResolver.of(java.util.Map.of("remote.test", List.of("127.0.0.1:" + port))), clock).build();
        q.enqueue("alice@example.test", List.of("bob@remote.test"), message("retry"));
        assertEquals(1, q.deliverDue());
        assertEquals(1, q.size(), "451: still queued");
        assertEquals(0, delivered(remoteDir, "bob").size());
        assertEquals(0, q.deliverDue(), "not due before the backoff");
        clock.advance(Duration.ofSeconds(61));
        assertEquals(1, q.deliverDue());
        assertEquals(0, q.size(), "delivered: gone from the queue");
        List<Path> got = delivered(remoteDir, "bob");
        assertEquals(1, got.size());
        assertTrue(Files.readString(got.get(0)).endsWith("\r\nSubject: retry\r\n\r\nhello\r\n.dot line\r\n"), "dot line survives both hops");
        assertEquals(0, delivered(dir, "alice").size(), "no bounce");
    }

    @Test
    void a5xxRecipientIsBouncedToTheLocalSenderWithAnRfc3464Report() throws Exception {
        int port = nextHop(0);
        RelayQueue q = queue(MxResolver.fixed("127.0.0.1:" + port), ManualClock.create()).build();
        q.enqueue("alice@example.test", List.of("bob@remote.test", "ghost@remote.test"), message("partly"));
        q.deliverDue();
        assertEquals(0, q.size());
        assertEquals(1, delivered(remoteDir, "bob").size());
        List<Path> bounces = delivered(dir, "alice");
        assertEquals(1, bounces.size());
        MimeMessage dsn = new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(Files.readAllBytes(bounces.get(0))));
        assertTrue(dsn.getContentType().startsWith("multipart/report; report-type=delivery-status"), dsn.getContentType());
        String text = Files.readString(bounces.get(0));
        assertTrue(text.contains("Final-Recipient: rfc822; ghost@remote.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"), text);
        assertTrue(text.contains("Diagnostic-Code: smtp; 550 5.1.1"), text);
        assertTrue(text.contains("Content-Type: text/rfc822-headers\r\n\r\nFrom: alice@example.test\r\n"), text);
        assertTrue(!text.contains("bob@remote.test\r\nAction"), "the delivered recipient is not reported");
    }

    @Test
    void aBounceForATaggedSenderOfAnotherLocalDomainGoesStraightToTheUsersMaildir() throws Exception {
        int port = nextHop(0);
        RelayQueue q = queue(MxResolver.fixed("127.0.0.1:" + port), ManualClock.create())
                .localDelivery("example.org", Maildir.open(dir.resolve("maildir"))).build();
        q.enqueue("alice+orders@Example.ORG", List.of("ghost@remote.test"), message("tagged"));
        q.deliverDue();
        assertEquals(0, q.size(), "not queued again for a next hop");
        List<Path> bounces = delivered(dir, "alice");
        assertEquals(1, bounces.size());
        assertTrue(Files.readString(bounces.get(0)).contains("Final-Recipient: rfc822; ghost@remote.test"));
    }

    @Test
    void anUnreachableHopIsRetriedWithBackoffThenBouncedAsExpired() throws Exception {
        int closedPort;
        try (ServerSocket ss = new ServerSocket(0)) {
            closedPort = ss.getLocalPort();
        }
        ManualClock clock = ManualClock.create();
        RelayQueue q = queue(MxResolver.fixed("127.0.0.1:" + closedPort), clock).build();
        q.enqueue("alice@example.test", List.of("bob@remote.test"), message("lost"));
        q.enqueue("", List.of("bob@remote.test"), message("a bounce itself"));
        assertEquals(2, q.deliverDue());
        clock.advance(Duration.ofMinutes(1));
        assertEquals(2, q.deliverDue());
        clock.advance(Duration.ofMinutes(4));
        assertEquals(0, q.deliverDue(), "the second retry waits 5 minutes");
        clock.advance(Duration.ofMinutes(1));
        assertEquals(2, q.deliverDue());
        assertEquals(0, q.size(), "out of retries");
        List<Path> bounces = delivered(dir, "alice");
        assertEquals(1, bounces.size(), "one bounce, and none for the null sender");
        String text = Files.readString(bounces.get(0));
        assertTrue(text.contains("Status: 4.4.7\r\n"), text);
    }

    @Test
    void manyMessagesToAFlakyHopAreAllDeliveredOnceDespiteConcurrentAttempts() throws Exception {
        int port = nextHop(3);
        ManualClock clock = ManualClock.create();
        RelayQueue q = queue(MxResolver.fixed("127.0.0.1:" + port), clock).concurrency(4).build();
        for (int i = 0; i < 12; i++) {
            q.enqueue("alice@example.test", List.of("bob@remote.test"), message("n" + i));
        }
        assertEquals(12, q.deliverDue());
        assertEquals(3, q.size(), "the first three sessions got 451");
        clock.advance(Duration.ofMinutes(1));
        assertEquals(3, q.deliverDue());
        assertEquals(0, q.size());
        List<String> subjects = new ArrayList<>();
        for (Path f : delivered(remoteDir, "bob")) {
            String t = Files.readString(f);
            subjects.add(t.substring(t.indexOf("Subject: ") + 9, t.indexOf("\r\n", t.indexOf("Subject: "))));
        }
        subjects.sort(null);
        List<String> want = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            want.add("n" + i);
        }
        want.sort(null);
        assertEquals(want, subjects, "each message exactly once");
    }

    @Test
    void theQueueSurvivesARestartAndItsWorkerDeliversWhatWasLeft() throws Exception {
        int port = nextHop(0);
        RelayQueue first = queue(MxResolver.fixed("127.0.0.1:" + port), ManualClock.create()).build();
        String id = first.enqueue("alice@example.test", List.of("bob@remote.test"), message("restart"));
        // a crash mid-enqueue leaves an uncommitted message file: ignored and cleaned at start
        Files.write(dir.resolve("queue").resolve("999-orphan.msg"), new byte[] {1, 2, 3});
        RelayQueue second = RelayQueue.builder().directory(dir.resolve("queue")).heloName("example.test")
                .resolver(MxResolver.fixed("127.0.0.1:" + port)).timeout(Duration.ofSeconds(10)).build();
        assertEquals(List.of(id), List.copyOf(second.pending().keySet()));
        second.start();
        toClose.add(second);
        for (int i = 0; i < 200 && delivered(remoteDir, "bob").isEmpty(); i++) {
            Thread.sleep(50);
        }
        assertEquals(1, delivered(remoteDir, "bob").size());
        for (int i = 0; i < 100 && second.size() > 0; i++) {
            Thread.sleep(20);
        }
        assertEquals(0, second.size());
        assertTrue(Files.notExists(dir.resolve("queue").resolve("999-orphan.msg")));
    }

    @Test
    void submissionRelaysThroughTheQueueToATwineNextHop() throws Exception {
        int port = nextHop(0);
        RelayQueue q = RelayQueue.builder().directory(dir.resolve("queue")).heloName("example.test")
                .resolver(MxResolver.of(java.util.Map.of("remote.test", List.of("127.0.0.1:" + port))))
                .timeout(Duration.ofSeconds(10)).tls(Optional.empty()).build();
        q.start();
        toClose.add(q);
        SmtpServer submission = SmtpTestSupport.server(dir, MailDelivery.byDomain(List.of(SmtpTestSupport.DOMAIN), SmtpTestSupport.local(dir).build(), q))
                .role(SmtpServer.Role.SUBMISSION).allowPlainAuth(true).listen("tcp:0:interface=127.0.0.1").build();
        submission.start();
        toClose.add(submission);
        try (SmtpClient c = SmtpClient.connect("127.0.0.1:" + submission.port(), Duration.ofSeconds(10))) {
            c.ehlo("mua.test");
            c.auth("alice", "secret");
            c.send("alice@example.test", List.of("bob@remote.test", "bob@example.test"), message("out and in"));
            c.quit();
        }
        assertEquals(1, delivered(dir, "bob").size(), "the local copy is delivered at once");
        for (int i = 0; i < 200 && delivered(remoteDir, "bob").isEmpty(); i++) {
            Thread.sleep(50);
        }
        List<Path> got = delivered(remoteDir, "bob");
        assertEquals(1, got.size());
        String text = Files.readString(got.get(0));
        // two Received lines: the next hop's and the submission server's
        assertEquals(2, text.split("Received: from ", -1).length - 1, text);
        assertTrue(text.contains("Message-ID: <"), "submission completed the message: " + text);
    }

    @Test
    void shutdownEndsAnIdleWorkerWithinItsGraceAndKeepsTheQueueOnDisk() throws Exception {
        RelayQueue q = queue(MxResolver.of(java.util.Map.of()), ManualClock.create()).build();
        q.start();
        q.enqueue("alice@example.test", List.of("bob@remote.test"), message("kept"));
        q.shutdown(Duration.ofSeconds(5));
        q.awaitTermination(); // returns: the worker has ended
        try (java.util.stream.Stream<Path> files = Files.list(dir.resolve("queue"))) {
            assertEquals(1, files.filter(p -> p.toString().endsWith(".env")).count(), "a message not yet sent stays queued on disk");
        }
    }
}
