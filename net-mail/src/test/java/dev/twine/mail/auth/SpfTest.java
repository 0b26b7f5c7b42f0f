package dev.twine.mail.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.dns.Resolver;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.time.Duration;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** SPF (RFC 7208) against records served by Twine's own DNS server: each result, each mechanism, the limits. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SpfTest {
    @TempDir
    static Path dir;

    static DkimZone zone;
    static Spf spf;

    @BeforeAll
    static void serve() throws Exception {
        zone = SpfZone.serve(dir, List.of());
        spf = Spf.builder().resolver(zone.resolver).build();
    }

    @AfterAll
    static void stop() {
        zone.close();
    }

    @Test
    void everyCaseHasTheResultRfc7208Gives() throws Exception {
        List<String> wrong = new ArrayList<>();
        for (SpfZone.Case c : SpfZone.CASES) {
            SpfResult r = spf.check(InetAddress.getByName(c.ip()), c.helo(), c.mailFrom());
            if (r.result() != c.expected()) {
                wrong.add(c.name() + ": " + r);
            }
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void theResultsEntryNamesTheIdentityChecked() throws Exception {
        assertEquals("spf=pass reason=\"pass.example.org: ip4:192.0.2.0/24 matched\" smtp.mailfrom=user@pass.example.org",
                spf.check(InetAddress.getByName("192.0.2.10"), "client.example.org", "user@pass.example.org").resultsEntry());
        SpfResult helo = spf.check(InetAddress.getByName("192.0.2.10"), "helo.example.org", "");
        assertEquals("helo", helo.identity());
        assertTrue(helo.resultsEntry().endsWith(" smtp.helo=helo.example.org"), helo.resultsEntry());
    }

    @Test
    void aFailCarriesTheDomainsExplanationWithMacrosExpanded() throws Exception {
        SpfResult r = spf.check(InetAddress.getByName("192.0.2.10"), "client.example.org", "user@failexp.example.org");
        assertEquals(AuthResult.FAIL, r.result());
        assertEquals("192.0.2.10 is not one of failexp.example.org's senders", r.explanation());
        SpfResult plain = spf.check(InetAddress.getByName("192.0.2.10"), "client.example.org", "user@fail.example.org");
        assertTrue(plain.explanation().contains("does not authorise 192.0.2.10"), plain.explanation());
    }

    @Test
    void aResolverThatNeverAnswersOrTheTimeLimitIsTemperror() throws Exception {
        try (DatagramSocket silent = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            Spf unanswered = Spf.builder().resolver(Resolver.builder().server("127.0.0.1", silent.getLocalPort())
                    .timeout(Duration.ofMillis(100)).attempts(1).build()).build();
            SpfResult r = unanswered.check(InetAddress.getByName("192.0.2.10"), "client.example.org", "user@pass.example.org");
            assertEquals(AuthResult.TEMPERROR, r.result(), r.toString());
        }
        // the whole check's limit: over after its first lookup
        Spf hurried = Spf.builder().resolver(zone.resolver).timeout(Duration.ofNanos(1)).build();
        SpfResult r = hurried.check(InetAddress.getByName("192.0.2.10"), "client.example.org", "user@inc.example.org");
        assertEquals(AuthResult.TEMPERROR, r.result());
        assertEquals("time limit passed", r.reason());
    }

    @Test
    void aNullSenderWithAnAddressLiteralHeloIsNone() throws Exception {
        assertEquals(AuthResult.NONE, spf.check(InetAddress.getByName("192.0.2.10"), "[192.0.2.10]", "").result());
        assertEquals(AuthResult.NONE, spf.check(InetAddress.getByName("192.0.2.10"), "localhost", "").result());
    }
}
