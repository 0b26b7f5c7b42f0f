package dev.twine.mail.imap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Server;
import dev.twine.core.Tls;
import dev.twine.mail.maildir.MailFixture;
import dev.twine.mail.pop3.Pop3Server;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * STARTTLS (IMAP) and STLS (POP3) with Python's clients, plaintext injected before the handshake,
 * and implicit TLS (IMAPS, POP3S on {@code tls:} endpoints, RFC 8314).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StartTlsInteropTest {
    @TempDir
    Path tmp;

    private Tls tls() throws Exception {
        Path openssl = MailFixture.peer("/usr/bin/openssl", "openssl");
        Path cert = tmp.resolve("cert.pem");
        Path key = tmp.resolve("key.pem");
        MailFixture.Run r = MailFixture.run(60, List.of(openssl.toString(), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", key.toString(), "-out", cert.toString(), "-subj", "/CN=localhost", "-days", "2"), Map.of(), null);
        assertEquals(0, r.exit(), r.stderr());
        return Tls.server(cert, key);
    }

    @Test
    void imaplibLogsInAfterStartTlsAndInjectedCommandsAreDropped() throws Exception {
        MailFixture f = MailFixture.create(tmp.resolve("m"));
        f.inbox("alice", 1000, MailFixture.HELLO);
        try (ImapServer imap = ImapServer.builder().store(f.maildir).portal(f.portal).tls(tls()).listen("tcp:0:interface=127.0.0.1").build()) {
            imap.start();
            String out = MailFixture.python(60, """
                    import imaplib, ssl, socket, sys
                    port = int(sys.argv[1])
                    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
                    M = imaplib.IMAP4('127.0.0.1', port)
                    print('before', 'LOGINDISABLED' in M.capabilities, 'STARTTLS' in M.capabilities)
                    M.starttls(ssl_context=ctx)
                    print('after', 'LOGINDISABLED' in M.capabilities, 'AUTH=PLAIN' in M.capabilities)
                    M.login('alice', 'secret')
                    print('select', M.select('INBOX')[1][0].decode())
                    M.logout()
                    # a command pipelined after STARTTLS in plaintext must not run inside TLS
                    s = socket.create_connection(('127.0.0.1', port))
                    f = s.makefile('rb')
                    f.readline()
                    s.sendall(b'a STARTTLS\\r\\nb LOGIN alice secret\\r\\n')
                    print('starttls', f.readline().decode().strip())
                    t = ctx.wrap_socket(s)
                    g = t.makefile('rb')
                    t.sendall(b'c CAPABILITY\\r\\n')
                    print('first', g.readline().decode().strip().split(' ')[0])
                    print('second', g.readline().decode().strip())
                    """, Integer.toString(imap.bindings().get(0).port()));
            assertTrue(out.contains("before True True\n"), out);
            assertTrue(out.contains("after False True\n"), out);
            assertTrue(out.contains("select 1\n"), out);
            assertTrue(out.contains("starttls a OK Begin TLS negotiation now\n"), out);
            assertTrue(out.contains("first *\nsecond c OK CAPABILITY completed\n"), out);
        }
    }

    @Test
    void poplibLogsInAfterStls() throws Exception {
        MailFixture f = MailFixture.create(tmp.resolve("p"));
        f.inbox("alice", 1000, MailFixture.HELLO);
        try (Pop3Server pop3 = Pop3Server.builder().store(f.maildir).portal(f.portal).tls(tls()).listen("tcp:0:interface=127.0.0.1").build()) {
            pop3.start();
            String out = MailFixture.python(60, """
                    import poplib, ssl, sys
                    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
                    P = poplib.POP3('127.0.0.1', int(sys.argv[1]))
                    caps = P.capa()
                    print('before', 'STLS' in caps, 'USER' in caps)
                    P.stls(context=ctx)
                    caps = P.capa()
                    print('after', 'STLS' in caps, 'USER' in caps)
                    P.user('alice'); P.pass_('secret')
                    print('stat', P.stat()[0])
                    P.quit()
                    """, Integer.toString(pop3.bindings().get(0).port()));
            assertTrue(out.contains("before True False\nafter False True\nstat 1\n"), out);
        }
    }

    @Test
    void imaplibAndPoplibSpeakTlsFromTheFirstByteOnTlsEndpoints() throws Exception {
        MailFixture f = MailFixture.create(tmp.resolve("i"));
        f.inbox("alice", 1000, MailFixture.HELLO);
        Tls tls = tls();
        try (ImapServer imap = ImapServer.builder().store(f.maildir).portal(f.portal).tls(tls)
                        .listen("tls:0:interface=127.0.0.1").build();
                Pop3Server pop3 = Pop3Server.builder().store(f.maildir).portal(f.portal).tls(tls)
                        .listen("tls:0:interface=127.0.0.1").build()) {
            imap.start();
            pop3.start();
            String out = MailFixture.python(60, """
                    import imaplib, poplib, ssl, sys
                    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
                    M = imaplib.IMAP4_SSL('127.0.0.1', int(sys.argv[1]), ssl_context=ctx)
                    # RFC 8314 §3.3: already secure, so no STARTTLS, and logins are allowed
                    print('imaps', 'STARTTLS' in M.capabilities, 'LOGINDISABLED' in M.capabilities)
                    M.login('alice', 'secret')
                    print('select', M.select('INBOX')[1][0].decode())
                    M.logout()
                    P = poplib.POP3_SSL('127.0.0.1', int(sys.argv[2]), context=ctx)
                    print('pop3s', 'STLS' in P.capa())
                    P.user('alice'); P.pass_('secret')
                    print('stat', P.stat()[0])
                    P.quit()
                    """, Integer.toString(imap.bindings().get(0).port()), Integer.toString(pop3.bindings().get(0).port()));
            assertTrue(out.contains("imaps False False\n"), out);
            assertTrue(out.contains("select 1\n"), out);
            assertTrue(out.contains("pop3s False\n"), out);
            assertTrue(out.contains("stat 1\n"), out);
        }
    }
}
