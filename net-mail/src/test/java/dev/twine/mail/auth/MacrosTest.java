package dev.twine.mail.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.twine.dns.Resolver;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** The macro examples of RFC 7208 §7.4, for strong-bad@email.example.com from 192.0.2.3 and 2001:db8::cb01. */
class MacrosTest {
    private static final Resolver NOWHERE = Resolver.builder().server("127.0.0.1", 9).build();

    private static String expand(String ip, String text, boolean exp) throws Exception {
        Spf.Evaluation e = new Spf.Evaluation(NOWHERE, InetAddress.getByName(ip), "strong-bad@email.example.com",
                "mx.example.org", System.nanoTime() + 1_000_000_000L);
        return new Macros(e, "email.example.com").expand(text, exp);
    }

    @Test
    void theRfcExamplesExpandAsTheRfcSays() throws Exception {
        assertEquals("strong-bad@email.example.com", expand("192.0.2.3", "%{s}", false));
        assertEquals("email.example.com", expand("192.0.2.3", "%{o}", false));
        assertEquals("email.example.com", expand("192.0.2.3", "%{d}", false));
        assertEquals("email.example.com", expand("192.0.2.3", "%{d4}", false));
        assertEquals("email.example.com", expand("192.0.2.3", "%{d3}", false));
        assertEquals("example.com", expand("192.0.2.3", "%{d2}", false));
        assertEquals("com", expand("192.0.2.3", "%{d1}", false));
        assertEquals("com.example.email", expand("192.0.2.3", "%{dr}", false));
        assertEquals("example.email", expand("192.0.2.3", "%{d2r}", false));
        assertEquals("strong-bad", expand("192.0.2.3", "%{l}", false));
        assertEquals("strong.bad", expand("192.0.2.3", "%{l-}", false));
        assertEquals("strong-bad", expand("192.0.2.3", "%{lr}", false));
        assertEquals("bad.strong", expand("192.0.2.3", "%{lr-}", false));
        assertEquals("strong", expand("192.0.2.3", "%{l1r-}", false));
        assertEquals("3.2.0.192.in-addr._spf.example.com", expand("192.0.2.3", "%{ir}.%{v}._spf.%{d2}", false));
        assertEquals("bad.strong.lp._spf.example.com", expand("192.0.2.3", "%{lr-}.lp._spf.%{d2}", false));
        assertEquals("bad.strong.lp.3.2.0.192.in-addr._spf.example.com",
                expand("192.0.2.3", "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", false));
        assertEquals("3.2.0.192.in-addr.strong.lp._spf.example.com", expand("192.0.2.3", "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", false));
        assertEquals("example.com.trusted-domains.example.net", expand("192.0.2.3", "%{d2}.trusted-domains.example.net", false));
        assertEquals("1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com",
                expand("2001:db8::cb01", "%{ir}.%{v}._spf.%{d2}", false));
        assertEquals("mx.example.org", expand("192.0.2.3", "%{h}", false));
        assertEquals("strong-bad%40email.example.com", expand("192.0.2.3", "%{S}", false));
        assertEquals("% a%20b", expand("192.0.2.3", "%%%_a%-b", false));
        assertEquals("192.0.2.3 is not allowed", expand("192.0.2.3", "%{c} is not allowed", true));
    }

    @Test
    void badMacrosArePermanentErrors() {
        for (String bad : new String[] {"%{x}", "%{d0}", "%{c}", "%{d", "%", "%a", "%{l*}"}) {
            Spf.Evaluation.Stop s = assertThrows(Spf.Evaluation.Stop.class, () -> expand("192.0.2.3", bad, false), bad);
            assertEquals(AuthResult.PERMERROR, s.result);
        }
    }
}
