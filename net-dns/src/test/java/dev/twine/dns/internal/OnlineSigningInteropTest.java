package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Service;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code twine dns --sign KEYDIR} checked by tools nobody here wrote: {@code delv} validates
 * positive, NXDOMAIN and NODATA answers from the KSK as trust anchor, with keys made by BIND's
 * {@code dnssec-keygen} (ECDSA KSK and ZSK, NSEC; an ED25519 CSK, NSEC3) and with keys made by
 * Twine's {@link KeyFiles}; {@code ldns-verify-zone} checks the signed zone as AXFR brings it out.
 * (A referral is not asked: delv sends every query to the one server given, so it cannot follow
 * one; the DS question at the cut proves the delegation unsigned instead.)
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class OnlineSigningInteropTest {
    @TempDir
    Path dir;

    private Service serve(Path keys, boolean nsec3) throws Exception {
        Path zone = dir.resolve("signed.test.zone");
        Files.writeString(zone, OnlineSigningTest.ZONE);
        Map<String, List<String>> args = new java.util.HashMap<>(Map.of("--zone", List.of(zone.toString()),
                "--sign", List.of(keys.toString()), "--allow-transfer", List.of("127.0.0.1"),
                "--listen", List.of("udp:0:interface=127.0.0.1", "tcp:0:interface=127.0.0.1")));
        if (nsec3) {
            args.put("--sign-nsec3", List.of());
        }
        Service twine = new DnsPlugin().create(Peers.args(args));
        twine.start();
        return twine;
    }

    /** delv's verdict for each question, with the KSK (the .key file with flags 257) as the anchor. */
    private List<String> validate(Service twine, Path keys) throws Exception {
        Path delv = Peers.require("delv", "bind9-dnsutils");
        String ksk = null;
        try (var files = Files.newDirectoryStream(keys, "*.key")) {
            for (Path f : files) {
                for (String line : Files.readAllLines(f)) {
                    String[] w = line.split("\\s+", 7);
                    if (!line.startsWith(";") && w.length == 7 && w[2].equals("DNSKEY") && w[3].equals("257")) {
                        ksk = "257 3 " + w[5] + " \"" + w[6].replace(" ", "") + "\"";
                    }
                }
            }
        }
        assertTrue(ksk != null, "a KSK in " + keys);
        Path anchor = dir.resolve("anchor.conf");
        Files.writeString(anchor, "trust-anchors {\n  signed.test. static-key " + ksk + ";\n};\n");
        int port = twine.bindings().get(0).port();
        List<String> out = new ArrayList<>();
        for (String[] q : new String[][] {{"www.signed.test", "A"}, {"nothere.signed.test", "A"}, {"www.signed.test", "TXT"},
                {"b.c.signed.test", "A"}, {"x.wild.signed.test", "A"}, {"signed.test", "MX"}, {"sub.signed.test", "DS"}}) {
            Peers.Run r = Peers.run(30, List.of(delv.toString(), "@127.0.0.1", "-p", String.valueOf(port), "-a", anchor.toString(),
                    "+root=signed.test", q[0], q[1]));
            String verdict = r.output().lines().filter(l -> l.startsWith("; ") && !l.startsWith("; <<>>")).findFirst()
                    .orElse(r.output()).trim();
            out.add(q[0] + " " + q[1] + ": " + verdict);
        }
        return out;
    }

    private static void assertValid(List<String> verdicts) {
        for (String v : verdicts) {
            if (v.startsWith("nothere") || v.startsWith("www.signed.test TXT") || v.startsWith("b.c") || v.startsWith("sub.")) {
                // NXDOMAIN, NODATA, an empty non-terminal, and no DS at the unsigned delegation
                assertTrue(v.endsWith("; negative response, fully validated"), verdicts.toString());
            } else {
                assertTrue(v.endsWith("; fully validated"), verdicts.toString());
            }
        }
    }

    private Path bindKeys(String... keygenArgs) throws Exception {
        Path keygen = Peers.require("dnssec-keygen", "bind9-utils");
        Path keys = Files.createDirectories(dir.resolve("keys"));
        List<String> cmd = new ArrayList<>(List.of(keygen.toString(), "-q", "-K", keys.toString()));
        cmd.addAll(List.of(keygenArgs));
        cmd.add("signed.test");
        Peers.Run r = Peers.run(60, cmd);
        assertEquals(0, r.exit(), r.output());
        return keys;
    }

    /** Serves the zone signed with {@code keys}, has delv validate it and ldns-verify-zone check its AXFR. */
    private void check(Path keys, boolean nsec3) throws Exception {
        Service twine = serve(keys, nsec3);
        try {
            assertValid(validate(twine, keys));
            verifyZone(twine);
        } finally {
            twine.close();
        }
    }

    @Test
    void delvValidatesAZoneSignedWithDnssecKeygensKeys() throws Exception {
        Path keys = bindKeys("-a", "ECDSAP256SHA256", "-f", "KSK");
        bindKeys("-a", "ECDSAP256SHA256");
        check(keys, false);
    }

    @Test
    void delvValidatesAnEd25519CskWithNsec3() throws Exception {
        check(bindKeys("-a", "ED25519", "-f", "KSK"), true); // one key for everything: a CSK
    }

    @Test
    void delvValidatesAZoneSignedWithTwinesOwnKeys() throws Exception {
        Path keys = Files.createDirectories(dir.resolve("twine-keys"));
        KeyFiles.generate(keys, "signed.test", "ecdsap256sha256", true, Instant.now());
        KeyFiles.generate(keys, "signed.test", "ecdsap256sha256", false, Instant.now());
        check(keys, false);
    }

    /** ldns-verify-zone on the zone as AXFR takes it out of Twine (dig's output is a master file). */
    private void verifyZone(Service twine) throws Exception {
        Path verify = Peers.require("ldns-verify-zone", "ldnsutils");
        Path dig = Peers.require("dig", "dnsutils");
        Peers.Run axfr = Peers.run(30, List.of(dig.toString(), "@127.0.0.1", "-p", String.valueOf(twine.bindings().get(0).port()),
                "+nocmd", "+nostats", "+onesoa", "signed.test", "AXFR"));
        Path file = dir.resolve("axfr.zone");
        Files.writeString(file, axfr.output().lines().filter(l -> !l.startsWith(";") && !l.isBlank())
                .reduce("", (a, b) -> a + b + "\n"));
        Peers.Run r = Peers.run(60, List.of(verify.toString(), file.toString()));
        assertEquals(0, r.exit(), "ldns-verify-zone: " + r.output() + "\n" + Files.readString(file));
    }
}
