package dev.twine.ssh.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.ssh.internal.KnownHosts.Verdict;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The known_hosts reader: OpenSSH's host patterns, hashed names, markers, and what counts as a change. */
class KnownHostsTest {

    @TempDir
    Path dir;

    private static final KeyPair ED_A = gen(true);
    private static final KeyPair ED_B = gen(true);
    private static final KeyPair RSA = gen(false);

    private static KeyPair gen(boolean ed25519) {
        try {
            return ed25519 ? Keys.generateEd25519() : Keys.generateRsa(2048);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String line(String hosts, PublicKey key) {
        return hosts + " " + Keys.publicKeyLine(key, "a comment") + "\n";
    }

    private KnownHosts file(String text) throws Exception {
        return KnownHosts.read(Files.writeString(dir.resolve("known_hosts"), text));
    }

    @Test
    void portTwentyTwoIsTheBareNameOthersAreBracketed() {
        assertEquals("example.com", KnownHosts.hostName("example.com", 22));
        assertEquals("[127.0.0.1]:2222", KnownHosts.hostName("127.0.0.1", 2222));
    }

    @Test
    void listedKeyIsKnownOnlyForItsHostAndPort() throws Exception {
        KnownHosts k = file("# a comment\n\n" + line("[127.0.0.1]:2222,other.example", ED_A.getPublic()));
        assertEquals(new KnownHosts.Check(Verdict.KNOWN, 3), k.check("[127.0.0.1]:2222", ED_A.getPublic()));
        assertEquals(Verdict.KNOWN, k.check("OTHER.example", ED_A.getPublic()).verdict(), "names ignore case");
        assertEquals(Verdict.UNKNOWN, k.check("127.0.0.1", ED_A.getPublic()).verdict(), "port 22 is another entry");
        assertEquals(Verdict.UNKNOWN, k.check("[127.0.0.1]:2223", ED_A.getPublic()).verdict());
    }

    @Test
    void anotherKeyOfTheSameTypeIsAChangeNamingItsLine() throws Exception {
        KnownHosts k = file(line("host.example", RSA.getPublic()) + line("host.example", ED_A.getPublic()));
        assertEquals(new KnownHosts.Check(Verdict.CHANGED, 2), k.check("host.example", ED_B.getPublic()));
        assertEquals(Verdict.KNOWN, k.check("host.example", RSA.getPublic()).verdict());
    }

    @Test
    void aKeyOfAnotherTypeOnlyIsNotAChange() throws Exception {
        KnownHosts k = file(line("host.example", RSA.getPublic()));
        assertEquals(Verdict.UNKNOWN, k.check("host.example", ED_A.getPublic()).verdict());
    }

    @Test
    void hashedNamesMatchTheirHostOnly() throws Exception {
        byte[] salt = new byte[20];
        new java.util.Random(5).nextBytes(salt);
        Mac mac = Mac.getInstance("HmacSHA1");
        mac.init(new SecretKeySpec(salt, "HmacSHA1"));
        String hashed = "|1|" + Base64.getEncoder().encodeToString(salt) + "|"
                + Base64.getEncoder().encodeToString(mac.doFinal("[10.1.2.3]:2200".getBytes(StandardCharsets.UTF_8)));
        KnownHosts k = file(line(hashed, ED_A.getPublic()));
        assertEquals(Verdict.KNOWN, k.check("[10.1.2.3]:2200", ED_A.getPublic()).verdict());
        assertEquals(Verdict.CHANGED, k.check("[10.1.2.3]:2200", ED_B.getPublic()).verdict());
        assertEquals(Verdict.UNKNOWN, k.check("[10.1.2.4]:2200", ED_A.getPublic()).verdict());
    }

    @Test
    void wildcardsAndNegations() throws Exception {
        KnownHosts k = file(line("*.example.com,!secret.example.com,10.0.0.?", ED_A.getPublic()));
        assertEquals(Verdict.KNOWN, k.check("www.example.com", ED_A.getPublic()).verdict());
        assertEquals(Verdict.KNOWN, k.check("10.0.0.7", ED_A.getPublic()).verdict());
        assertEquals(Verdict.UNKNOWN, k.check("10.0.0.17", ED_A.getPublic()).verdict());
        assertEquals(Verdict.UNKNOWN, k.check("secret.example.com", ED_A.getPublic()).verdict(), "a negation wins");
        assertFalse(KnownHosts.matches("!a.example", "b.example"), "a negation alone matches nothing");
        assertTrue(KnownHosts.matches("[h]:2222", "[h]:2222"));
    }

    @Test
    void revokedKeyIsRefusedWhateverElseIsListed() throws Exception {
        KnownHosts k = file(line("host.example", ED_A.getPublic()) + "@revoked " + line("*", ED_A.getPublic()));
        assertEquals(new KnownHosts.Check(Verdict.REVOKED, 2), k.check("host.example", ED_A.getPublic()));
    }

    @Test
    void certAuthorityAndBrokenLinesSayNothing() throws Exception {
        KnownHosts k = file("@cert-authority " + line("host.example", ED_A.getPublic())
                + "host.example ssh-ed25519 not-base64!\nhost.example\n" + "host.example ssh-unknown AAAA\n");
        assertEquals(Verdict.UNKNOWN, k.check("host.example", ED_A.getPublic()).verdict());
        assertEquals(Verdict.UNKNOWN, KnownHosts.read(dir.resolve("missing")).check("h", ED_A.getPublic()).verdict());
    }

    @Test
    void appendedKeyIsKnownAfterwardsAndOpenSshReadsTheLine() throws Exception {
        Path f = dir.resolve("new/.ssh/known_hosts");
        Files.createDirectories(f.getParent());
        Files.writeString(f, line("old.example", RSA.getPublic()).strip()); // no final newline
        KnownHosts.append(f, "[127.0.0.1]:2222", ED_A.getPublic());
        assertEquals(Verdict.KNOWN, KnownHosts.read(f).check("[127.0.0.1]:2222", ED_A.getPublic()).verdict());
        assertEquals(Verdict.KNOWN, KnownHosts.read(f).check("old.example", RSA.getPublic()).verdict());
        assertEquals(2, Files.readAllLines(f).size());
        Path fresh = dir.resolve("made/.ssh/known_hosts");
        KnownHosts.append(fresh, "h", ED_A.getPublic());
        assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(fresh.getParent())));
    }
}
