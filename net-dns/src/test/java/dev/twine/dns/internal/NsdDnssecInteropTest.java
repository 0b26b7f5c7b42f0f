package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Service;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * DNSSEC interop on zones signed by BIND's dnssec-signzone (one NSEC, one NSEC3 with opt-out):
 * NSD and Twine serve the same files and {@code dig +dnssec} must see the same status, AA bit,
 * answer and authority from both, query by query; then {@code delv} validates Twine's answers
 * from the zones' own keys as trust anchors, positive and negative.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NsdDnssecInteropTest {
    @TempDir
    static Path dir;

    static Process nsd;
    static int nsdPort;
    static Service twine;
    static int twinePort;
    static Path dig;

    static final String[] ZONES = {"nsec.test", "nsec3.test"};

    /** Names (relative to each zone) and types asked of both servers. */
    static final String[][] QUESTIONS = {
        {"www", "A"}, {"www", "AAAA"}, {"@", "MX"}, {"@", "DNSKEY"}, {"@", "SOA"}, {"@", "NS"}, {"alias", "A"},
        {"nothere", "A"}, {"no.such", "A"}, {"www", "TXT"}, {"b.c", "A"}, {"x.wild", "A"}, {"x.y.wild", "A"},
        {"x.wild", "TXT"}, {"host.secure", "A"}, {"secure", "DS"}, {"host.insecure", "A"}, {"insecure", "DS"},
        {"host.unsigned", "A"}, {"mail", "A"},
    };

    @BeforeAll
    static void start() throws Exception {
        Path nsdBin = Peers.require("nsd", "nsd");
        dig = Peers.require("dig", "dnsutils");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        StringBuilder zones = new StringBuilder();
        List<String> twineArgs = new ArrayList<>();
        for (String z : ZONES) {
            Path f = dir.resolve(z + ".zone");
            try (InputStream in = NsdDnssecInteropTest.class.getResourceAsStream("/zones/dnssec/" + z + ".zone")) {
                Files.copy(in, f);
            }
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
            zones.append("zone:\n  name: ").append(z).append("\n  zonefile: \"").append(f).append("\"\n");
            twineArgs.add(f.toString());
        }
        nsdPort = NsdInteropTest.freePort();
        Path conf = dir.resolve("nsd.conf");
        Files.writeString(conf, NsdInteropTest.nsdServer(dir, nsdPort, 1) + zones);
        nsd = new ProcessBuilder(nsdBin.toString(), "-d", "-c", conf.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("nsd.out").toFile()).start();
        twine = new DnsPlugin().create(Peers.args(Map.of("--zone", twineArgs,
                "--listen", List.of("udp:0:interface=127.0.0.1", "tcp:0:interface=127.0.0.1"))));
        twine.start();
        twinePort = twine.bindings().get(0).port();
        for (int i = 0; i < 100 && !Peers.dig(dig, nsdPort, "+norec", "nsec.test", "SOA").status().equals("NOERROR"); i++) {
            Thread.sleep(100);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (twine != null) {
            twine.close();
        }
        NsdInteropTest.stopNsd(nsd);
    }

    private static String name(String relative, String zone) {
        return relative.equals("@") ? zone : relative + "." + zone;
    }

    /**
     * What must agree: status, AA, answer and authority, lower-cased and sorted. NSD adds the apex
     * NS set (and its RRSIG) to the authority of positive answers, which Twine leaves out as a
     * minimal response (RFC 2181 §6.1): those lines are dropped from positive answers' authority,
     * the proofs that a wildcard answer carries are kept.
     */
    private static String view(int port, String name, String type, String zone) throws Exception {
        Peers.Dig d = Peers.dig(dig, port, "+norec", "+dnssec", "+bufsize=1232", name, type);
        assertTrue(d.raw().contains("flags: do;") || d.raw().contains(" do;"), "DO echoed: " + d.raw());
        List<String> answer = new ArrayList<>(d.section("ANSWER").stream().map(s -> s.toLowerCase(Locale.ROOT)).toList());
        List<String> authority = new ArrayList<>();
        for (String line : d.section("AUTHORITY")) {
            String l = line.toLowerCase(Locale.ROOT);
            String[] f = l.split("\\s+");
            boolean apexNs = f[0].equals(zone + ".") && (f[3].equals("ns") || f[3].equals("rrsig") && f[4].equals("ns"));
            if (!(apexNs && !answer.isEmpty() && d.status().equals("NOERROR"))) {
                authority.add(l);
            }
        }
        answer.sort(null);
        authority.sort(null);
        return "status=" + d.status() + " aa=" + d.flags().contains("aa") + " ad=" + d.flags().contains("ad")
                + "\nanswer=" + answer + "\nauthority=" + authority;
    }

    @Test
    void digPlusDnssecSeesTheSameFromNsdAndTwine() throws Exception {
        for (String zone : ZONES) {
            for (String[] q : QUESTIONS) {
                String n = name(q[0], zone);
                assertEquals(view(nsdPort, n, q[1], zone), view(twinePort, n, q[1], zone), n + " " + q[1]);
            }
        }
    }

    /**
     * delv, BIND's validating lookup tool, trusting each zone's KSK: Twine's answers validate
     * (positive, NXDOMAIN, NODATA, wildcard, empty non-terminal, CNAME), and delv's verdict on each
     * is the one it gives NSD's. The one answer that is not "fully validated" is the wildcard in
     * the opt-out zone: the NSEC3 covering its next closer name is opt-out, so an unsigned
     * delegation could hide there and delv calls it insecure, from NSD as from Twine.
     */
    @Test
    void delvValidatesTwinesAnswers() throws Exception {
        Path delv = Peers.require("delv", "bind9-dnsutils");
        for (String zone : ZONES) {
            Path anchor = dir.resolve(zone + ".anchor");
            Files.writeString(anchor, "trust-anchors {\n  " + zone + ". static-key " + kskText(zone) + ";\n};\n");
            for (String[] q : new String[][] {{"www", "A"}, {"nothere", "A"}, {"www", "TXT"}, {"x.wild", "A"},
                    {"b.c", "A"}, {"alias", "A"}, {"x.wild", "TXT"}, {"secure", "DS"}, {"@", "MX"}}) {
                String t = verdict(delv, twinePort, anchor, zone, name(q[0], zone), q[1]);
                assertEquals(verdict(delv, nsdPort, anchor, zone, name(q[0], zone), q[1]), t, zone + " " + q[0] + " " + q[1]);
                boolean optOutWildcard = zone.equals("nsec3.test") && q[0].equals("x.wild") && q[1].equals("A");
                assertTrue(optOutWildcard ? t.equals("; unsigned answer") : t.endsWith("fully validated"),
                        zone + " " + q[0] + " " + q[1] + ": " + t);
            }
        }
    }

    /** delv's verdict line ("; fully validated", "; unsigned answer", ...) on one query. */
    private static String verdict(Path delv, int port, Path anchor, String zone, String name, String type) throws Exception {
        Peers.Run r = Peers.run(30, List.of(delv.toString(), "@127.0.0.1", "-p", String.valueOf(port),
                "-a", anchor.toString(), "+root=" + zone, name, type));
        return r.output().lines().filter(l -> l.startsWith("; ") && !l.startsWith("; <<>>")).findFirst()
                .orElse(r.output()).trim();
    }

    /** The KSK of {@code zone} as delv's static-key wants it: flags, protocol, algorithm, quoted key. */
    private static String kskText(String zone) throws Exception {
        Peers.Dig plain = Peers.dig(dig, twinePort, "+norec", zone, "DNSKEY");
        for (String line : plain.section("ANSWER")) {
            String[] f = line.trim().split("\\s+", 8);
            if (f.length == 8 && f[3].equals("DNSKEY") && f[4].equals("257")) {
                return "257 3 13 \"" + f[7].replace(" ", "") + "\"";
            }
        }
        throw new AssertionError("no KSK for " + zone + ": " + plain.raw());
    }
}
