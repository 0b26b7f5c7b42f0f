package dev.twine.mail.imap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Server;
import dev.twine.mail.maildir.MailFixture;
import dev.twine.mail.store.StoredMessage;
import dev.twine.mail.smtp.SmtpServer;
import jakarta.mail.Flags;
import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.Multipart;
import jakarta.mail.Part;
import jakarta.mail.Session;
import jakarta.mail.Store;
import java.nio.file.Files;
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

/** Twine's IMAP server against clients nobody here wrote: Python's imaplib, curl, Angus Mail, fetchmail. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ImapInteropTest {
    @TempDir
    Path tmp;

    private MailFixture f;
    private ImapServer imap;

    @BeforeEach
    void start() throws Exception {
        f = MailFixture.create(tmp);
        f.inbox("alice", 1000, MailFixture.HELLO, MailFixture.MULTIPART);
        imap = ImapServer.builder().store(f.maildir).portal(f.portal).listen("tcp:0:interface=127.0.0.1").build();
        imap.start();
    }

    @AfterEach
    void stop() {
        if (imap != null) {
            imap.close();
        }
    }

    private static final String IMAPLIB_SESSION = """
            import imaplib, sys, time
            port = int(sys.argv[1])
            M = imaplib.IMAP4('127.0.0.1', port)
            M.login('alice', 'secret')
            typ, boxes = M.list()
            names = sorted(b.decode().split(' "." ')[1].strip('"') for b in boxes)
            print('list', ','.join(names))
            typ, data = M.select('INBOX')
            print('select', typ, data[0].decode())
            typ, data = M.search(None, 'SUBJECT', 'hello')
            print('search', data[0].decode())
            typ, data = M.fetch('1', '(RFC822)')
            print('fetched', len(data[0][1]), data[0][1].split(b'\\r\\n')[2].decode())
            typ, data = M.fetch('2', '(BODY.PEEK[1])')
            print('part', data[0][1].decode())
            typ, data = M.store('2', '+FLAGS', '(\\\\Flagged \\\\Deleted)')
            print('store', data[0].decode())
            typ, data = M.append('INBOX', '(\\\\Seen)', imaplib.Time2Internaldate(time.time()),
                                 b'Subject: appended\\r\\n\\r\\nnew body\\r\\n')
            print('append', typ, data[0].decode())
            typ, data = M.expunge()
            print('expunge', typ, [d.decode() for d in data if d])
            typ, data = M.uid('SEARCH', None, 'ALL')
            print('uids', data[0].decode())
            M.close()
            M.logout()
            """;

    @Test
    void pythonImaplibLogsInListsSelectsSearchesFetchesStoresAppendsAndExpunges() throws Exception {
        String out = MailFixture.python(60, IMAPLIB_SESSION, Integer.toString(imap.bindings().get(0).port()));
        assertTrue(out.contains("list Drafts,INBOX,Junk,Sent,Trash\n"), out);
        assertTrue(out.contains("select OK 2\n"), out);
        assertTrue(out.contains("search 1\n"), out);
        assertTrue(out.contains("fetched " + MailFixture.HELLO.length() + " Subject: Hello there\n"), out);
        assertTrue(out.contains("part The report.\n"), out);
        assertTrue(out.contains("store 2 (FLAGS (\\Flagged \\Deleted \\Recent))\n"), out);
        assertTrue(out.contains("append OK [APPENDUID 1000 3] APPEND completed\n"), out);
        assertTrue(out.contains("expunge OK ['2']\n"), out);
        assertTrue(out.contains("uids 1 3\n"), out);
        List<StoredMessage> left = f.mailbox("alice", "").messages();
        assertEquals(List.of(1L, 3L), left.stream().map(StoredMessage::uid).toList());
        assertEquals(java.util.Set.of(StoredMessage.SEEN), left.get(0).flags(), "RFC822 fetch set \\Seen");
    }

    @Test
    void aMessageSentBySmtpShowsUpInAnIdlingPythonSession() throws Exception {
        SmtpServer smtpServer = SmtpServer.builder().domain("example.test")
                .delivery(dev.twine.mail.smtp.MaildirDelivery.builder().domain("example.test").maildir(f.maildir)
                        .users(dev.twine.core.auth.UsersFile.load(f.usersFile)).build())
                .portal(f.portal).listen("tcp:0:interface=127.0.0.1").build();
        smtpServer.start();
        try {
            // imaplib has no IDLE before Python 3.14: drive it by hand over imaplib's own socket
            String out = MailFixture.python(60, """
                    import imaplib, smtplib, sys, socket
                    M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
                    M.login('alice', 'secret')
                    M.select('INBOX')
                    M.send(b'i1 IDLE\\r\\n')
                    print('cont', M.readline().decode().strip())
                    s = smtplib.SMTP('127.0.0.1', int(sys.argv[2]))
                    s.sendmail('bob@example.org', ['alice@example.test'],
                               b'From: bob@example.org\\r\\nSubject: pushed\\r\\n\\r\\nhello\\r\\n')
                    s.quit()
                    M.sock.settimeout(30)
                    print('push', M.readline().decode().strip())
                    print('push', M.readline().decode().strip())
                    M.send(b'DONE\\r\\n')
                    print('done', M.readline().decode().strip())
                    typ, data = M.fetch('3', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
                    print('subject', data[0][1].decode().strip())
                    M.logout()
                    """, Integer.toString(imap.bindings().get(0).port()), Integer.toString(smtpServer.port()));
            assertTrue(out.contains("cont + idling\npush * 3 EXISTS\npush * 3 RECENT\ndone i1 OK IDLE terminated\n"), out);
            assertTrue(out.contains("subject Subject: pushed\n"), out);
        } finally {
            smtpServer.close();
        }
    }

    @Test
    void serverShutdownSaysByeToAWaitingSession() throws Exception {
        try (java.net.Socket sock = new java.net.Socket("127.0.0.1", imap.bindings().get(0).port())) {
            sock.setSoTimeout(20_000);
            var in = new java.io.BufferedReader(new java.io.InputStreamReader(sock.getInputStream(),
                    java.nio.charset.StandardCharsets.UTF_8));
            assertTrue(in.readLine().startsWith("* OK"));
            sock.getOutputStream().write("a LOGIN alice secret\r\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            assertTrue(in.readLine().startsWith("a OK"));
            Thread stopper = Thread.ofVirtual().start(() -> {
                try {
                    imap.shutdown(java.time.Duration.ofSeconds(10));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertEquals("* BYE server shutting down", in.readLine());
            assertEquals(null, in.readLine());
            stopper.join(20_000);
        }
    }

    @Test
    void pythonMailboxSeesFlagsAndFoldersSetOverImap() throws Exception {
        MailFixture.python(60, """
                import imaplib, sys
                M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
                M.login('alice', 'secret')
                M.create('Work')
                M.select('INBOX')
                M.store('1', '+FLAGS', '(\\\\Seen \\\\Answered)')
                M.copy('2', 'Work')
                M.logout()
                """, Integer.toString(imap.bindings().get(0).port()));
        String out = MailFixture.python(60, """
                import mailbox, sys
                md = mailbox.Maildir(sys.argv[1], create=False)
                for key in sorted(md.keys(), key=lambda k: md[k]['Subject']):
                    m = md[key]
                    print(m['Subject'], m.get_subdir(), m.get_flags())
                print('folders', sorted(md.list_folders()))
                print('work', [m['Subject'] for m in md.get_folder('Work')])
                """, f.maildir.inbox("alice").toString());
        assertTrue(out.contains("Hello there cur RS\n"), out);
        assertTrue(out.contains("=?UTF-8?Q?Caf=C3=A9?= report cur \n"), out);
        assertTrue(out.contains("'Work'"), out);
        assertTrue(out.contains("work ['=?UTF-8?Q?Caf=C3=A9?= report']"), out);
    }

    @Test
    void curlFetchesAMessageAndListsMailboxes() throws Exception {
        Path curl = MailFixture.peer("/usr/bin/curl", "curl");
        String base = "imap://127.0.0.1:" + imap.bindings().get(0).port();
        MailFixture.Run msg = MailFixture.run(30, List.of(curl.toString(), "-sS", "--user", "alice:secret",
                base + "/INBOX;UID=1"), Map.of(), null);
        assertEquals(0, msg.exit(), msg.stderr());
        assertEquals(MailFixture.HELLO, msg.stdout());
        MailFixture.Run list = MailFixture.run(30, List.of(curl.toString(), "-sS", "--user", "alice:secret", base + "/"),
                Map.of(), null);
        assertEquals(0, list.exit(), list.stderr());
        assertTrue(list.stdout().contains("* LIST (\\HasNoChildren \\Sent) \".\" \"Sent\""), list.stdout());
        MailFixture.Run search = MailFixture.run(30, List.of(curl.toString(), "-sS", "--user", "alice:secret",
                base + "/INBOX?SUBJECT%20report"), Map.of(), null);
        assertEquals(0, search.exit(), search.stderr());
        assertEquals("* SEARCH 2", search.stdout().strip());
        MailFixture.Run bad = MailFixture.run(30, List.of(curl.toString(), "-sS", "--user", "alice:wrong", base + "/"),
                Map.of(), null);
        assertEquals(67, bad.exit(), "curl's 'login denied' exit code: " + bad.stderr());
    }

    @Test
    void angusMailReadsFoldersPartsAndSetsFlags() throws Exception {
        Properties p = new Properties();
        p.setProperty("mail.imap.host", "127.0.0.1");
        p.setProperty("mail.imap.port", Integer.toString(imap.bindings().get(0).port()));
        p.setProperty("mail.imap.connectiontimeout", "10000");
        p.setProperty("mail.imap.timeout", "10000");
        Session session = Session.getInstance(p);
        Store store = session.getStore("imap");
        store.connect("alice", "secret");
        try {
            Folder[] all = store.getDefaultFolder().list("*");
            assertEquals(5, all.length);
            Folder work = store.getFolder("Work");
            assertTrue(work.create(Folder.HOLDS_MESSAGES));
            Folder inbox = store.getFolder("INBOX");
            inbox.open(Folder.READ_WRITE);
            assertEquals(2, inbox.getMessageCount());
            Message hello = inbox.getMessage(1);
            assertEquals("Hello there", hello.getSubject());
            Message report = inbox.getMessage(2);
            assertEquals("Café report", report.getSubject());
            Multipart mp = (Multipart) report.getContent();
            assertEquals(2, mp.getCount());
            assertEquals("The report.", mp.getBodyPart(0).getContent());
            assertEquals(Part.ATTACHMENT, mp.getBodyPart(1).getDisposition());
            assertEquals("r.bin", mp.getBodyPart(1).getFileName());
            byte[] bin = mp.getBodyPart(1).getInputStream().readAllBytes();
            assertEquals(List.of((byte) 0, (byte) 1, (byte) 2, (byte) 3), List.of(bin[0], bin[1], bin[2], bin[3]));
            hello.setFlag(Flags.Flag.FLAGGED, true);
            inbox.copyMessages(new Message[] {hello}, work);
            inbox.close(false);
            // Angus reads with BODY.PEEK, so only the flag it set is there
            assertEquals(java.util.Set.of(StoredMessage.FLAGGED), f.mailbox("alice", "").find(1).orElseThrow().flags());
            assertEquals(1, f.mailbox("alice", "Work").messages().size());
        } finally {
            store.close();
        }
    }

    @Test
    void fetchmailReadsTheWholeMailboxInOneSession() throws Exception {
        Path fetchmail = MailFixture.peer("/usr/bin/fetchmail", "fetchmail");
        Path home = Files.createDirectories(tmp.resolve("home"));
        Path rc = home.resolve(".fetchmailrc");
        Path outDir = Files.createDirectories(tmp.resolve("delivered"));
        Files.writeString(rc, "poll 127.0.0.1 protocol IMAP port " + imap.bindings().get(0).port()
                + " auth password\n  user alice password secret is alice here keep sslproto ''\n");
        Files.setPosixFilePermissions(rc, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        MailFixture.Run r = MailFixture.run(60, List.of(fetchmail.toString(), "-f", rc.toString(), "-v", "--nosyslog",
                "--pidfile", home.resolve("pid").toString(), "--mda", "sh -c 'cat > " + outDir + "/$$.eml'"),
                Map.of("HOME", home.toString(), "FETCHMAILHOME", home.toString()), null);
        assertEquals(0, r.exit(), r.stdout() + r.stderr());
        List<Path> got;
        try (var s = Files.list(outDir)) {
            got = s.toList();
        }
        assertEquals(2, got.size(), r.stdout() + r.stderr());
        String all = Files.readString(got.get(0)) + Files.readString(got.get(1));
        assertTrue(all.contains("Subject: Hello there"), all);
        assertTrue(all.contains("AAECAw=="), all);
    }
}
