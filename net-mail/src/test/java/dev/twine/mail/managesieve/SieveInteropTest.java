package dev.twine.mail.managesieve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Tls;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UsersFile;
import dev.twine.mail.maildir.MailFixture;
import dev.twine.mail.maildir.Maildir;
import dev.twine.mail.sieve.SieveScripts;
import dev.twine.mail.smtp.MaildirDelivery;
import dev.twine.mail.smtp.MxResolver;
import dev.twine.mail.smtp.RelayQueue;
import dev.twine.mail.smtp.SmtpServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sieve with clients nobody here wrote: Debian's {@code sieve-connect} uploads and activates a
 * script over STARTTLS and PLAIN, swaks sends mail, the script files it and answers once.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SieveInteropTest {
    @TempDir
    Path dir;

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : toClose.reversed()) {
            c.close();
        }
    }

    @Test
    void sieveConnectUploadsAScriptThatFilesSwaksMailAndAnswersOnce() throws Exception {
        Path sieveConnect = MailFixture.peer("/usr/bin/sieve-connect", "sieve-connect");
        Path swaks = MailFixture.peer("/usr/bin/swaks", "swaks");
        Path users = dir.resolve("users");
        UsersFile.addUser(users, "alice", "secret".toCharArray());
        UsersFile.addUser(users, "bob", "hunter2".toCharArray());
        UsersFile store = UsersFile.load(users);
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Tls.selfSigned(cert, key, List.of("localhost"));
        Tls tls = Tls.server(cert, key);
        Maildir maildir = Maildir.open(dir.resolve("mail"));
        SieveScripts scripts = SieveScripts.builder().maildir(maildir).build();
        RelayQueue queue = RelayQueue.builder().directory(dir.resolve("queue")).heloName("example.test")
                .resolver(MxResolver.fixed("127.0.0.1:1")).build();
        MaildirDelivery local = MaildirDelivery.builder().domain("example.test").maildir(maildir).users(store)
                .sieve(scripts).outbound(queue).build();
        SmtpServer smtp = SmtpServer.builder().domain("example.test").delivery(local).listen("tcp:0:interface=127.0.0.1").build();
        ManageSieveServer sieve = ManageSieveServer.builder().portal(Portal.builder().users(store).build()).scripts(scripts)
                .tls(tls).listen("tcp:0:interface=127.0.0.1").build();
        smtp.start();
        toClose.add(smtp);
        sieve.start();
        toClose.add(sieve);

        Path script = Files.writeString(dir.resolve("filters.sieve"), """
                require ["fileinto", "mailbox", "vacation"];
                if header :contains "subject" "[dev]" { fileinto :create "Lists.dev"; stop; }
                vacation :days 7 :subject "Away" "I am away this week.";
                """);
        List<String> connect = List.of(sieveConnect.toString(), "--server", "127.0.0.1", "--port",
                Integer.toString(sieve.bindings().get(0).port()), "--user", "alice", "--passwordfd", "0", "--authmech",
                "PLAIN", "--tlscafile", cert.toString(), "--tlshostname", "localhost", "--noclearchan");
        List<String> upload = new ArrayList<>(connect);
        upload.addAll(List.of("--upload", "--localsieve", script.toString(), "--remotesieve", "filters"));
        MailFixture.Run up = MailFixture.run(60, upload, Map.of(), "secret\n");
        assertEquals(0, up.exit(), "sieve-connect --upload: " + up.stdout() + up.stderr());
        List<String> activate = new ArrayList<>(connect);
        activate.addAll(List.of("--activate", "--remotesieve", "filters"));
        MailFixture.Run act = MailFixture.run(60, activate, Map.of(), "secret\n");
        assertEquals(0, act.exit(), "sieve-connect --activate: " + act.stdout() + act.stderr());
        assertEquals(Optional.of("filters"), scripts.active("alice"));

        int port = smtp.bindings().get(0).port();
        for (String subject : List.of("[dev] nightly build", "lunch?", "lunch tomorrow?")) {
            MailFixture.Run sent = MailFixture.run(60, List.of(swaks.toString(), "--server", "127.0.0.1:" + port,
                    "--from", "bob@example.test", "--to", "alice@example.test", "--header", "Subject: " + subject,
                    "--body", "hello"), Map.of(), null);
            assertEquals(0, sent.exit(), "swaks: " + sent.stdout() + sent.stderr());
        }
        assertEquals(1, files(maildir.folder("alice", "Lists.dev")).size(), "fileinto :create made the folder");
        assertEquals(2, files(maildir.inbox("alice")).size());
        List<Path> replies = files(maildir.inbox("bob"));
        assertEquals(1, replies.size(), "one vacation reply for two messages");
        String reply = Files.readString(replies.get(0));
        assertTrue(reply.startsWith("Return-Path: <>\r\n") && reply.contains("\r\nSubject: Away\r\n")
                && reply.contains("\r\nAuto-Submitted: auto-replied"), reply);
    }

    private static List<Path> files(Path maildir) throws java.io.IOException {
        List<Path> out = new ArrayList<>();
        for (String sub : List.of("new", "cur")) {
            if (Files.isDirectory(maildir.resolve(sub))) {
                try (Stream<Path> s = Files.list(maildir.resolve(sub))) {
                    s.forEach(out::add);
                }
            }
        }
        return out;
    }
}
