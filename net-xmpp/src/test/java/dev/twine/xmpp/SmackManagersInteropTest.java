package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.xml.parsers.DocumentBuilderFactory;
import org.jivesoftware.smack.ConnectionConfiguration.SecurityMode;
import org.jivesoftware.smack.filter.StanzaTypeFilter;
import org.jivesoftware.smack.packet.Message;
import org.jivesoftware.smack.packet.StandardExtensionElement;
import org.jivesoftware.smack.packet.StanzaBuilder;
import org.jivesoftware.smack.roster.Roster;
import org.jivesoftware.smack.tcp.XMPPTCPConnection;
import org.jivesoftware.smack.tcp.XMPPTCPConnectionConfiguration;
import org.jivesoftware.smackx.mam.MamManager;
import org.jivesoftware.smackx.muc.MultiUserChat;
import org.jivesoftware.smackx.muc.MultiUserChatManager;
import org.jivesoftware.smackx.pep.PepManager;
import org.jivesoftware.smackx.pubsub.LeafNode;
import org.jivesoftware.smackx.pubsub.PayloadItem;
import org.jivesoftware.smackx.pubsub.PubSubManager;
import org.jivesoftware.smackx.pubsub.SimplePayload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.jxmpp.jid.EntityBareJid;
import org.jxmpp.jid.impl.JidCreate;
import org.jxmpp.jid.parts.Resourcepart;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.xml.sax.InputSource;

