package dev.twine.mail.sieve;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.twine.mail.maildir.MailFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The same scripts on the same message through Twine's Sieve and Dovecot Pigeonhole's
 * {@code sieve-test} (the reference implementation Dovecot delivers with): the actions each
 * decides, normalised (folders with their flags, redirects, rejects, discards; order ignored),
 * must be the same, and a script one refuses the other refuses too.
 */
class PigeonholeComparisonTest {
    private static final Pattern STORE = Pattern.compile("^ \\* store message in folder: (.*)$");
    private static final Pattern FLAGS = Pattern.compile("^\\s+\\+ add IMAP flags: (.*)$");
    private static final Pattern REDIRECT = Pattern.compile("^ \\* redirect message to: <?([^>]*)>?$");
    private static final Pattern REJECT = Pattern.compile("^ \\* reject message with reason: (.*)$");
    private static final Pattern VACATION = Pattern.compile("^    => (seconds|subject|from|handle) *: (.*)$");

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "keep;",
        "discard;",
        "redirect \"archive@example.org\";",
        "require \"fileinto\"; if header :contains \"list-id\" \"dev.lists\" { fileinto \"Lists.dev\"; stop; } fileinto \"Other\";",
        "require \"fileinto\"; if header :is \"subject\" \"x\" { fileinto \"A\"; } elsif address :domain :is \"from\" \"EXAMPLE.ORG\" { fileinto \"B\"; } else { fileinto \"C\"; }",
        "require \"fileinto\"; if address :localpart :is [\"to\", \"cc\"] \"carol\" { fileinto \"Carol\"; }",
        "require [\"fileinto\", \"variables\"]; if header :matches \"Subject\" \"[*] *\" { fileinto \"lists.${1}\"; }",
        "require [\"fileinto\", \"envelope\", \"subaddress\"]; if envelope :detail \"to\" \"lists\" { fileinto \"Tagged\"; } if envelope :user :is \"to\" \"bob\" { fileinto \"Bob\"; }",
        "require [\"fileinto\", \"imap4flags\", \"copy\"]; addflag [\"\\\\Seen\", \"$Work\"]; fileinto :copy :flags \"\\\\Flagged\" \"Starred\"; removeflag \"$work\";",
        "require \"copy\"; redirect :copy \"y@example.org\"; keep;",
        "require \"fileinto\"; fileinto \"INBOX\"; fileinto \"A\"; fileinto \"A\";",
        "require [\"reject\", \"body\"]; if body :contains \"ship it\" { reject \"no shipping on Fridays\"; }",
        "if allof (exists \"list-id\", not exists \"x-spam\", size :under 10K) { discard; }",
        "if anyof (header :contains \"subject\" \"nothing\", size :over 1M) { discard; }",
        "require [\"regex\", \"variables\", \"fileinto\"]; if header :regex \"list-id\" \"<([a-z]+)[.]lists\" { fileinto \"${1}\"; }",
        "require [\"variables\", \"fileinto\"]; set :upperfirst \"f\" \"work\"; set :length \"n\" \"${f}\"; fileinto \"${f}${n}\";",
        "require [\"variables\", \"imap4flags\"]; set \"flag\" \"$Label1\"; addflag \"${flag}\"; if hasflag :contains \"label\" { addflag \"\\\\Seen\"; }",
        "require \"vacation\"; vacation \"I am away\";",
        "require [\"vacation\", \"fileinto\", \"mailbox\"]; vacation :days 3 :subject \"away\" :handle \"h1\" \"back soon\"; fileinto :create \"New\";",
        "require [\"vacation\", \"variables\"]; set \"who\" \"Bob\"; vacation :days 0 :from \"bob@example.net\" :addresses [\"b@example.net\"] \"${who} is away\";",
        "require \"vacation\"; vacation :days \"3\" \"away\";",
        // refused by both
        "fileinto \"x\";",
        "require \"nosuchextension\";",
        "keep",
        "if size 100 { keep; }",
        "elsif true { keep; }",
    })
    void sameActionsAsPigeonhole(String script) throws Exception {
        compare(script, SieveScriptTest.LIST_MAIL);
    }

    /** RFC 5260 on a message's dates (not currentdate: "now" differs between the two runs). */
    @ParameterizedTest
    @ValueSource(strings = {
        "require [\"date\", \"fileinto\"]; if date :originalzone :is \"date\" \"date\" \"2009-02-07\" { fileinto \"A\"; } if date :zone \"-1200\" :is \"date\" \"weekday\" \"5\" { fileinto \"B\"; }",
        "require [\"date\", \"variables\", \"fileinto\"]; if date :zone \"+0000\" :matches \"date\" \"iso8601\" \"*\" { fileinto \"${1}\"; } if date :originalzone :matches \"date\" \"std11\" \"*\" { fileinto \"${1}\"; }",
        "require [\"date\", \"variables\", \"fileinto\"]; if date :zone \"+0530\" :matches \"received\" \"julian\" \"*\" { fileinto \"j${1}\"; } if date :originalzone :matches \"received\" \"time\" \"*\" { fileinto \"t${1}\"; } if date :matches \"date\" \"zone\" \"*\" { fileinto \"z${1}\"; }",
        "require [\"date\", \"fileinto\"]; if date :matches \"x-bad-date\" \"date\" \"*\" { fileinto \"bad\"; } if date :matches \"x-none\" \"date\" \"*\" { fileinto \"none\"; } if not date :zone \"+0000\" :contains \"date\" \"year\" \"2010\" { fileinto \"notyet\"; }",
        // refused by both
        "if date :is \"date\" \"year\" \"2009\" { keep; }",
        "require \"date\"; if date :zone \"+0100\" :originalzone :is \"date\" \"year\" \"2009\" { keep; }",
        "require \"date\"; if currentdate :is \"year\" { keep; }",
    })
    void sameDatesAsPigeonhole(String script) throws Exception {
        compare(script, DATED);
    }

    private static final TestMessage DATED = new TestMessage("alice@example.org", "bob@example.net", """
            Received: from mx.example.org by mx.example.net; Mon, 9 Feb 2009 01:02:03 -0800\r
            From: alice@example.org\r
            To: bob@example.net\r
            Date: Sat, 7 Feb 2009 12:30:05 +0100\r
            X-Bad-Date: 31 Feb 2009 12:30:05 +0100\r
            Subject: dated\r
            \r
            body\r
            """);

    private void compare(String script, TestMessage message) throws Exception {
        Path sieveTest = MailFixture.peer("/usr/bin/sieve-test", "dovecot-sieve");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x")); // sieve-test runs as nobody
        Path work = Files.createDirectories(dir.resolve("w"));
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxrwxrwx")); // sieve-test saves its binary beside the script
        Path scriptFile = Files.writeString(work.resolve("test.sieve"), script + "\n");
        Path mail = Files.writeString(work.resolve("mail.eml"), message.raw());
        List<String> cmd = new ArrayList<>(List.of(sieveTest.toString()));
        if ("root".equals(System.getProperty("user.name"))) {
            cmd.addAll(List.of("-o", "mail_uid=nobody", "-o", "mail_gid=nogroup")); // it refuses to run as root
        }
        cmd.addAll(List.of("-f", message.envelopeFrom(), "-a", message.envelopeTo(),
                "-r", message.envelopeTo(), scriptFile.toString(), mail.toString()));
        MailFixture.Run r = MailFixture.run(60, cmd, Map.of(), "");
        if (r.exit() != 0 && !r.stderr().contains("failed to compile sieve script")) {
            throw new AssertionError("sieve-test did not run: " + r.stderr());
        }
        List<String> pigeonhole = r.exit() == 0 ? parse(r.stdout()) : List.of("refused");
        List<String> twine;
        try {
            twine = normalise(SieveScript.parse(script).evaluate(message));
        } catch (SieveException e) {
            twine = List.of("refused");
        }
        assertEquals(pigeonhole, twine, "script: " + script + "\nsieve-test said:\n" + r.stdout() + r.stderr());
    }

    private static List<String> parse(String out) {
        List<String> actions = new ArrayList<>();
        for (String line : out.split("\n")) {
            Matcher m;
            if ((m = STORE.matcher(line)).matches()) {
                actions.add("store " + m.group(1) + " []");
            } else if ((m = FLAGS.matcher(line)).matches() && !actions.isEmpty()) {
                String last = actions.remove(actions.size() - 1);
                actions.add(last.substring(0, last.lastIndexOf(" [")) + " " + flags(List.of(m.group(1).strip().split("\\s+"))));
            } else if ((m = REDIRECT.matcher(line)).matches()) {
                actions.add("redirect " + m.group(1));
            } else if ((m = REJECT.matcher(line)).matches()) {
                actions.add("reject " + m.group(1));
            } else if (line.equals(" * discard")) {
                actions.add("discard");
            } else if (line.equals(" * send vacation message:")) {
                actions.add("vacation");
            } else if ((m = VACATION.matcher(line)).matches() && !actions.isEmpty() && actions.get(actions.size() - 1).startsWith("vacation")) {
                String last = actions.remove(actions.size() - 1);
                actions.add(last + " " + m.group(1) + "=" + m.group(2));
            }
        }
        actions.sort(null);
        return actions;
    }

    private static List<String> normalise(List<SieveAction> actions) {
        List<String> out = new ArrayList<>();
        for (SieveAction a : actions) {
            out.add(switch (a) {
                case SieveAction.Keep k -> "store INBOX " + flags(k.flags());
                case SieveAction.FileInto f -> "store " + f.mailbox() + " " + flags(f.flags());
                case SieveAction.Redirect d -> "redirect " + d.address();
                case SieveAction.Reject j -> "reject " + j.reason();
                case SieveAction.Discard d -> "discard";
                case SieveAction.Vacation v -> "vacation seconds=" + v.period().toSeconds()
                        + (v.subject().isEmpty() ? "" : " subject=" + v.subject()) + (v.from().isEmpty() ? "" : " from=" + v.from())
                        + " handle=" + v.handle().split("\r?\n")[0];
            });
        }
        out.sort(null);
        return out;
    }

    private static String flags(java.util.Collection<String> flags) {
        return flags.stream().map(f -> f.toLowerCase(Locale.ROOT)).sorted().toList().toString();
    }
}
