package dev.twine.core.auth;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.ManualClock;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The SASL driver ({@link SaslExchange#run}) and the password login under the auth policy. */
class SaslRunTest {

    private final ManualClock clock = ManualClock.at(Instant.parse("2026-01-01T00:00:00Z"));
    private final Map<String, StoredSecret> users = Map.of(
            "alice", new StoredSecret.Plain("secret"),
            "carol", StoredSecret.Scram.derive("scram-secret", new byte[] {7, 7, 7, 7}, 4096));

    private Portal portal(AuthPolicy policy) {
        return Portal.builder().users(name -> Optional.ofNullable(users.get(name))).policy(policy).build();
    }

    private AuthPolicy.Builder noDelay() {
        return AuthPolicy.builder().clock(clock).failureDelay(Duration.ZERO).maxFailureDelay(Duration.ZERO);
    }

    private static LoginAttempts attempts(Portal portal) {
        return portal.policy().open("test", new InetSocketAddress("192.0.2.7", 40000));
    }

    /** A profile that records the challenges it is asked to send and answers from a script. */
    private static final class Scripted implements SaslExchange.Profile {
        final List<String> challenges = new ArrayList<>();
        final Deque<Optional<byte[]>> answers = new ArrayDeque<>();
        final boolean carriesData;

        Scripted(boolean carriesData, String... answers) {
            this.carriesData = carriesData;
            for (String a : answers) {
                this.answers.add(a == null ? Optional.empty() : Optional.of(a.getBytes(UTF_8)));
            }
        }

        @Override
        public Optional<byte[]> challenge(byte[] challenge) {
            challenges.add(new String(challenge, UTF_8));
            if (answers.isEmpty()) {
                throw new AssertionError("no scripted answer for challenge " + challenges);
            }
            return answers.removeFirst();
        }

        @Override
        public boolean successCarriesData() {
            return carriesData;
        }
    }

    private static Optional<byte[]> bytes(String s) {
        return Optional.of(s.getBytes(UTF_8));
    }

    @Test
    void plainWithInitialResponseLogsInWithoutAChallenge() throws Exception {
        Portal portal = portal(noDelay().build());
        Scripted profile = new Scripted(false);
        LoginResult r = portal.sasl("PLAIN").run(bytes("\0alice\0secret"), profile, attempts(portal));
        LoginResult.LoggedIn in = assertInstanceOf(LoginResult.LoggedIn.class, r);
        assertEquals(new Principal("alice", "PLAIN"), in.principal());
        assertEquals(0, in.additionalData().length);
        assertEquals(List.of(), profile.challenges);
    }

    @Test
    void withoutInitialResponseTheEmptyChallengeIsSentFirst() throws Exception {
        Portal portal = portal(noDelay().build());
        Scripted profile = new Scripted(false, "\0alice\0secret");
        LoginResult r = portal.sasl("PLAIN").run(Optional.empty(), profile, attempts(portal));
        assertInstanceOf(LoginResult.LoggedIn.class, r);
        assertEquals(List.of(""), profile.challenges);
    }

    @Test
    void scramDataGoesInALastChallengeWhenSuccessCannotCarryIt() throws Exception {
        Portal portal = portal(noDelay().build());
        ScramClient client = new ScramClient("carol", "scram-secret", "cnonce");
        SaslExchange x = portal.sasl("SCRAM-SHA-256");
        SaslExchange.Profile profile = new SaslExchange.Profile() {
            int step;

            @Override
            public Optional<byte[]> challenge(byte[] challenge) throws java.io.IOException {
                step++;
                try {
                    return switch (step) {
                        case 1 -> Optional.of(client.clientFinal(challenge));
                        case 2 -> {
                            assertEquals(client.expectedServerFinal(), new String(challenge, UTF_8));
                            yield Optional.of(new byte[0]);
                        }
                        default -> throw new AssertionError("step " + step);
                    };
                } catch (java.io.IOException | RuntimeException | Error e) {
                    throw e;
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }
        };
        LoginResult r = x.run(Optional.of(client.clientFirst()), profile, attempts(portal));
        LoginResult.LoggedIn in = assertInstanceOf(LoginResult.LoggedIn.class, r);
        assertEquals("carol", in.principal().name());
        assertEquals(0, in.additionalData().length, "the v= message went out as a challenge");
    }

    @Test
    void scramDataComesBackWhenSuccessCarriesIt() throws Exception {
        Portal portal = portal(noDelay().build());
        ScramClient client = new ScramClient("carol", "scram-secret", "cnonce");
        SaslExchange x = portal.sasl("SCRAM-SHA-256");
        SaslExchange.Profile profile = new SaslExchange.Profile() {
            @Override
            public Optional<byte[]> challenge(byte[] challenge) {
                try {
                    return Optional.of(client.clientFinal(challenge));
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }

            @Override
            public boolean successCarriesData() {
                return true;
            }
        };
        LoginResult.LoggedIn in = assertInstanceOf(LoginResult.LoggedIn.class,
                x.run(Optional.of(client.clientFirst()), profile, attempts(portal)));
        assertEquals(client.expectedServerFinal(), new String(in.additionalData(), UTF_8));
    }

    @Test
    void aWrongPasswordFailsWithTheUserNameAndIsCounted() throws Exception {
        Portal portal = portal(noDelay().maxFailuresPerConnection(2).build());
        LoginAttempts attempts = attempts(portal);
        LoginResult.Failed f = assertInstanceOf(LoginResult.Failed.class,
                portal.sasl("PLAIN").run(bytes("\0alice\0wrong"), new Scripted(false), attempts));
        assertEquals(Optional.of("alice"), f.username());
        assertTrue(f.mayRetry());
        assertEquals(1, attempts.failures());
        f = assertInstanceOf(LoginResult.Failed.class,
                portal.sasl("PLAIN").run(bytes("\0alice\0wrong"), new Scripted(false), attempts));
        assertFalse(f.mayRetry(), "the second failure is the last this connection gets");
    }

    @Test
    void aCancelIsAbandonedAndCountsNothing() throws Exception {
        Portal portal = portal(noDelay().build());
        LoginAttempts attempts = attempts(portal);
        Scripted profile = new Scripted(false, (String) null);
        assertInstanceOf(LoginResult.Abandoned.class, portal.sasl("PLAIN").run(Optional.empty(), profile, attempts));
        assertEquals(0, attempts.failures());
    }

    @Test
    void aPenalisedAddressIsRefusedBeforeAnyChallengeEvenWithTheRightPassword() throws Exception {
        Portal portal = portal(noDelay().maxFailuresPerConnection(0)
                .addressPenalty(2, Duration.ofMinutes(10), Duration.ofMinutes(5)).build());
        for (int i = 0; i < 2; i++) {
            assertInstanceOf(LoginResult.Failed.class,
                    portal.sasl("PLAIN").run(bytes("\0alice\0wrong"), new Scripted(false), attempts(portal)));
        }
        Scripted profile = new Scripted(false);
        LoginResult.Refused r = assertInstanceOf(LoginResult.Refused.class,
                portal.sasl("PLAIN").run(Optional.empty(), profile, attempts(portal)));
        assertEquals(List.of(), profile.challenges, "nothing was asked of a penalised address");
        assertTrue(r.mayRetry());
        assertInstanceOf(LoginResult.Refused.class,
                attempts(portal).authenticate(portal, new UsernamePassword("alice", "secret")));
    }

    @Test
    void loginMechanismAsksForUserAndPassword() throws Exception {
        Portal portal = portal(noDelay().build());
        Scripted profile = new Scripted(false, "alice", "secret");
        LoginResult.LoggedIn in = assertInstanceOf(LoginResult.LoggedIn.class,
                portal.sasl("login").run(Optional.empty(), profile, attempts(portal)));
        assertEquals(List.of("Username:", "Password:"), profile.challenges);
        assertEquals(new Principal("alice", "LOGIN"), in.principal());
        assertFalse(portal.saslMechanisms().contains("LOGIN"), "LOGIN is run, never advertised");
    }

    @Test
    void loginMechanismWithTheUserAsInitialResponseAsksOnlyForThePassword() throws Exception {
        Portal portal = portal(noDelay().build());
        Scripted profile = new Scripted(false, "nope");
        LoginResult.Failed f = assertInstanceOf(LoginResult.Failed.class,
                portal.sasl("LOGIN").run(bytes("alice"), profile, attempts(portal)));
        assertEquals(List.of("Password:"), profile.challenges);
        assertEquals(Optional.of("alice"), f.username());
    }

    @Test
    void passwordLoginGoesThroughThePolicy() throws Exception {
        Portal portal = portal(noDelay().build());
        LoginAttempts attempts = attempts(portal);
        assertInstanceOf(LoginResult.LoggedIn.class, attempts.authenticate(portal, new UsernamePassword("alice", "secret")));
        LoginResult.Failed f = assertInstanceOf(LoginResult.Failed.class,
                attempts.authenticate(portal, new UsernamePassword("alice", "Secret")));
        assertEquals(Optional.of("alice"), f.username());
        assertEquals(1, attempts.failures());
    }

    @Test
    void anExchangeRunsOnce() throws Exception {
        Portal portal = portal(noDelay().build());
        SaslExchange x = portal.sasl("PLAIN");
        x.run(bytes("\0alice\0secret"), new Scripted(false), attempts(portal));
        assertThrows(IllegalStateException.class, () -> x.run(Optional.empty(), new Scripted(false), attempts(portal)));
    }
}
