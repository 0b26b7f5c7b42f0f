package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.dns.DnsServer;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * IXFR out (RFC 1995) from the journal of differences computed at each reload: incremental
 * answers, the single SOA when up to date or over UDP, and the whole zone when the journal
 * cannot bridge the client's serial. Over the in-memory request path, then with dig.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class IxfrTest {
    @TempDir
    Path dir;

    Path file;
    ZoneAuthority zones;
    Responder dns;

    private static String version(int serial, String body) {
        return """
                $ORIGIN ixfr.test.
                $TTL 300
                @ IN SOA ns1 hostmaster %d 3600 600 604800 60
                  IN NS ns1
                ns1 IN A 192.0.2.1
                """.formatted(serial) + body;
    }

    @BeforeEach
    void load() throws Exception {
        file = dir.resolve("ixfr.test.zone");
        Files.writeString(file, version(1, "www IN A 192.0.2.10\nold IN TXT \"going\"\n"));
        zones = new ZoneAuthority(List.of(file));
        dns = TestZones.responder(zones);
    }

    private void change(int serial, String body) throws Exception {
        Files.writeString(file, version(serial, body));
        assertTrue(zones.reload(), zones.lastReloadError().orElse(""));
    }

    private static byte[] ixfr(long serial) throws Exception {
        Name zone = Name.fromString("ixfr.test.");
        Message q = Message.newQuery(Record.newRecord(zone, Type.IXFR, DClass.IN));
        q.addRecord(new SOARecord(zone, DClass.IN, 0, Name.fromString("ns1.ixfr.test."),
                Name.fromString("hostmaster.ixfr.test."), serial, 0, 0, 0, 0), Section.AUTHORITY);
        return q.toWire();
    }

    /** The answer records of a transfer, each as "SERIAL" for an SOA or "name type rdata". */
    private List<String> tcp(byte[] query, InetAddress peer) throws Exception {
        List<String> out = new ArrayList<>();
        for (byte[] wire : dns.answerTcp(query, peer)) {
            Message m = new Message(wire);
            assertEquals(Rcode.NOERROR, m.getRcode(), m.toString());
            for (Record r : m.getSection(Section.ANSWER)) {
                out.add(r instanceof SOARecord s ? "SOA " + s.getSerial()
                        : r.getName() + " " + Type.string(r.getType()) + " " + r.rdataToString());
            }
        }
        return out;
    }

    @Test
    void differencesSinceTheClientsSerialInOrder() throws Exception {
        change(2, "www IN A 192.0.2.20\nmail IN A 192.0.2.25\n");
        change(3, "www IN A 192.0.2.20\nmail IN A 192.0.2.25\nftp IN A 192.0.2.30\n");
        assertEquals(List.of("SOA 3",
                "SOA 1", "www.ixfr.test. A 192.0.2.10", "old.ixfr.test. TXT going",
                "SOA 2", "www.ixfr.test. A 192.0.2.20", "mail.ixfr.test. A 192.0.2.25",
                "SOA 2", "SOA 3", "ftp.ixfr.test. A 192.0.2.30",
                "SOA 3"), tcp(ixfr(1), TestZones.CLIENT));
        assertEquals(List.of("SOA 3", "SOA 2", "SOA 3", "ftp.ixfr.test. A 192.0.2.30", "SOA 3"),
                tcp(ixfr(2), TestZones.CLIENT));
    }

    @Test
    void upToDateClientGetsTheSoaAloneAndSoDoesUdp() throws Exception {
        change(2, "www IN A 192.0.2.20\n");
        assertEquals(List.of("SOA 2"), tcp(ixfr(2), TestZones.CLIENT));
        assertEquals(List.of("SOA 2"), tcp(ixfr(7), TestZones.CLIENT), "a serial ahead of ours: nothing to send");
        Message udp = new Message(dns.answerUdp(ixfr(1), TestZones.CLIENT).orElseThrow());
        assertEquals(Rcode.NOERROR, udp.getRcode());
        assertEquals(1, udp.getSection(Section.ANSWER).size(), "RFC 1995 §2: over UDP, the SOA; the client goes to TCP");
    }

    @Test
    void serialTheJournalDoesNotKnowGetsTheWholeZone() throws Exception {
        change(2, "www IN A 192.0.2.20\n");
        List<String> all = tcp(ixfr(0), TestZones.CLIENT);
        assertEquals("SOA 2", all.get(0));
        assertEquals("SOA 2", all.get(all.size() - 1));
        assertTrue(all.contains("www.ixfr.test. A 192.0.2.20") && !all.contains("www.ixfr.test. A 192.0.2.10"), all.toString());
        // a reload that lowers the serial breaks the chain: a client at 2 can be brought to 5 only whole
        change(1, "www IN A 192.0.2.99\n");
        change(5, "www IN A 192.0.2.99\n");
        List<String> after = tcp(ixfr(2), TestZones.CLIENT);
        assertTrue(after.contains("www.ixfr.test. A 192.0.2.99") && after.contains("ns1.ixfr.test. A 192.0.2.1"), after.toString());
    }

    @Test
    void badOrForbiddenIxfr() throws Exception {
        Message noSoa = Message.newQuery(Record.newRecord(Name.fromString("ixfr.test."), Type.IXFR, DClass.IN));
        assertEquals(Rcode.FORMERR, new Message(dns.answerTcp(noSoa.toWire(), TestZones.CLIENT).get(0)).getRcode());
        Message refused = new Message(dns.answerTcp(ixfr(1), InetAddress.getByName("192.0.2.77")).get(0));
        assertEquals(Rcode.REFUSED, refused.getRcode());
    }

    @Test
    void digGetsTheIncrementalTransfer() throws Exception {
        Path dig = Peers.require("dig", "dnsutils");
        DnsServer s = DnsServer.builder().zone(file).listen("udp:0:interface=127.0.0.1").listen("tcp:0:interface=127.0.0.1")
                .allowTransfer(InetAddress.getByName("127.0.0.1")).build();
        s.start();
        try {
            Files.writeString(file, version(2, "www IN A 192.0.2.20\n"));
            s.reload();
            Peers.Run r = Peers.run(30, List.of(dig.toString(), "@127.0.0.1", "-p", String.valueOf(s.port()), "+tcp",
                    "+nocmd", "+nostats", "ixfr.test", "IXFR=1"));
            List<String> lines = r.output().lines().filter(l -> !l.isBlank() && !l.startsWith(";")).map(String::trim).toList();
            assertEquals(7, lines.size(), r.output()); // SOA 2, SOA 1, two gone, SOA 2, one new, SOA 2
            assertTrue(lines.get(0).contains("SOA") && lines.get(0).contains(" 2 "), r.output());
            assertTrue(lines.get(1).contains("SOA") && lines.get(1).contains(" 1 "), r.output());
            assertTrue(lines.get(2).contains("192.0.2.10") && lines.get(5).contains("192.0.2.20"), r.output());
        } finally {
            s.close();
        }
    }
}
