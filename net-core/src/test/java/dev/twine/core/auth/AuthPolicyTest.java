package dev.twine.core.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.ManualClock;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * If logins fail under an {@link AuthPolicy}, then each failure is delayed longer, a connection is
 * told to go after its maximum, an address or a user name that fails too often is refused for a
 * while (right password or not), other addresses and the real user are not, and every event is
 * one log line fail2ban can match. The clock is manual: no test waits for real time.
 */
@Timeout(10)
class AuthPolicyTest {
    private final ManualClock clock = ManualClock.create();
    private final List<String> log = new CopyOnWriteArrayList<>();
    /** Records each line as {@code LEVEL message}, formatted as the JDK's default logger formats it. */
    private final System.Logger capture = new System.Logger() {
        @Override
        public String getName() {
            return "dev.twine.auth";
        }

        @Override
        public boolean isLoggable(Level level) {
            return true;
        }

        @Override
        public void log(Level level, java.util.ResourceBundle bundle, String msg, Throwable thrown) {
            log.add(level + " " + msg);
        }

        @Override
        public void log(Level level, java.util.ResourceBundle bundle, String format, Object... params) {
            log.add(level + " " + java.text.MessageFormat.format(format, params));
        }
    };

    private static InetSocketAddress from(String ip) {
        return new InetSocketAddress(ip, 50000);
    }

    /** No delays, so that penalties can be tested without advancing the clock for each failure. */
    private AuthPolicy.Builder noDelay() {
        return AuthPolicy.builder().clock(clock).logger(capture).failureDelay(Duration.ZERO).maxFailureDelay(Duration.ZERO)
                .maxFailuresPerConnection(0);
    }

    @Test
    void theDelayDoublesWithEachFailureUpToTheMaximum() {
        AuthPolicy p = AuthPolicy.builder().failureDelay(Duration.ofSeconds(1)).maxFailureDelay(Duration.ofSeconds(8)).build();
        assertEquals(List.of(1L, 2L, 4L, 8L, 8L, 8L),
                java.util.stream.IntStream.rangeClosed(1, 6).mapToObj(p::delayAfter).map(Duration::toSeconds).toList());
    }

    @Test
    void aFailureIsAnsweredOnlyAfterItsDelay() throws Exception {
        AuthPolicy p = AuthPolicy.builder().clock(clock).build();
        LoginAttempts a = p.open("imap", from("192.0.2.1"));
        CountDownLatch done = new CountDownLatch(1);
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                a.failed("alice");
                done.countDown();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        clock.awaitWaiters(1, Duration.ofSeconds(5));
        assertFalse(done.await(0, TimeUnit.MILLISECONDS), "failed() returned before its delay");
        clock.advance(Duration.ofMillis(999));
        assertFalse(done.await(100, TimeUnit.MILLISECONDS), "failed() returned before its delay");
        clock.advance(Duration.ofMillis(1));
        assertTrue(done.await(5, TimeUnit.SECONDS));
        t.join();
    }

    @Test
    void aConnectionIsToldToGoAfterItsMaximumAndRefusedAfterThat() throws Exception {
        AuthPolicy p = noDelay().maxFailuresPerConnection(3).addressPenalty(0, Duration.ZERO, Duration.ZERO).build();
        LoginAttempts a = p.open("pop3", from("192.0.2.1"));
        a.admit("alice");
        assertTrue(a.failed("alice"));
        assertTrue(a.failed("alice"));
        assertFalse(a.failed("alice"), "the third failure is the last");
        LoginRefusedException e = assertThrows(LoginRefusedException.class, () -> a.admit("alice"));
        assertFalse(e.mayRetry());
        // another connection from the same address starts afresh (no address penalty here)
        p.open("pop3", from("192.0.2.1")).admit("alice");
    }

    @Test
    void anAddressThatFailsTooOftenIsRefusedForThePenaltyWhileOthersAreNot() throws Exception {
        AuthPolicy p = noDelay().addressPenalty(10, Duration.ofMinutes(10), Duration.ofMinutes(5)).build();
        for (int i = 0; i < 10; i++) {
            LoginAttempts a = p.open("smtp", from("192.0.2.1"));
            a.admit(null);
            a.failed("user" + i);
            clock.advance(Duration.ofSeconds(30));
        }
        LoginAttempts asked = p.open("ssh", from("192.0.2.1"));
        int logged = log.size();
        assertTrue(asked.isRefused(null), "the check that does not wait sees the penalty too");
        assertEquals(0, asked.failures(), "and counts nothing");
        assertEquals(logged, log.size(), "nor logs");
        assertFalse(p.open("ssh", from("192.0.2.2")).isRefused("alice"));
        assertThrows(LoginRefusedException.class, () -> p.open("imap", from("192.0.2.1")).admit(null),
                "the penalty spans protocols sharing the policy");
        p.open("imap", from("192.0.2.2")).admit("alice"); // another address is not refused
        p.open("imap", from("2001:db8::1")).admit("alice");
        clock.advance(Duration.ofMinutes(5));
        p.open("imap", from("192.0.2.1")).admit(null); // the penalty is over
        assertTrue(log.stream().anyMatch(l -> l.equals("WARNING address penalised: address=192.0.2.1 failures=10 within=PT10M for=PT5M")), log.toString());
    }

