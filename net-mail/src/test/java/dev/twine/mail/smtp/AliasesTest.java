package dev.twine.mail.smtp;

import static dev.twine.mail.smtp.SmtpTestSupport.delivered;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.Transcript;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Local aliases: the aliases(5) file, its expansion, and a delivery wrapped in them. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AliasesTest {
    @TempDir
    Path dir;

    private static final int RUNS = Chunking.standard().size();

    private Aliases load(String text) throws IOException {
        Path f = dir.resolve("aliases");
        Files.writeString(f, text);
        return Aliases.load(f);
    }

    private String error(String text) {
        return assertThrows(IOException.class, () -> load(text)).getMessage();
    }

    @Test
    void readsCommentsContinuationsAndExpandsRecursivelyEachTargetOnce() throws Exception {
        Aliases a = load("""
                # the team
                Sales: alice, team,
                    carol@partner.example   # continued
                team: bob, alice@example.test

                postmaster: alice
                alice: alice, alice@home.example
                """);
        assertEquals(4, a.size());
        assertEquals(List.of("alice@example.test", "alice@home.example", "bob@example.test", "carol@partner.example"),
                a.expand("sales", "example.test"));
        assertEquals(List.of("alice@example.test", "alice@home.example"), a.expand("POSTMASTER", "Example.Test"));
        assertEquals(List.of("dave@example.test"), a.expand("dave", "example.test"), "no alias: itself");
    }

    @Test
    void aBadFileIsRefusedNamingFileAndLine() {
        assertTrue(error("a: b\nno colon here\n").endsWith("aliases:2: expected 'name: target, ...' or 'user@domain target, ...'"), error("a: b\nno colon\n"));
        assertTrue(error("  x\n").endsWith("aliases:1: a continuation line with no alias before it"));
        assertTrue(error("a: b\nA: c\n").endsWith("aliases:2: alias 'a' is already defined on line 1"));
        assertTrue(error("a:\n").endsWith("aliases:1: alias 'a' has no target"));
        assertTrue(error("a: b\nlog: |/usr/bin/logger\n").contains("aliases:2: target '|/usr/bin/logger' of 'log' is not supported"));
        assertTrue(error("x: /var/mail/x\n").contains("aliases:1: target '/var/mail/x'"));
        assertTrue(error("x: :include:/etc/list\n").contains("aliases:1: target ':include:/etc/list'"));
        assertTrue(error("a: b\nb: c\nc: a\n").endsWith("aliases:3: alias loop: a -> b -> c -> a"), error("a: b\nb: c\nc: a\n"));
    }

    @Test
    void anAliasDeliversToEveryLocalTargetAndQueuesTheRemoteOnesEvenWithoutAuth() throws Exception {
        Aliases a = load("""
                sales: alice, bob, carol@partner.example
                ghost: nobody
                """);
        List<String> relayed = new CopyOnWriteArrayList<>();
        MailDelivery<String> relay = new MailDelivery<>() {
            @Override
            public String recipient(Session session, String sender, String address) {
                return address;
            }

            @Override
            public void deliver(Envelope<String> envelope, InputStream message) {
                envelope.recipients().forEach(r -> relayed.add(r.address()));
            }
        };
        MailDelivery<?> delivery = a.over(List.of(SmtpTestSupport.DOMAIN),
                MailDelivery.byDomain(List.of(SmtpTestSupport.DOMAIN), SmtpTestSupport.local(dir).build(), relay));
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO c
                C: MAIL FROM:<someone@remote.example>
                C: RCPT TO:<Sales@example.test>
                C: RCPT TO:<ghost@example.test>
                C: RCPT TO:<alice@example.test>
                C: RCPT TO:<carol@partner.example>
                C: DATA
                S: 250 example.test
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown
                S: 250 2.1.5 Ok
                S: 550 5.7.1 <carol@partner.example>: Relay access denied
                S: 354 End data with <CR><LF>.<CR><LF>
                C: Subject: to sales
                C:
                C: x
                C: .
                S: 250 2.0.0 Ok: queued
                """).run(SmtpTestSupport.server(dir, delivery).build().handler());
        assertEquals(RUNS, delivered(dir, "alice").size(), "once, though named twice");
        assertEquals(RUNS, delivered(dir, "bob").size());
        assertEquals(RUNS, relayed.size());
        assertEquals("carol@partner.example", relayed.get(0));
    }
}
