package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.ssh.internal.HostKeys;
import dev.twine.ssh.internal.Keys;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Host key files and authorized_keys parsing. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KeysTest {

    @TempDir
    Path dir;

    @Test
    void hostKeysAreGeneratedOnceInOpenSshFormatAndReloaded() throws Exception {
        Path file = dir.resolve("hk/ssh_host_key");
        List<KeyPair> first = HostKeys.loadOrGenerate(file);
        assertEquals(List.of("EdDSA", "RSA"), first.stream().map(k -> k.getPublic().getAlgorithm()).toList());
        String text = Files.readString(file);
        assertTrue(text.startsWith("-----BEGIN OPENSSH PRIVATE KEY-----"), text);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertTrue(Files.readString(Path.of(file + ".pub")).startsWith("ssh-ed25519 "));
        assertTrue(Files.readString(Path.of(HostKeys.rsaPath(file) + ".pub")).startsWith("ssh-rsa "));
        List<KeyPair> again = HostKeys.loadOrGenerate(file);
        for (int i = 0; i < 2; i++) {
            assertTrue(Keys.sameKey(first.get(i).getPublic(), again.get(i).getPublic()), "key " + i + " changed");
        }
    }

    @Test
    void openSshKeygenReadsTheGeneratedHostKeys() throws Exception {
        String keygen = Peers.require("/usr/bin/ssh-keygen");
        Path file = dir.resolve("ssh_host_key");
        HostKeys.loadOrGenerate(file);
        for (Path key : List.of(file, HostKeys.rsaPath(file))) {
            Peers.Run r = Peers.run(List.of(keygen, "-y", "-f", key.toString()), null, Duration.ofSeconds(20));
            assertEquals(0, r.exit(), r.toString());
            String pub = Files.readString(Path.of(key + ".pub"));
            // same type and key material as the .pub file we wrote
            assertEquals(pub.split(" ")[1], r.out().strip().split(" ")[1]);
        }
    }

    @Test
    void corruptHostKeyFileIsReportedByName() throws Exception {
        Path file = dir.resolve("bad_key");
        Files.writeString(file, "not a key\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HostKeys.loadOrGenerate(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void authorizedKeysAcceptListedEd25519RsaAndEcdsaKeysAndHonourFromAndExpiry() throws Exception {
        KeyPair ed = Keys.generateEd25519();
        KeyPair rsa = Keys.generateRsa(2048);
        KeyPairGenerator ecg = KeyPairGenerator.getInstance("EC");
        ecg.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair ec = ecg.generateKeyPair();
        KeyPair other = Keys.generateEd25519();
        KeyPair old = Keys.generateEd25519();
        KeyPair forced = Keys.generateEd25519();
        Files.writeString(dir.resolve("bob"), String.join("\n",
                "# bob's keys",
                "",
                "from=\"!10.1.1.1,10.0.0.0/8,192.168.?.*,::1\",no-agent-forwarding " + Keys.publicKeyLine(ed.getPublic(), "bob@laptop"),
                "this line is garbage",
                "expiry-time=\"29991231Z\" " + Keys.publicKeyLine(rsa.getPublic(), "bob@rsa"),
                "no-X11-forwarding,environment=\"A=b\" " + Keys.publicKeyLine(ec.getPublic(), null),
                "expiry-time=\"20200101\" " + Keys.publicKeyLine(old.getPublic(), null),
                "command=\"uptime\" " + Keys.publicKeyLine(forced.getPublic(), null),
                "restrict " + Keys.publicKeyLine(forced.getPublic(), null),
                "from=\"*.example.com\" " + Keys.publicKeyLine(other.getPublic(), null),
                ""));
        AuthorizedKeysDirectory store = AuthorizedKeysDirectory.of(dir);
        InetAddress lo = InetAddress.getByName("127.0.0.1");
        assertTrue(store.isAuthorized("bob", ed.getPublic(), InetAddress.getByName("10.200.3.4")));
        assertTrue(store.isAuthorized("bob", ed.getPublic(), InetAddress.getByName("192.168.7.1")));
        assertTrue(store.isAuthorized("bob", ed.getPublic(), InetAddress.getByName("::1")));
        assertFalse(store.isAuthorized("bob", ed.getPublic(), InetAddress.getByName("10.1.1.1")), "excluded by !");
        assertFalse(store.isAuthorized("bob", ed.getPublic(), InetAddress.getByName("192.168.17.1")), "? is one character");
        assertFalse(store.isAuthorized("bob", ed.getPublic(), lo));
        assertFalse(store.isAuthorized("bob", ed.getPublic()), "an unknown address never matches from=");
        assertTrue(store.isAuthorized("bob", rsa.getPublic(), lo), "not expired yet");
        assertTrue(store.isAuthorized("bob", ec.getPublic(), lo), "options Twine has nothing to enforce for");
        assertTrue(store.isAuthorized("bob", ec.getPublic()));
        assertFalse(store.isAuthorized("bob", old.getPublic(), lo), "expired");
        assertFalse(store.isAuthorized("bob", forced.getPublic(), lo), "forced commands are not enforced, so refused");
        assertFalse(store.isAuthorized("bob", other.getPublic(), lo), "host name patterns never match an address");
        assertFalse(store.isAuthorized("carol", ed.getPublic(), InetAddress.getByName("10.0.0.1")));
    }

    @Test
    void userNamesThatCouldLeaveTheDirectoryAreRejected() throws Exception {
        KeyPair ed = Keys.generateEd25519();
        Path inner = Files.createDirectories(dir.resolve("keys"));
        Files.writeString(dir.resolve("outside"), Keys.publicKeyLine(ed.getPublic(), null));
        Files.writeString(inner.resolve(".hidden"), Keys.publicKeyLine(ed.getPublic(), null));
        AuthorizedKeysDirectory store = AuthorizedKeysDirectory.of(inner);
        assertFalse(store.isAuthorized("../outside", ed.getPublic()));
        assertFalse(store.isAuthorized(".hidden", ed.getPublic()));
        assertFalse(store.isAuthorized("a/b", ed.getPublic()));
        assertFalse(store.isAuthorized("", ed.getPublic()));
    }
}
