package dev.twine.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.twine.core.Service;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The example against Python's imaplib: read, append, and see the append from a second connection. */
class ImapFromMemoryTest {
    private static final String SCRIPT = """
            import imaplib, sys
            port = int(sys.argv[1])
            a = imaplib.IMAP4('127.0.0.1', port)
            a.login('alice', 'pw-for-test')
            typ, data = a.select('INBOX')
            print('exists', data[0].decode())
            typ, data = a.fetch('1', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
            print(data[0][1].decode().strip())
            typ, data = a.append('INBOX', None, None, b'Subject: From imaplib\\r\\n\\r\\nHello.\\r\\n')
            print('append', typ)
            b = imaplib.IMAP4('127.0.0.1', port)
            b.login('alice', 'pw-for-test')
            typ, data = b.select('INBOX', readonly=True)
            print('second sees', data[0].decode())
            typ, data = b.fetch('3', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
            print(data[0][1].decode().strip())
            try:
                imaplib.IMAP4('127.0.0.1', port).login('alice', 'wrong')
            except imaplib.IMAP4.error as e:
                print('wrong password refused')
            b.logout()
            a.logout()
            """;

    @Test
    void imaplibReadsAppendsAndASecondConnectionSeesTheAppend() throws Exception {
        String python = ExamplePeers.require("/usr/bin/python3");
        Service imap = ImapFromMemory.start("tcp:0:interface=127.0.0.1", "pw-for-test");
        try {
            int port = imap.bindings().get(0).port();
            ExamplePeers.Run r = ExamplePeers.run(List.of(python, "-c", SCRIPT, Integer.toString(port)), null,
                    Duration.ofSeconds(60));
            assertEquals(0, r.exit(), r.toString());
            assertEquals(List.of("exists 2", "Subject: Welcome", "append OK", "second sees 3", "Subject: From imaplib",
                    "wrong password refused"), r.out().lines().toList(), r.toString());
        } finally {
            imap.close();
        }
    }
}
