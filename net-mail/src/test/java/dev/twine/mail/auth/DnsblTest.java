package dev.twine.mail.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.twine.mail.smtp.MailDelivery;
import dev.twine.mail.smtp.SmtpException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** DNSBL checks against a list served by Twine's own DNS server (the RFC 5782 §5 test entries). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DnsblTest {
    @TempDir
    static Path dir;

    static DkimZone zone;
    static Dnsbl lists;

    @BeforeAll
    static void serve() throws Exception {
        zone = DkimZone.serve(dir, List.of(
                "2.0.0.127.bl IN A 127.0.0.2",
                "3.0.0.127.bl IN A 127.255.255.254",      // the list's "query refused" answer
                "4.0.0.127.bl IN A 10.0.0.1",             // not a listing answer
                "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl6 IN A 127.0.0.2",
                "9.0.0.127.second IN A 127.0.0.9"));
        lists = Dnsbl.builder().resolver(zone.resolver).zone("bl.example.org").zone("bl6.example.org")
                .zone("second.example.org.").build();
    }

    @AfterAll
    static void stop() {
        zone.close();
    }

    @Test
    void listedAddressesAreFoundByReversedOctetsOrNibbles() throws Exception {
        assertEquals(Optional.of("bl.example.org"), lists.listing(InetAddress.getByName("127.0.0.2")));
        assertEquals(Optional.of("second.example.org"), lists.listing(InetAddress.getByName("127.0.0.9")));
        assertEquals(Optional.of("bl6.example.org"), lists.listing(InetAddress.getByName("::1")));
        for (String notListed : List.of("127.0.0.1", "127.0.0.3", "127.0.0.4", "192.0.2.1", "2001:db8::1")) {
            assertEquals(Optional.empty(), lists.listing(InetAddress.getByName(notListed)), notListed);
        }
        assertEquals("2.0.0.127", Dnsbl.reversed(InetAddress.getByName("127.0.0.2")));
    }

    @Test
    void aListedClientIsRefusedAtRcptUnlessAuthenticated() throws Exception {
        MailDelivery<String> accept = new MailDelivery<>() {
            @Override
            public String recipient(Session session, String sender, String address) {
                return address;
            }

            @Override
            public void deliver(Envelope<String> envelope, java.io.InputStream message) {}
        };
        MailDelivery<String> checked = lists.over(accept);
        MailDelivery.Session listed = new MailDelivery.Session(new InetSocketAddress("127.0.0.2", 40000), "spammer",
                Optional.empty(), Optional.empty());
        SmtpException e = assertThrows(SmtpException.class, () -> checked.recipient(listed, "a@b.example", "alice@example.org"));
        assertEquals("554 5.7.1 Service unavailable; Client host [127.0.0.2] blocked using bl.example.org", e.reply().toString().strip());
        MailDelivery.Session clean = new MailDelivery.Session(new InetSocketAddress("192.0.2.1", 40000), "friend",
                Optional.empty(), Optional.empty());
        assertEquals("alice@example.org", checked.recipient(clean, "a@b.example", "alice@example.org"));
        MailDelivery.Session user = new MailDelivery.Session(new InetSocketAddress("127.0.0.2", 40000), "laptop",
                Optional.of(new dev.twine.core.auth.Principal("alice", "PLAIN")), Optional.empty());
        assertEquals("bob@example.net", checked.recipient(user, "alice@example.org", "bob@example.net"));
    }

    @Test
    void anUnreachableListIsNotAListing() throws Exception {
        Dnsbl down = Dnsbl.builder().resolver(dev.twine.dns.Resolver.builder().server("127.0.0.1", 9)
                .timeout(java.time.Duration.ofMillis(200)).attempts(1).build()).zone("bl.example.org").build();
        assertEquals(Optional.empty(), down.listing(InetAddress.getByName("127.0.0.2")));
        assertThrows(IllegalStateException.class, () -> Dnsbl.builder().resolver(zone.resolver).build());
        assertThrows(IllegalArgumentException.class, () -> Dnsbl.builder().zone("not a zone"));
    }
}
