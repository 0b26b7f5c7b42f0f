package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The server, an account, the group chat service and the file upload service advertise in {@code disco#info} only what
 * works (XEP-0030 §3; XEP-0479 asks for compliance "in disco#info only for what works"): every
 * feature listed is exercised here by a request it must answer without
 * {@code service-unavailable} or {@code feature-not-implemented}. A feature with no exercise in
 * {@link #EXERCISES} fails the test, so a new one cannot be advertised without a handler here.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AdvertisedFeaturesTest {
    private static final String INFO = "http://jabber.org/protocol/disco#info";

    /** Something a feature must do; it throws (an XmppException with the condition) if the server cannot. */
    private interface Exercise {
        void run(Fixture f, XmppClient alice, String target) throws Exception;
    }

    private static Exercise iq(String type, String name, String ns) {
        return (f, alice, target) -> alice.request(Element.of("iq", "jabber:client").withAttribute("type", type)
                .withAttribute("to", target).withChild(Element.of(name, ns)), Fixture.WAIT);
    }

    private static final Map<String, Exercise> EXERCISES = new LinkedHashMap<>();

    static {
        EXERCISES.put(INFO, iq("get", "query", INFO));
        EXERCISES.put("http://jabber.org/protocol/disco#items", iq("get", "query", "http://jabber.org/protocol/disco#items"));
        EXERCISES.put("urn:xmpp:ping", iq("get", "ping", "urn:xmpp:ping"));
        EXERCISES.put("jabber:iq:version", iq("get", "query", "jabber:iq:version"));
        EXERCISES.put("jabber:iq:roster", (f, alice, target) -> alice.roster(Fixture.WAIT));
        EXERCISES.put("urn:xmpp:carbons:2", (f, alice, target) -> alice.request(Element.of("iq", "jabber:client")
                .withAttribute("type", "set").withChild(Element.of("enable", "urn:xmpp:carbons:2")), Fixture.WAIT));
        EXERCISES.put("urn:xmpp:blocking", (f, alice, target) -> alice.request(Element.of("iq", "jabber:client")
                .withAttribute("type", "get").withChild(Element.of("blocklist", "urn:xmpp:blocking")), Fixture.WAIT));
        EXERCISES.put("urn:xmpp:mam:2", (f, alice, target) -> alice.request(Element.of("iq", "jabber:client")
                .withAttribute("type", "set").withAttribute("to", "alice@example.org")
                .withChild(Element.of("query", "urn:xmpp:mam:2")), Fixture.WAIT));
        // PEP (XEP-0163) on each account, and vcard-temp on the domain: PepTest knows how to use each
        for (String pubsub : List.of("access-open", "access-presence", "access-whitelist", "auto-create", "auto-subscribe",
                "config-node", "create-and-configure", "create-nodes", "delete-items", "delete-nodes",
                "filtered-notifications", "item-ids", "last-published", "persistent-items", "presence-notifications",
                "publish", "publish-options", "purge-nodes", "retract-items", "retrieve-items")) {
            String feature = "http://jabber.org/protocol/pubsub#" + pubsub;
            EXERCISES.put(feature, (f, alice, target) -> PepTest.exercise(f, alice, feature));
        }
        EXERCISES.put("vcard-temp", (f, alice, target) -> PepTest.exercise(f, alice, "vcard-temp"));
        EXERCISES.put("msgoffline", (f, alice, target) -> {
            alice.sendMessage(Jid.parse("carol@example.org"), "while you were away");
            XmppClient carol = f.login("carol", "c", Chunking.whole());
            carol.sendPresence(0);
            carol.await(ImTest.message("while you were away"), Fixture.WAIT).orElseThrow();
            carol.close();
        });
        EXERCISES.put("urn:xmpp:sid:0", (f, alice, target) -> {
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            alice.sendMessage(Jid.parse("bob@example.org/b"), "with an id");
            Element m = bob.await(ImTest.message("with an id"), Fixture.WAIT).orElseThrow();
            assertTrue(m.child("stanza-id", "urn:xmpp:sid:0").isPresent(), m.toXml());
            bob.close();
        });
        // the group chat service's own (XEP-0045 §6.1): joining and leaving a room
        EXERCISES.put("http://jabber.org/protocol/muc", (f, alice, target) -> {
            alice.send(MucTest.presence("probe@" + target + "/Alice").withChild(Element.of("x", MucTest.MUC)));
            Element self = alice.await(e -> e.name().equals("presence") && e.attributeOrEmpty("from").startsWith("probe@"), Fixture.WAIT)
                    .orElseThrow();
            assertFalse(self.attributeOrEmpty("type").equals("error"), self.toXml());
            alice.send(MucTest.presence("probe@" + target + "/Alice").withAttribute("type", "unavailable"));
            alice.await(e -> e.name().equals("presence") && e.attributeOrEmpty("type").equals("unavailable"), Fixture.WAIT).orElseThrow();
        });
    }

    static {
        // the file upload service's (XEP-0363 §4): a slot with a PUT URL
        EXERCISES.put(UploadTest.NS, (f, alice, target) -> assertTrue(alice.request(UploadTest.request("probe.txt", 1, "text/plain"),
                Fixture.WAIT).child("slot", UploadTest.NS).orElseThrow().child("put", UploadTest.NS).isPresent()));
    }

    private static List<String> features(XmppClient c, String target) throws Exception {
        Element r = c.request(Element.of("iq", "jabber:client").withAttribute("type", "get").withAttribute("to", target)
                .withChild(Element.of("query", INFO)), Fixture.WAIT);
        List<String> out = new ArrayList<>();
        for (Element e : r.child("query", INFO).orElseThrow().children()) {
            if (e.name().equals("feature")) {
                out.add(e.attributeOrEmpty("var"));
            }
        }
        return out;
    }

    @Test
    void everyFeatureTheServerAnAccountTheGroupChatAndTheUploadAdvertiseIsHandled() throws Exception {
        try (Fixture f = new Fixture(b -> b.fileUploadUrl("https://upload.example.org"))) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.sendPresence(0);
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (String target : List.of("example.org", "alice@example.org", "conference.example.org", "upload.example.org")) {
                List<String> advertised = features(alice, target);
                assertFalse(advertised.isEmpty(), target);
                assertEquals(advertised.size(), advertised.stream().distinct().count(), target + " lists a feature twice: " + advertised);
                for (String feature : advertised) {
                    Exercise e = EXERCISES.get(feature);
                    assertNotNull(e, target + " advertises " + feature + ", which no exercise here shows to work");
                    try {
                        e.run(f, alice, target);
                    } catch (XmppException x) {
                        throw new AssertionError(target + " advertises " + feature + " but answers " + x.condition(), x);
                    }
                    seen.add(feature);
                }
            }
            // and what works is said: every exercise here is of an advertised feature
            assertEquals(EXERCISES.keySet(), seen);
        }
    }
}
