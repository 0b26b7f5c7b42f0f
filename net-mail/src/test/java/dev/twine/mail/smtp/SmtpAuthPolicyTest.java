package dev.twine.mail.smtp;

import static dev.twine.mail.smtp.SmtpTestSupport.b64;
import static dev.twine.mail.smtp.SmtpTestSupport.plain;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.LineReader;
import dev.twine.core.auth.AuthPolicy;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UsersFile;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.ManualClock;
import dev.twine.core.testing.MemoryConnections;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SMTP AUTH under the portal's {@link AuthPolicy} (issue 10, finding 2): each failure is answered
 * late, the connection is closed after the policy's maximum, and while the address is penalised
 * even the right password gets the temporary failure 454 4.7.0.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SmtpAuthPolicyTest {
    @TempDir
    Path dir;

    private SmtpServer server(AuthPolicy policy) throws Exception {
        UsersFile users = SmtpTestSupport.users(dir);
        return SmtpServer.builder().domain(SmtpTestSupport.DOMAIN).delivery(SmtpTestSupport.local(dir).build())
                .portal(Portal.builder().users(users).policy(policy).build())
                .role(SmtpServer.Role.SUBMISSION).allowPlainAuth(true)
                // the tests move the manual clock past penalties of minutes; the 5-minute idle
                // timeout must not close the connection while they do
                .idleTimeout(Duration.ofHours(1)).build();
    }

    @Test
    void pipelinedWrongAuthsAreAnsweredLateAndTheThirdClosesTheConnection() throws Exception {
        ManualClock clock = ManualClock.create();
        // the defaults' delays: 1 s after the first failure, then 2 s, 4 s; closed after 3
        SmtpServer server = server(AuthPolicy.builder().clock(clock).build());
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.whole(), clock)) {
            LineReader in = LineReader.of(s.client(), 1000);
            assertEquals("220 example.test ESMTP Twine", in.readLine());
            send(s.client(), "EHLO c\r\n");
            while (in.readLine().startsWith("250-")) {
                // the extensions
            }
            Instant start = clock.instant();
            StringBuilder guesses = new StringBuilder();
            for (int i = 0; i < 10; i++) {
                guesses.append("AUTH PLAIN ").append(plain("alice", "guess" + i)).append("\r\n");
            }
            send(s.client(), guesses.toString());
            // the replies are held back while the pipelined guesses wait: they come as it closes
            SmtpTestSupport.advanceUntilClosed(clock, Duration.ofSeconds(1), s.server(), step -> { });
            assertEquals("535 5.7.8 Authentication credentials invalid", in.readLine());
            assertEquals("535 5.7.8 Authentication credentials invalid", in.readLine());
            assertEquals("421 4.7.0 example.test Too many failed authentications, closing connection", in.readLine());
            Duration waited = Duration.between(start, clock.instant());
            assertTrue(waited.compareTo(Duration.ofSeconds(7)) >= 0, "1 s + 2 s + 4 s of delay, not " + waited);
            assertEquals(null, in.readLine(), "closed after the third failure; the other guesses are never tried");
        }
    }

    @Test
    void theRightPasswordIsRefusedWith454WhileTheAddressIsPenalised() throws Exception {
        ManualClock clock = ManualClock.create();
        AuthPolicy policy = AuthPolicy.builder().clock(clock).failureDelay(Duration.ZERO).maxFailureDelay(Duration.ZERO)
                .maxFailuresPerConnection(0).addressPenalty(2, Duration.ofMinutes(10), Duration.ofMinutes(5)).build();
        SmtpServer server = server(policy);
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.byteByByte(), clock)) {
            LineReader in = LineReader.of(s.client(), 1000);
            assertEquals("220 example.test ESMTP Twine", in.readLine());
            send(s.client(), "EHLO c\r\n");
            while (in.readLine().startsWith("250-")) {
                // the extensions
            }
            send(s.client(), "AUTH PLAIN " + plain("alice", "wrong") + "\r\n");
            assertEquals("535 5.7.8 Authentication credentials invalid", in.readLine());
            // AUTH LOGIN counts as well
            send(s.client(), "AUTH LOGIN " + b64("alice") + "\r\n");
            assertEquals("334 UGFzc3dvcmQ6", in.readLine());
            send(s.client(), b64("wrong again") + "\r\n");
            assertEquals("535 5.7.8 Authentication credentials invalid", in.readLine());
            send(s.client(), "AUTH PLAIN " + plain("alice", "secret") + "\r\n");
            assertEquals("454 4.7.0 Temporary authentication failure; try again later", in.readLine(),
                    "penalised: the right password is not even tried");
            send(s.client(), "MAIL FROM:<alice@example.test>\r\n");
            assertEquals("530 5.7.0 Authentication required", in.readLine());
            clock.advance(Duration.ofMinutes(6));
            send(s.client(), "AUTH PLAIN " + plain("alice", "secret") + "\r\n");
            assertEquals("235 2.7.0 Authentication successful", in.readLine(), "the penalty is over");
        }
    }

    @Test
    void thePenaltyReachesANewConnectionFromTheSameAddressButTheDelayIsPerConnection() throws Exception {
        ManualClock clock = ManualClock.create();
        AuthPolicy policy = AuthPolicy.builder().clock(clock).failureDelay(Duration.ZERO).maxFailureDelay(Duration.ZERO)
                .maxFailuresPerConnection(1).addressPenalty(2, Duration.ofMinutes(10), Duration.ofMinutes(5)).build();
        SmtpServer server = server(policy);
        for (int i = 0; i < 2; i++) {
            try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.whole(), clock)) {
                LineReader in = LineReader.of(s.client(), 1000);
                in.readLine();
                send(s.client(), "EHLO c\r\nAUTH PLAIN " + plain("bob", "nope") + "\r\n");
                while (in.readLine().startsWith("250-")) {
                    // the extensions
                }
                assertEquals("421 4.7.0 example.test Too many failed authentications, closing connection", in.readLine());
                assertEquals(null, in.readLine());
            }
        }
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), Chunking.whole(), clock)) {
            LineReader in = LineReader.of(s.client(), 1000);
            in.readLine();
            send(s.client(), "EHLO c\r\nAUTH PLAIN " + plain("bob", "hunter2") + "\r\n");
            while (in.readLine().startsWith("250-")) {
                // the extensions
            }
            String reply = in.readLine();
            assertFalse(reply.startsWith("235"), "the right password from a penalised address: " + reply);
            assertTrue(reply.startsWith("454 4.7.0") || reply.startsWith("421 4.7.0"), reply);
        }
    }

    private static void send(Connection c, String s) throws Exception {
        c.output().write(s.getBytes(StandardCharsets.UTF_8));
        c.flush();
    }
}
