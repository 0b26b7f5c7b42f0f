package dev.twine.mail.smtp;

import static dev.twine.mail.smtp.SmtpTestSupport.DOMAIN;
import static dev.twine.mail.smtp.SmtpTestSupport.delivered;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.ManualClock;
import dev.twine.core.testing.Transcript;
import dev.twine.mail.maildir.Maildir;
import dev.twine.mail.sieve.SieveAction;
import dev.twine.mail.sieve.SieveException;
import dev.twine.mail.sieve.SieveScripts;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Sieve at delivery: each user's active script decides where {@link MaildirDelivery} puts a message. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SieveDeliveryTest {
    private static final MailDelivery.Session SESSION = new MailDelivery.Session(new InetSocketAddress("127.0.0.1", 4000),
            "client.example", Optional.empty(), Optional.empty());
    private static final int RUNS = Chunking.standard().size();

    @TempDir
    Path dir;

    private Maildir maildir;
    private SieveScripts scripts;
    private ManualClock clock;
    private RelayQueue queue;
    private MaildirDelivery delivery;

    @BeforeEach
    void setUp() throws IOException {
        maildir = Maildir.open(dir.resolve("maildir"));
        scripts = SieveScripts.builder().maildir(maildir).userLog(true).build();
        clock = ManualClock.at(Instant.parse("2026-12-01T10:00:00Z"));
        queue = RelayQueue.builder().directory(dir.resolve("queue")).heloName(DOMAIN)
                .resolver(MxResolver.fixed("127.0.0.1:1")).clock(clock).build();
        delivery = SmtpTestSupport.local(dir).sieve(scripts).outbound(queue).clock(clock).build();
    }

    private void script(String user, String text) throws Exception {
        scripts.put(user, "main", text);
        scripts.activate(user, "main");
    }

    private void deliver(String from, String to, String message) throws IOException, InterruptedException {
        String user = to.substring(0, to.indexOf('@'));
        delivery.deliver(new MailDelivery.Envelope<>(SESSION, "T1", from,
                List.of(new MailDelivery.Recipient<>(to, user.contains("+") ? user.substring(0, user.indexOf('+')) : user))),
                new ByteArrayInputStream(message.getBytes(StandardCharsets.UTF_8)));
    }

    private static String mail(String from, String to, String subject, String... fields) {
        return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + subject.hashCode()
                + "@client.example>\r\n" + String.join("", fields) + "\r\nhello\r\n";
    }

    /** Every message file in one folder of a user ("" for INBOX), new/ and cur/. */
    private List<Path> messages(String user, String folder) throws IOException {
        List<Path> out = new ArrayList<>();
        Path box = maildir.folder(user, folder);
        for (String sub : List.of("new", "cur")) {
            if (Files.isDirectory(box.resolve(sub))) {
                try (Stream<Path> s = Files.list(box.resolve(sub))) {
                    s.sorted().forEach(out::add);
                }
            }
        }
        return out;
    }

    /** A message from carol@remote.example to alice, up to its text. */
    private static final String TO_ALICE = """
            S: 220 example.test ESMTP Twine
            C: HELO c
            S: 250 example.test
            C: MAIL FROM:<carol@remote.example>
            S: 250 2.1.0 Ok
            C: RCPT TO:<alice@example.test>
            S: 250 2.1.5 Ok
            C: DATA
            S: 354 End data with <CR><LF>.<CR><LF>
            """;

    @Test
    void fileintoCreateMakesTheFolderAndStoresWithTheScriptsFlagsOverSmtp() throws Exception {
        script("alice", """
                require ["fileinto", "mailbox", "imap4flags"];
                if header :contains "subject" "report" { addflag "\\\\Seen"; fileinto :create "Reports/Daily"; }
                """);
        SmtpServer server = SmtpTestSupport.server(dir, delivery).build();
        Transcript.parse(TO_ALICE + """
                C: Subject: daily report
                C:
                C: all well
                C: .
                S: 250 2.0.0 Ok: queued
                C: QUIT
                S: 221 2.0.0 example.test Bye
                """).run(server.handler());
        List<Path> filed = messages("alice", "Reports.Daily");
        assertEquals(RUNS, filed.size(), "Reports/Daily is the Maildir++ folder .Reports.Daily");
        assertTrue(filed.get(0).getFileName().toString().endsWith(":2,S"), filed.get(0).toString());
        assertTrue(Files.readString(filed.get(0)).startsWith("Return-Path: <carol@remote.example>\r\n"));
        assertEquals(List.of(), messages("alice", ""));
    }

    @Test
    void spamMarkedMailGoesToJunkUnlessTheUsersScriptDecidesAndWithoutJunkStaysInInbox() throws Exception {
        delivery = SmtpTestSupport.local(dir).sieve(scripts.withSpamTo("Junk")).outbound(queue).clock(clock).build();
        for (String sub : List.of("cur", "new", "tmp")) {
            Files.createDirectories(maildir.folder("alice", "Junk").resolve(sub));
        }
        String spam = mail("carol@remote.example", "alice@example.test", "quarantined", "X-Spam-Flag: YES\r\n");
        deliver("carol@remote.example", "alice@example.test", spam);
        deliver("carol@remote.example", "alice@example.test", mail("carol@remote.example", "alice@example.test", "fine"));
        assertEquals(1, messages("alice", "Junk").size(), "the marked message is filed into Junk");
        assertEquals(1, messages("alice", "").size(), "the other stays in INBOX");
        // bob has no Junk folder: INBOX, as any fileinto without :create
        deliver("carol@remote.example", "bob@example.test", spam.replace("alice@", "bob@"));
        assertEquals(1, messages("bob", "").size());
        // a user's own decision stands
        script("alice", "require [\"fileinto\", \"mailbox\"]; fileinto :create \"Lists\";");
        deliver("carol@remote.example", "alice@example.test", spam);
        assertEquals(1, messages("alice", "Lists").size());
        assertEquals(1, messages("alice", "Junk").size());
    }

    @Test
    void fileintoAMissingFolderWithoutCreateKeepsInInbox() throws Exception {
        script("alice", "require \"fileinto\"; fileinto \"Nowhere\";");
        deliver("carol@remote.example", "alice@example.test", mail("carol@remote.example", "alice@example.test", "x"));
        assertEquals(1, messages("alice", "").size());
        assertFalse(Files.exists(maildir.folder("alice", "Nowhere")), "no folder made without :create");
    }

    @Test
    void aFaultyScriptOrARunTimeErrorKeepsTheMessageAndIsWrittenToTheUserLog() throws Exception {
        Path sieve = Files.createDirectories(maildir.inbox("alice").resolve("sieve"));
        Files.writeString(sieve.resolve("broken.sieve"), "require \"fileinto\";\nfileinto;\n");
        Files.createSymbolicLink(maildir.inbox("alice").resolve(".dovecot.sieve"), Path.of("sieve/broken.sieve"));
        deliver("carol@remote.example", "alice@example.test", mail("carol@remote.example", "alice@example.test", "x"));
        assertEquals(1, messages("alice", "").size());
        String log = Files.readString(maildir.inbox("alice").resolve(".dovecot.sieve.log"));
        assertTrue(log.contains("line 2: fileinto takes 1 argument"), log);

        script("alice", "require [\"reject\", \"fileinto\"];\nfileinto \"INBOX\";\nreject \"no\";");
        deliver("carol@remote.example", "alice@example.test", mail("carol@remote.example", "alice@example.test", "y"));
        assertEquals(2, messages("alice", "").size(), "the run-time error (reject after keep) keeps the message");
        assertTrue(Files.readString(maildir.inbox("alice").resolve(".dovecot.sieve.log")).contains("run-time error"));
    }

    @Test
    void aChangedScriptIsUsedFromTheNextDelivery() throws Exception {
        script("alice", "discard;");
        deliver("carol@remote.example", "alice@example.test", mail("carol@remote.example", "alice@example.test", "x"));
        assertEquals(0, messages("alice", "").size(), "discarded");
        scripts.put("alice", "main", "keep;  # changed, so its size and time are not the cached one's");
        deliver("carol@remote.example", "alice@example.test", mail("carol@remote.example", "alice@example.test", "y"));
        assertEquals(1, messages("alice", "").size());
    }

    @Test
    void erejectForOneRecipientIsRefusedInTheProtocol() throws Exception {
        script("alice", "require \"ereject\"; if header :contains \"subject\" \"offer\" { ereject \"no offers, thanks\"; }");
        SmtpServer server = SmtpTestSupport.server(dir, delivery).build();
        Transcript.parse(TO_ALICE + """
                C: Subject: great offer
                C:
                C: buy
                C: .
                S: 550 5.7.1 no offers, thanks
                C: QUIT
                S: 221 2.0.0 example.test Bye
                """).run(server.handler());
        assertEquals(0, messages("alice", "").size());
        assertEquals(0, queue.size(), "refused in the protocol: no rejection message besides");
    }

    @Test
    void aRejectAmongSeveralRecipientsSendsTheSenderARejection() throws Exception {
        script("alice", "require \"reject\"; reject \"I do not take mail\";");
        delivery.deliver(new MailDelivery.Envelope<>(SESSION, "T2", "carol@remote.example",
                List.of(new MailDelivery.Recipient<>("alice@example.test", "alice"),
                        new MailDelivery.Recipient<>("bob@example.test", "bob"))),
                new ByteArrayInputStream(mail("carol@remote.example", "alice@example.test", "x").getBytes(StandardCharsets.UTF_8)));
        assertEquals(0, messages("alice", "").size());
        assertEquals(1, messages("bob", "").size());
        assertEquals(List.of(List.of("carol@remote.example")), List.copyOf(queue.pending().values()));
    }

    @Test
    void redirectToALocalUserAddsDeliveredToAndALoopEndsKept() throws Exception {
        script("alice", "redirect \"bob@example.test\";");
        deliver("carol@remote.example", "alice@example.test", mail("carol@remote.example", "alice@example.test", "x"));
        assertEquals(0, messages("alice", "").size());
        List<Path> bobs = messages("bob", "");
        assertEquals(1, bobs.size());
        assertTrue(Files.readString(bobs.get(0)).startsWith("Return-Path: <carol@remote.example>\r\nDelivered-To: alice@example.test\r\n"));

        script("bob", "redirect \"alice@example.test\";"); // alice -> bob -> alice: the loop is seen
        deliver("carol@remote.example", "alice@example.test", mail("carol@remote.example", "alice@example.test", "y"));
        assertEquals(0, messages("alice", "").size());
        assertEquals(2, messages("bob", "").size(), "bob's redirect back to alice is a loop: kept in his INBOX");
        assertEquals(0, queue.size());
    }

    @Test
    void redirectElsewhereIsQueuedAndAtMostFourAreMade() throws Exception {
        StringBuilder s = new StringBuilder();
        for (int i = 1; i <= 6; i++) {
            s.append("redirect \"r").append(i).append("@remote.example\";\n");
        }
        script("alice", s.toString());
        deliver("carol@remote.example", "alice@example.test", mail("carol@remote.example", "alice@example.test", "x"));
        List<String> to = queue.pending().values().stream().flatMap(List::stream).sorted().toList();
        assertEquals(List.of("r1@remote.example", "r2@remote.example", "r3@remote.example", "r4@remote.example"), to);
    }

    private static final String VACATION = """
            require "vacation";
            vacation :days 7 :subject "Away" "I am away until Monday.";
            """;

    @Test
    void aVacationReplyGoesOncePerSenderPerPeriod() throws Exception {
        script("alice", VACATION);
        for (String subject : List.of("one", "two")) {
            deliver("bob@example.test", "alice@example.test", mail("Bob <bob@example.test>", "Alice <alice@example.test>", subject));
        }
        assertEquals(2, messages("alice", "").size(), "vacation keeps the messages");
        List<Path> replies = messages("bob", "");
        assertEquals(1, replies.size(), "one reply for two messages");
        String reply = Files.readString(replies.get(0));
        assertTrue(reply.startsWith("Return-Path: <>\r\n"), reply);
        assertTrue(reply.contains("\r\nFrom: alice@example.test\r\n"), reply);
        assertTrue(reply.contains("\r\nTo: <bob@example.test>\r\n"), reply);
        assertTrue(reply.contains("\r\nSubject: Away\r\n"), reply);
        assertTrue(reply.contains("\r\nAuto-Submitted: auto-replied"), reply);
        assertTrue(reply.contains("\r\nIn-Reply-To: <" + "one".hashCode() + "@client.example>\r\n"), reply);
        assertTrue(reply.endsWith("\r\n\r\nI am away until Monday.\r\n"), reply);

        clock.advance(Duration.ofDays(7).plusSeconds(1));
        deliver("bob@example.test", "alice@example.test", mail("bob@example.test", "alice@example.test", "three"));
        assertEquals(2, messages("bob", "").size(), "after :days the sender is answered again");
        deliver("carol@remote.example", "alice@example.test", mail("carol@remote.example", "alice@example.test", "four"));
        assertEquals(List.of(List.of("carol@remote.example")), List.copyOf(queue.pending().values()),
                "a remote sender's reply is queued");
        assertTrue(Files.readString(maildir.inbox("alice").resolve("twine-vacation")).lines().count() == 2);
    }

    @Test
    void noVacationReplyToListsBulkAutomatonsOrMailNotNamingTheUser() throws Exception {
        script("alice", VACATION);
        String to = "alice@example.test";
        deliver("bob@example.test", to, mail("bob@example.test", to, "a", "List-Id: <dev.lists.example>\r\n"));
        deliver("bob@example.test", to, mail("bob@example.test", to, "b", "Precedence: bulk\r\n"));
        deliver("bob@example.test", to, mail("bob@example.test", to, "c", "Auto-Submitted: auto-generated\r\n"));
        deliver("bob@example.test", to, mail("bob@example.test", "someone@else.example", "d"));
        deliver("", to, mail("mailer-daemon@remote.example", to, "e"));
        deliver("owner-dev@remote.example", to, mail("owner-dev@remote.example", to, "f"));
        deliver("alice@example.test", to, mail("alice@example.test", to, "g"));
        assertEquals(7, messages("alice", "").size());
        assertEquals(0, messages("bob", "").size());
        assertEquals(0, queue.size());
        deliver("bob@example.test", "alice+work@example.test", mail("bob@example.test", "Alice <alice+work@example.test>", "h",
                "Auto-Submitted: no\r\n"));
        assertEquals(1, messages("bob", "").size(), "a tagged address is the user's own; Auto-Submitted: no is a person");
    }

    @Test
    void theScriptsAreKeptInPigeonholesLayout() throws Exception {
        scripts.put("alice", "one", "keep;");
        scripts.put("alice", "two", "discard;");
        scripts.activate("alice", "one");
        Path home = maildir.inbox("alice");
        assertEquals(Path.of("sieve/one.sieve"), Files.readSymbolicLink(home.resolve(".dovecot.sieve")));
        assertEquals("keep;", Files.readString(home.resolve("sieve/one.sieve")));
        assertEquals(List.of("one", "two"), scripts.names("alice"));
        assertEquals(Optional.of("one"), scripts.active("alice"));
        assertThrows(IllegalStateException.class, () -> scripts.delete("alice", "one"));
        scripts.rename("alice", "one", "first");
        assertEquals(Optional.of("first"), scripts.active("alice"), "the active script stays active when renamed");
        scripts.delete("alice", "two");
        assertEquals(List.of("first"), scripts.names("alice"));
        SieveException bad = assertThrows(SieveException.class, () -> scripts.put("alice", "bad", "keep;\nfrobnicate;"));
        assertEquals(2, bad.line());
        assertEquals(List.of("first"), scripts.names("alice"), "a script that does not parse is not stored");
        assertThrows(IllegalArgumentException.class, () -> scripts.put("alice", "../escape", "keep;"));
        scripts.activate("alice", "");
        assertEquals(Optional.empty(), scripts.active("alice"));
        assertEquals(List.of(new SieveAction.Keep(Set.of())), scripts.filter("alice", null), "no active script: keep");
        assertTrue(maildir.account("alice").mailboxes().stream().noneMatch(f -> f.contains("sieve")), "no folder seen in the scripts");
    }
}
