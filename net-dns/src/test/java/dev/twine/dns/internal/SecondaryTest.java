package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.ManualClock;
import dev.twine.dns.DnsServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.Type;

/**
 * A secondary zone kept current from a primary (a Twine server on loopback): AXFR first, IXFR
 * after, the SOA timers on a manual clock (refresh, retry, expire to SERVFAIL), the stored copy
 * served after a restart, NOTIFY from the primary only, TSIG. Each refresh is one {@code step()}
 * on the test's thread; answers are read through the in-memory request path.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SecondaryTest {
    static final Name ORIGIN = Name.fromConstantString("sec.test.");
    static final String SECRET = "q1Wr2f0lAXh4CWbwhS0KWkzCBo4hJIcu0zKq0F/FZlk=";

    @TempDir
    Path dir;

    Path primaryFile;
    Path store;
    int primaryPort;
    DnsServer primary;
    ManualClock clock = ManualClock.create();
    ZoneAuthority zones;
    Secondary secondary;
    Responder dns;

    /** Refresh 1 h, retry 10 min, expire 2 h. */
    static String zone(int serial, String www) {
        return """
                $ORIGIN sec.test.
                $TTL 300
                @ IN SOA ns1 hostmaster %d 3600 600 7200 60
                  IN NS ns1
                ns1 IN A 192.0.2.1
                www IN A %s
                """.formatted(serial, www);
    }

    @BeforeEach
    void setUp() throws Exception {
        primaryFile = dir.resolve("primary.zone");
        Files.writeString(primaryFile, zone(1, "192.0.2.10"));
        store = dir.resolve("store");
        Files.createDirectories(store);
        primaryPort = NsdInteropTest.freePort();
    }

    @AfterEach
    void tearDown() {
        if (primary != null) {
            primary.close();
        }
    }

    private void startPrimary(boolean tsig) throws Exception {
        DnsServer.Builder b = DnsServer.builder().zone(primaryFile).listen("udp:" + primaryPort + ":interface=127.0.0.1")
                .listen("tcp:" + primaryPort + ":interface=127.0.0.1").allowTransfer(InetAddress.getLoopbackAddress());
        if (tsig) {
            b.transferKeys(keys());
        }
        primary = b.build();
        primary.start();
    }

    private Path keys() throws Exception {
        Path keys = dir.resolve("keys.conf");
        Files.writeString(keys, "key \"sec-key\" { algorithm hmac-sha256; secret \"" + SECRET + "\"; };\n");
        return keys;
    }

    /** A fresh secondary (as after a restart): reads the stored copy, if any, before anything else. */
    private void secondary(TSIG key) throws Exception {
        zones = new ZoneAuthority(List.of(), List.of(ORIGIN));
        secondary = new Secondary(ORIGIN, new InetSocketAddress("127.0.0.1", primaryPort), key,
                Secondary.fileIn(store, ORIGIN), zones, clock, Duration.ofSeconds(2), () -> { });
        dns = TestZones.responder(zones).withSecondaries(List.of(secondary));
    }

    private static TSIG key() {
        return new TSIG(TSIG.HMAC_SHA256, Name.fromConstantString("sec-key."), java.util.Base64.getDecoder().decode(SECRET));
    }

    /** What the secondary answers for www.sec.test A: the address, or the rcode's name. */
    private String www() throws Exception {
        Message m = TestZones.udp(dns, "www.sec.test.", Type.A);
        if (m.getRcode() != Rcode.NOERROR) {
            return Rcode.string(m.getRcode());
        }
        assertTrue(m.getHeader().getFlag(Flags.AA), m.toString());
        return TestZones.rdata(m, Section.ANSWER, Type.A).toString();
    }

    private void change(int serial, String www) throws Exception {
        Files.writeString(primaryFile, zone(serial, www));
        primary.reload();
    }

    @Test
    void axfrAtStartThenIxfrWhenThePrimarysSerialGrows() throws Exception {
        startPrimary(false);
        secondary(null);
        assertEquals("SERVFAIL", www(), "configured but not transferred yet");
        secondary.step();
        assertEquals("[192.0.2.10]", www());
        assertEquals(1, secondary.serial());
        assertTrue(Files.readString(secondary.file()).contains("192.0.2.10"), "stored before it is served");

        change(2, "192.0.2.20");
        secondary.step();
        assertEquals("[192.0.2.10]", www(), "no check before the refresh interval");
        clock.advance(Duration.ofSeconds(3600));
        secondary.step();
        assertEquals("[192.0.2.20]", www(), "the refresh found serial 2 and fetched the difference");
        assertEquals(2, secondary.serial());
        Zone stored = Zone.load(secondary.file());
        assertEquals(2, stored.soa().getSerial());
        assertEquals(zones.current().find(ORIGIN).records().size(), stored.records().size());

        // served like any zone: IXFR out of the secondary from its own journal
        Message ixfr = Message.newQuery(Record.newRecord(ORIGIN, Type.IXFR, DClass.IN));
        ixfr.addRecord(new org.xbill.DNS.SOARecord(ORIGIN, DClass.IN, 0, Name.fromConstantString("ns1.sec.test."),
                Name.fromConstantString("hostmaster.sec.test."), 1, 0, 0, 0, 0), Section.AUTHORITY);
        List<Record> out = new Message(dns.answerTcp(ixfr.toWire(), TestZones.CLIENT).get(0)).getSection(Section.ANSWER);
        assertEquals(6, out.size(), out.toString()); // SOA 2, SOA 1, old A, SOA 2, new A, SOA 2
    }

    @Test
    void anOlderOrEqualSerialIsNotTransferred() throws Exception {
        startPrimary(false);
        secondary(null);
        secondary.step();
        Files.writeString(primaryFile, zone(1, "192.0.2.99")); // changed without raising the serial
        primary.reload();
        clock.advance(Duration.ofSeconds(3600));
        secondary.step();
        assertEquals("[192.0.2.10]", www(), "RFC 1982: only a newer serial is fetched");
    }

    @Test
    void primaryDownRetriesThenExpiresToServfailAndRecovers() throws Exception {
        startPrimary(false);
        secondary(null);
        secondary.step();
        primary.close();
        clock.advance(Duration.ofSeconds(3600));
        secondary.step(); // the refresh fails: retry in 600 s
        assertEquals("[192.0.2.10]", www(), "still served until the expiry");
        clock.advance(Duration.ofSeconds(599));
        startPrimary(false);
        change(2, "192.0.2.20");
        secondary.step();
        assertEquals("[192.0.2.10]", www(), "the retry is not due yet");
        clock.advance(Duration.ofSeconds(1));
        secondary.step();
        assertEquals("[192.0.2.20]", www(), "the retry fetched the new version");

        primary.close();
        clock.advance(Duration.ofSeconds(7199));
        secondary.step();
        assertEquals("[192.0.2.20]", www());
        clock.advance(Duration.ofSeconds(1));
        secondary.step();
        assertEquals("SERVFAIL", www(), "RFC 1034 §4.3.5: expired two hours after the last good refresh");
        Message ns = TestZones.udp(dns, "sec.test.", Type.NS);
        assertEquals(Rcode.SERVFAIL, ns.getRcode());

        startPrimary(false);
        clock.advance(Duration.ofSeconds(600));
        secondary.step();
        assertEquals("[192.0.2.20]", www(), "served again once the primary answers");
    }

    @Test
    void aRestartServesTheStoredCopyAtOnceUntilItExpires() throws Exception {
        startPrimary(false);
        secondary(null);
        secondary.step();
        primary.close();

        secondary(null); // restarted, primary unreachable
        assertEquals("[192.0.2.10]", www(), "served from disk before any refresh");
        clock.advance(Duration.ofSeconds(7200));
        secondary(null); // restarted after the expiry counted from the stored copy's last refresh
        assertEquals("SERVFAIL", www());
    }

    @Test
    void ixfrAnsweredWithTheWholeZoneIsTakenAsAxfr() throws Exception {
        startPrimary(false);
        secondary(null);
        secondary.step();
        primary.close();
        Files.writeString(primaryFile, zone(5, "192.0.2.50") + "new IN TXT \"after a restart\"\n");
        startPrimary(false); // a restarted primary has no journal: IXFR gets the zone in AXFR form
        clock.advance(Duration.ofSeconds(3600));
        secondary.step();
        assertEquals("[192.0.2.50]", www());
        assertEquals(List.of("\"after a restart\""), TestZones.rdata(TestZones.udp(dns, "new.sec.test.", Type.TXT), Section.ANSWER, Type.TXT));
    }

    /** A NOTIFY for the zone as {@code key} signs it (or unsigned), sent from {@code from}. */
    private Message notify(String from, TSIG key) throws Exception {
        Message m = new Message();
        m.getHeader().setOpcode(Opcode.NOTIFY);
        m.getHeader().setFlag(Flags.AA);
        m.getHeader().setID(77);
        m.addRecord(Record.newRecord(ORIGIN, Type.SOA, DClass.IN), Section.QUESTION);
        if (key != null) {
            key.apply(m, null);
        }
        return new Message(dns.answerUdp(m.toWire(), InetAddress.getByName(from)).orElseThrow());
    }

    @Test
    void notifyFromThePrimaryTriggersACheckAndOthersAreRefused() throws Exception {
        startPrimary(false);
        secondary(null);
        secondary.step();
        change(2, "192.0.2.20");

        Message stranger = notify("192.0.2.66", null);
        assertEquals(Rcode.REFUSED, stranger.getRcode());
        secondary.step();
        assertEquals("[192.0.2.10]", www(), "a NOTIFY from another address changes nothing");

        Message ok = notify("127.0.0.1", null);
        assertEquals(Rcode.NOERROR, ok.getRcode());
        assertEquals(Opcode.NOTIFY, ok.getHeader().getOpcode());
        assertTrue(ok.getHeader().getFlag(Flags.AA) && ok.getHeader().getFlag(Flags.QR), ok.toString());
        secondary.step();
        assertEquals("[192.0.2.20]", www(), "RFC 1996 §3.11: checked at once, long before the refresh");

        Message q = Message.newQuery(Record.newRecord(Name.fromConstantString("other.test."), Type.SOA, DClass.IN));
        q.getHeader().setOpcode(Opcode.NOTIFY);
        assertEquals(Rcode.NOTAUTH, new Message(dns.answerUdp(q.toWire(), InetAddress.getLoopbackAddress()).orElseThrow()).getRcode(),
                "not one of our secondaries");
    }

    @Test
    void tsigSignsTheChecksAndTransfersAndIsRequiredOnNotify() throws Exception {
        startPrimary(true);
        secondary(null);
        secondary.step();
        assertEquals("SERVFAIL", www(), "the primary requires TSIG: an unsigned secondary gets nothing");

        secondary(key());
        secondary.step();
        assertEquals("[192.0.2.10]", www());
        change(2, "192.0.2.20");
        assertEquals(Rcode.NOTAUTH, notify("127.0.0.1", null).getRcode(), "unsigned NOTIFY when a key is configured");
        TSIG wrong = new TSIG(TSIG.HMAC_SHA256, Name.fromConstantString("sec-key."), new byte[32]);
        assertEquals(Rcode.NOTAUTH, notify("127.0.0.1", wrong).getRcode(), "bad MAC");
        secondary.step();
        assertEquals("[192.0.2.10]", www());
        Message ok = notify("127.0.0.1", key());
        assertEquals(Rcode.NOERROR, ok.getRcode());
        assertTrue(ok.getTSIG() != null && ok.getTSIG().getName().equals(Name.fromConstantString("sec-key.")), "the answer is signed with the same key");
        secondary.step();
        assertEquals("[192.0.2.20]", www(), "signed IXFR");
    }

    @Test
    void serverKeepsItCurrentInTheBackgroundOnNotify() throws Exception {
        startPrimary(false);
        int secondaryPort = NsdInteropTest.freePort();
        primary.close();
        primary = DnsServer.builder().zone(primaryFile).listen("udp:" + primaryPort + ":interface=127.0.0.1")
                .listen("tcp:" + primaryPort + ":interface=127.0.0.1").allowTransfer(InetAddress.getLoopbackAddress())
                .notifySecondary(new InetSocketAddress("127.0.0.1", secondaryPort)).build();
        primary.start();
        DnsServer sec = DnsServer.builder().secondary("sec.test", new InetSocketAddress("127.0.0.1", primaryPort))
                .secondaryDirectory(store).clock(clock).listen("udp:" + secondaryPort + ":interface=127.0.0.1")
                .listen("tcp:" + secondaryPort + ":interface=127.0.0.1").allowTransfer(InetAddress.getLoopbackAddress()).build();
        sec.start();
        try {
            dns = null;
            assertEquals("[192.0.2.10]", awaitWww(sec, "[192.0.2.10]"), "the first transfer, at start");
            change(2, "192.0.2.20"); // the primary NOTIFYs the secondary, whose clock never moves
            assertEquals("[192.0.2.20]", awaitWww(sec, "[192.0.2.20]"), "after NOTIFY");
        } finally {
            sec.close();
        }
    }

    /** Asks {@code s} through its datagram handler until it answers {@code expected} (at most 20 s). */
    private static String awaitWww(DnsServer s, String expected) throws Exception {
        String last = "";
        for (int i = 0; i < 200; i++) {
            byte[] q = TestZones.query("www.sec.test.", Type.A, 1232);
            InetSocketAddress client = new InetSocketAddress("127.0.0.1", 5555);
            Message m = new Message(s.datagramHandler().handle(new dev.twine.core.Datagram(q, client, client)).orElseThrow());
            last = m.getRcode() != Rcode.NOERROR ? Rcode.string(m.getRcode()) : TestZones.rdata(m, Section.ANSWER, Type.A).toString();
            if (last.equals(expected)) {
                return last;
            }
            Thread.sleep(100);
        }
        return last;
    }

    @Test
    void builderAndPluginChecks() throws Exception {
        IllegalStateException noDir = assertThrows(IllegalStateException.class, () -> DnsServer.builder()
                .secondary("sec.test", new InetSocketAddress("127.0.0.1", 53)).listen("udp:0").build());
        assertEquals("secondaryDirectory(...) is required with secondary(...)", noDir.getMessage());
        IllegalArgumentException pairs = assertThrows(IllegalArgumentException.class, () -> new DnsPlugin().create(
                Peers.args(Map.of("--secondary", List.of("sec.test", "b.test"), "--primary", List.of("127.0.0.1:53")))));
        assertTrue(pairs.getMessage().contains("--secondary and --primary go in pairs"), pairs.getMessage());
        IllegalArgumentException noDirFlag = assertThrows(IllegalArgumentException.class, () -> new DnsPlugin().create(
                Peers.args(Map.of("--secondary", List.of("sec.test"), "--primary", List.of("127.0.0.1:53")))));
        assertTrue(noDirFlag.getMessage().contains("--secondary-dir"), noDirFlag.getMessage());
        IllegalArgumentException host = assertThrows(IllegalArgumentException.class, () -> new DnsPlugin().create(
                Peers.args(Map.of("--secondary", List.of("sec.test"), "--primary", List.of("primary.example:53"),
                        "--secondary-dir", List.of(store.toString())))));
        assertTrue(host.getMessage().contains("--primary"), host.getMessage());
        IllegalArgumentException keyless = assertThrows(IllegalArgumentException.class, () -> new DnsPlugin().create(
                Peers.args(Map.of("--secondary", List.of("sec.test"), "--primary", List.of("127.0.0.1:53:key=sec-key"),
                        "--secondary-dir", List.of(store.toString())))));
        assertTrue(keyless.getMessage().contains("--tsig-keys"), keyless.getMessage());
        IllegalArgumentException nothing = assertThrows(IllegalArgumentException.class, () -> new DnsPlugin().create(Peers.args(Map.of())));
        assertEquals("--zone or --secondary is required", nothing.getMessage());
        // a good configuration builds, the key found in the keys file
        var ok = new DnsPlugin().create(Peers.args(Map.of("--secondary", List.of("sec.test"),
                "--primary", List.of("127.0.0.1:" + primaryPort + ":key=sec-key"), "--tsig-keys", List.of(keys().toString()),
                "--secondary-dir", List.of(store.toString()))));
        ok.close();
        assertFalse(Files.exists(Secondary.fileIn(store, ORIGIN)), "nothing stored before a transfer");
    }
}
