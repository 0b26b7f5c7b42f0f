package dev.twine.mail.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UsersFile;
import dev.twine.mail.maildir.Maildir;
import dev.twine.mail.pop3.Pop3Server;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * POP3 commands (RFC 1939) on arbitrary client bytes (issue 16), a whole session over in-memory
 * connections against a Maildir holding two messages, fresh for every input. If a client sends
 * anything, then the greeting is {@code +OK}, the session ends when the input does, the handler
 * throws nothing, and (for inputs without AUTH, whose exchange takes lines of its own) the reply
 * to each command line is one {@code +OK}/{@code -ERR} line, followed for a multi-line command
 * answered {@code +OK} by dot-stuffed lines and a lone ".".
 */
class Pop3SessionFuzzTest {
    private static final Set<String> MULTI = Set.of("CAPA", "RETR", "TOP");
    private static final Set<String> MULTI_WITHOUT_ARGUMENT = Set.of("LIST", "UIDL");
    /** One users file for all inputs: deriving a SCRAM secret per input would halve the speed. */
    private static final Portal PORTAL = portal();

    @FuzzTest(maxDuration = "10m")
    void everyCommandGetsOneStatusReply(byte[] input) throws Exception {
        Path dir = Files.createTempDirectory("twine-pop3-fuzz");
        try {
            Maildir maildir = Maildir.open(dir.resolve("mail"));
            maildir.deliver("alice", "Subject: one\r\n\r\n.leading dot\r\n".getBytes(StandardCharsets.US_ASCII));
            maildir.deliver("alice", "Subject: two\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));
            Pop3Server server = Pop3Server.builder().store(maildir)
                    .portal(PORTAL).build();
            List<String> lines = Conversation.run(server.handler(), input);
            assertTrue(!lines.isEmpty() && lines.get(0).startsWith("+OK"), () -> "no greeting: " + lines);
            String text = new String(input, StandardCharsets.ISO_8859_1);
            if (!text.toUpperCase(Locale.ROOT).contains("AUTH")) {
                checkReplies(text, lines);
            }
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static Portal portal() {
        try {
            Path users = Files.createTempDirectory("twine-pop3-fuzz-users").resolve("users");
            UsersFile.addUser(users, "alice", "secret".toCharArray());
            return Portal.builder().users(UsersFile.load(users)).build();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Walks the replies in step with the complete command lines the client sent. */
    private static void checkReplies(String input, List<String> lines) {
        int at = 1;
        String[] commands = input.split("\n", -1);
        for (int i = 0; i < commands.length - 1 && at < lines.size(); i++) {
            String line = lines.get(at++);
            if (!line.startsWith("+OK") && !line.startsWith("-ERR")) {
                fail("not a POP3 status line: '" + line + "' for command '" + commands[i] + "' in " + lines);
            }
            String[] words = commands[i].strip().split(" ", -1);
            String verb = words[0].toUpperCase(Locale.ROOT);
            boolean multi = MULTI.contains(verb) || (MULTI_WITHOUT_ARGUMENT.contains(verb) && words.length == 1);
            if (line.startsWith("+OK") && multi) {
                while (at < lines.size() && !lines.get(at).equals(".")) {
                    at++;
                }
                at++;
            }
            if (verb.equals("QUIT") && line.startsWith("+OK")) {
                assertTrue(at >= lines.size(), () -> "replies after QUIT: " + lines);
                return;
            }
        }
    }
}
