package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.dns.DnsRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Master;
import org.xbill.DNS.Message;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Every record a zone file holds reaches the client byte for byte through the authority
 * interface, also types without a Twine record class and TXT strings that are not UTF-8.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class ZoneRecordTypesTest {
    static final String ZONE = """
            $ORIGIN types.test.
            $TTL 600
            @        IN SOA ns1 hostmaster 1 3600 600 86400 60
                     IN NS  ns1
                     IN CAA 0 issue "ca.example"
            ns1      IN A   192.0.2.1
            Host     IN HINFO "PC" "Linux"
                     IN SSHFP 1 1 123456789abcdef67890123456789abcdef67890
            raw      IN TXT "\\200\\255bytes" "plain"
            sip      IN NAPTR 100 10 "U" "E2U+sip" "!^.*$!sip:info@types.test!" .
            odd      IN TYPE65400 \\# 3 abcdef
            """;

    @TempDir
    Path dir;

    @Test
    void everyTypeIsServedExactlyAsTheFileHasIt() throws Exception {
        Path f = dir.resolve("types.zone");
        Files.writeString(f, ZONE);
        Responder dns = TestZones.responder(new ZoneAuthority(List.of(f)));
        int checked = 0;
        try (Master m = new Master(f.toString())) {
            for (Record want = m.nextRecord(); want != null; want = m.nextRecord()) {
                Message got = TestZones.tcp(dns, want.getName().toString(), want.getType());
                List<Record> answer = got.getSection(Section.ANSWER);
                assertEquals(1, answer.size(), want.toString());
                assertEquals(want, answer.get(0), want.toString());
                assertEquals(want.getName().toString(), answer.get(0).getName().toString(), "case kept");
                assertArrayEquals(want.rdataToWireCanonical(), answer.get(0).rdataToWireCanonical(), want.toString());
                checked++;
            }
        }
        assertEquals(9, checked);
    }

    @Test
    void textThatIsNotUtf8TravelsAsOtherAndUtf8AsTxt() throws Exception {
        Path f = dir.resolve("types.zone");
        Files.writeString(f, ZONE);
        try (Master m = new Master(f.toString())) {
            for (Record r = m.nextRecord(); r != null; r = m.nextRecord()) {
                DnsRecord typed = Records.exact(r);
                assertEquals(r, Records.wire(typed), r.toString());
                if (r.getType() == Type.TXT) {
                    assertTrue(typed instanceof DnsRecord.Other, typed.toString());
                }
                if (r.getType() == Type.A || r.getType() == Type.SOA) {
                    assertTrue(!(typed instanceof DnsRecord.Other), typed.toString());
                }
            }
        }
    }
}
