package dev.twine.mail.sieve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.mail.sieve.SieveAction.Discard;
import dev.twine.mail.sieve.SieveAction.FileInto;
import dev.twine.mail.sieve.SieveAction.Keep;
import dev.twine.mail.sieve.SieveAction.Redirect;
import dev.twine.mail.sieve.SieveAction.Reject;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Sieve scripts on messages: the language of RFC 5228 and the extensions, and the errors. */
class SieveScriptTest {
    static final TestMessage LIST_MAIL = new TestMessage("alice@example.org", "bob+lists@example.net", """
            From: "Alice Liddell" <alice@example.org>\r
            To: bob@example.net, Carol <carol@example.com>\r
            Subject: [dev] the build\r
             is green\r
            List-Id: Developers <dev.lists.example.org>\r
            \r
            All tests pass. Ship it.\r
            """);

    static List<SieveAction> run(String script, SieveMessage m) throws SieveException {
        return SieveScript.parse(script).evaluate(m);
    }

    @Test
    void anEmptyScriptKeeps() throws Exception {
        assertEquals(List.of(new Keep(Set.of())), run("", LIST_MAIL));
        assertEquals(List.of(new Keep(Set.of())), run("# only a comment\n/* and\nanother */\n", LIST_MAIL));
    }

    @Test
    void fileintoCancelsTheImplicitKeepAndStopEnds() throws Exception {
        String script = """
                require "fileinto";
                if header :contains "list-id" "<dev.lists.example.org>" {
                    fileinto "Lists/dev";
                    stop;
                }
                fileinto "Never";
                """;
        assertEquals(List.of(new FileInto("Lists/dev", Set.of())), run(script, LIST_MAIL));
    }

    @Test
    void ifElsifElseTakesTheFirstTrueBranch() throws Exception {
        String script = """
                require "fileinto";
                if header :is "subject" "nothing" { fileinto "A"; }
                elsif address :domain :is "from" "EXAMPLE.org" { fileinto "B"; }
                elsif true { fileinto "C"; }
                else { fileinto "D"; }
                """;
        assertEquals(List.of(new FileInto("B", Set.of())), run(script, LIST_MAIL));
    }

    @Test
    void addressPartsAndAllofAnyofNot() throws Exception {
        assertEquals(List.of(new Discard()), run("""
                if allof (address :localpart :is "to" "carol", not exists "x-spam", anyof (false, size :under 1M)) { discard; }
                """, LIST_MAIL));
        assertEquals(List.of(new Keep(Set.of())), run("""
                if address :all :is "from" "Alice Liddell" { discard; }
                """, LIST_MAIL), "the display name is not the address");
    }

    @Test
    void matchesSetsTheMatchVariables() throws Exception {
        String script = """
                require ["fileinto", "variables"];
                if header :matches "Subject" "[*] *" { fileinto "lists.${1}"; set "rest" "${2}"; }
                if string :is "${rest}" "the build is green" { discard; }
                """;
        assertEquals(List.of(new FileInto("lists.dev", Set.of())), run(script, LIST_MAIL),
                "the folded Subject matched, ${1} is dev, and the discard after it adds nothing");
    }

    @Test
    void envelopeAndSubaddress() throws Exception {
        String script = """
                require ["fileinto", "envelope", "subaddress"];
                if envelope :detail "to" "lists" { fileinto "Tagged"; }
                if envelope :user "to" "bob" { fileinto "Bob"; }
                """;
        assertEquals(List.of(new FileInto("Tagged", Set.of()), new FileInto("Bob", Set.of())), run(script, LIST_MAIL));
    }

    @Test
    void imap4flagsAndCopy() throws Exception {
        String script = """
                require ["fileinto", "imap4flags", "copy"];
                addflag ["\\\\Seen", "$Work"];
                addflag "\\\\seen";
                fileinto :copy :flags "\\\\Flagged" "Starred";
                removeflag "$work";
                """;
        assertEquals(List.of(new FileInto("Starred", Set.of("\\Flagged")), new Keep(Set.of("\\Seen"))),
                run(script, LIST_MAIL), ":copy keeps the implicit keep, with the flags as they are at the end");
    }

    @Test
    void redirectRejectAndBody() throws Exception {
        assertEquals(List.of(new Redirect("archive@example.org")), run("redirect \"<archive@example.org>\";", LIST_MAIL));
        assertEquals(List.of(new Reject("no shipping on Fridays", false)), run("""
                require ["reject", "body"];
                if body :contains "ship it" { reject text:
                no shipping on Fridays
                .
                ;}
                """.replace("no shipping on Fridays\n", "no shipping on Fridays\r\n"), LIST_MAIL).stream()
                .map(a -> a instanceof Reject r ? new Reject(r.reason().strip(), r.extended()) : a).toList());
    }

    @Test
    void regexCapturesGroups() throws Exception {
        String script = """
                require ["regex", "variables", "fileinto"];
                if header :regex "list-id" "<([a-z]+)\\\\.lists" { fileinto "${1}"; }
                """;
        assertEquals(List.of(new FileInto("dev", Set.of())), run(script, LIST_MAIL));
    }

    @Test
    void multiLineStringsAreDotUnstuffed() throws Exception {
        String script = "require \"variables\";\nset \"t\" text:  # note\r\n..first\r\nsecond\r\n.\r\n;\n"
                + "if string :is \"${t}\" \".first\\r\\nsecond\\r\\n\" { discard; }\n";
        // the \r\n inside the quoted key is backslash-r literally (§2.4.2 has no such escape), so no match
        assertEquals(List.of(new Keep(Set.of())), run(script, LIST_MAIL));
        String exact = "require \"variables\";\nset \"t\" text:\r\n..first\r\n.\r\n;\nif string :matches \"${t}\" \".first*\" { discard; }\n";
        assertEquals(List.of(new Discard()), run(exact, LIST_MAIL));
    }

