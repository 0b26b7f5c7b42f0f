package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.dns.DnsServer;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.xbill.DNS.TSIG;
import org.xbill.DNS.Type;

/** TSIG (RFC 8945) on zone transfers: the key file, refusals, and signed answers that verify. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TsigTest {
    private static final String SECRET = "q1Wr2f0lAXh4CWbwhS0KWkzCBo4hJIcu0zKq0F/FZlk=";

    @TempDir
    Path dir;

    Path keys;
    Responder dns;

    @BeforeEach
    void load() throws Exception {
        TestZones.copyTo(dir);
        keys = dir.resolve("keys.conf");
        Files.writeString(keys, """
                # made by tsig-keygen
                key "xfr.example" {
                	algorithm hmac-sha256;
                	secret "%s";
                };
                /* a second one */ key other { algorithm hmac-sha512; secret "c2VjcmV0"; }; // trailing
                """.formatted(SECRET));
        dns = TestZones.responder(TestZones.zones(dir)).requiringTsig(TsigKeys.load(keys));
    }

    private static Message axfr(TSIG key) throws Exception {
        Message q = Message.newQuery(Record.newRecord(Name.fromString("example.test."), Type.AXFR, DClass.IN));
        if (key != null) {
            key.apply(q, null);
        }
        return q;
    }

    @Test
    void signedTransferIsAnsweredAndSignedInTurn() throws Exception {
        TSIG key = new TSIG(TSIG.HMAC_SHA256, "xfr.example.", SECRET);
        Message q = axfr(key);
        byte[] wire = q.toWire();
        List<byte[]> out = dns.answerTcp(wire, TestZones.CLIENT);
        TSIG.StreamVerifier v = new TSIG.StreamVerifier(key, new Message(wire).getTSIG());
        for (byte[] m : out) {
            Message r = new Message(m);
            assertEquals(Rcode.NOERROR, r.getRcode());
            assertEquals(Rcode.NOERROR, v.verify(r, m), "each message's MAC verifies in sequence");
        }
        assertTrue(out.size() >= 1);
    }

    @Test
    void aTransferOfSeveralMessagesIsSignedAsOneStream() throws Exception {
        StringBuilder zone = new StringBuilder("$ORIGIN big.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 604800 60\n  IN NS ns1\n");
        for (int i = 0; i < 1500; i++) {
            zone.append("host").append(i).append(" IN TXT \"padding padding padding ").append(i).append("\"\n");
        }
        Path f = dir.resolve("big.test.zone");
        Files.writeString(f, zone);
        Responder big = TestZones.responder(new ZoneAuthority(List.of(f))).requiringTsig(TsigKeys.load(keys));
        TSIG key = new TSIG(TSIG.HMAC_SHA256, "xfr.example.", SECRET);
        Message q = Message.newQuery(Record.newRecord(Name.fromString("big.test."), Type.AXFR, DClass.IN));
        key.apply(q, null);
        byte[] wire = q.toWire();
        List<byte[]> out = big.answerTcp(wire, TestZones.CLIENT);
        assertTrue(out.size() > 2, "several messages: " + out.size());
        TSIG.StreamVerifier v = new TSIG.StreamVerifier(key, new Message(wire).getTSIG());
        int records = 0;
        for (byte[] m : out) {
            Message r = new Message(m);
            assertEquals(Rcode.NOERROR, v.verify(r, m));
            records += r.getSection(org.xbill.DNS.Section.ANSWER).size();
        }
        assertEquals(1500 + 3, records);
    }

    @Test
    void unsignedOrWronglySignedTransferIsNotauth() throws Exception {
        assertEquals(Rcode.NOTAUTH, new Message(dns.answerTcp(axfr(null).toWire(), TestZones.CLIENT).get(0)).getRcode());
        TSIG wrongSecret = new TSIG(TSIG.HMAC_SHA256, "xfr.example.", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0");
        assertEquals(Rcode.NOTAUTH, new Message(dns.answerTcp(axfr(wrongSecret).toWire(), TestZones.CLIENT).get(0)).getRcode());
        TSIG unknown = new TSIG(TSIG.HMAC_SHA256, "nobody.", SECRET);
        assertEquals(Rcode.NOTAUTH, new Message(dns.answerTcp(axfr(unknown).toWire(), TestZones.CLIENT).get(0)).getRcode());
        // the address list still applies first
        TSIG key = new TSIG(TSIG.HMAC_SHA256, "xfr.example.", SECRET);
        assertEquals(Rcode.REFUSED, new Message(dns.answerTcp(axfr(key).toWire(), InetAddress.getByName("192.0.2.9")).get(0))
                .getRcode());
    }

    @Test
    void badKeyFilesNameFileAndLine() throws Exception {
        Path bad = dir.resolve("bad.conf");
        Files.writeString(bad, "key \"a\" { algorithm hmac-sha256; secret \"" + SECRET + "\"; };\n\nkey \"b\" { algorithm hmac-md5; secret \"c2VjcmV0\"; };\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TsigKeys.load(bad));
        assertTrue(e.getMessage().startsWith(bad + ":3: key b: algorithm hmac-md5"), e.getMessage());
        Files.writeString(bad, "# nothing\nkey \"a\" { algorithm hmac-sha256; };\n");
        e = assertThrows(IllegalArgumentException.class, () -> TsigKeys.load(bad));
        assertTrue(e.getMessage().startsWith(bad + ":2: key a needs"), e.getMessage());
        Files.writeString(bad, "options { };\n");
        e = assertThrows(IllegalArgumentException.class, () -> TsigKeys.load(bad));
        assertTrue(e.getMessage().startsWith(bad + ":1: expected key"), e.getMessage());
    }

    @Test
    void digWithTheKeyTransfersAndVerifies() throws Exception {
        Path dig = Peers.require("dig", "dnsutils");
        DnsServer s = DnsServer.builder().zone(dir.resolve("example.test.zone")).listen("udp:0:interface=127.0.0.1")
                .listen("tcp:0:interface=127.0.0.1").allowTransfer(InetAddress.getByName("127.0.0.1")).transferKeys(keys).build();
        s.start();
        try {
            Peers.Run ok = Peers.run(30, List.of(dig.toString(), "@127.0.0.1", "-p", String.valueOf(s.port()),
                    "-y", "hmac-sha256:xfr.example:" + SECRET, "example.test", "AXFR"));
            assertTrue(ok.output().contains("XFR size:") && !ok.output().contains("verify"), ok.output());
            assertTrue(ok.output().contains("TSIG"), ok.output());
            Peers.Run none = Peers.run(30, List.of(dig.toString(), "@127.0.0.1", "-p", String.valueOf(s.port()),
                    "example.test", "AXFR"));
            assertTrue(none.output().contains("Transfer failed") || none.output().contains("NOTAUTH"), none.output());
        } finally {
            s.close();
        }
    }
}
