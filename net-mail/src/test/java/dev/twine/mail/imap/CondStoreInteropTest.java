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
 * CONDSTORE and QRESYNC (RFC 7162) as Python's imaplib sends them in raw commands, against Twine
 * and against Dovecot on a copy of the same Maildir: the answers, with UIDs named by Message-ID
 * and mod-sequences by their order, must be the same.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class CondStoreInteropTest {
    @TempDir
    Path tmp;

    /** Prints what the server said, normalised: UIDs as Message-IDs, mod-sequences as "m". */
    private static final String SEQUENCE = """
            import imaplib, re, sys
            port = int(sys.argv[1])
            def norm(s):
                s = s.decode() if isinstance(s, bytes) else s
                s = re.sub(r'MODSEQ \\((\\d+)\\)', 'MODSEQ (m)', s)
                s = re.sub(r'\\(MODSEQ \\d+\\)', '(MODSEQ m)', s)
                def uids(m):
                    out = []
                    for part in m.group(2).split(','):
                        a, _, b = part.partition(':')
                        out += range(int(a), int(b or a) + 1)
                    return m.group(1) + ' '.join(sorted(ids.get(u, '?') for u in out))
                s = re.sub(r'(VANISHED (?:\\(EARLIER\\) )?|MODIFIED )([\\d:,]+)', uids, s)
                s = re.sub(r'UID (\\d+)', lambda m: 'UID ' + ids.get(int(m.group(1)), '?'), s)
                s = re.sub(r'FLAGS \\(([^)]*)\\)', lambda m: 'FLAGS (' + ' '.join(sorted(
                    f for f in m.group(1).split() if f != '\\\\Recent')) + ')', s)
                # item order is free (RFC 9051 §7.5.2): MODSEQ last
                s = re.sub(r'MODSEQ \\(m\\) (FLAGS \\([^)]*\\))', r'\\1 MODSEQ (m)', s)
                return re.sub(r'^\\d+ \\(', '(', s)
            def run(M, name, *args):
                typ, data = M._simple_command(name, *args)
                for key in ('FETCH', 'VANISHED', 'SEARCH', 'ESEARCH'):
                    for d in M.untagged_responses.pop(key, []):
                        if d is not None:
                            print(name, key, norm(d if key != 'FETCH' else d))
                # the tagged reply's text is free: its status and response code count
                code = re.match(r'(\\[[^]]*\\])?', norm(data[-1] if data else b'')).group(0)
                print(name, typ, re.sub(r'HIGHESTMODSEQ \\d+', 'HIGHESTMODSEQ m', code))
            M = imaplib.IMAP4('127.0.0.1', port)
            M.login('alice', 'secret')
            M._simple_command('ENABLE', 'QRESYNC')
            M.select('INBOX')
            validity = int(M.untagged_responses['UIDVALIDITY'][0])
            h0 = int(re.search(rb'HIGHESTMODSEQ (\\d+)', b' '.join(M.untagged_responses.get('OK', []))).group(1))
            typ, data = M.uid('FETCH', '1:*', '(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])')
            ids = {}
            for d in data:
                if isinstance(d, tuple):
                    uid = int(re.search(rb'UID (\\d+)', d[0]).group(1))
                    ids[uid] = re.search(rb'<(\\d+)@', d[1]).group(1).decode()
            by = {v: k for k, v in ids.items()}
            M.untagged_responses.clear()
            run(M, 'UID', 'STORE', str(by['1']), '+FLAGS', '(\\\\Seen)')
            run(M, 'UID', 'STORE', str(by['2']), '+FLAGS', '(\\\\Flagged)')
            run(M, 'UID', 'STORE', str(by['3']), '+FLAGS.SILENT', '(\\\\Deleted)')
            run(M, 'UID', 'EXPUNGE', str(by['3']))
            run(M, 'UID', 'STORE', str(by['1']) + ',' + str(by['4']), '(UNCHANGEDSINCE %d)' % h0, '+FLAGS', '(\\\\Answered)')
            run(M, 'UID', 'FETCH', '1:*', '(FLAGS)', '(CHANGEDSINCE %d)' % h0)
            run(M, 'UID', 'SEARCH', 'MODSEQ', str(h0 + 1))
            M.logout()
            M = imaplib.IMAP4('127.0.0.1', port)
            M.login('alice', 'secret')
            M._simple_command('ENABLE', 'QRESYNC')
            run(M, 'SELECT', 'INBOX', '(QRESYNC (%d %d))' % (validity, h0))
            M.state = 'SELECTED'
            run(M, 'UID', 'FETCH', '1:*', '(FLAGS)', '(CHANGEDSINCE %d VANISHED)' % h0)
            M.logout()
            """;

    @Test
    void pythonImaplibGetsTheSameAnswersFromTwineAndDovecot() throws Exception {
        MailFixture f = MailFixture.create(tmp.resolve("twine"));
        for (int i = 1; i <= 5; i++) {
            f.deliver("alice", "Message-ID: <" + i + "@example.org>\r\nSubject: m" + i + "\r\n\r\nbody " + i + "\r\n");
        }
        DovecotPeer.Answers answers = DovecotPeer.ask(tmp, f, "", port -> MailFixture.python(60, SEQUENCE, Integer.toString(port)));
        String twine = answers.twine();
        String theirs = answers.dovecot();
        assertTrue(twine.contains("MODIFIED 1"), twine);
        assertTrue(twine.contains("VANISHED (EARLIER) 3"), twine);
        assertEquals(theirs, twine);
    }
}