    @Test
    void errorsNameTheLine() {
        assertEquals(2, line("require \"fileinto\";\nfileinto;"));
        assertEquals(1, line("fileinto \"x\";"), "fileinto without require");
        assertEquals(1, line("require \"enotify\";"), "an extension Twine does not have is refused");
        assertEquals(2, line("require \"vacation\";\nvacation :days \"3\" \"away\";"), ":days takes a number");
        assertEquals(1, line("require \"fileinto\"; fileinto :create \"A\";"), ":create needs mailbox");
        assertEquals(3, line("keep;\n\nelsif true { keep; }"));
        assertEquals(2, line("keep;\nfrobnicate;"));
        assertEquals(1, line("if header :is \"a\" \"b\" keep;"));
        assertEquals(2, line("keep;\n\"unterminated"));
        assertEquals(1, line("if size 100 { keep; }"));
        assertEquals(2, line("keep;\nrequire \"fileinto\";"), "require after another command");
        assertEquals(1, line("require \"regex\"; if header :regex \"a\" \"(\" { keep; }"));
        assertTrue(assertThrows(SieveException.class, () -> SieveScript.parse("keep;\nfrobnicate;")).getMessage()
                .equals("line 2: unknown command frobnicate"));
    }

    @Test
    void deepNestingIsRefusedNotOverflowed() {
        String deep = "if true { ".repeat(200) + "keep;" + " }".repeat(200);
        assertTrue(assertThrows(SieveException.class, () -> SieveScript.parse(deep)).getMessage().contains("nested"));
        String tests = "if " + "not ".repeat(500) + "true { keep; }";
        assertTrue(assertThrows(SieveException.class, () -> SieveScript.parse(tests)).getMessage().contains("nested"));
    }

    @Test
    void runTimeConflictsAreErrorsTheDelivererKeepsOn() throws Exception {
        SieveScript s = SieveScript.parse("require [\"reject\", \"fileinto\"];\nfileinto \"A\";\nreject \"no\";");
        assertEquals(3, assertThrows(SieveException.class, () -> s.evaluate(LIST_MAIL)).line());
        StringBuilder many = new StringBuilder("require \"fileinto\";\n");
        for (int i = 0; i <= SieveScript.MAX_ACTIONS; i++) {
            many.append("fileinto \"F").append(i).append("\";\n");
        }
        SieveScript loop = SieveScript.parse(many.toString());
        assertThrows(SieveException.class, () -> loop.evaluate(LIST_MAIL), "more than the action limit");
    }

    @Test
    void vacationKeepsTheImplicitKeepAndTakesItsDefaults() throws Exception {
        List<SieveAction> a = run("require \"vacation\"; vacation :days 0 \"away\";", LIST_MAIL);
        assertEquals(2, a.size());
        SieveAction.Vacation v = (SieveAction.Vacation) a.get(0);
        assertEquals(java.time.Duration.ofDays(1), v.period(), ":days 0 is raised to the minimum of 1 (RFC 5230 §4.1)");
        assertEquals("away<default-subject><default-from><NO-MIME>", v.handle());
        assertEquals(new Keep(Set.of()), a.get(1));
        SieveAction.Vacation w = (SieveAction.Vacation) run("require \"vacation\"; vacation :subject \"s\" :from \"me@x\""
                + " :addresses [\"a@x\", \"b@x\"] :mime :handle \"h\" \"Content-Type: text/plain\r\n\r\nhi\";", LIST_MAIL).get(0);
        assertEquals(new SieveAction.Vacation("Content-Type: text/plain\r\n\r\nhi", "s", "me@x", Set.of("a@x", "b@x"), true,
                "h", java.time.Duration.ofDays(7)), w);
    }

    @Test
    void vacationConflictsWithRejectAndComesOnce() throws Exception {
        SieveScript both = SieveScript.parse("require [\"vacation\", \"reject\"];\nvacation \"away\";\nreject \"no\";");
        assertEquals(3, assertThrows(SieveException.class, () -> both.evaluate(LIST_MAIL)).line());
        SieveScript twice = SieveScript.parse("require \"vacation\";\nvacation \"a\";\nvacation \"b\";");
        assertEquals(3, assertThrows(SieveException.class, () -> twice.evaluate(LIST_MAIL)).line());
    }

    @Test
    void fileintoCreateIsCarried() throws Exception {
        assertEquals(List.of(new SieveAction.FileInto("A", Set.of(), true)),
                run("require [\"fileinto\", \"mailbox\"]; fileinto :create \"A\";", LIST_MAIL));
    }

    @Test
    void aPathologicalWildcardEndsWithoutAMatch() throws Exception {
        String value = "a".repeat(3000);
        TestMessage m = new TestMessage("a@b", "c@d", "Subject: " + value + "\r\n\r\n");
        assertEquals(List.of(new Keep(Set.of())), run("if header :matches \"subject\" \"*a*a*a*a*a*a*a*a*a*b\" { discard; }", m));
        assertEquals(List.of(new Discard()), run("if header :matches \"subject\" \"*a*a?a\" { discard; }", m));
    }

    @Test
    void theNullSenderHasEmptyParts() throws Exception {
        TestMessage bounce = new TestMessage("", "bob@example.net", "Subject: failure\r\n\r\n");
        assertEquals(List.of(new Discard()), run("require \"envelope\"; if envelope :is \"from\" \"\" { discard; }", bounce));
    }

    private static int line(String script) {
        return assertThrows(SieveException.class, () -> SieveScript.parse(script)).line();
    }
}
