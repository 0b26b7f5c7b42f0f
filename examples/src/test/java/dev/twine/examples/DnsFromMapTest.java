package dev.twine.examples;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** DnsFromMap asked by dig over UDP and TCP while the map changes under it. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DnsFromMapTest {
    DnsFromMap.Running running;
    String dig;

    @BeforeEach
    void start() throws Exception {
        dig = ExamplePeers.require("/usr/bin/dig");
        running = DnsFromMap.start("127.0.0.1", 0);
    }

    @AfterEach
    void stop() {
        if (running != null) {
            running.server().close();
        }
    }

    /** dig's full output for one question, over UDP or TCP. */
    String dig(String name, String type, boolean tcp) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(dig, "@127.0.0.1", "-p", String.valueOf(running.server().port()),
                "+norec", "+tries=1", "+time=5", tcp ? "+tcp" : "+notcp", name, type));
        ExamplePeers.Run r = ExamplePeers.run(cmd, null, Duration.ofSeconds(30));
        assertTrue(r.exit() == 0, r.toString());
        return r.out();
    }

    static boolean has(String out, String regex) {
        return Pattern.compile(regex, Pattern.MULTILINE).matcher(out).find();
    }

    @Test
    void answersFromTheMapAndSeesEachChange() throws Exception {
        running.names().put("web.svc.local", InetAddress.getByName("127.0.0.10"));
        for (boolean tcp : new boolean[] {false, true}) {
            String out = dig("web.svc.local", "A", tcp);
            assertTrue(out.contains("status: NOERROR"), out);
            assertTrue(out.contains("flags: qr aa;"), out);
            assertTrue(has(out, "^web\\.svc\\.local\\.\\s+5\\s+IN\\s+A\\s+127\\.0\\.0\\.10$"), out);
        }
        running.names().put("web.svc.local", InetAddress.getByName("127.0.0.11"));
        String changed = dig("WEB.svc.local", "A", false);
        assertTrue(has(changed, "^WEB\\.svc\\.local\\.\\s+5\\s+IN\\s+A\\s+127\\.0\\.0\\.11$"), changed);
        running.names().put("v6.svc.local", InetAddress.getByName("::1"));
        String v6 = dig("v6.svc.local", "AAAA", false);
        assertTrue(has(v6, "^v6\\.svc\\.local\\.\\s+5\\s+IN\\s+AAAA\\s+::1$"), v6);
        String nodata = dig("v6.svc.local", "A", false);
        assertTrue(nodata.contains("status: NOERROR") && nodata.contains("ANSWER: 0"), nodata);
    }

    @Test
    void anUnknownNameInTheZoneIsNxdomainWithTheSoa() throws Exception {
        String out = dig("nobody.svc.local", "A", false);
        assertTrue(out.contains("status: NXDOMAIN"), out);
        assertTrue(has(out, "^svc\\.local\\.\\s+10\\s+IN\\s+SOA\\s+ns\\.svc\\.local\\. hostmaster\\.svc\\.local\\. 1 "), out);
        running.names().put("nobody.svc.local", InetAddress.getByName("127.0.0.12"));
        assertTrue(dig("nobody.svc.local", "A", false).contains("status: NOERROR"));
    }

    @Test
    void aNameOutsideTheZoneIsRefused() throws Exception {
        String out = dig("www.example.com", "A", false);
        assertTrue(out.contains("status: REFUSED"), out);
        assertFalse(out.contains("ANSWER SECTION"), out);
    }
}
