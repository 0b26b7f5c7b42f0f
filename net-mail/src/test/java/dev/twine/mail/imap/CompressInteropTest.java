package dev.twine.mail.imap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Tls;
import dev.twine.mail.maildir.MailFixture;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * COMPRESS=DEFLATE (RFC 4978) from a Python client over a raw socket with Python's own zlib
 * (raw DEFLATE, sync-flushed per command), against Twine and against Dovecot (its imap_zlib
 * plugin) on a copy of one Maildir: the same answers, compressed, with a 200 KB message that
 * spans many compressed chunks; and over STARTTLS on Twine, where compression runs inside TLS.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class CompressInteropTest {
    @TempDir
    Path tmp;

    private static final String CLIENT = """
            import hashlib, re, socket, ssl, sys, zlib
            s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
            sock, buf, z, c = s, b'', None, None
            def fill():
                global buf
                data = sock.recv(65536)
                if not data:
                    raise EOFError('closed')
                buf += z.decompress(data) if z else data
            def line():
                global buf
                while b'\\r\\n' not in buf:
                    fill()
                i = buf.index(b'\\r\\n')
                l, buf = buf[:i], buf[i + 2:]
                return l
            def take(n):
                global buf
                while len(buf) < n:
                    fill()
                d, buf = buf[:n], buf[n:]
                return d
            def response():
                out = b''
                while True:
                    l = line()
                    m = re.search(rb'\\{(\\d+)\\}$', l)
                    if not m:
                        return out + l
                    d = take(int(m.group(1)))
                    shown = repr(d).encode() if len(d) < 200 else b'sha256:' + hashlib.sha256(d).hexdigest().encode()
                    out += l[:m.start()] + b'<' + shown + b'>'
            def send(data):
                sock.sendall(c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH) if c else data)
            def command(tag, cmd, show):
                send(('%s %s\\r\\n' % (tag, cmd)).encode())
                while True:
                    r = response().decode('utf-8', 'replace')
                    if r.startswith(tag + ' '):
                        if show:
                            print(cmd, '->', ' '.join(r.split()[1:2] + re.findall(r'\\[[A-Z-]+', r)[:1]))
                        return r
                    if show and (' FETCH ' in r or ' EXISTS' in r):
                        print('  ' + r)
                    elif show and r.startswith('* BYE'):
                        print('  * BYE')
            response()
            if sys.argv[2] == 'starttls':
                command('t0', 'STARTTLS', False)
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                sock = ctx.wrap_socket(s)
                print('tls', sock.version() is not None)
            command('t1', 'LOGIN alice secret', False)
            command('t2', 'COMPRESS DEFLATE', True)
            z, c = zlib.decompressobj(-15), zlib.compressobj(6, zlib.DEFLATED, -15)
            buf = z.decompress(buf)
            for n, cmd in enumerate(sys.argv[3:]):
                command('c%d' % n, cmd, True)
            """;

    private static final String[] COMMANDS = {
        "SELECT INBOX",
        "FETCH 1:* (FLAGS RFC822.SIZE)",
        "FETCH 1 BODY.PEEK[]",
        "FETCH 3 (BODY.PEEK[HEADER] BODY.PEEK[TEXT])",
        "UID FETCH 1:* (UID)",
        "COMPRESS DEFLATE",
        "NOOP",
        "LOGOUT",
    };

    private static String[] args(String mode) {
        String[] a = new String[COMMANDS.length + 1];
        a[0] = mode;
        System.arraycopy(COMMANDS, 0, a, 1, COMMANDS.length);
        return a;
    }

    private static MailFixture mail(Path dir) throws Exception {
        MailFixture f = MailFixture.create(dir);
        StringBuilder big = new StringBuilder("Subject: big\r\n\r\n");
        java.util.Random r = new java.util.Random(1);
        while (big.length() < 200_000) {
            big.append(Long.toString(r.nextLong(), 36)).append(r.nextInt(3) == 0 ? "\r\n" : " ");
        }
        f.deliver("alice", big.append("\r\n").toString());
        f.deliver("alice", MailFixture.HELLO);
        f.deliver("alice", MailFixture.MULTIPART);
        return f;
    }

    @Test
    void pythonZlibGetsTheSameCompressedAnswersFromTwineAndDovecot() throws Exception {
        MailFixture f = mail(tmp.resolve("twine"));
        DovecotPeer.Answers answers = DovecotPeer.ask(tmp, f, """
                protocol imap {
                  mail_plugins = $mail_plugins zlib imap_zlib
                }
                """, port -> DovecotPeer.python(CLIENT, args("plain"), port));
        String twine = answers.twine();
        assertTrue(twine.contains("COMPRESS DEFLATE -> OK\n"), twine);
        assertTrue(twine.contains("COMPRESS DEFLATE -> NO [COMPRESSIONACTIVE\n"), twine);
        assertTrue(twine.contains("sha256:"), twine);
        assertEquals(answers.dovecot(), twine);
    }

    @Test
    void compressionRunsInsideStartTls() throws Exception {
        MailFixture f = mail(tmp.resolve("tls"));
        Tls tls = Tls.selfSigned(tmp.resolve("cert.pem"), tmp.resolve("key.pem"), List.of("localhost"));
        String plain;
        String secure;
        try (ImapServer imap = ImapServer.builder().store(f.maildir).portal(f.portal).tls(tls)
                .allowPlainLogin(true).listen("tcp:0:interface=127.0.0.1").build()) {
            imap.start();
            int port = imap.bindings().get(0).port();
            secure = DovecotPeer.python(CLIENT, args("starttls"), port);
            plain = DovecotPeer.python(CLIENT, args("plain"), port);
        }
        assertTrue(secure.startsWith("tls True\n"), secure);
        assertEquals(plain.replace("\\Recent", ""), secure.substring("tls True\n".length()).replace("\\Recent", ""));
    }
}
