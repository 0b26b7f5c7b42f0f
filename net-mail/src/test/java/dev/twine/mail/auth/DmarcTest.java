package dev.twine.mail.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Transcript;
import dev.twine.mail.smtp.MailDelivery;
import dev.twine.mail.smtp.SmtpServer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPF and DMARC on the SMTP port, over in-memory connections (the client is 127.0.0.1) with the
 * records served by Twine's DnsServer: each result in {@code Authentication-Results}, the SPF
 * reject at RCPT, and each DMARC disposition at the end of DATA.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DmarcTest {
    @TempDir
    static Path dir;

    static DkimZone zone;
    static KeyPair key;
    static Dmarc dmarc;
    static final List<byte[]> stored = new CopyOnWriteArrayList<>();

    static final MailDelivery<String> CAPTURE = new MailDelivery<>() {
        @Override
        public String recipient(Session session, String sender, String address) {
            return address;
        }

        @Override
        public void deliver(Envelope<String> envelope, InputStream message) throws IOException {
            stored.add(message.readAllBytes());
        }
    };

    @BeforeAll
    static void serve() throws Exception {
        key = DkimKeys.generate(DkimAlgorithm.ED25519_SHA256);
        List<String> records = new ArrayList<>(SpfZone.DMARC);
        records.add(DkimZone.txt("ed._domainkey.signed", DkimKeys.record(key.getPublic())));
        zone = SpfZone.serve(dir, records);
        dmarc = Dmarc.builder().resolver(zone.resolver).build();
    }

    @AfterAll
    static void stop() {
        zone.close();
    }

    @BeforeEach
    void clear() {
        stored.clear();
    }

    static MessageAuthentication checks(boolean rejectSpfFail, boolean honourDmarc) {
        return MessageAuthentication.builder().authservId("mx.example.test")
                .dkim(DkimVerifier.builder().resolver(zone.resolver).build())
                .spf(Spf.builder().resolver(zone.resolver).build()).rejectSpfFail(rejectSpfFail)
                .dmarc(dmarc).honourDmarc(honourDmarc).build();
    }

    static SmtpServer server(MessageAuthentication checks) {
        return SmtpServer.builder().domain("example.test").delivery(checks.over(CAPTURE)).build();
    }

    /** A session sending {@code message} (lines without CRLF) from {@code mailFrom}, ending in {@code dataReply}. */
    static String transcript(String mailFrom, String rcptReply, List<String> message, String dataReply) {
        StringBuilder t = new StringBuilder("""
                S: 220 example.test ESMTP Twine
                C: HELO client.example.org
                S: 250 example.test
                """);
        t.append("C: MAIL FROM:<").append(mailFrom).append(">\nS: 250 2.1.0 Ok\n");
        t.append("C: RCPT TO:<alice@example.test>\nS: ").append(rcptReply).append('\n');
        if (rcptReply.startsWith("250")) {
            t.append("C: DATA\nS: 354 End data with <CR><LF>.<CR><LF>\n");
            message.forEach(line -> t.append("C: ").append(line).append('\n'));
            t.append("C: .\nS: ").append(dataReply).append('\n');
        }
        t.append("C: QUIT\nS: 221 2.0.0 example.test Bye\nS: <closed>\n");
        return t.toString();
    }

    static List<String> message(String from) {
        return List.of("From: <" + from + ">", "To: <alice@example.test>", "Subject: hello", "", "Lunch at noon?");
    }

    /** The last message stored, as text. */
    static String last() {
        assertFalse(stored.isEmpty(), "nothing was delivered");
        return new String(stored.get(stored.size() - 1), StandardCharsets.UTF_8);
    }

    @Test
    void anAlignedSpfPassIsADmarcPass() throws Exception {
        Transcript.parse(transcript("bob@spfok.example.org", "250 2.1.5 Ok", message("bob@spfok.example.org"),
                "250 2.0.0 Ok: queued")).run(server(checks(true, true)).handler());
        String text = last();
        assertTrue(text.startsWith("Authentication-Results: mx.example.test;\r\n\tspf=pass reason=\"spfok.example.org:"
                + " ip4:127.0.0.1 matched\" smtp.mailfrom=bob@spfok.example.org;\r\n\tdkim=none;\r\n\tdmarc=pass"
                + " (p=reject dis=none) header.from=spfok.example.org\r\n"), text);
    }

    @Test
    void relaxedAlignmentTakesASubdomainsSpfPassStrictDoesNot() throws Exception {
        Transcript.parse(transcript("b@bounces.rel.example.org", "250 2.1.5 Ok", message("news@rel.example.org"),
                "250 2.0.0 Ok: queued")).run(server(checks(true, true)).handler());
        assertTrue(last().contains("dmarc=pass (p=reject dis=none) header.from=rel.example.org"), last());
        Transcript.parse(transcript("b@bounces.strict.example.org", "250 2.1.5 Ok", message("news@strict.example.org"),
                "550 5.7.1 Message rejected by the DMARC policy of strict.example.org")).run(server(checks(true, true)).handler());
    }

    @Test
    void anAlignedDkimPassIsADmarcPassWhateverSpfSays() throws Exception {
        DkimSigner signer = DkimSigner.builder().domain("signed.example.org").selector("ed").key(key.getPrivate()).build();
        byte[] signed = signer.sign(String.join("\r\n", message("ann@signed.example.org")).concat("\r\n")
                .getBytes(StandardCharsets.UTF_8));
        List<String> lines = new String(signed, StandardCharsets.UTF_8).lines().toList();
        // SPF neutral (no record) for the sender: only DKIM can pass
        Transcript.parse(transcript("list@nospf.example.org", "250 2.1.5 Ok", lines, "250 2.0.0 Ok: queued"))
                .run(server(checks(true, true)).handler());
        String text = last();
        assertTrue(text.contains("spf=none"), text);
        assertTrue(text.contains("dkim=pass header.d=signed.example.org header.s=ed"), text);
        assertTrue(text.contains("dmarc=pass (p=reject dis=none) header.from=signed.example.org"), text);
    }

    @Test
    void aMisalignedPassFailsAndPRejectIsRefusedAtTheEndOfData() throws Exception {
        // SPF passes for example.com, but From: is rej.example.org
        Transcript.parse(transcript("bulk@example.com", "250 2.1.5 Ok", message("ceo@rej.example.org"),
                "550 5.7.1 Message rejected by the DMARC policy of rej.example.org")).run(server(checks(true, true)).handler());
        assertTrue(stored.isEmpty());
        // recorded only: delivered, with the failure written down
        Transcript.parse(transcript("bulk@example.com", "250 2.1.5 Ok", message("ceo@rej.example.org"),
                "250 2.0.0 Ok: queued")).run(server(checks(true, false)).handler());
        assertTrue(last().contains("spf=pass"), last());
        assertTrue(last().contains("dmarc=fail (p=reject dis=reject) header.from=rej.example.org"), last());
    }

    @Test
    void pQuarantineIsDeliveredMarkedAsJunk() throws Exception {
        List<String> forged = new ArrayList<>(List.of("X-Spam-Flag: NO"));
        forged.addAll(message("ceo@quar.example.org"));
        Transcript.parse(transcript("bulk@example.com", "250 2.1.5 Ok", forged, "250 2.0.0 Ok: queued"))
                .run(server(checks(true, true)).handler());
        String text = last();
        assertTrue(text.startsWith("X-Spam-Flag: YES\r\nAuthentication-Results: mx.example.test;"), text);
        assertFalse(text.contains("X-Spam-Flag: NO"), text);
        assertTrue(text.contains("dmarc=fail (p=quarantine dis=quarantine) header.from=quar.example.org"), text);
    }

    @Test
    void aSubdomainGetsTheOrganizationalDomainsSpPolicy() throws Exception {
        Transcript.parse(transcript("bulk@example.com", "250 2.1.5 Ok", message("x@shop.example.com"),
                "250 2.0.0 Ok: queued")).run(server(checks(false, true)).handler());
        // SPF passes for example.com and relaxed alignment takes shop.example.com
        assertTrue(last().contains("dmarc=pass (p=reject dis=none) header.from=shop.example.com"), last());
        Transcript.parse(transcript("bulk@spfok.example.org", "250 2.1.5 Ok", message("x@shop.example.com"),
                "550 5.7.1 Message rejected by the DMARC policy of shop.example.com")).run(server(checks(false, true)).handler());
        DmarcResult top = dmarc.evaluate("example.com", null, List.of());
        assertEquals(Dmarc.Policy.NONE, top.policy(), "p= for the organizational domain itself");
        assertEquals(AuthResult.FAIL, top.result());
    }

    @Test
    void pctLeavesMessagesOutOfTheSampleWithTheMilderPolicy() throws Exception {
        for (int drawn : new int[] {10, 49, 50, 90}) {
            Dmarc sampled = Dmarc.builder().resolver(zone.resolver).random(fixed(drawn)).build();
            DmarcResult r = sampled.evaluate("pct.example.org", null, List.of());
            assertEquals(Dmarc.Policy.REJECT, r.policy());
            assertEquals(drawn < 50 ? Dmarc.Policy.REJECT : Dmarc.Policy.QUARANTINE, r.disposition(), "drew " + drawn);
        }
    }

    @Test
    void recordsWithoutAUsablePolicy() throws Exception {
        assertEquals(AuthResult.NONE, dmarc.evaluate("nothing.example.org", null, List.of()).result());
        assertEquals(AuthResult.NONE, dmarc.evaluate("twice.example.org", null, List.of()).result(), "two records");
        assertEquals(AuthResult.PERMERROR, dmarc.evaluate("badp.example.org", null, List.of()).result());
        DmarcResult reports = dmarc.evaluate("nop.example.org", null, List.of());
        assertEquals(AuthResult.FAIL, reports.result(), "no p= but rua=: p=none");
        assertEquals(Dmarc.Policy.NONE, reports.disposition());
        assertEquals(AuthResult.TEMPERROR, dmarc.evaluate("a.example.net", null, List.of()).result());
        assertEquals(AuthResult.NONE, dmarc.evaluate(null, null, List.of()).result());
        assertEquals("dmarc=fail (p=none dis=none) header.from=mon.example.org",
                dmarc.evaluate("mon.example.org", null, List.of()).resultsEntry());
    }

    @Test
    void anSpfFailIsRefusedAtRcptAndASoftfailOnlyRecorded() throws Exception {
        Transcript.parse(transcript("x@fail.example.org", "550 5.7.23 SPF fail: SPF record of fail.example.org does not"
                + " authorise 127.0.0.1 for x@fail.example.org", List.of(), "")).run(server(checks(true, false)).handler());
        Transcript.parse(transcript("x@fail.example.org", "250 2.1.5 Ok", message("x@fail.example.org"), "250 2.0.0 Ok: queued"))
                .run(server(checks(false, false)).handler());
        assertTrue(last().contains("spf=fail"), last());
        Transcript.parse(transcript("x@soft.example.org", "250 2.1.5 Ok", message("x@soft.example.org"), "250 2.0.0 Ok: queued"))
                .run(server(checks(true, true)).handler());
        assertTrue(last().contains("spf=softfail"), last());
    }

    @Test
    void trustedAndLoggedInClientsAreNotChecked() throws Exception {
        MessageAuthentication trusting = MessageAuthentication.builder().authservId("mx.example.test")
                .dkim(DkimVerifier.builder().resolver(zone.resolver).build()).spf(Spf.builder().resolver(zone.resolver).build())
                .rejectSpfFail(true).dmarc(dmarc).honourDmarc(true).trusted(dev.twine.core.AddressBlock.parse("127.0.0.0/8")).build();
        Transcript.parse(transcript("x@fail.example.org", "250 2.1.5 Ok", message("ceo@rej.example.org"), "250 2.0.0 Ok: queued"))
                .run(server(trusting).handler());
        assertTrue(last().startsWith("Authentication-Results: mx.example.test;\r\n\tdkim=none\r\n"), last());
    }

    @Test
    void organizationalDomainsComeFromThePublicSuffixes() throws Exception {
        assertEquals("example.co.uk", dmarc.organizationalDomain("mail.example.co.uk"));
        assertEquals("example.com", dmarc.organizationalDomain("a.b.example.com"));
        assertEquals("example.com", dmarc.organizationalDomain("example.com"));
        assertEquals("co.uk", dmarc.organizationalDomain("co.uk"));
        Path list = Files.writeString(dir.resolve("psl.dat"), String.join("\n", "// a test list", "com", "uk", "co.uk",
                "*.ck", "!www.ck", "github.io", ""));
        Dmarc withList = Dmarc.builder().resolver(zone.resolver).publicSuffixList(list).build();
        assertEquals("example.co.uk", withList.organizationalDomain("mail.example.co.uk"));
        assertEquals("a.b.ck", withList.organizationalDomain("x.a.b.ck"));
        assertEquals("www.ck", withList.organizationalDomain("mail.www.ck"));
        assertEquals("alice.github.io", withList.organizationalDomain("www.alice.github.io"));
    }

    /** A generator whose {@code nextInt(100)} is {@code value}. */
    static RandomGenerator fixed(int value) {
        return new RandomGenerator() {
            @Override
            public long nextLong() {
                return value;
            }

            @Override
            public int nextInt(int bound) {
                return value;
            }
        };
    }
}
