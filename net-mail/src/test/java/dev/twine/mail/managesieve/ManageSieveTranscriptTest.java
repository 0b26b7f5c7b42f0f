package dev.twine.mail.managesieve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UsersFile;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.Transcript;
import dev.twine.mail.maildir.MailFixture;
import dev.twine.mail.maildir.Maildir;
import dev.twine.mail.sieve.SieveException;
import dev.twine.mail.sieve.SieveScript;
import dev.twine.mail.sieve.SieveScriptStore;
import dev.twine.mail.sieve.SieveScripts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** ManageSieve (RFC 5804) over in-memory connections, replayed whole, byte by byte and in random chunks. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ManageSieveTranscriptTest {
    @TempDir
    Path dir;

    private Portal portal;
    private Maildir maildir;
    private SieveScripts scripts;

    @BeforeEach
    void setUp() throws Exception {
        Path users = dir.resolve("users");
        UsersFile.addUser(users, "alice", "secret".toCharArray());
        // no penalties: every chunking's replay starts with the same allowance
        portal = Portal.builder().users(UsersFile.load(users)).policy(MailFixture.noDelay()
                .addressPenalty(0, Duration.ofMinutes(1), Duration.ofMinutes(1))
                .userPenalty(0, Duration.ofMinutes(1), Duration.ofMinutes(1)).build()).build();
        maildir = Maildir.open(dir.resolve("mail"));
        scripts = SieveScripts.builder().maildir(maildir).maxSize(200).build();
    }

    private ManageSieveServer.Builder server() {
        return ManageSieveServer.builder().portal(portal).scripts(scripts);
    }

    private String greeting(boolean loggedIn) {
        return "S: \"IMPLEMENTATION\" \"Twine\"\n"
                + "S: \"SASL\" \"" + (loggedIn ? "" : String.join(" ", portal.saslMechanisms())) + "\"\n"
                + "S: \"SIEVE\" \"" + String.join(" ", ManageSieveServer.extensions()) + "\"\n"
                + "S: \"MAXREDIRECTS\" \"4\"\n"
                + (loggedIn ? "S: \"OWNER\" \"alice\"\n" : "")
                + "S: \"VERSION\" \"1.0\"\n"
                + "S: OK \"Twine ManageSieve ready.\"\n";
    }

    private static final String LOGIN = "C: AUTHENTICATE \"PLAIN\" \""
            + Base64.getEncoder().encodeToString("\0alice\0secret".getBytes(StandardCharsets.UTF_8)) + "\"\n"
            + "S: OK \"Logged in.\"\n";

    /** A script as a literal: its lines as C: lines, then the command's own line end. */
    private static String literal(String command, String script, boolean plus) {
        StringBuilder sb = new StringBuilder("C: " + command + " {" + (script.replace("\n", "\r\n").length() + 2)
                + (plus ? "+" : "") + "}\n");
        for (String line : script.split("\n")) {
            sb.append("C: ").append(line).append('\n');
        }
        return sb.append("C:\n").toString();
    }

    /** A session that uploads, lists, fetches, activates, renames and deletes; "filters" is left, active. */
    private Transcript lifecycle() {
        String script = "require \"fileinto\";\nfileinto \"Lists\";";
        return Transcript.parse(greeting(false) + """
                C: LISTSCRIPTS
                S: NO "Authenticate first"
                """ + LOGIN + """
                C: HAVESPACE "main" 100
                S: OK
                C: HAVESPACE "main" 500
                S: NO (QUOTA/MAXSIZE) "A script is at most 200 octets"
                """ + literal("PUTSCRIPT \"main\"", script, true) + """
                S: OK "Putscript completed."
                """ + literal("PUTSCRIPT \"other\"", "keep;", false) + """
                S: OK "Putscript completed."
                C: SETACTIVE "main"
                S: OK
                C: LISTSCRIPTS
                S: "main" ACTIVE
                S: "other"
                S: OK "Listscripts completed."
                C: GETSCRIPT "main"
                S: {40}
                S: require "fileinto";
                S: fileinto "Lists";
                S:
                S: OK "Getscript completed."
                C: DELETESCRIPT "main"
                S: NO (ACTIVE) "The active script cannot be deleted"
                C: RENAMESCRIPT "main" "filters"
                S: OK
                C: RENAMESCRIPT "other" "filters"
                S: NO (ALREADYEXISTS) "A script by that name exists"
                C: DELETESCRIPT "nothing"
                S: NO (NONEXISTENT) "There is no script by that name"
                C: DELETESCRIPT "other"
                S: OK
                C: SETACTIVE "gone"
                S: NO (NONEXISTENT) "There is no script by that name"
                C: NOOP "t1"
                S: OK (TAG "t1") "Done"
                C: LOGOUT
                S: OK "Logout completed."
                S: <closed>
                """);
    }

    @Test
    void aScriptIsUploadedListedFetchedActivatedRenamedAndDeleted() throws Exception {
        Transcript session = lifecycle();
        int run = 0;
        for (Chunking chunking : Chunking.standard()) {
            // each replay on a store of its own, as the script changes what is stored
            maildir = Maildir.open(dir.resolve("mail" + run++));
            scripts = SieveScripts.builder().maildir(maildir).maxSize(200).build();
            session.run(server().build().handler(), chunking);
            assertEquals(List.of("filters"), scripts.names("alice"));
            assertEquals(Optional.of("filters"), scripts.active("alice"), "the active script stays active when renamed");
            assertEquals("require \"fileinto\";\r\nfileinto \"Lists\";\r\n",
                    Files.readString(maildir.inbox("alice").resolve(".dovecot.sieve")));
        }
    }

    @Test
    void aStoreOfOnesOwnServesTheSameSession() throws Exception {
        Transcript session = lifecycle();
        for (Chunking chunking : Chunking.standard()) {
            MemoryScripts memory = new MemoryScripts();
            session.run(ManageSieveServer.builder().portal(portal).scripts(memory).build().handler(), chunking);
            assertEquals(List.of("filters"), memory.names("alice"));
            assertEquals(Optional.of("filters"), memory.active("alice"));
            assertEquals("require \"fileinto\";\r\nfileinto \"Lists\";\r\n", memory.read("alice", "filters"));
        }
    }

    /** Scripts in memory: what a store backed by a database would do, in a few lines. */
    private static final class MemoryScripts implements SieveScriptStore {
        private final Map<String, Map<String, String>> scripts = new ConcurrentHashMap<>();
        private final Map<String, String> active = new ConcurrentHashMap<>();

        private Map<String, String> of(String user) {
            return scripts.computeIfAbsent(user, u -> new ConcurrentSkipListMap<>());
        }

        @Override
        public int maxSize() {
            return 200;
        }

        @Override
        public List<String> names(String user) {
            return List.copyOf(of(user).keySet());
        }

        @Override
        public Optional<String> active(String user) {
            return Optional.ofNullable(active.get(user));
        }

        @Override
        public String read(String user, String name) throws IOException {
            String text = of(user).get(name);
            if (text == null) {
                throw new NoSuchFileException(name);
            }
            return text;
        }

        @Override
        public void put(String user, String name, String text) throws SieveException {
            SieveScript.parse(text);
            of(user).put(name, text);
        }

        @Override
        public void activate(String user, String name) throws IOException {
            if (name.isEmpty()) {
                active.remove(user);
                return;
            }
            read(user, name);
            active.put(user, name);
        }

        @Override
        public void delete(String user, String name) throws IOException {
            if (name.equals(active.get(user))) {
                throw new IllegalStateException("active");
            }
            read(user, name);
            of(user).remove(name);
        }

        @Override
        public void rename(String user, String from, String to) throws IOException {
            String text = read(user, from);
            if (of(user).putIfAbsent(to, text) != null) {
                throw new FileAlreadyExistsException(to);
            }
            of(user).remove(from);
            active.replace(user, from, to);
        }

        @Override
        public long used(String user) {
            return of(user).values().stream().mapToLong(t -> t.getBytes(StandardCharsets.UTF_8).length).sum();
        }
    }

    @Test
    void aScriptWithErrorsIsRefusedWithItsLineAndNotStored() throws Exception {
        Transcript.parse(greeting(false) + LOGIN
                + literal("PUTSCRIPT \"bad\"", "require \"fileinto\";\nkeep;\nfrobnicate;", true)
                + "S: NO \"line 3: unknown command frobnicate\"\n"
                + literal("CHECKSCRIPT", "fileinto \"x\";", true)
                + "S: NO \"line 1: fileinto needs require \\\"fileinto\\\"\"\n"
                + literal("CHECKSCRIPT", "keep;", true)
                + "S: OK\n"
                + """
                C: LISTSCRIPTS
                S: OK "Listscripts completed."
                C: PUTSCRIPT "x/y" "keep;"
                S: NO "Bad script name: a script name holds no control character, / or \\\\"
                C: PUTSCRIPT "big" {300+}
                """ + "C: " + "#".repeat(298) + "\n" + """
                C:
                S: NO (QUOTA/MAXSIZE) "Literal too large"
                C: FROB
                S: NO "Unknown command"
                C: PUTSCRIPT "unterminated
                S: NO "Unterminated string"
                C: LOGOUT
                S: OK "Logout completed."
                S: <closed>
                """).run(server().build().handler());
        assertEquals(List.of(), scripts.names("alice"));
    }

    @Test
    void aWrongPasswordIsRefusedAndTheLastAllowedFailureEndsTheSession() throws Exception {
        String wrong = "C: AUTHENTICATE \"PLAIN\" \"" + Base64.getEncoder().encodeToString("\0alice\0guess".getBytes(StandardCharsets.UTF_8))
                + "\"\n";
        Transcript.parse(greeting(false) + wrong + "S: NO \"Authentication failed.\"\n" + wrong
                + "S: NO \"Authentication failed.\"\n" + wrong + "S: BYE \"Too many failed authentications.\"\nS: <closed>\n")
                .run(server().build().handler());
    }

    @Test
    void plainSaslTakesItsResponseAsAStringAfterAnEmptyChallengeAndCanBeCancelled() throws Exception {
        String response = Base64.getEncoder().encodeToString("\0alice\0secret".getBytes(StandardCharsets.UTF_8));
        Transcript.parse(greeting(false) + """
                C: AUTHENTICATE "PLAIN"
                S: ""
                C: "*"
                S: NO "Authentication cancelled."
                C: AUTHENTICATE "PLAIN"
                S: ""
                C: {%d+}
                C: %s
                S: OK "Logged in."
                C: CAPABILITY
                """.formatted(response.length(), response) + greeting(true)).run(server().build().handler());
    }

    @Test
    void quotaOnScriptCountAndStorageIsTold() throws Exception {
        Transcript.parse(greeting(false) + LOGIN + """
                C: PUTSCRIPT "a" "keep;"
                S: OK "Putscript completed."
                C: HAVESPACE "b" 5
                S: NO (QUOTA/MAXSCRIPTS) "At most 1 scripts"
                C: HAVESPACE "a" 11
                S: NO (QUOTA/MAXSTORAGE) "Scripts take at most 10 octets"
                C: HAVESPACE "a" 10
                S: OK
                """).run(server().maxScripts(1).maxStorage(10).build().handler());
    }

    @Test
    void withTlsConfiguredNoLoginBeforeStartTls() throws Exception {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        dev.twine.core.Tls.selfSigned(cert, key, List.of("localhost"));
        String greeting = greeting(false).replace("S: \"SASL\" \"" + String.join(" ", portal.saslMechanisms()) + "\"\n",
                "S: \"SASL\" \"\"\n").replace("S: \"MAXREDIRECTS\"", "S: \"STARTTLS\"\nS: \"MAXREDIRECTS\"");
        Transcript.parse(greeting + """
                C: AUTHENTICATE "PLAIN" "AGFsaWNlAHNlY3JldA=="
                S: NO (ENCRYPT-NEEDED) "Use STARTTLS first"
                C: LOGOUT
                S: OK "Logout completed."
                """).run(server().tls(dev.twine.core.Tls.server(cert, key)).build().handler());
    }

    @Test
    void theBuilderNamesWhatIsMissing() {
        assertTrue(assertThrows(IllegalStateException.class, () -> ManageSieveServer.builder().scripts(scripts).build())
                .getMessage().contains("portal(...)"));
        assertTrue(assertThrows(IllegalStateException.class, () -> ManageSieveServer.builder().portal(portal).build())
                .getMessage().contains("scripts(...)"));
    }
}
