package dev.twine.mail.imap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.mail.maildir.MailFixture;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * UTF8=ACCEPT (RFC 6855) names against Dovecot: Python's imaplib, in its UTF-8 mode after
 * {@code ENABLE UTF8=ACCEPT}, creates folders with non-ASCII names on Twine; then a plain imaplib
 * session lists the Maildir from Twine and from Dovecot (which keeps Maildir++ names in modified
 * UTF-7, RFC 3501 §5.1.3): both must give the same modified UTF-7 names, decoding to the names
 * the UTF-8 client chose, which Twine shows it unencoded.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class Utf8InteropTest {
    @TempDir
    Path tmp;

    private static final String[] NAMES = {"été", "été.日本語", "Tom & Jerry", "Ελληνικά", "emoji \uD83D\uDE00"};

    private static final String CREATE = """
            import imaplib, sys
            M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
            M.login('alice', 'secret')
            M.enable('UTF8=ACCEPT')
            print('utf8', M.utf8_enabled)
            for name in sys.argv[2:]:
                typ, _ = M.create('"%s"' % name)
                assert typ == 'OK', (name, typ)
            typ, lines = M.list('""', '*')
            for l in sorted(x.decode('utf-8') for x in lines):
                print(l)
            M.logout()
            """;

    private static final String LIST = """
            import imaplib, sys
            def mutf7(s):
                out, i = '', 0
                while i < len(s):
                    if s[i] != '&':
                        out += s[i]; i += 1; continue
                    j = s.index('-', i)
                    run = s[i + 1:j]
                    out += '&' if run == '' else ('+' + run.replace(',', '/') + '-').encode('ascii').decode('utf-7')
                    i = j + 1
                return out
            M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
            M.login('alice', 'secret')
            typ, lines = M.list('""', '*')
            for name in sorted(x.decode('ascii').split(' "." ', 1)[1].strip('"') for x in lines):
                print(name, '=', mutf7(name))
            M.logout()
            """;

    @Test
    void namesAUtf8ClientCreatesAreTheModifiedUtf7NamesDovecotLists() throws Exception {
        MailFixture f = MailFixture.create(tmp.resolve("twine"));
        ImapServer imap = ImapServer.builder().store(f.maildir).portal(f.portal).listen("tcp:0:interface=127.0.0.1").build();
        imap.start();
        String created;
        try {
            created = DovecotPeer.python(CREATE, NAMES, imap.bindings().get(0).port());
        } finally {
            imap.close();
        }
        assertTrue(created.contains("utf8 True"), created);
        assertTrue(created.contains("(\\HasNoChildren) \".\" \"été.日本語\""), created);
        assertTrue(created.contains("(\\HasNoChildren) \".\" \"emoji \uD83D\uDE00\""), created);
        DovecotPeer.Answers answers = DovecotPeer.ask(tmp, f, """
                namespace inbox {
                  inbox = yes
                  separator = .
                }
                """, port -> DovecotPeer.python(LIST, new String[0], port));
        for (String name : NAMES) {
            assertTrue(answers.twine().contains(ModifiedUtf7.encode(name) + " = " + name + "\n"), answers.twine());
        }
        assertEquals(answers.dovecot(), answers.twine());
    }
}
