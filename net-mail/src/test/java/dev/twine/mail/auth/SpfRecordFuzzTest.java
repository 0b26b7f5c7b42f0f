package dev.twine.mail.auth;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * SPF record parsing (RFC 7208 §4.5, §12) on arbitrary TXT text: what anyone who controls a
 * sender's domain publishes, read on every inbound message. If a domain publishes anything, then
 * parsing it gives a record (only for text that begins {@code v=spf1}), none, or a permerror
 * ({@code Stop}), and never another exception.
 */
class SpfRecordFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void anyTxtRecordParsesOrIsAPermerror(byte[] input) {
        // a TXT string is octets; the resolver hands them over as ISO-8859-1, one char each
        String text = new String(input, StandardCharsets.ISO_8859_1);
        try {
            SpfRecord record = SpfRecord.parse("example.test", List.of(text));
            assertTrue(record == null || text.regionMatches(true, 0, "v=spf1", 0, 6), text);
        } catch (Spf.Evaluation.Stop permerror) {
            // a syntax error, or a macro the record cannot hold: the permerror the RFC asks for
        }
    }
}
