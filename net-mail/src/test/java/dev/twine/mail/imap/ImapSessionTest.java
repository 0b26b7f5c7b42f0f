package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapTestClient.last;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Tls;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import dev.twine.mail.maildir.MailFixture;
import dev.twine.mail.store.Mailbox;
import dev.twine.mail.store.StoredMessage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * IMAP behaviour over in-memory connections, under every standard chunking, over the Maildir store
 * and the in-memory store alike (but for what only files can show: restarts, file names).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ImapSessionTest {
    @TempDir
    Path tmp;

    private interface Body {
        void run(MailFixture f, ImapTestClient c, MemoryConnections.Served s) throws Exception;
    }

    private void each(ImapServer.Builder[] holder, Body body) throws Exception {
        each(true, body);
    }

    /** Runs {@code body} under every chunking, over the Maildir and (if {@code memoryToo}) the memory store. */
    private void each(boolean memoryToo, Body body) throws Exception {
        int i = 0;
        for (Chunking chunking : Chunking.standard()) {
            Path dir = tmp.resolve("run" + i++);
            for (MailFixture f : memoryToo ? MailFixture.both(dir) : List.of(MailFixture.create(dir))) {
                f.inbox("alice", 1000, MailFixture.HELLO, MailFixture.MULTIPART);
                ImapServer.Builder b = ImapServer.builder().store(f.store).portal(f.portal).maxLiteral(4096)
                        .maxLineLength(1000).idleRecheck(Duration.ofSeconds(30));
                try (MemoryConnections.Served s = MemoryConnections.serve(b.build().handler(), chunking)) {
                    ImapTestClient c = new ImapTestClient(s.client());
                    assertTrue(c.readResponse().startsWith("* OK [CAPABILITY IMAP4rev1"), chunking + " " + f);
                    body.run(f, c, s);
                }
            }
        }
    }

    private static void login(ImapTestClient c) throws IOException {
        assertTrue(last(c.command("l", "LOGIN alice secret")).startsWith("l OK"));
    }

    @Test
    void idleReportsMailDeliveredToTheMaildirAsExistsAndRecent() throws Exception {
        each(null, (f, c, s) -> {
            login(c);
            c.command("s", "SELECT INBOX");
            c.send("i IDLE\r\n");
            assertEquals("+ idling", c.readResponse());
            f.deliver("alice", MailFixture.HELLO);
            assertEquals("* 3 EXISTS", c.readResponse());
            assertEquals("* 3 RECENT", c.readResponse());
            c.send("DONE\r\n");
            assertEquals("i OK IDLE terminated", c.readResponse());
            assertEquals("* 3 FETCH (UID 3)", c.command("f", "FETCH 3 UID").get(0));
        });
    }

    @Test
    void uidValidityAndUidsSurviveAServerRestartAndNewMailGetsTheNextUid() throws Exception {
        each(false, (f, c, s) -> {
            login(c);
            assertTrue(c.command("s", "SELECT INBOX").contains("* OK [UIDVALIDITY 1000] UIDs valid"));
            c.command("o", "LOGOUT");
            f.restart(f.maildir.inbox("alice"));
            f.deliver("alice", MailFixture.HELLO);
            try (MemoryConnections.Served again = MemoryConnections.serve(
                    ImapServer.builder().store(f.maildir).portal(f.portal).build().handler(), Chunking.whole())) {
                ImapTestClient c2 = new ImapTestClient(again.client());
                c2.readResponse();
                login(c2);
                List<String> sel = c2.command("s", "SELECT INBOX");
                assertTrue(sel.contains("* OK [UIDVALIDITY 1000] UIDs valid"), sel.toString());
                assertTrue(sel.contains("* OK [UIDNEXT 4] predicted next UID"), sel.toString());
                assertEquals(List.of("* SEARCH 1 2 3", "u OK UID SEARCH completed"), c2.command("u", "UID SEARCH ALL"));
            }
        });
    }

    @Test
    void appendIsDurableWithFlagsAndDateAndAnswersAppendUid() throws Exception {
        each(null, (f, c, s) -> {
            login(c);
            byte[] msg = MailFixture.HELLO.getBytes(StandardCharsets.UTF_8);
            c.send("a APPEND Drafts (\\Draft \\Seen) \"05-Mar-2001 10:00:00 +0100\" {" + msg.length + "}\r\n");
            assertEquals("+ Ready for literal data", c.readResponse());
            c.send(MailFixture.HELLO + "\r\n");
            String ok = last(c.until("a"));
            Mailbox drafts = f.mailbox("alice", "Drafts");
            assertEquals("a OK [APPENDUID " + drafts.uidValidity() + " 1] APPEND completed", ok);
            StoredMessage m = drafts.messages().get(0);
            assertEquals(Set.of(StoredMessage.DRAFT, StoredMessage.SEEN), m.flags());
            assertEquals(Instant.parse("2001-03-05T09:00:00Z"), drafts.internalDate(m.uid()));
            assertEquals(MailFixture.HELLO, new String(drafts.read(m.uid()), StandardCharsets.UTF_8));
            if (f.onDisk()) {
                Path file = f.maildir.folder("alice", "Drafts").resolve("cur").resolve(m.uniqueId() + ":2,DS");
                assertEquals(MailFixture.HELLO, Files.readString(file));
            }
            // appending to a missing mailbox asks the client to create it
            assertEquals("b NO [TRYCREATE] no such mailbox", last(c.command("b", "APPEND Nope {1+}\r\nx")));
        });
    }

    @Test
    void copyAndMoveAnswerCopyUidAndMoveExpunges() throws Exception {
        each(null, (f, c, s) -> {
            login(c);
            c.command("s", "SELECT INBOX");
            long trash = f.mailbox("alice", "Trash").uidValidity();
            assertEquals("c OK [COPYUID " + trash + " 1:2 1:2] COPY completed", last(c.command("c", "COPY 1:* Trash")));
            List<String> moved = c.command("m", "UID MOVE 1 Trash");
            assertEquals(List.of("* OK [COPYUID " + trash + " 1 3] moved", "* 1 EXPUNGE", "m OK UID MOVE completed"), moved);
            assertEquals(3, f.mailbox("alice", "Trash").messages().size());
            assertEquals(1, f.mailbox("alice", "INBOX").messages().size());
            assertEquals("x NO [TRYCREATE] no such mailbox", last(c.command("x", "COPY 1 Nowhere")));
        });
    }

    @Test
    void keywordsAreStoredAsDovecotLettersAndSearchable() throws Exception {
        each(null, (f, c, s) -> {
            login(c);
            c.command("s", "SELECT INBOX");
            assertEquals("* 2 FETCH (FLAGS (\\Recent $Forwarded Junk))", c.command("a", "STORE 2 +FLAGS ($Forwarded Junk)").get(0));
            Mailbox inbox = f.mailbox("alice", "");
            assertEquals(Set.of("$Forwarded", "Junk"), inbox.find(2).orElseThrow().flags());
            if (f.onDisk()) {
                Path keywords = f.maildir.folder("alice", "INBOX").resolve("dovecot-keywords");
                assertEquals("0 $Forwarded\n1 Junk\n", Files.readString(keywords));
            }
            assertEquals(List.of("* SEARCH 2", "k OK SEARCH completed"), c.command("k", "SEARCH KEYWORD junk"));
            assertEquals(List.of("* SEARCH 1", "u OK SEARCH completed"), c.command("u", "SEARCH UNKEYWORD $Forwarded"));
            assertEquals(List.of("* SEARCH", "n OK SEARCH completed"), c.command("n", "SEARCH KEYWORD Nope"));
            assertEquals("* 2 FETCH (FLAGS (\\Recent Junk))", c.command("r", "STORE 2 -FLAGS ($Forwarded)").get(0));
            c.command("c", "COPY 2 Trash");
            Mailbox trash = f.mailbox("alice", "Trash");
            assertEquals(List.of("Junk"), trash.keywords());
            assertEquals(Set.of("Junk"), trash.messages().get(0).flags());
            List<String> sel = c.command("t", "SELECT Trash");
            assertTrue(sel.contains("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft Junk)"), sel.toString());
            assertEquals("b BAD invalid flag \\Bogus", last(c.command("b", "STORE 1 +FLAGS (\\Bogus)")));
        });
    }

    @Test
    void uidSetsFollowRfc3501IncludingAStarRangeAboveTheLastUid() throws Exception {
        each(null, (f, c, s) -> {
            login(c);
            f.deliver("alice", MailFixture.HELLO);
            f.mailbox("alice", "").expunge(List.of(2L));
            c.command("s", "SELECT INBOX");
            // UIDs are now 1 and 3; 7:* still names the last message (RFC 3501 §6.4.8)
            assertEquals(List.of("* 2 FETCH (UID 3)", "a OK UID FETCH completed"), c.command("a", "UID FETCH 7:* UID"));
            assertEquals(List.of("* 1 FETCH (UID 1)", "* 2 FETCH (UID 3)", "b OK UID FETCH completed"),
                    c.command("b", "UID FETCH 1,2,3 UID"));
            assertEquals(List.of("c OK UID FETCH completed"), c.command("c", "UID FETCH 2 UID"));
            assertEquals("d BAD invalid message sequence number", last(c.command("d", "FETCH 3 UID")));
            assertEquals("e BAD invalid sequence set", last(c.command("e", "FETCH 1:x UID")));
        });
    }

    @Test
    void anotherSessionsChangesArriveOnNoop() throws Exception {
        each(null, (f, c, s) -> {
            login(c);
            c.command("s", "SELECT INBOX");
            Mailbox inbox = f.mailbox("alice", "");
            inbox.setFlags(2, Set.of(StoredMessage.FLAGGED));
            inbox.expunge(List.of(1L));
            List<String> r = c.command("n", "NOOP");
            assertEquals(List.of("* 1 EXPUNGE", "* 1 FETCH (FLAGS (\\Flagged \\Recent))", "n OK NOOP completed"), r);
        });
    }

    @Test
    void overlongLinesAndLiteralsGetBadAndTheSessionContinues() throws Exception {
        each(null, (f, c, s) -> {
            c.send("a NOOP " + "x".repeat(2000) + "\r\n");
            assertEquals("* BAD command line too long", c.readResponse());
            // the rest of the long line was skipped; the next command works
            assertEquals("b OK NOOP completed", last(c.command("b", "NOOP")));
            assertEquals("c BAD literal too large", last(c.command("c", "LOGIN {100000}")));
            assertEquals("d OK NOOP completed", last(c.command("d", "NOOP")));
            c.send("e LOGIN {100000+}\r\n");
            assertEquals("* BYE literal too large", c.readResponse());
            assertThrows(IOException.class, c::readResponse);
        });
    }

    @Test
    void loginIsDisabledBeforeTlsUnlessAllowed() throws Exception {
        Tls tls = Tls.of(SSLContext.getDefault(), false);
        ImapServer.Builder[] holder = new ImapServer.Builder[1];
        int i = 0;
        for (Chunking chunking : Chunking.standard()) {
            MailFixture f = MailFixture.create(tmp.resolve("tls" + i++));
            try (MemoryConnections.Served s = MemoryConnections.serve(
                    ImapServer.builder().store(f.maildir).portal(f.portal).tls(tls).build().handler(), chunking)) {
                ImapTestClient c = new ImapTestClient(s.client());
                String greeting = c.readResponse();
                assertTrue(greeting.contains(" STARTTLS LOGINDISABLED]"), greeting);
                assertFalse(greeting.contains("AUTH="), greeting);
                assertEquals("a NO [PRIVACYREQUIRED] LOGIN is disabled before STARTTLS", last(c.command("a", "LOGIN alice secret")));
                assertTrue(last(c.command("b", "AUTHENTICATE PLAIN")).startsWith("b NO [PRIVACYREQUIRED]"));
            }
        }
        assertEquals(null, holder[0]);
    }

    @Test
    void authenticatePlainWithAndWithoutInitialResponse() throws Exception {
        each(null, (f, c, s) -> {
            String creds = Base64.getEncoder().encodeToString("\0alice\0wrong".getBytes(StandardCharsets.UTF_8));
            assertEquals("a NO [AUTHENTICATIONFAILED] authentication failed", last(c.command("a", "AUTHENTICATE PLAIN " + creds)));
            c.send("b AUTHENTICATE PLAIN\r\n");
            assertEquals("+ ", c.readResponse());
            c.send("*\r\n");
            assertEquals("b BAD AUTHENTICATE cancelled", c.readResponse());
            c.send("c AUTHENTICATE PLAIN\r\n");
            assertEquals("+ ", c.readResponse());
            c.send(Base64.getEncoder().encodeToString("\0alice\0secret".getBytes(StandardCharsets.UTF_8)) + "\r\n");
            assertTrue(c.readResponse().startsWith("c OK [CAPABILITY IMAP4rev1"));
        });
    }

    @Test
    void authenticateScramSha256SendsTheServerSignatureInALastContinuation() throws Exception {
        each(null, (f, c, s) -> {
            java.util.Base64.Encoder enc = Base64.getEncoder();
            java.util.Base64.Decoder dec = Base64.getDecoder();
            String nonce = "fyko+d2lbbFgONRv9qkxdawL";
            String clientFirstBare = "n=alice,r=" + nonce;
            c.send("s AUTHENTICATE SCRAM-SHA-256 " + enc.encodeToString(("n,," + clientFirstBare).getBytes(StandardCharsets.UTF_8)) + "\r\n");
            String cont = c.readResponse();
            assertTrue(cont.startsWith("+ "), cont);
            String serverFirst = new String(dec.decode(cont.substring(2)), StandardCharsets.UTF_8);
            java.util.Map<String, String> attrs = new java.util.HashMap<>();
            for (String kv : serverFirst.split(",")) {
                attrs.put(kv.substring(0, 1), kv.substring(2));
            }
            assertTrue(attrs.get("r").startsWith(nonce));
            // RFC 5802 §3, with SHA-256 (RFC 7677)
            javax.crypto.SecretKeyFactory kf = javax.crypto.SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256");
            byte[] salted = kf.generateSecret(new javax.crypto.spec.PBEKeySpec("secret".toCharArray(), dec.decode(attrs.get("s")),
                    Integer.parseInt(attrs.get("i")), 256)).getEncoded();
            byte[] clientKey = hmac(salted, "Client Key");
            byte[] storedKey = java.security.MessageDigest.getInstance("SHA-256").digest(clientKey);
            String withoutProof = "c=biws,r=" + attrs.get("r");
            String authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
            byte[] signature = hmac(storedKey, authMessage);
            byte[] proof = new byte[clientKey.length];
            for (int i = 0; i < proof.length; i++) {
                proof[i] = (byte) (clientKey[i] ^ signature[i]);
            }
            c.send(enc.encodeToString((withoutProof + ",p=" + enc.encodeToString(proof)).getBytes(StandardCharsets.UTF_8)) + "\r\n");
            String fin = c.readResponse();
            byte[] serverSignature = hmac(hmac(salted, "Server Key"), authMessage);
            assertEquals("+ " + enc.encodeToString(("v=" + enc.encodeToString(serverSignature)).getBytes(StandardCharsets.UTF_8)), fin);
            c.send("\r\n");
            assertTrue(c.readResponse().startsWith("s OK [CAPABILITY IMAP4rev1"));
        });
    }

    private static byte[] hmac(byte[] key, String text) throws Exception {
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        mac.init(new javax.crypto.spec.SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void examineIsReadOnlyAndKeepsRecentInNew() throws Exception {
        each(null, (f, c, s) -> {
            login(c);
            assertEquals("e OK [READ-ONLY] EXAMINE completed", last(c.command("e", "EXAMINE INBOX")));
            assertEquals("t NO [READ-ONLY] mailbox is read-only", last(c.command("t", "STORE 1 +FLAGS (\\Seen)")));
            c.command("f", "FETCH 1 BODY[]");
            assertTrue(f.mailbox("alice", "").messages().stream().allMatch(m -> m.recent() && m.flags().isEmpty()));
        });
    }

    @Test
    void listsSpecialUseFoldersAndHierarchy() throws Exception {
        each(null, (f, c, s) -> {
            login(c);
            c.command("c", "CREATE Work.2024");
            List<String> r = c.command("l", "LIST \"\" *");
            assertEquals(List.of("* LIST (\\HasNoChildren) \".\" \"INBOX\"", "* LIST (\\HasNoChildren \\Drafts) \".\" \"Drafts\"",
                    "* LIST (\\HasNoChildren \\Junk) \".\" \"Junk\"", "* LIST (\\HasNoChildren \\Sent) \".\" \"Sent\"",
                    "* LIST (\\HasNoChildren \\Trash) \".\" \"Trash\"", "* LIST (\\HasChildren) \".\" \"Work\"",
                    "* LIST (\\HasNoChildren) \".\" \"Work.2024\"", "l OK LIST completed"), r);
            assertEquals(List.of("* LIST (\\HasChildren) \".\" \"Work\"", "p OK LIST completed"), c.command("p", "LIST \"\" W%"));
            assertEquals("r OK RENAME completed", last(c.command("r", "RENAME Work Jobs")));
            assertEquals("* LIST (\\HasNoChildren) \".\" \"Jobs.2024\"", c.command("q", "LIST Jobs. %").get(0));
            assertEquals("d OK DELETE completed", last(c.command("d", "DELETE Jobs.2024")));
            assertEquals("x NO [NONEXISTENT] no such mailbox", last(c.command("x", "SELECT Jobs.2024")));
            assertEquals("u OK SUBSCRIBE completed", last(c.command("u", "SUBSCRIBE Jobs")));
            assertTrue(c.command("v", "LSUB \"\" *").contains("* LSUB (\\HasNoChildren) \".\" \"Jobs\""));
        });
    }

    @Test
    void randomGarbageCommandsGetBadOrNoAndTheSessionSurvives() throws Exception {
        java.util.Random rnd = new java.util.Random(7);
        String alphabet = "abcXYZ019 ()[]<>\"\\*%:,.+-\tUIDFETCHSTOREBODY";
        each(null, (f, c, s) -> {
            login(c);
            c.command("s", "SELECT INBOX");
            for (int i = 0; i < 150; i++) {
                StringBuilder sb = new StringBuilder();
                String[] verbs = {"FETCH", "STORE", "SEARCH", "UID", "COPY", "LIST", "STATUS", "APPEND", "X"};
                sb.append(verbs[rnd.nextInt(verbs.length)]);
                for (int k = rnd.nextInt(40); k > 0; k--) {
                    sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
                }
                List<String> r = c.command("g" + i, sb.toString());
                String end = last(r);
                assertTrue(end.startsWith("g" + i + " BAD") || end.startsWith("g" + i + " NO")
                        || end.startsWith("g" + i + " OK"), sb + " -> " + r);
                assertFalse(end.contains("SERVERBUG"), sb + " -> " + r);
            }
            assertEquals("n OK NOOP completed", last(c.command("n", "NOOP")));
        });
    }

    @Test
    void aClientVanishingInsideALiteralEndsOnlyItsSession() throws Exception {
        each(null, (f, c, s) -> {
            login(c);
            c.send("a APPEND INBOX {50+}\r\nonly part");
            s.client().close();
            assertTrue(s.awaitHandler(Duration.ofSeconds(20)).isEmpty(), "handler ended cleanly");
            assertEquals(2, f.mailbox("alice", "").messages().size());
        });
    }
}
