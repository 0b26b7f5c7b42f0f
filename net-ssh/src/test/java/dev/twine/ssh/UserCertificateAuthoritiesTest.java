package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.ManualClock;
import dev.twine.ssh.internal.Keys;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trusted-CA store's checks, with certificates from ssh-keygen and a manual clock. */
class UserCertificateAuthoritiesTest {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @TempDir
    Path dir;

    private PublicKey certificate(Path ca, String name, String... options) throws Exception {
        Path key = Peers.keygen(dir, "ed25519", name);
        List<String> cmd = new ArrayList<>(List.of(Peers.require("/usr/bin/ssh-keygen"), "-q", "-s", ca.toString(),
                "-I", name));
        cmd.addAll(List.of(options));
        cmd.add(key + ".pub");
        Peers.Run r = Peers.run(cmd, null, Duration.ofSeconds(30));
        assertEquals(0, r.exit(), r.toString());
        return Keys.readCertificate(Path.of(key + "-cert.pub"));
    }

    @Test
    void admitsOnlyInsideTheValidityWindow() throws Exception {
        Path ca = Peers.keygen(dir, "ed25519", "ca");
        PublicKey cert = certificate(ca, "id", "-n", "alice", "-V", "20300101000000Z:20300102000000Z");
        ManualClock clock = ManualClock.at(Instant.parse("2029-12-31T23:59:00Z"));
        UserCertificateAuthorities cas = UserCertificateAuthorities.of(Path.of(ca + ".pub"), clock);
        assertFalse(cas.isAuthorized("alice", cert, LOOPBACK), "not valid yet");
        clock.advance(Duration.ofMinutes(2));
        assertTrue(cas.isAuthorized("alice", cert, LOOPBACK));
        clock.advance(Duration.ofDays(1));
        assertFalse(cas.isAuthorized("alice", cert, LOOPBACK), "expired");
    }

    @Test
    void admitsOnlyItsPrincipalsAndOnlyFromItsSourceAddresses() throws Exception {
        Path ca = Peers.keygen(dir, "ed25519", "ca");
        UserCertificateAuthorities cas = UserCertificateAuthorities.of(Path.of(ca + ".pub"));
        PublicKey cert = certificate(ca, "id", "-n", "alice,ops", "-O", "source-address=127.0.0.0/8,::1");
        assertTrue(cas.isAuthorized("alice", cert, LOOPBACK));
        assertTrue(cas.isAuthorized("ops", cert, LOOPBACK));
        assertFalse(cas.isAuthorized("bob", cert, LOOPBACK));
        assertFalse(cas.isAuthorized("alice", cert, InetAddress.getByName("192.0.2.1")));
        assertFalse(cas.isAuthorized("alice", cert), "unknown address");
        PublicKey nobody = certificate(ca, "id_nobody");
        assertFalse(cas.isAuthorized("alice", nobody, LOOPBACK), "a certificate without principals admits nobody");
    }

    @Test
    void refusesUnknownCriticalOptionsOtherCasAndPlainKeys() throws Exception {
        Path ca = Peers.keygen(dir, "ed25519", "ca");
        Path other = Peers.keygen(dir, "ed25519", "other");
        UserCertificateAuthorities cas = UserCertificateAuthorities.of(Path.of(ca + ".pub"));
        assertFalse(cas.isAuthorized("alice", certificate(ca, "id_verify", "-n", "alice", "-O", "verify-required"),
                LOOPBACK));
        assertFalse(cas.isAuthorized("alice", certificate(other, "id_other", "-n", "alice"), LOOPBACK));
        assertFalse(cas.isAuthorized("alice", Keys.readAuthorizedKeys(Path.of(ca + ".pub")).getFirst().key(), LOOPBACK));
        PublicKey forced = certificate(ca, "id_forced", "-n", "alice", "-O", "force-command=true");
        assertTrue(cas.isAuthorized("alice", forced, LOOPBACK), "force-command is enforced by the server");
    }

    @Test
    void aFileWithoutKeysIsRefusedNamingIt() throws Exception {
        Path empty = Files.writeString(dir.resolve("empty.pub"), "# nothing\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> UserCertificateAuthorities.of(empty));
        assertTrue(e.getMessage().contains(empty.toString()), e.getMessage());
    }
}
