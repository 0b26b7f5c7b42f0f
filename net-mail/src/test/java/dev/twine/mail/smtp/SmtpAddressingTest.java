package dev.twine.mail.smtp;

import static dev.twine.mail.smtp.SmtpTestSupport.delivered;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

/**
 * Several local domains, virtual(5)-style aliases, catch-alls, plus-addressing and reloading:
 * each decision as a transcript over in-memory connections, replayed whole, byte by byte and in
 * random chunks (so every accepted message is stored once per replay).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SmtpAddressingTest {
    @TempDir
    Path dir;

    private static final int RUNS = Chunking.standard().size();
    private static final List<String> DOMAINS = List.of("example.test", "example.org");

    private final List<String> relayed = new CopyOnWriteArrayList<>();

    /** Takes any remote recipient and remembers it: the relay queue's part. */
    private final MailDelivery<String> relay = new MailDelivery<>() {
        @Override
        public String recipient(Session session, String sender, String address) {
            return address;
        }

        @Override
        public void deliver(Envelope<String> envelope, InputStream message) {
            envelope.recipients().forEach(r -> relayed.add(r.address()));
        }
    };

    private Path aliasesFile(String text) throws IOException {
        Path f = dir.resolve("aliases");
        Files.writeString(f, text);
        return f;
    }

    /** What twine mail builds: aliases over both domains' local delivery, the rest relayed. */
    private SmtpServer server(Aliases aliases) throws IOException {
        MaildirDelivery.Builder local = SmtpTestSupport.local(dir);
        local.domain("example.org");
        MailDelivery<?> d = MailDelivery.byDomain(DOMAINS, local.build(), relay);
        SmtpServer.Builder b = SmtpTestSupport.server(dir, aliases == null ? d : aliases.over(DOMAINS, d));
        return b.domain("example.org").build();
    }

    private String stored(String user) throws IOException {
        List<Path> files = delivered(dir, user);
        assertFalse(files.isEmpty(), "nothing for " + user);
        return Files.readString(files.get(0));
    }

    @Test
    void everyUserHasAnAddressInEachLocalDomainAndOtherDomainsAreNoRelay() throws Exception {
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO c
                C: MAIL FROM:<someone@remote.example>
                C: RCPT TO:<alice@Example.ORG>
                C: RCPT TO:<bob@example.test>
                C: RCPT TO:<carol@remote.example>
                C: RCPT TO:<nobody@example.org>
                C: DATA
                S: 250 example.test
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 250 2.1.5 Ok
                S: 550 5.7.1 <carol@remote.example>: Relay access denied
                S: 550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown
                S: 354 End data with <CR><LF>.<CR><LF>
                C: Subject: two domains
                C:
                C: x
                C: .
                S: 250 2.0.0 Ok: queued
                """).run(server(null).handler());
        assertEquals(RUNS, delivered(dir, "alice").size());
        assertEquals(RUNS, delivered(dir, "bob").size());
        assertTrue(relayed.isEmpty());
    }

    @Test
    void postmasterOfEveryLocalDomainIsAlwaysAcceptedInAnyCase() throws Exception {
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO c
                C: MAIL FROM:<>
                C: RCPT TO:<PostMaster@example.org>
                C: RCPT TO:<postmaster@EXAMPLE.TEST>
                C: RCPT TO:<postmaster+abuse@example.org>
                C: DATA
                S: 250 example.test
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 250 2.1.5 Ok
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: Subject: bounce
                C:
                C: .
                S: 250 2.0.0 Ok: queued
                """).run(server(load("@example.org bob\n")).handler());
        assertEquals(RUNS, delivered(dir, "postmaster").size(), "once per message, not once per address");
        assertTrue(delivered(dir, "bob").isEmpty(), "the catch-all does not take postmaster");
    }

    private Aliases load(String text) throws IOException {
        return Aliases.load(aliasesFile(text));
    }

    @Test
    void aVirtualAddressExpandsOnlyInItsOwnDomainAndAForwardIsRelayedWithoutAuth() throws Exception {
        Aliases a = load("""
                info@example.org    alice, bob
                fwd@example.test    carol@partner.example
                """);
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO c
                C: MAIL FROM:<someone@remote.example>
                C: RCPT TO:<INFO@example.org>
                C: RCPT TO:<info@example.test>
                C: RCPT TO:<fwd@example.test>
                C: DATA
                S: 250 example.test
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 550 5.1.1 <info@example.test>: Recipient address rejected: User unknown
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: Subject: to info
                C:
                C: x
                C: .
                S: 250 2.0.0 Ok: queued
                """).run(server(a).handler());
        assertEquals(RUNS, delivered(dir, "alice").size());
        assertEquals(RUNS, delivered(dir, "bob").size());
        assertEquals(RUNS, relayed.size());
        assertEquals("carol@partner.example", relayed.get(0));
    }

    @Test
    void aCatchAllTakesUnknownAddressesOfItsDomainOnlyAndNeverHidesAUser() throws Exception {
        Aliases a = load("@example.org   bob\n");
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO c
                C: MAIL FROM:<someone@remote.example>
                C: RCPT TO:<whoever@example.org>
                C: RCPT TO:<alice@example.org>
                C: RCPT TO:<whoever@example.test>
                C: DATA
                S: 250 example.test
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 250 2.1.5 Ok
                S: 550 5.1.1 <whoever@example.test>: Recipient address rejected: User unknown
                S: 354 End data with <CR><LF>.<CR><LF>
                C: Subject: catch
                C:
                C: .
                S: 250 2.0.0 Ok: queued
                """).run(server(a).handler());
        assertEquals(RUNS, delivered(dir, "bob").size());
        assertEquals(RUNS, delivered(dir, "alice").size());
    }

    @Test
    void aPlusTagReachesTheUserAndIsKeptInDeliveredTo() throws Exception {
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO c
                C: MAIL FROM:<someone@remote.example>
                C: RCPT TO:<Alice+Lists@example.org>
                C: RCPT TO:<nobody+x@example.org>
                C: RCPT TO:<+x@example.org>
                C: DATA
                S: 250 example.test
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 550 5.1.1 <nobody+x@example.org>: Recipient address rejected: User unknown
                S: 550 5.1.1 <+x@example.org>: Recipient address rejected: User unknown
                S: 354 End data with <CR><LF>.<CR><LF>
                C: Subject: tagged
                C:
                C: .
                S: 250 2.0.0 Ok: queued
                """).run(server(null).handler());
        assertEquals(RUNS, delivered(dir, "alice").size());
        String m = stored("alice");
        assertTrue(m.startsWith("Return-Path: <someone@remote.example>\r\nDelivered-To: Alice+Lists@example.org\r\nReceived: "), m);
    }

    @Test
    void anAliasWithATagPassesTheTagToItsLocalTargetsOnly() throws Exception {
        Aliases a = load("""
                info@example.org    alice, carol@partner.example
                """);
        Transcript.parse("""
                S: 220 example.test ESMTP Twine
                C: HELO c
                C: MAIL FROM:<someone@remote.example>
                C: RCPT TO:<info+orders@example.org>
                C: DATA
                S: 250 example.test
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: Subject: order
                C:
                C: .
                S: 250 2.0.0 Ok: queued
                """).run(server(a).handler());
        assertTrue(stored("alice").contains("\r\nDelivered-To: alice+orders@example.org\r\n"), stored("alice"));
        assertEquals("carol@partner.example", relayed.get(0));
    }

    @Test
    void expansionFollowsAddressesAcrossLocalDomainsAndNamesInEveryDomain() throws Exception {
        Aliases a = load("""
                team: bob
                sales@example.org   team, info@example.test
                info@example.test   alice, Info@Example.Test
                """);
        assertEquals(List.of("bob@example.test"), a.expand("team", "example.test"), "a name applies in every domain");
        assertEquals(List.of("bob@example.org", "alice@example.test", "Info@example.test"), expand(a, "sales@example.org"));
    }

    private static List<String> expand(Aliases a, String address) throws Exception {
        List<String> out = new CopyOnWriteArrayList<>();
        MailDelivery<?> d = a.over(DOMAINS, new MailDelivery<String>() {
            @Override
            public String recipient(Session session, String sender, String rcpt) {
                out.add(rcpt);
                return rcpt;
            }

            @Override
            public void deliver(Envelope<String> envelope, InputStream message) {}
        });
        d.recipient(new MailDelivery.Session(new java.net.InetSocketAddress(0), "c", java.util.Optional.empty(),
                java.util.Optional.empty()), "", address);
        return out;
    }

    @Test
    void badVirtualLinesAndLoopsThroughAddressesAreRefusedNamingTheLine() throws Exception {
        String loop = assertThrows(IOException.class, () -> load("a@x.example  b@x.example\nb@x.example  a@x.example\n"))
                .getMessage();
        assertTrue(loop.endsWith("aliases:2: alias loop: a@x.example -> b@x.example -> a@x.example"), loop);
        String bad = assertThrows(IOException.class, () -> load("info@  alice\n")).getMessage();
        assertTrue(bad.endsWith("aliases:1: 'info@' is not an address or @domain"), bad);
        String twice = assertThrows(IOException.class, () -> load("Info@x.example a\ninfo@X.example b\n")).getMessage();
        assertTrue(twice.endsWith("aliases:2: alias 'info@x.example' is already defined on line 1"), twice);
    }

    @Test
    void reloadTakesTheNewFileForTheNextRcptAndKeepsTheOldOneWhenTheNewIsBad() throws Exception {
        Path f = aliasesFile("sales: alice\n");
        SmtpServer s = server(Aliases.load(f));
        assertFalse(s.reload(), "unchanged");
        Files.writeString(f, "sales: bob\n");
        assertTrue(s.reload());
        String transcript = """
                S: 220 example.test ESMTP Twine
                C: HELO c
                C: MAIL FROM:<someone@remote.example>
                C: RCPT TO:<sales@example.org>
                C: DATA
                S: 250 example.test
                S: 250 2.1.0 Ok
                S: 250 2.1.5 Ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: Subject: s
                C:
                C: .
                S: 250 2.0.0 Ok: queued
                """;
        Transcript.parse(transcript).run(s.handler());
        assertEquals(RUNS, delivered(dir, "bob").size());
        assertTrue(delivered(dir, "alice").isEmpty());
        Files.writeString(f, "sales: bob, |/bin/sh\n");
        String e = assertThrows(IOException.class, s::reload).getMessage();
        assertTrue(e.contains("aliases:1: target '|/bin/sh'"), e);
        Transcript.parse(transcript).run(s.handler());
        assertEquals(2 * RUNS, delivered(dir, "bob").size(), "the last good file stays in use");
    }
}