/**
 * Twine's server against Smack 4.4.8's MUC, MAM and PEP managers (smack-extensions and
 * smack-experimental), over loopback with STARTTLS: the third-party client issue 21's proof names.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SmackManagersInteropTest {
    private static final long WAIT_SECONDS = 15;

    @TempDir
    Path dir;

    /** A logged-in connection whose chat and normal messages with a body go to {@code inbox}, in order. */
    private XMPPTCPConnection connect(XmppServer server, String user, LinkedBlockingQueue<Message> inbox) throws Exception {
        XMPPTCPConnection c = configure(server, user);
        // a synchronous listener: Smack runs asynchronous ones on a pool, in no particular order
        c.addSyncStanzaListener(st -> {
            Message m = (Message) st;
            if (m.getBody() != null && m.getType() != Message.Type.groupchat) {
                inbox.add(m);
            }
        }, StanzaTypeFilter.MESSAGE);
        c.connect().login();
        return c;
    }

    private XMPPTCPConnection configure(XmppServer server, String user) throws Exception {
        XMPPTCPConnection c = new XMPPTCPConnection(XMPPTCPConnectionConfiguration.builder()
                .setUsernameAndPassword(user, user + "-pw")
                .setXmppDomain("localhost")
                .setHostAddress(InetAddress.getByName("127.0.0.1"))
                .setPort(server.port())
                .setResource("smack")
                .setSecurityMode(SecurityMode.required)
                .setCustomX509TrustManager(SmackInteropTest.trustManager(dir.resolve("cert.pem")))
                .build());
        c.setReplyTimeout(10_000);
        return c;
    }

    private static String poll(LinkedBlockingQueue<Message> queue, String what) throws InterruptedException {
        Message m = queue.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(m, "timed out waiting for " + what);
        return m.getBody();
    }

    /** A room whose messages with a body (live and history) go to {@code heard} as "nick: body". */
    private static MultiUserChat room(XMPPTCPConnection c, EntityBareJid jid, LinkedBlockingQueue<String> heard) {
        MultiUserChat muc = MultiUserChatManager.getInstanceFor(c).getMultiUserChat(jid);
        muc.addMessageListener(m -> {
            if (m.getBody() != null) {
                heard.add(m.getFrom().getResourceOrEmpty() + ": " + m.getBody());
            }
        });
        return muc;
    }

    private static String next(LinkedBlockingQueue<String> heard, String what) throws InterruptedException {
        String s = heard.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(s, "timed out waiting for " + what);
        return s;
    }

    /** A PubSub payload's XML as a namespace-aware DOM. */
    private static Document parse(SimplePayload payload) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        return f.newDocumentBuilder().parse(new InputSource(new StringReader(payload.toXML().toString())));
    }

    @Test
    void threeSmackUsersChatInAnInstantRoomAndARejoinGetsTheHistory() throws Exception {
        try (XmppServer server = Interop.server(dir, "alice-pw", "bob-pw", "carol", "carol-pw")) {
            EntityBareJid roomJid = JidCreate.entityBareFrom("team@conference.localhost");
            XMPPTCPConnection alice = connect(server, "alice", new LinkedBlockingQueue<>());
            XMPPTCPConnection bob = connect(server, "bob", new LinkedBlockingQueue<>());
            XMPPTCPConnection carol = connect(server, "carol", new LinkedBlockingQueue<>());
            try {
                LinkedBlockingQueue<String> aliceHeard = new LinkedBlockingQueue<>();
                LinkedBlockingQueue<String> bobHeard = new LinkedBlockingQueue<>();
                LinkedBlockingQueue<String> carolHeard = new LinkedBlockingQueue<>();
                MultiUserChat aliceRoom = room(alice, roomJid, aliceHeard);
                MultiUserChat bobRoom = room(bob, roomJid, bobHeard);
                MultiUserChat carolRoom = room(carol, roomJid, carolHeard);

                // XEP-0045 §10.1.2: the creator gets status 201 and accepts the default configuration
                aliceRoom.create(Resourcepart.from("Alice")).makeInstant();
                bobRoom.join(bobRoom.getEnterConfigurationBuilder(Resourcepart.from("Bob")).requestNoHistory().build());
                carolRoom.join(carolRoom.getEnterConfigurationBuilder(Resourcepart.from("Carol")).requestNoHistory().build());
                SmackInteropTest.await(() -> aliceRoom.getOccupantsCount() == 3 && bobRoom.getOccupantsCount() == 3 && carolRoom.getOccupantsCount() == 3,
                        "three occupants seen by everyone");

                // XEP-0045 §7.4: a message to the room reaches every occupant, the sender included
                List<MultiUserChat> rooms = List.of(aliceRoom, bobRoom, carolRoom);
                List<String> nicks = List.of("Alice", "Bob", "Carol");
                for (int i = 0; i < 3; i++) {
                    rooms.get(i).sendMessage("hello from " + nicks.get(i));
                    String expected = nicks.get(i) + ": hello from " + nicks.get(i);
                    for (LinkedBlockingQueue<String> heard : List.of(aliceHeard, bobHeard, carolHeard)) {
                        assertEquals(expected, next(heard, expected));
                    }
                }

                bobRoom.leave();
                SmackInteropTest.await(() -> aliceRoom.getOccupantsCount() == 2, "bob to leave");
                aliceRoom.sendMessage("while bob was away");
                assertEquals("Alice: while bob was away", next(carolHeard, "the message while bob was away"));
                bobHeard.clear();

                // XEP-0045 §7.2.15: history on entering, oldest first, here the last 10 (all four)
                bobRoom.join(bobRoom.getEnterConfigurationBuilder(Resourcepart.from("Bob")).requestMaxStanzasHistory(10).build());
                List<String> history = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    history.add(next(bobHeard, "history message " + i));
                }
                assertEquals(List.of("Alice: hello from Alice", "Bob: hello from Bob", "Carol: hello from Carol",
                        "Alice: while bob was away"), history);
                carolRoom.sendMessage("welcome back");
                assertEquals("Carol: welcome back", next(bobHeard, "a live message after the rejoin"));
            } finally {
                carol.disconnect();
                bob.disconnect();
                alice.disconnect();
            }
        }
    }

    @Test
    void smackPagesThroughAnArchiveOf500Messages() throws Exception {
        try (XmppServer server = Interop.server(dir, "alice-pw", "bob-pw")) {
            EntityBareJid bobJid = JidCreate.entityBareFrom("bob@localhost");
            LinkedBlockingQueue<Message> bobInbox = new LinkedBlockingQueue<>();
            XMPPTCPConnection alice = connect(server, "alice", new LinkedBlockingQueue<>());
            XMPPTCPConnection bob = connect(server, "bob", bobInbox);
            try {
                for (int i = 0; i < 500; i++) {
                    alice.sendStanza(StanzaBuilder.buildMessage().to(bobJid).ofType(Message.Type.chat).setBody("m" + i).build());
                }
                for (int i = 0; i < 500; i++) {
                    assertEquals("m" + i, poll(bobInbox, "live message " + i));
                }

                // XEP-0313 §4 with XEP-0059 paging: 50 a page, forwards until the server says complete
                MamManager mam = MamManager.getInstanceFor(bob);
                assertTrue(mam.isSupported(), "MAM is advertised");
                MamManager.MamQuery query = mam.queryArchive(MamManager.MamQueryArgs.builder().setResultPageSize(50).build());
                List<String> bodies = new ArrayList<>();
                query.getMessages().forEach(m -> bodies.add(m.getBody()));
                int pages = 1;
                while (!query.isComplete()) {
                    assertTrue(pages < 20, "the server never said complete");
                    List<Message> page = query.pageNext(50);
                    page.forEach(m -> bodies.add(m.getBody()));
                    pages++;
                }
                List<String> expected = new ArrayList<>();
                for (int i = 0; i < 500; i++) {
                    expected.add("m" + i);
                }
                assertEquals(expected, bodies);
                assertEquals(10, pages);
            } finally {
                bob.disconnect();
                alice.disconnect();
            }
        }
    }

    @Test
    void anAvatarPublishedByAliceReachesHerContactBobThroughPep() throws Exception {
        String metadataNs = "urn:xmpp:avatar:metadata";
        String dataNs = "urn:xmpp:avatar:data";
        Roster.setDefaultSubscriptionMode(Roster.SubscriptionMode.accept_all);
        try (XmppServer server = Interop.server(dir, "alice-pw", "bob-pw")) {
            EntityBareJid aliceJid = JidCreate.entityBareFrom("alice@localhost");
            EntityBareJid bobJid = JidCreate.entityBareFrom("bob@localhost");
            XMPPTCPConnection alice = connect(server, "alice", new LinkedBlockingQueue<>());
            // bob's listener adds metadataNs+notify to his disco features, which his caps (XEP-0115) carry
            XMPPTCPConnection bob = configure(server, "bob");
            // Smack 4.4 parses payloads it has no provider for as SimplePayload (their XML text)
            LinkedBlockingQueue<SimplePayload> notified = new LinkedBlockingQueue<>();
            LinkedBlockingQueue<String> notifiedIds = new LinkedBlockingQueue<>();
            PepManager.getInstanceFor(bob).addPepEventListener(metadataNs, SimplePayload.class, (from, event, id, carrier) -> {
                if (from.equals(aliceJid)) {
                    notifiedIds.add(id);
                    notified.add(event);
                }
            });
            bob.connect().login();
            try {
                Roster aliceRoster = Roster.getInstanceFor(alice);
                Roster bobRoster = Roster.getInstanceFor(bob);
                aliceRoster.createItemAndRequestSubscription(bobJid, "Bob", null);
                bobRoster.createItemAndRequestSubscription(aliceJid, "Alice", null);
                SmackInteropTest.await(() -> aliceRoster.getPresence(bobJid).isAvailable() && bobRoster.getPresence(aliceJid).isAvailable(),
                        "each to see the other's presence");

                // XEP-0084 §4.1, §4.2: the data first, then the metadata naming it by its SHA-1
                byte[] image = "not really a png, but bytes all the same".getBytes(StandardCharsets.US_ASCII);
                String id = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(image));
                PepManager pep = PepManager.getInstanceFor(alice);
                pep.publish(dataNs, new PayloadItem<>(id, StandardExtensionElement.builder("data", dataNs)
                        .setText(Base64.getEncoder().encodeToString(image)).build()));
                pep.publish(metadataNs, new PayloadItem<>(id, StandardExtensionElement.builder("metadata", metadataNs)
                        .addElement(StandardExtensionElement.builder("info", metadataNs).addAttribute("bytes", String.valueOf(image.length))
                                .addAttribute("id", id).addAttribute("type", "image/png").build())
                        .build()));

                SimplePayload metadata = notified.poll(WAIT_SECONDS, TimeUnit.SECONDS);
                assertNotNull(metadata, "bob was not notified of alice's avatar metadata");
                assertEquals(id, notifiedIds.poll());
                assertEquals("metadata", metadata.getElementName());
                assertEquals(metadataNs, metadata.getNamespace());
                Element info = (Element) parse(metadata).getElementsByTagNameNS(metadataNs, "info").item(0);
                assertNotNull(info, metadata.toXML().toString());
                assertEquals(id, info.getAttribute("id"));
                assertEquals(String.valueOf(image.length), info.getAttribute("bytes"));

                // XEP-0084 §4.3 / XEP-0060 §6.5.8: bob fetches the data item by id from alice's PEP service
                LeafNode data = PubSubManager.getInstanceFor(bob, aliceJid).getLeafNode(dataNs);
                List<PayloadItem<SimplePayload>> items = data.getItems(List.of(id));
                assertEquals(1, items.size());
                byte[] fetched = Base64.getMimeDecoder().decode(parse(items.get(0).getPayload()).getDocumentElement().getTextContent().strip());
                assertEquals(id, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(fetched)));
            } finally {
                bob.disconnect();
                alice.disconnect();
            }
        }
    }
}
