package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapTranscriptTest.GREETING;
import static dev.twine.mail.imap.ImapTranscriptTest.LOGIN;
import static dev.twine.mail.imap.ImapTranscriptTest.SELECT;

import dev.twine.mail.maildir.MailFixture;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * BINARY (RFC 3516): FETCH BINARY[], BINARY.PEEK and BINARY.SIZE with base64 and
 * quoted-printable parts decoded, literal8 answers for content holding NUL, and APPEND of a
 * literal8; replayed whole, byte by byte and in random chunks on a Maildir and in memory.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ImapBinaryTranscriptTest {
    @TempDir
    Path tmp;

    static final String QP = """
            Subject: qp\r
            MIME-Version: 1.0\r
            Content-Type: text/plain; charset=utf-8\r
            Content-Transfer-Encoding: quoted-printable\r
            \r
            Caf=C3=A9 au lait, a soft=\r
             break  \r
            end\r
            """;
    static final String ODD = "Subject: odd\r\nContent-Transfer-Encoding: x-twine-rot13\r\n\r\nUryyb\r\n";

    private void replay(String script) throws Exception {
        ImapTranscriptTest.replay(tmp, script, MailFixture.HELLO, MailFixture.MULTIPART, QP, ODD);
    }

    private static final String SELECT4 = SELECT.replace("2 EXISTS", "4 EXISTS").replace("2 RECENT", "4 RECENT")
            .replace("UIDNEXT 3", "UIDNEXT 5");

    @Test
    void fetchBinaryDecodesBase64AndQuotedPrintableAndSaysTheDecodedSize() throws Exception {
        replay(GREETING + LOGIN + SELECT4 + """
                C: a3 FETCH 2 (BINARY.SIZE[2] BINARY.PEEK[2] BINARY.PEEK[2]<1.2>)
                S: * 2 FETCH (BINARY.SIZE[2] 4 BINARY[2] ~{4}
                S: \0\1\2\3 BINARY[2]<1> {2}
                S: \1\2)
                S: a3 OK FETCH completed
                C: a4 FETCH 3 (BINARY.SIZE[1] BINARY[1])
                S: * 3 FETCH (FLAGS (\\Seen \\Recent) BINARY.SIZE[1] 34 BINARY[1] {34}
                S: Café au lait, a soft break
                S: end
                S: )
                S: a4 OK FETCH completed
                C: a5 FETCH 1 (BINARY.PEEK[] BINARY.SIZE[1])
                S: * 1 FETCH (BINARY[] {%d}
                S: %s BINARY.SIZE[1] 23)
                S: a5 OK FETCH completed
                C: a6 FETCH 4 BINARY.PEEK[1]
                S: a6 NO [UNKNOWN-CTE] cannot decode x-twine-rot13
                C: a7 FETCH 2 BINARY[HEADER]
                S: a7 BAD a BINARY section is part numbers only
                C: a8 FETCH 2 BINARY.SIZE[1]<0.5>
                S: a8 BAD BINARY.SIZE takes no partial
                C: a9 FETCH 2 BINARY.PEEK[7]
                S: * 2 FETCH (BINARY[7] {0}
                S: )
                S: a9 OK FETCH completed
                """.formatted(MailFixture.HELLO.length(), MailFixture.HELLO.replace("\r\n", "\n").replace("\n", "\nS: ")));
    }

    @Test
    void appendTakesALiteral8AndALiteral8IsNothingElse() throws Exception {
        replay(GREETING + LOGIN + """
                C: a3 APPEND INBOX ~{18+}
                C: Subject: x
                C: 
                C: \0\1
                C: 
                S: a3 OK [APPENDUID 1000 5] APPEND completed
                C: a4 STATUS INBOX (MESSAGES SIZE)
                S: * STATUS "INBOX" (MESSAGES 5 SIZE %d)
                S: a4 OK STATUS completed
                C: a6 SELECT ~{5+}
                C: INBOX
                S: a6 BAD a literal8 is only for APPEND's message
                """.formatted(18 + MailFixture.HELLO.length() + MailFixture.MULTIPART.length() + QP.length() + ODD.length()));
    }
}
