package dev.twine.mail.imap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.List;

/**
 * MIME structure building for IMAP BODYSTRUCTURE and ENVELOPE (RFC 3501 §7.4.2) on arbitrary
 * messages (issue 16). If a message is stored, whatever its bytes, then its BODYSTRUCTURE (plain
 * and extended) and its ENVELOPE are each one parenthesized list that the server's own command
 * parser reads back, and parsing never throws.
 */
class MimeTreeFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void structureAndEnvelopeAreOneWellFormedList(byte[] message) throws ImapParser.SyntaxException {
        MimeTree tree = MimeTree.parse(message);
        for (boolean extended : new boolean[] {false, true}) {
            ImapWriter w = new ImapWriter();
            tree.structure(w, extended);
            oneList(w.toBytes());
        }
        ImapWriter w = new ImapWriter();
        tree.envelope(w);
        List<ImapParser.Arg> envelope = oneList(w.toBytes());
        assertEquals(10, envelope.size(), "RFC 3501 §7.4.2: an envelope has ten fields");
    }

    private static List<ImapParser.Arg> oneList(byte[] written) throws ImapParser.SyntaxException {
        List<ImapParser.Arg> args = ImapParser.tokens(written);
        assertEquals(1, args.size(), () -> "not one list: " + new String(written, java.nio.charset.StandardCharsets.ISO_8859_1));
        return assertInstanceOf(ImapParser.Group.class, args.get(0)).items();
    }
}