    @Test
    void failuresSpreadBeyondTheWindowDoNotPenalise() throws Exception {
        AuthPolicy p = noDelay().addressPenalty(3, Duration.ofMinutes(1), Duration.ofMinutes(5)).build();
        LoginAttempts a = p.open("smtp", from("192.0.2.1"));
        for (int i = 0; i < 10; i++) {
            a.admit(null);
            a.failed("alice");
            clock.advance(Duration.ofSeconds(31)); // three failures always span more than a minute
        }
        a.admit(null);
    }

    @Test
    void aGuessedUserIsRefusedOnlyFromAddressesThatFailedForIt() throws Exception {
        AuthPolicy p = noDelay().addressPenalty(0, Duration.ZERO, Duration.ZERO)
                .userPenalty(20, Duration.ofMinutes(10), Duration.ofMinutes(5)).build();
        for (int i = 1; i <= 20; i++) {
            LoginAttempts a = p.open("ssh", from("198.51.100." + i));
            a.admit("Alice");
            a.failed("Alice");
        }
        assertThrows(LoginRefusedException.class, () -> p.open("ssh", from("198.51.100.3")).admit("alice"),
                "user names are compared ignoring case");
        p.open("ssh", from("198.51.100.3")).admit("bob"); // other users from that address are fine
        p.open("ssh", from("203.0.113.9")).admit("alice"); // the real user, from a clean address
        clock.advance(Duration.ofMinutes(5));
        p.open("ssh", from("198.51.100.3")).admit("alice");
    }

    @Test
    void aRefusalIsDelayedAndCountsAgainstTheConnection() throws Exception {
        AuthPolicy p = AuthPolicy.builder().clock(clock).maxFailuresPerConnection(2)
                .addressPenalty(1, Duration.ofMinutes(1), Duration.ofMinutes(1)).build();
        LoginAttempts first = p.open("imap", from("192.0.2.1"));
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                first.failed("alice");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        clock.awaitWaiters(1, Duration.ofSeconds(5));
        clock.advance(Duration.ofSeconds(1));
        t.join();
        LoginAttempts second = p.open("imap", from("192.0.2.1"));
        LoginRefusedException[] caught = new LoginRefusedException[1];
        Thread u = Thread.ofVirtual().start(() -> {
            try {
                second.admit("alice");
            } catch (LoginRefusedException e) {
                caught[0] = e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        clock.awaitWaiters(1, Duration.ofSeconds(5));
        clock.advance(Duration.ofSeconds(1));
        u.join();
        assertTrue(caught[0] != null && caught[0].mayRetry());
        assertEquals(Duration.ofSeconds(59), caught[0].retryAfter());
        assertEquals(1, second.failures());
    }

    @Test
    void logsEveryEventWithTheAddressFirstAndAPrintableUserName() throws Exception {
        AuthPolicy p = noDelay().addressPenalty(2, Duration.ofMinutes(1), Duration.ofMinutes(1)).build();
        LoginAttempts a = p.open("imap", from("192.0.2.1"));
        a.failed("al ice\r\n");
        a.failed(null);
        assertThrows(LoginRefusedException.class, () -> a.admit("alice"));
        LoginAttempts b = p.open("imap", from("192.0.2.2"));
        b.succeeded("bob");
        assertEquals(List.of(
                "INFO login failed: service=imap address=192.0.2.1 user=al?ice?? failures=1",
                "INFO login failed: service=imap address=192.0.2.1 user=- failures=2",
                "WARNING address penalised: address=192.0.2.1 failures=2 within=PT1M for=PT1M",
                "WARNING login refused: service=imap address=192.0.2.1 user=alice reason=address-penalty retry-after=PT1M",
                "INFO login: service=imap address=192.0.2.2 user=bob"), log);
    }

    @Test
    void unlimitedNeverDelaysOrRefuses() throws Exception {
        AuthPolicy p = AuthPolicy.unlimited();
        LoginAttempts a = p.open("imap", from("192.0.2.1"));
        for (int i = 0; i < 1000; i++) {
            a.admit("alice");
            assertTrue(a.failed("alice"));
        }
    }

    @Test
    void rejectsInconsistentSettings() {
        assertThrows(IllegalArgumentException.class,
                () -> AuthPolicy.builder().failureDelay(Duration.ofSeconds(10)).maxFailureDelay(Duration.ofSeconds(1)).build());
        assertThrows(IllegalArgumentException.class,
                () -> AuthPolicy.builder().addressPenalty(5, Duration.ZERO, Duration.ofMinutes(1)));
        assertThrows(IllegalArgumentException.class, () -> AuthPolicy.builder().maxFailuresPerConnection(-1));
    }

    @Test
    void aFailedSaslExchangeStillTellsTheUserItWasFor() throws Exception {
        UserStore users = name -> name.equals("alice") ? java.util.Optional.of(new StoredSecret.Plain("secret")) : java.util.Optional.empty();
        Portal portal = Portal.builder().users(users).policy(AuthPolicy.unlimited()).build();
        SaslExchange plain = portal.sasl("PLAIN");
        assertThrows(AuthenticationException.class,
                () -> plain.evaluate("\0alice\0wrong".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertEquals(java.util.Optional.of("alice"), plain.username());
        SaslExchange scram = portal.sasl("SCRAM-SHA-256");
        assertEquals(java.util.Optional.empty(), scram.username());
        scram.evaluate("n,,n=bob,r=abcdefgh".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(java.util.Optional.of("bob"), scram.username());
    }
}
