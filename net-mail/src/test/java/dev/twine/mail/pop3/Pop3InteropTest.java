package dev.twine.mail.pop3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Server;
import dev.twine.mail.maildir.MailFixture;
import dev.twine.mail.store.StoredMessage;
import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Store;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Twine's POP3 server against Python's poplib, curl and Angus Mail's POP3 store. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class Pop3InteropTest {
    @TempDir
    Path tmp;

    private MailFixture f;
    private Pop3Server pop3;

    @BeforeEach
    void start() throws Exception {
        f = MailFixture.create(tmp);
        f.inbox("alice", 1000, MailFixture.HELLO, MailFixture.MULTIPART);
        pop3 = Pop3Server.builder().store(f.maildir).portal(f.portal).listen("tcp:0:interface=127.0.0.1").build();
        pop3.start();
    }

    @AfterEach
    void stop() {
        if (pop3 != null) {
            pop3.close();
        }
    }

    @Test
    void pythonPoplibReadsUidlsAndDeletesAtQuit() throws Exception {
        List<StoredMessage> before = f.mailbox("alice", "").messages();
        String script = """
                import poplib, sys
                for round in (1, 2):
                    P = poplib.POP3('127.0.0.1', int(sys.argv[1]))
                    P.user('alice'); P.pass_('secret')
                    print(round, 'stat', P.stat())
                    print(round, 'uidl', [u.decode() for u in P.uidl()[1]])
                    resp, lines, octets = P.retr(1)
                    print(round, 'retr', octets, lines[2].decode(), lines[7].decode())
                    resp, lines, octets = P.top(P.stat()[0], 0)
                    print(round, 'top', lines[-1].decode() == '', len(lines))
                    print(round, 'capa', sorted(P.capa().keys()))
                    if round == 1:
                        P.dele(1)
                    P.quit()
                """;
        String out = MailFixture.python(60, script, Integer.toString(pop3.bindings().get(0).port()));
        int total = MailFixture.HELLO.length() + MailFixture.MULTIPART.length();
        String u1 = Pop3Session.uid(before.get(0));
        String u2 = Pop3Session.uid(before.get(1));
        assertTrue(out.contains("1 stat (2, " + total + ")\n"), out);
        assertTrue(out.contains("1 uidl ['1 " + u1 + "', '2 " + u2 + "']\n"), out);
        assertTrue(out.contains("1 retr " + MailFixture.HELLO.length() + " Subject: Hello there .dotted line\n"), out);
        assertTrue(out.contains("1 top True 7\n"), out);
        assertTrue(out.contains("1 capa ['AUTH-RESP-CODE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'TOP', 'UIDL']"), out);
        // the second session sees the deletion and the same UIDL for the message that stayed
        assertTrue(out.contains("2 stat (1, " + MailFixture.MULTIPART.length() + ")\n"), out);
        assertTrue(out.contains("2 uidl ['1 " + u2 + "']\n"), out);
        assertEquals(1, f.mailbox("alice", "").messages().size());
    }

    @Test
    void curlRetrievesAndListsOverPop3() throws Exception {
        Path curl = MailFixture.peer("/usr/bin/curl", "curl");
        String base = "pop3://127.0.0.1:" + pop3.bindings().get(0).port();
        MailFixture.Run one = MailFixture.run(30, List.of(curl.toString(), "-sS", "--user", "alice:secret", base + "/1"),
                Map.of(), null);
        assertEquals(0, one.exit(), one.stderr());
        assertEquals(MailFixture.HELLO, one.stdout());
        MailFixture.Run list = MailFixture.run(30, List.of(curl.toString(), "-sS", "--user", "alice:secret", base + "/"),
                Map.of(), null);
        assertEquals(0, list.exit(), list.stderr());
        assertEquals("1 " + MailFixture.HELLO.length() + "\r\n2 " + MailFixture.MULTIPART.length() + "\r\n", list.stdout());
        MailFixture.Run bad = MailFixture.run(30, List.of(curl.toString(), "-sS", "--user", "alice:nope", base + "/1"),
                Map.of(), null);
        assertEquals(67, bad.exit(), "curl's 'login denied' exit code: " + bad.stderr());
    }

    @Test
    void angusMailPop3StoreReadsMessagesAndDeletes() throws Exception {
        Properties p = new Properties();
        p.setProperty("mail.pop3.host", "127.0.0.1");
        p.setProperty("mail.pop3.port", Integer.toString(pop3.bindings().get(0).port()));
        p.setProperty("mail.pop3.connectiontimeout", "10000");
        p.setProperty("mail.pop3.timeout", "10000");
        Store store = Session.getInstance(p).getStore("pop3");
        store.connect("alice", "secret");
        try {
            Folder inbox = store.getFolder("INBOX");
            inbox.open(Folder.READ_WRITE);
            assertEquals(2, inbox.getMessageCount());
            Message[] msgs = inbox.getMessages();
            assertEquals("Hello there", msgs[0].getSubject());
            assertEquals("Café report", msgs[1].getSubject());
            assertEquals(2, ((jakarta.mail.Multipart) msgs[1].getContent()).getCount());
            // POP3Folder.getUID, called reflectively: this module does not read Angus's
            String uid = (String) inbox.getClass().getMethod("getUID", Message.class).invoke(inbox, msgs[1]);
            assertEquals(Pop3Session.uid(f.mailbox("alice", "").find(2).orElseThrow()), uid);
            msgs[0].setFlag(jakarta.mail.Flags.Flag.DELETED, true);
            inbox.close(true);
        } finally {
            store.close();
        }
        assertEquals(List.of(2L), f.mailbox("alice", "").messages().stream().map(StoredMessage::uid).toList());
    }
}
