package dev.twine.xmpp.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.xmpp.Element;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** XEP-0115 §5 verification strings, checked against the specification's own two examples. */
class EntityCapsTest {
    private static final String DISCO = "http://jabber.org/protocol/disco#info";
    private static final String DATA = "jabber:x:data";

    private static Element identity(String category, String type, String lang, String name) {
        Element e = Element.of("identity", DISCO).withAttribute("category", category).withAttribute("type", type).withAttribute("name", name);
        return lang.isEmpty() ? e : e.withAttribute("xml:lang", lang);
    }

    private static Element query(Element... children) {
        Element q = Element.of("query", DISCO);
        for (Element c : children) {
            q = q.withChild(c);
        }
        return q;
    }

    private static Element feature(String var) {
        return Element.of("feature", DISCO).withAttribute("var", var);
    }

    private static Element field(String var, String... values) {
        Element f = Element.of("field", DATA).withAttribute("var", var);
        if (var.equals("FORM_TYPE")) {
            f = f.withAttribute("type", "hidden");
        }
        for (String v : values) {
            f = f.withChild(Element.of("value", DATA).withText(v));
        }
        return f;
    }

    @Test
    void theSimpleExampleHashesToItsVer() {
        Element q = query(identity("client", "pc", "", "Exodus 0.9.1"), feature("http://jabber.org/protocol/disco#info"),
                feature("http://jabber.org/protocol/disco#items"), feature("http://jabber.org/protocol/muc"),
                feature("http://jabber.org/protocol/caps"));
        assertEquals(Optional.of("QgayPKawpkPSDYmwT/WM94uAlu0="), EntityCaps.verification(q, "sha-1"));
    }

    @Test
    void theComplexExampleWithLanguagesAndASoftwareFormHashesToItsVer() {
        Element form = Element.of("x", DATA).withAttribute("type", "result")
                .withChild(field("FORM_TYPE", "urn:xmpp:dataforms:softwareinfo"))
                .withChild(field("ip_version", "ipv4", "ipv6")).withChild(field("os", "Mac")).withChild(field("os_version", "10.5.1"))
                .withChild(field("software", "Psi")).withChild(field("software_version", "0.11"));
        Element q = query(identity("client", "pc", "en", "Psi 0.11"), identity("client", "pc", "el", "Ψ 0.11"),
                feature("http://jabber.org/protocol/caps"), feature("http://jabber.org/protocol/disco#info"),
                feature("http://jabber.org/protocol/disco#items"), feature("http://jabber.org/protocol/muc"), form);
        assertEquals(Optional.of("q07IKJEyjvHSyhy//CH0CxmKi8w="), EntityCaps.verification(q, "sha-1"));
    }

    @Test
    void duplicatesAndUnknownHashesVerifyNothingAndOnlyAMatchingVerIsCached() {
        Element dup = query(identity("client", "pc", "", "x"), feature("a"), feature("a"));
        assertEquals(Optional.empty(), EntityCaps.verification(dup, "sha-1"));
        assertEquals(Optional.empty(), EntityCaps.verification(query(feature("a")), "md2"));
        EntityCaps caps = new EntityCaps(2);
        Element q = query(identity("client", "pc", "", "x"), feature("urn:n+notify"), feature("urn:m"));
        String ver = EntityCaps.verification(q, "sha-256").orElseThrow();
        assertEquals(Set.of("urn:n"), caps.learn("sha-256", "not-the-ver", q));
        assertTrue(caps.known("sha-256", "not-the-ver").isEmpty());
        caps.learn("sha-256", ver, q);
        assertEquals(Optional.of(Set.of("urn:n")), caps.known("sha-256", ver));
        assertTrue(caps.known("sha-1", ver).isEmpty(), "the key is the algorithm and the ver");
    }
}
