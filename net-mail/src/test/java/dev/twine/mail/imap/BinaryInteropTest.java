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
 * BINARY (RFC 3516) from a raw Python client, against Twine and against Dovecot on a copy of one
 * Maildir: FETCH BINARY.PEEK, BINARY.SIZE and partial BINARY of base64, quoted-printable and
 * unencoded parts must come back the same (literal contents shown with Python's repr, the
 * tagged replies' text left out). Two answers differ on purpose and are left to
 * {@link ImapBinaryTranscriptTest}: Dovecot takes {@code BINARY[HEADER]}, which RFC 3516 §7's
 * grammar does not (Twine: {@code BAD}), and sends an untagged {@code FETCH (UID n)} before its
 * {@code NO [UNKNOWN-CTE]}.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class BinaryInteropTest {
    @TempDir
    Path tmp;

    private static final String SEQUENCE = """
            import re, socket, sys
            s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
            f = s.makefile('rb')
            def response():
                out = b''
                while True:
                    line = f.readline()
                    m = re.search(rb'~?\\{(\\d+)\\}\\r\\n$', line)
                    if not m:
                        return out + line
                    out += line[:m.start()] + b'<' + repr(f.read(int(m.group(1)))).encode() + b'>'
            f.readline()
            for n, cmd in enumerate(['LOGIN alice secret', 'SELECT INBOX'] + sys.argv[2:]):
                tag = 't%d' % n
                s.sendall(('%s %s\\r\\n' % (tag, cmd)).encode())
                while True:
                    r = response().decode('utf-8', 'replace').rstrip('\\r\\n')
                    if r.startswith(tag + ' '):
                        print(cmd, '->', ' '.join(r.split()[1:2] + [c for c in re.findall(r'\\[[A-Z-]+', r)[:1]]))
                        break
                    if n >= 2:
                        print('  ' + r)
            """;

    private static final String[] COMMANDS = {
        "FETCH 1:3 (BINARY.SIZE[1])",
        "FETCH 2 (BINARY.SIZE[2] BINARY.SIZE[1])",
        "FETCH 2 (BINARY.PEEK[2])",
        "FETCH 2 (BINARY.PEEK[2]<1.2>)",
        "FETCH 2 (BINARY.PEEK[1])",
        "FETCH 3 (BINARY.PEEK[1])",
        "FETCH 3 (BINARY.PEEK[1]<5.9>)",
        "FETCH 1 (BINARY.PEEK[1])",
    };

    @Test
    void aRawClientGetsTheSameDecodedPartsFromTwineAndDovecot() throws Exception {
        MailFixture f = MailFixture.create(tmp.resolve("twine"));
        for (String m : new String[] {MailFixture.HELLO, MailFixture.MULTIPART, ImapBinaryTranscriptTest.QP,
                ImapBinaryTranscriptTest.ODD}) {
            f.deliver("alice", m);
        }
        DovecotPeer.Answers answers = DovecotPeer.ask(tmp, f, "", port -> DovecotPeer.python(SEQUENCE, COMMANDS, port));
        String twine = answers.twine();
        String theirs = answers.dovecot();
        assertTrue(twine.contains("BINARY[2] <b'\\x00\\x01\\x02\\x03'>"), twine);
        assertEquals(theirs, twine);
    }
}
