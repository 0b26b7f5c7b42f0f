package dev.twine.mail.imap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.mail.maildir.MailFixture;
import dev.twine.mail.store.MailStore;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819) and SPECIAL-USE (RFC 6154) as Python's
 * imaplib sends them in raw commands, against Twine and against Dovecot (configured with the
 * same special uses) on a copy of one Maildir: the answers must be the same once normalised
 * (mailbox names unquoted, attributes and STATUS items sorted, the order of mailboxes free as
 * RFC 5258 §3 leaves it, Dovecot's \Marked/\UnMarked left out).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ListInteropTest {
    @TempDir
    Path tmp;

    private static final String SEQUENCE = """
            import imaplib, re, sys
            M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
            M.login('alice', 'secret')
            NAME = r'("(?:[^"\\\\]|\\\\.)*"|[^ ()]+)'
            def list_line(s):
                m = re.match(r'\\((.*?)\\) "\\." ' + NAME + '(.*)$', s)
                attrs = sorted(a for a in m.group(1).split() if a not in ('\\\\Marked', '\\\\UnMarked'))
                return 'LIST (%s) %s%s' % (' '.join(attrs), m.group(2).strip('"'), m.group(3).replace('"', ''))
            def status_line(s):
                m = re.match(NAME + r' \\((.*)\\)$', s)
                items = m.group(2).split()
                pairs = sorted(zip(items[::2], items[1::2]))
                return 'STATUS %s (%s)' % (m.group(1).strip('"'), ' '.join(a + ' ' + b for a, b in pairs))
            for cmd in sys.argv[2:]:
                tag = M._new_tag().decode()
                M.send(('%s %s\\r\\n' % (tag, cmd)).encode())
                groups = []
                while True:
                    line = M._get_line().decode()
                    if line.startswith(tag + ' '):
                        result = line.split()[1]
                        break
                    if line.startswith('* LIST '):
                        groups.append([list_line(line[7:])])
                    elif line.startswith('* STATUS ') and groups:
                        groups[-1].append(status_line(line[9:]))
                    else:
                        groups.append(['untagged ' + line])
                print(cmd)
                for g in sorted(groups):
                    print('  ' + ' / '.join(g))
                print('  ' + result)
            M.logout()
            """;

    private static final String[] COMMANDS = {
        "LIST \"\" *",
        "LIST \"\" %",
        "LIST \"\" \"\"",
        "LIST (SUBSCRIBED) \"\" *",
        "LIST (SUBSCRIBED) \"\" %",
        "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %",
        "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" * RETURN (CHILDREN)",
        "SUBSCRIBE Fruit",
        "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" * RETURN (CHILDREN)",
        "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" Fruit",
        "UNSUBSCRIBE Fruit",
        "LIST (SPECIAL-USE) \"\" *",
        "LIST (SPECIAL-USE SUBSCRIBED) \"\" *",
        "LIST \"\" * RETURN (SPECIAL-USE SUBSCRIBED)",
        "LIST \"\" (INBOX \"Fruit.%\") RETURN (STATUS (MESSAGES UNSEEN UIDNEXT SIZE))",
        "LIST (SUBSCRIBED) \"\" * RETURN (STATUS (MESSAGES) CHILDREN)",
        "LIST (REMOTE) \"\" % RETURN (CHILDREN)",
        "LIST Fruit. (\"A*\" \"B*\") RETURN (CHILDREN)",
        "LIST () \"\" %",
        "LIST \"\" % RETURN ()",
        "LIST (RECURSIVEMATCH) \"\" %",
        "LIST (REMOTE RECURSIVEMATCH) \"\" %",
        "LIST (BOGUS) \"\" %",
        "LIST \"\" % RETURN (BOGUS)",
    };

    /** Dovecot's configuration for the uses Twine gives these folders by their names. */
    private static final String USES = """
            namespace inbox {
              inbox = yes
              separator = .
              mailbox Sent {
                special_use = \\Sent
              }
              mailbox Drafts {
                special_use = \\Drafts
              }
              mailbox Trash {
                special_use = \\Trash
              }
              mailbox Junk {
                special_use = \\Junk
              }
            }
            """;

    @Test
    void pythonImaplibGetsTheSameListsFromTwineAndDovecot() throws Exception {
        MailFixture f = MailFixture.create(tmp.resolve("twine"));
        f.deliver("alice", "Subject: one\r\n\r\nbody 1\r\n");
        f.deliver("alice", "Subject: two\r\n\r\nbody 2\r\n");
        MailStore.Account a = f.maildir.account("alice");
        for (String box : new String[] {"Sent", "Drafts", "Trash", "Junk", "Fruit", "Fruit.Apple", "Fruit.Banana"}) {
            a.create(box);
        }
        for (String box : new String[] {"Sent", "Drafts", "Trash", "Junk", "Fruit.Banana", "Gone"}) {
            a.subscribe(box, true);
        }
        a.mailbox("Fruit.Banana").orElseThrow().append(
                new ByteArrayInputStream("Subject: b\r\n\r\nbanana\r\n".getBytes(StandardCharsets.US_ASCII)), Set.of(), null);
        DovecotPeer.Answers answers = DovecotPeer.ask(tmp, f, USES, port -> DovecotPeer.python(SEQUENCE, COMMANDS, port));
        String twine = answers.twine();
        String theirs = answers.dovecot();
        assertTrue(twine.contains("LIST () Fruit (CHILDINFO (SUBSCRIBED))"), twine);
        assertTrue(twine.contains("LIST (\\Sent) Sent"), twine);
        assertEquals(theirs, twine);
    }
}
