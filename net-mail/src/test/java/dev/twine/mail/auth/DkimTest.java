package dev.twine.mail.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** DKIM signing and verification against each other, with keys served by Twine's own DNS server. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DkimTest {
    static final String MESSAGE = "Received: from client by mx.example.org; Wed, 2 Dec 2026 06:00:00 +0000\r\n"
            + "From: Alice <alice@example.org>\r\n"
            + "To: bob@example.net,\r\n   carol@example.net\r\n"
            + "Subject:   Lunch\t tomorrow  \r\n"
            + "Date: Wed, 2 Dec 2026 06:00:00 +0000\r\n"
            + "Message-ID: <1@example.org>\r\n"
            + "\r\n"
            + "Shall we meet at noon?  \r\n"
            + "\r\n"
            + " -- Alice\r\n"
            + "\r\n\r\n";

    @TempDir
    static Path dir;

    static KeyPair rsa;
    static KeyPair ed;
    static DkimZone zone;
    static DkimVerifier verifier;

    @BeforeAll
    static void keys() throws Exception {
        rsa = DkimKeys.generate(DkimAlgorithm.RSA_SHA256);
        ed = DkimKeys.generate(DkimAlgorithm.ED25519_SHA256);
        zone = DkimZone.serve(dir, List.of(
                DkimZone.txt("rsa._domainkey", DkimKeys.record(rsa.getPublic())),
                DkimZone.txt("ed._domainkey", DkimKeys.record(ed.getPublic())),
                DkimZone.txt("revoked._domainkey", "v=DKIM1; k=rsa; p="),
                DkimZone.txt("wrongtype._domainkey", DkimKeys.record(rsa.getPublic()).replace("k=rsa", "k=ed25519")),
                DkimZone.txt("garbage._domainkey", "v=DKIM1; p=notakey"),
                DkimZone.txt("bare._domainkey", "not a key record at all"),
                "nokey._domainkey IN A 127.0.0.1"));
        verifier = DkimVerifier.builder().resolver(zone.resolver).build();
    }

    @AfterAll
    static void stop() {
        zone.close();
    }

    static DkimSigner signer(String selector, KeyPair pair) {
        return DkimSigner.builder().domain("example.org").selector(selector).key(pair.getPrivate()).build();
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static DkimResult only(byte[] message) throws InterruptedException {
        List<DkimResult> r = verifier.verify(message);
        assertEquals(1, r.size(), r.toString());
        return r.get(0);
    }

    @Test
    void bothAlgorithmsSignAndVerify() throws Exception {
        for (DkimSigner s : List.of(signer("rsa", rsa), signer("ed", ed))) {
            DkimResult r = only(s.sign(bytes(MESSAGE)));
            assertEquals(AuthResult.PASS, r.result(), r.toString());
            assertEquals("example.org", r.domain());
            assertEquals(s.algorithm().tag(), r.algorithm());
            assertTrue(r.resultsEntry().startsWith("dkim=pass header.d=example.org header.s=" + s.selector() + " header.a="),
                    r.resultsEntry());
        }
    }

    @Test
    void theFieldNamesTheTagsTheBriefAsksFor() {
        ManualClock clock = ManualClock.at(Instant.ofEpochSecond(1_800_000_000L));
        String field = DkimSigner.builder().domain("Example.ORG").selector("ed").key(ed.getPrivate()).clock(clock).build()
                .signatureField(bytes(MESSAGE));
        assertTrue(field.startsWith("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.org; s=ed;\r\n\tt=1800000000;"
                + " h=from:from:subject:date:to:message-id;\r\n\tbh="), field);
        assertTrue(field.endsWith("\r\n"));
        for (String line : field.split("\r\n")) {
            assertTrue(line.length() <= 78 + 20, "folded: " + line);
        }
    }

    @Test
    void relaxedCanonicalisationSurvivesRewrappedWhiteSpaceAndCase() throws Exception {
        String signed = new String(signer("rsa", rsa).sign(bytes(MESSAGE)), StandardCharsets.UTF_8);
        String rewrapped = signed.replace("Subject:   Lunch\t tomorrow  ", "subject: Lunch tomorrow")
                .replace("To: bob@example.net,\r\n   carol@example.net", "To: bob@example.net, carol@example.net")
                .replace("Shall we meet at noon?  \r\n", "Shall  we meet at noon?\r\n")
                .replace(" -- Alice\r\n\r\n\r\n\r\n", " -- Alice\r\n");
        assertEquals(AuthResult.PASS, only(bytes(rewrapped)).result());
    }

    @Test
    void aChangedBodyOrFieldOrAnAddedFromFails() throws Exception {
        String signed = new String(signer("ed", ed).sign(bytes(MESSAGE)), StandardCharsets.UTF_8);
        DkimResult body = only(bytes(signed.replace("noon", "one")));
        assertEquals(AuthResult.FAIL, body.result());
        assertEquals("body hash did not verify", body.reason());
        DkimResult subject = only(bytes(signed.replace("Lunch", "Dinner")));
        assertEquals(AuthResult.FAIL, subject.result());
        assertEquals("signature did not verify", subject.reason());
        // From is over-signed: a second From above the first breaks the signature
        DkimResult from = only(bytes(signed.replace("From: Alice", "From: Mallory <m@evil.example>\r\nFrom: Alice")));
        assertEquals(AuthResult.FAIL, from.result());
        // an unsigned field added is fine
        assertEquals(AuthResult.PASS, only(bytes("X-Spam: no\r\n" + signed)).result());
    }

    @Test
    void keyProblemsArePermanentErrors() throws Exception {
        for (String selector : List.of("nokey", "absent", "revoked", "wrongtype", "garbage", "bare")) {
            DkimResult r = only(signer(selector, rsa).sign(bytes(MESSAGE)));
            assertEquals(AuthResult.PERMERROR, r.result(), selector + ": " + r);
        }
    }

    @Test
    void aFieldThatCannotBeProcessedIsNeutralAndAnExpiredOneFails() throws Exception {
        String signed = new String(signer("rsa", rsa).sign(bytes(MESSAGE)), StandardCharsets.UTF_8);
        assertEquals(AuthResult.NEUTRAL, only(bytes(signed.replace("a=rsa-sha256", "a=rsa-sha1"))).result());
        assertEquals(AuthResult.NEUTRAL, only(bytes(signed.replace("v=1", "v=2"))).result());
        assertEquals(AuthResult.NEUTRAL, only(bytes(signed.replace("h=from:from:", "h="))).result());
        assertEquals(AuthResult.NEUTRAL, only(bytes(signed.replace("; s=rsa;", "; s=rsa; s=rsa;"))).result());
        assertEquals(AuthResult.NEUTRAL, only(bytes(signed.replace("; s=rsa;", "; s=rsa; i=a@example.com;"))).result());
        String old = new String(DkimSigner.builder().domain("example.org").selector("rsa").key(rsa.getPrivate())
                .clock(ManualClock.at(Instant.ofEpochSecond(500))).build().sign(bytes(MESSAGE)), StandardCharsets.UTF_8);
        DkimResult expired = only(bytes(old.replace("; s=rsa;", "; s=rsa; x=1000;")));
        assertEquals(AuthResult.FAIL, expired.result());
        assertEquals("signature expired", expired.reason());
        assertEquals(AuthResult.NEUTRAL, only(bytes("DKIM-Signature: nonsense\r\n" + MESSAGE)).result());
    }

    @Test
    void aDnsFailureIsATemporaryError() throws Exception {
        DkimVerifier unreachable = DkimVerifier.builder().resolver(dev.twine.dns.Resolver.builder().server("127.0.0.1", 9)
                .timeout(java.time.Duration.ofMillis(200)).attempts(1).build()).build();
        List<DkimResult> r = unreachable.verify(signer("rsa", rsa).sign(bytes(MESSAGE)));
        assertEquals(AuthResult.TEMPERROR, r.get(0).result(), r.toString());
    }

    @Test
    void noSignatureIsNoResultAndTheNumberLookedAtIsBounded() throws Exception {
        assertEquals(List.of(), verifier.verify(bytes(MESSAGE)));
        byte[] m = bytes(MESSAGE);
        for (int i = 0; i < 8; i++) {
            m = signer("ed", ed).sign(m);
        }
        assertEquals(5, verifier.verify(m).size());
    }

    @Test
    void keysRoundTripThroughPemFilesAndBadFilesAreNamed() throws Exception {
        Path file = dir.resolve("ed.pem");
        DkimKeys.write(ed.getPrivate(), file);
        assertEquals(AuthResult.PASS, only(DkimSigner.load("example.org", "ed", file).sign(bytes(MESSAGE))).result());
        assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> DkimKeys.write(ed.getPrivate(), file));
        Path bad = Files.writeString(dir.resolve("bad.pem"), "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
        java.io.IOException e = assertThrows(java.io.IOException.class, () -> DkimKeys.read(bad));
        assertTrue(e.getMessage().contains("openssl pkcs8"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> DkimSigner.builder().domain("example.org").key(ed.getPrivate()).build());
        assertThrows(IllegalArgumentException.class, () -> DkimSigner.builder().selector("bad selector"));
    }
}
