package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.twine.core.auth.AuthPolicy;
import dev.twine.core.auth.AuthenticationException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SSH logins under the portal's {@link AuthPolicy}: password guessing from one address gets that
 * address (and the user, from it) refused for every method, right password or not, while another
 * address still logs in; public-key queries without a signature are not failures.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class AuthPolicyTest {

    @TempDir
    Path dir;

    private static SshClient.Builder client(TwineSshFixture t) {
        return SshClient.builder("127.0.0.1", t.server.port()).user(TwineSshFixture.USER)
                .knownHosts(t.knownHosts).timeout(Duration.ofSeconds(20));
    }

    @Test
    void guessingFromOneAddressIsRefusedThereButNotFromAnother() throws Exception {
        AuthPolicy policy = AuthPolicy.builder()
                .failureDelay(Duration.ofMillis(20)).maxFailureDelay(Duration.ofMillis(20))
                .maxFailuresPerConnection(2)
                .addressPenalty(3, Duration.ofMinutes(10), Duration.ofMinutes(5))
                .userPenalty(3, Duration.ofMinutes(10), Duration.ofMinutes(5))
                .build();
        try (TwineSshFixture t = new TwineSshFixture(dir, policy, b -> b)) {
            Path key = Peers.keygen(dir, "ed25519", "id");
            t.authorize(key);
            for (int i = 0; i < 3; i++) {
                assertThrows(AuthenticationException.class, () -> client(t).password("guess").connect().close());
            }
            // 127.0.0.1 is penalised now: the right password and an authorized key fail too
            assertThrows(AuthenticationException.class,
                    () -> client(t).password(TwineSshFixture.PASSWORD).connect().close());
            Peers.Run withKey = Peers.run(t.sshWithKey(key, "echo", "in"), null, Duration.ofSeconds(30));
            assertNotEquals(0, withKey.exit(), withKey.toString());
            // another address, which never failed, is not locked out by either penalty
            List<String> other = t.sshWithPassword(TwineSshFixture.PASSWORD, "password", "echo", "in");
            other.addAll(other.indexOf(Peers.require("/usr/bin/ssh")) + 1, List.of("-b", "127.0.0.2"));
            Peers.Run r = Peers.run(other, null, Duration.ofSeconds(30));
            assertEquals(0, r.exit(), r.toString());
            assertEquals("in\n", r.out());
            List<String> otherKey = t.sshWithKey(key, "echo", "in");
            otherKey.addAll(1, List.of("-b", "127.0.0.2"));
            Peers.Run k = Peers.run(otherKey, null, Duration.ofSeconds(30));
            assertEquals(0, k.exit(), k.toString());
        }
    }

    @Test
    void publicKeyQueriesAreNotFailures() throws Exception {
        AuthPolicy oneFailure = AuthPolicy.builder()
                .failureDelay(Duration.ZERO).maxFailureDelay(Duration.ZERO)
                .maxFailuresPerConnection(1)
                .addressPenalty(0, Duration.ZERO, Duration.ZERO).userPenalty(0, Duration.ZERO, Duration.ZERO)
                .build();
        try (TwineSshFixture t = new TwineSshFixture(dir, oneFailure, b -> b)) {
            Path stranger = Peers.keygen(dir, "ed25519", "stranger");
            Path mine = Peers.keygen(dir, "ed25519", "mine");
            t.authorize(mine);
            // OpenSSH asks about each key before signing (RFC 4252 §7); three refused keys first
            Path second = Peers.keygen(dir, "ed25519", "second");
            Path third = Peers.keygen(dir, "ed25519", "third");
            List<String> cmd = t.sshWithKey(mine, "echo", "in");
            int i = cmd.indexOf("-i");
            cmd.addAll(i, List.of("-i", stranger.toString(), "-i", second.toString(), "-i", third.toString()));
            Peers.Run r = Peers.run(cmd, null, Duration.ofSeconds(30));
            assertEquals(0, r.exit(), r.toString());
            assertEquals("in\n", r.out());
        }
    }
}
