package dev.twine.xmpp;

import static dev.twine.xmpp.PepTest.ALICE;
import static dev.twine.xmpp.PepTest.PUBSUB;
import static dev.twine.xmpp.PepTest.announce;
import static dev.twine.xmpp.PepTest.assertError;
import static dev.twine.xmpp.PepTest.befriend;
import static dev.twine.xmpp.PepTest.drain;
import static dev.twine.xmpp.PepTest.el;
import static dev.twine.xmpp.PepTest.error;
import static dev.twine.xmpp.PepTest.event;
import static dev.twine.xmpp.PepTest.events;
import static dev.twine.xmpp.PepTest.fetch;
import static dev.twine.xmpp.PepTest.iq;
import static dev.twine.xmpp.PepTest.options;
import static dev.twine.xmpp.PepTest.publish;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What rides on PEP, each as its XEP has clients use it: avatars, OMEMO keys, bookmarks, vCard4; and vCard-temp. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PepProfilesTest {
    static final String AVATAR_DATA = "urn:xmpp:avatar:data";
    static final String AVATAR_METADATA = "urn:xmpp:avatar:metadata";
    static final String AXOLOTL = "eu.siacs.conversations.axolotl";
    static final String OMEMO2 = "urn:xmpp:omemo:2";
    static final String BOOKMARKS = "urn:xmpp:bookmarks:1";
    static final String VCARD4 = "urn:xmpp:vcard4";
    static final String VCARD = "vcard-temp";
    static final String OPTIONS = PUBSUB + "#publish-options";

    @Test
    void anAvatarsMetadataIsNotifiedAndItsDataFetchedByIdXep0084() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.random(84));
            befriend(alice, bob);
            announce(bob, AVATAR_METADATA); // XEP-0084 §4.3: clients ask for the metadata only
            byte[] png = new byte[2000];
            new java.util.Random(1).nextBytes(png);
            String id = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(png));
            // §4.1: the data first, then the metadata that points at it
            alice.request(iq("set", null, publish(AVATAR_DATA, id, el("data", AVATAR_DATA).withText(Base64.getEncoder().encodeToString(png)))),
                    Fixture.WAIT);
            alice.request(iq("set", null, publish(AVATAR_METADATA, id, el("metadata", AVATAR_METADATA).withChild(el("info", AVATAR_METADATA)
                    .withAttribute("bytes", "2000").withAttribute("id", id).withAttribute("type", "image/png")
                    .withAttribute("height", "64").withAttribute("width", "64")))), Fixture.WAIT);
            Element note = bob.await(event(AVATAR_METADATA), Fixture.WAIT).orElseThrow();
            String announced = note.toString();
            assertTrue(announced.contains("id='" + id + "'"), announced);
            List<Element> data = fetch(bob, ALICE, AVATAR_DATA, null, id);
            byte[] got = Base64.getDecoder().decode(data.get(0).child("data", AVATAR_DATA).orElseThrow().text());
            assertEquals(id, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(got)));
            assertEquals(List.of(), events(drain(bob), AVATAR_DATA), "the data itself is not pushed to a client that did not ask for it");
        }
    }

    @Test
    void omemoDeviceListsAndBundlesAreOpenToStrangersXep0384() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            // the legacy namespace Conversations uses, and OMEMO 2's
            alice.request(iq("set", null, options(publish(AXOLOTL + ".devicelist", "current", el("list", AXOLOTL)
                    .withChild(el("device", AXOLOTL).withAttribute("id", "1234"))), OPTIONS, "pubsub#access_model", "open")), Fixture.WAIT);
            alice.request(iq("set", null, options(publish(AXOLOTL + ".bundles:1234", "current", el("bundle", AXOLOTL)
                    .withChild(el("signedPreKeyPublic", AXOLOTL).withAttribute("signedPreKeyId", "1").withText("BQ=="))), OPTIONS,
                    "pubsub#access_model", "open")), Fixture.WAIT);
            alice.request(iq("set", null, options(publish(OMEMO2 + ":devices", "current", el("devices", OMEMO2)
                    .withChild(el("device", OMEMO2).withAttribute("id", "1234"))), OPTIONS, "pubsub#access_model", "open")), Fixture.WAIT);
            alice.request(iq("set", null, options(publish(OMEMO2 + ":bundles", "1234", el("bundle", OMEMO2).withChild(el("spk", OMEMO2)
                    .withAttribute("id", "1").withText("BQ=="))), OPTIONS, "pubsub#access_model", "open", "pubsub#max_items", "max")),
                    Fixture.WAIT);
            alice.request(iq("set", null, options(publish(OMEMO2 + ":bundles", "5678", el("bundle", OMEMO2)), OPTIONS,
                    "pubsub#access_model", "open", "pubsub#max_items", "max")), Fixture.WAIT);
            // carol has no subscription to alice: she still reads what she needs to encrypt to her
            XmppClient carol = f.login("carol", "c", Chunking.whole());
            assertTrue(fetch(carol, ALICE, AXOLOTL + ".devicelist", null).get(0).toString().contains("id='1234'"));
            assertTrue(fetch(carol, ALICE, AXOLOTL + ".bundles:1234", "1").get(0).toString().contains("signedPreKeyPublic"));
            assertTrue(fetch(carol, ALICE, OMEMO2 + ":devices", null).get(0).toString().contains("id='1234'"));
            assertEquals(2, fetch(carol, ALICE, OMEMO2 + ":bundles", null).size(), "max_items=max keeps one bundle per device");
            assertEquals(1, fetch(carol, ALICE, OMEMO2 + ":bundles", null, "5678").size());
        }
    }

    @Test
    void bookmarksAreTheOwnersAloneAndNotPushedAtLoginXep0402() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            befriend(alice, bob);
            announce(alice, BOOKMARKS);
            bob.send(PepTest.capsPresence(PepTest.ver(PepTest.features(BOOKMARKS))));
            for (String room : List.of("team@conference.example.org", "ops@conference.example.org")) {
                Element conference = el("conference", BOOKMARKS).withAttribute("name", room.substring(0, room.indexOf('@')))
                        .withAttribute("autojoin", "true").withChild(el("nick", BOOKMARKS).withText("alice"));
                // §3: the options every client publishes bookmarks with
                alice.request(iq("set", null, options(publish(BOOKMARKS, room, conference), OPTIONS, "pubsub#persist_items", "true",
                        "pubsub#max_items", "max", "pubsub#send_last_published_item", "never", "pubsub#access_model", "whitelist")),
                        Fixture.WAIT);
            }
            assertEquals(2, events(drain(alice), BOOKMARKS).size(), "the owner's own client is told of each");
            assertEquals(List.of(), events(drain(bob), BOOKMARKS), "a contact never is");
            List<Element> all = fetch(alice, null, BOOKMARKS, null);
            assertEquals(List.of("team@conference.example.org", "ops@conference.example.org"), all.stream().map(e -> e.attributeOrEmpty("id")).toList());
            assertError(error(bob, iq("get", ALICE, PepTest.items(BOOKMARKS, null))), "not-allowed", "closed-node");
            // a second client of alice's: send_last_published_item=never, so it fetches instead of being pushed the last one
            XmppClient phone = f.login("alice", "phone", Chunking.whole());
            phone.send(PepTest.capsPresence(PepTest.ver(PepTest.features(BOOKMARKS))));
            assertEquals(List.of(), events(drain(phone), BOOKMARKS));
            alice.request(iq("set", null, el("pubsub", PUBSUB).withChild(el("retract", PUBSUB).withAttribute("node", BOOKMARKS)
                    .withAttribute("notify", "true").withChild(el("item", PUBSUB).withAttribute("id", "ops@conference.example.org")))), Fixture.WAIT);
            assertTrue(phone.await(event(BOOKMARKS), Fixture.WAIT).orElseThrow().toString().contains("retract"));
            assertEquals(1, fetch(phone, null, BOOKMARKS, null).size());
        }
    }

    @Test
    void aVcard4IsReadByContactsXep0292() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            befriend(alice, bob);
            String ns = "urn:ietf:params:xml:ns:vcard-4.0";
            Element vcard = el("vcard", ns).withChild(el("fn", ns).withChild(el("text", ns).withText("Alice Liddell")));
            alice.request(iq("set", null, publish(VCARD4, "current", vcard)), Fixture.WAIT);
            Element got = fetch(bob, ALICE, VCARD4, null).get(0);
            assertEquals("Alice Liddell", got.child("vcard", ns).orElseThrow().child("fn", ns).orElseThrow().child("text", ns).orElseThrow().text());
            XmppClient carol = f.login("carol", "c", Chunking.whole());
            assertError(error(carol, iq("get", ALICE, PepTest.items(VCARD4, null))), "not-authorized", "presence-subscription-required");
        }
    }

    @Test
    void vcardTempIsSetByItsOwnerReadByAnyoneBoundedAndKeptXep0054() throws Exception {
        Path dir = Files.createTempDirectory("twine-xmpp-");
        try {
            try (Fixture f = new Fixture(dir, b -> b.vcardLimit(400))) {
                XmppClient alice = f.login("alice", "a", Chunking.byteByByte());
                XmppClient bob = f.login("bob", "b", Chunking.whole());
                Element none = bob.request(iq("get", ALICE, el("vCard", VCARD)), Fixture.WAIT).child("vCard", VCARD).orElseThrow();
                assertEquals(List.of(), none.children(), "no vCard yet: an empty one");
                Element card = el("vCard", VCARD).withChild(el("FN", VCARD).withText("Alice Liddell"))
                        .withChild(el("NICKNAME", VCARD).withText("alice"));
                alice.request(iq("set", null, card), Fixture.WAIT);
                assertError(error(bob, iq("set", ALICE, card)), "forbidden", null);
                assertError(error(alice, iq("set", null, el("vCard", VCARD).withChild(el("DESC", VCARD).withText("x".repeat(500))))),
                        "not-acceptable", null);
            }
            try (Fixture f = new Fixture(dir, b -> b.vcardLimit(400))) {
                XmppClient carol = f.login("carol", "c", Chunking.whole());
                Element got = carol.request(iq("get", ALICE, el("vCard", VCARD)), Fixture.WAIT).child("vCard", VCARD).orElseThrow();
                assertEquals("Alice Liddell", got.childText("FN").orElseThrow(), "kept across a restart, and the refused one changed nothing");
                XmppClient alice = f.login("alice", "a", Chunking.whole());
                Element own = alice.request(iq("get", null, el("vCard", VCARD)), Fixture.WAIT).child("vCard", VCARD).orElseThrow();
                assertEquals("alice", own.childText("NICKNAME").orElseThrow());
            }
        } finally {
            PepTest.deleteTree(dir);
        }
    }
}
