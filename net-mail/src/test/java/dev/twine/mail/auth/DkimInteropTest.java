package dev.twine.mail.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Twine's DKIM against Debian's python3-dkim (dkimpy): its verifier checks Twine's signatures of
 * both algorithms, looking the keys up in Twine's own DNS server through dnspython; Twine verifies
 * what its {@code dkimsign} signs, with keys its {@code dknewkey} made.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DkimInteropTest {
    static final String PYTHON = "/usr/bin/python3";
    static final String VERIFY = """
            import sys, dkim, dns.resolver
            r = dns.resolver.Resolver(configure=False)
            r.nameservers = ['127.0.0.1']
            r.port = int(sys.argv[1])
            def txt(name, timeout=5):
                try:
                    a = r.resolve(name.decode() if isinstance(name, bytes) else name, 'TXT', lifetime=timeout)
                except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                    return None
                return b''.join(a[0].strings)
            ok = dkim.verify(sys.stdin.buffer.read(), dnsfunc=txt)
            print('pass' if ok else 'fail')
            sys.exit(0 if ok else 1)
            """;

    @TempDir
    static Path dir;

    static KeyPair rsa;
    static KeyPair ed;
    static DkimZone zone;

    @BeforeAll
    static void keysAndZone() throws Exception {
        AuthPeers.require("/usr/bin/dkimsign");
        AuthPeers.require("/usr/bin/dknewkey");
        AuthPeers.require(PYTHON);
        rsa = DkimKeys.generate(DkimAlgorithm.RSA_SHA256);
        ed = DkimKeys.generate(DkimAlgorithm.ED25519_SHA256);
        List<String> records = new ArrayList<>(List.of(
                DkimZone.txt("twrsa._domainkey", DkimKeys.record(rsa.getPublic())),
                DkimZone.txt("twed._domainkey", DkimKeys.record(ed.getPublic()))));
        for (String[] k : List.of(new String[] {"pyrsa", "rsa"}, new String[] {"pyed", "ed25519"})) {
            AuthPeers.Run r = AuthPeers.run(List.of("/usr/bin/dknewkey", "--ktype", k[1], dir.resolve(k[0]).toString()), new byte[0]);
            assertEquals(0, r.exit(), r.toString());
            records.add(DkimZone.txt(k[0] + "._domainkey", Files.readString(dir.resolve(k[0] + ".dns")).strip()));
        }
        zone = DkimZone.serve(dir, records);
    }

    @AfterAll
    static void stop() {
        if (zone != null) {
            zone.close();
        }
    }

    @Test
    void dkimpyVerifiesTwinesSignaturesOfBothAlgorithms() throws Exception {
        Path script = Files.writeString(dir.resolve("verify.py"), VERIFY);
        for (String selector : List.of("twrsa", "twed")) {
            DkimSigner signer = DkimSigner.builder().domain("example.org").selector(selector)
                    .key((selector.equals("twrsa") ? rsa : ed).getPrivate()).build();
            byte[] signed = signer.sign(DkimTest.bytes(DkimTest.MESSAGE));
            AuthPeers.Run ok = AuthPeers.run(List.of(PYTHON, script.toString(), String.valueOf(zone.port())), signed);
            assertEquals(0, ok.exit(), selector + ": " + ok);
            // and it can fail: the same message with its body changed
            byte[] changed = new String(signed, StandardCharsets.UTF_8).replace("noon", "one").getBytes(StandardCharsets.UTF_8);
            AuthPeers.Run bad = AuthPeers.run(List.of(PYTHON, script.toString(), String.valueOf(zone.port())), changed);
            assertEquals(1, bad.exit(), selector + ": " + bad);
        }
    }

    @Test
    void twineVerifiesWhatDkimsignSigns() throws Exception {
        DkimVerifier verifier = DkimVerifier.builder().resolver(zone.resolver).build();
        for (String[] k : List.of(new String[] {"pyrsa", "rsa-sha256"}, new String[] {"pyed", "ed25519-sha256"})) {
            for (String canon : List.of("simple", "relaxed")) {
                AuthPeers.Run signed = AuthPeers.run(List.of("/usr/bin/dkimsign", "--signalg", k[1], "--hcanon", canon, "--bcanon",
                        canon, k[0], "example.org", dir.resolve(k[0] + ".key").toString()), DkimTest.bytes(DkimTest.MESSAGE));
                assertEquals(0, signed.exit(), signed.toString());
                List<DkimResult> r = verifier.verify(signed.out());
                assertEquals(1, r.size(), r.toString());
                assertEquals(AuthResult.PASS, r.get(0).result(), k[0] + " " + canon + ": " + r + "\n" + signed.text());
                assertEquals(k[1], r.get(0).algorithm());
                String changed = signed.text().replace("Lunch", "Dinner");
                assertEquals(AuthResult.FAIL, verifier.verify(changed.getBytes(StandardCharsets.UTF_8)).get(0).result());
            }
        }
        assertTrue(Files.exists(dir.resolve("pyed.key")));
    }
}
