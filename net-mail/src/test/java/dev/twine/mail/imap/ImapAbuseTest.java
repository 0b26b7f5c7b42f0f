package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapTestClient.last;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import dev.twine.mail.maildir.MailFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a hostile or careless client sends (issue 10, finding 9): the session answers with the
 * protocol's own error, keeps serving, and never shows a path or an exception text.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ImapAbuseTest {
    @TempDir
    Path tmp;

    private MailFixture fixture;

    private interface Body {
        void run(ImapTestClient c) throws Exception;
    }

    private void session(Body body) throws Exception {
        fixture = MailFixture.create(tmp.resolve("f"));
        fixture.inbox("alice", 1000, MailFixture.HELLO, MailFixture.MULTIPART);
        try (MemoryConnections.Served s = MemoryConnections.serve(
                ImapServer.builder().store(fixture.maildir).portal(fixture.portal).build().handler(), Chunking.whole())) {
            ImapTestClient c = new ImapTestClient(s.client());
            c.readResponse();
            assertTrue(last(c.command("l", "LOGIN alice secret")).startsWith("l OK"));
            body.run(c);
            // the session is still there and well
            assertEquals("z OK NOOP completed", last(c.command("z", "NOOP")));
        }
    }

    private void assertNoPath(List<String> responses) {
        String all = String.join("\n", responses);
        assertFalse(all.contains(tmp.toString()), all);
        assertFalse(all.contains("Exception"), all);
    }

    @Test
    void searchWithFiveThousandNestedNotsAnswersBadInsteadOfOverflowingTheStack() throws Exception {
        session(c -> {
            c.command("s", "SELECT INBOX");
            List<String> r = c.command("q", "SEARCH " + "NOT ".repeat(5000) + "ALL");
            assertEquals("q BAD search keys nested too deeply", last(r));
            // a reasonable depth still works
            assertEquals(List.of("* SEARCH", "n OK SEARCH completed"), c.command("n", "SEARCH " + "NOT ".repeat(99) + "ALL"));
        });
    }

    @Test
    void searchWithADeepOrChainAnswersBad() throws Exception {
        session(c -> {
            c.command("s", "SELECT INBOX");
            List<String> r = c.command("q", "SEARCH " + "OR ALL ".repeat(5000) + "ALL");
            assertEquals("q BAD search keys nested too deeply", last(r));
            r = c.command("p", "SEARCH " + "OR ".repeat(5000) + "ALL ".repeat(5001));
            assertEquals("p BAD search keys nested too deeply", last(r));
        });
    }

    @Test
    void deeplyParenthesizedCommandsAnswerBad() throws Exception {
        session(c -> {
            c.command("s", "SELECT INBOX");
            assertEquals("q BAD lists nested too deeply", last(c.command("q", "SEARCH " + "(".repeat(5000) + "ALL"
                    + ")".repeat(5000))));
            assertEquals("r BAD lists nested too deeply", last(c.command("r", "FETCH 1 " + "(".repeat(5000) + "FLAGS"
                    + ")".repeat(5000))));
        });
    }

    @Test
    void listWithThousandsOfWildcardsAnswersPromptly() throws Exception {
        session(c -> {
            c.command("c", "CREATE aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
            // a backtracking matcher needs exponential time for this and overflows on longer ones
            List<String> r = c.command("l", "LIST \"\" \"" + "*a".repeat(30) + "b\"");
            assertEquals(List.of("l OK LIST completed"), r);
            r = c.command("m", "LIST \"\" \"" + "%*".repeat(20_000) + "\"");
            assertTrue(r.contains("* LIST (\\HasNoChildren) \".\" \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""), r.toString());
            assertEquals("m OK LIST completed", last(r));
        });
    }

    @Test
    void aMailboxNameTooLongForTheFileSystemIsNoLimitWithoutAPath() throws Exception {
        session(c -> {
            String name = "x".repeat(300);
            List<String> r = c.command("c", "CREATE " + name);
            assertNoPath(r);
            assertEquals("c NO [LIMIT] mailbox name longer than 200 bytes", last(r));
            assertEquals("s NO [LIMIT] mailbox name longer than 200 bytes", last(c.command("s", "SELECT " + name)));
            assertTrue(last(c.command("d", "CREATE " + "y".repeat(200))).startsWith("d OK"));
        });
    }

    @Test
    void mailboxesNamedWithListWildcardsCannotBeCreated() throws Exception {
        session(c -> {
            for (String name : List.of("%", "*", "a%b", "Work.*")) {
                assertEquals("c NO [CANNOT] mailbox names cannot contain the LIST wildcards % or *",
                        last(c.command("c", "CREATE \"" + name + "\"")), name);
            }
            c.command("w", "CREATE Work");
            assertEquals("r NO [CANNOT] mailbox names cannot contain the LIST wildcards % or *",
                    last(c.command("r", "RENAME Work \"*\"")));
            assertEquals(List.of("* LIST (\\HasNoChildren) \".\" \"Work\"", "l OK LIST completed"),
                    c.command("l", "LIST \"\" Work*"));
        });
    }

    @Test
    void mailboxNamesThatNoFolderCanHaveAreNoCannot() throws Exception {
        session(c -> {
            for (String name : List.of("a..b", ".hidden", "a/b", "..", "../bob")) {
                List<String> r = c.command("c", "CREATE \"" + name + "\"");
                assertNoPath(r);
                assertTrue(last(r).startsWith("c NO [CANNOT] "), name + ": " + r);
            }
            List<String> r = c.command("t", "CREATE {3+}\r\na\tb");
            assertTrue(last(r).startsWith("t NO [CANNOT] "), r.toString());
            assertFalse(Files.exists(fixture.maildir.root().resolve("bob")));
        });
    }

    @Test
    void beforeLoginLiteralsAreLimitedToAFewKilobytes() throws Exception {
        MailFixture f = MailFixture.create(tmp.resolve("g"));
        try (MemoryConnections.Served s = MemoryConnections.serve(
                ImapServer.builder().store(f.maildir).portal(f.portal).build().handler(), Chunking.whole())) {
            ImapTestClient c = new ImapTestClient(s.client());
            c.readResponse();
            // a 64 MiB APPEND is fine for a user, not for a stranger: 1,000 of them would hold 64 GiB
            c.send("a LOGIN {1000000}\r\n");
            assertEquals("a BAD literal too large", c.readResponse());
            c.send("b LOGIN {1000000+}\r\n");
            assertEquals("* BYE literal too large", c.readResponse());
        }
    }

    @Test
    void aStoreFailureAnswersServerBugWithAnIdAndNoPathOrExceptionText() throws Exception {
        session(c -> {
            // a file where the folder's directory would go: creating it fails inside the store
            Files.writeString(fixture.maildir.inbox("alice").resolve(".Blocked"), "not a directory");
            List<String> r = c.command("c", "CREATE Blocked");
            assertNoPath(r);
            assertTrue(last(r).matches("c NO \\[SERVERBUG] Internal error occurred\\. Refer to server log for more"
                    + " information\\. \\[[0-9a-f]{8}]"), r.toString());
        });
    }
}
