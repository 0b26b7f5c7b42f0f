package dev.twine.mail.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Twine's SPF results beside python3-spf's (pyspf, Debian {@code python3-spf}, with dnspython
 * asking the same in-process Twine DnsServer): every {@link SpfZone#CASES case} must get the
 * same result from both, and the one RFC 7208 gives.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SpfInteropTest {
    static final String PYTHON = "/usr/bin/python3";
    /** Reads "ip TAB helo TAB mailfrom" lines; prints pyspf's result for each, one a line. */
    static final String CHECK = """
            import sys, dns.resolver, spf
            r = dns.resolver.Resolver(configure=False)
            r.nameservers = ['127.0.0.1']
            r.port = int(sys.argv[1])
            dns.resolver.default_resolver = r
            for line in sys.stdin.read().splitlines():
                ip, helo, sender = line.split('\\t')
                result, explanation = spf.check2(i=ip, s=sender, h=helo)
                print(result)
            """;

    @TempDir
    static Path dir;

    static DkimZone zone;

    @BeforeAll
    static void serve() throws Exception {
        AuthPeers.require(PYTHON);
        AuthPeers.requireFile("/usr/lib/python3/dist-packages/spf.py");
        zone = SpfZone.serve(dir, List.of());
    }

    @AfterAll
    static void stop() {
        if (zone != null) {
            zone.close();
        }
    }

    @Test
    void pyspfAndTwineGiveTheSameResultInEveryCase() throws Exception {
        Path script = Files.writeString(dir.resolve("check.py"), CHECK);
        StringBuilder input = new StringBuilder();
        for (SpfZone.Case c : SpfZone.CASES) {
            input.append(c.ip()).append('\t').append(c.helo()).append('\t').append(c.mailFrom()).append('\n');
        }
        AuthPeers.Run run = AuthPeers.run(List.of(PYTHON, script.toString(), String.valueOf(zone.port())),
                input.toString().getBytes(StandardCharsets.UTF_8));
        assertEquals(0, run.exit(), run.toString());
        List<String> theirs = run.text().lines().toList();
        assertEquals(SpfZone.CASES.size(), theirs.size(), run.toString());
        Spf spf = Spf.builder().resolver(zone.resolver).build();
        List<String> differ = new ArrayList<>();
        for (int i = 0; i < theirs.size(); i++) {
            SpfZone.Case c = SpfZone.CASES.get(i);
            String ours = spf.check(InetAddress.getByName(c.ip()), c.helo(), c.mailFrom()).result().token();
            String expected = c.expected().token();
            if (!ours.equals(expected) || !theirs.get(i).toLowerCase(Locale.ROOT).equals(expected)) {
                differ.add(c.name() + ": expected " + expected + ", Twine " + ours + ", pyspf " + theirs.get(i));
            }
        }
        assertEquals(List.of(), differ);
    }
}
