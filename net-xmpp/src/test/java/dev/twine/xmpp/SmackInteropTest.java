package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.jivesoftware.smack.ConnectionConfiguration.SecurityMode;
import org.jivesoftware.smack.filter.StanzaTypeFilter;
import org.jivesoftware.smack.packet.StanzaBuilder;
import org.jivesoftware.smack.packet.Message;
import org.jivesoftware.smack.roster.Roster;
import org.jivesoftware.smack.roster.RosterEntry;
import org.jivesoftware.smack.tcp.XMPPTCPConnection;
import org.jivesoftware.smack.tcp.XMPPTCPConnectionConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.jxmpp.jid.EntityBareJid;
import org.jxmpp.jid.impl.JidCreate;

/** Twine's server against Smack 4.4.8 (a Java client nobody here wrote), over loopback with STARTTLS. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SmackInteropTest {
    @TempDir
    Path dir;

    private XMPPTCPConnection connect(XmppServer server, String user, String password, LinkedBlockingQueue<Message> inbox) throws Exception {
        XMPPTCPConnection c = configure(server, user, password, inbox);
        c.connect().login();
        return c;
    }

    /** A connection that is not yet connected, with a listener that puts messages with a body in {@code inbox}. */
    private XMPPTCPConnection configure(XmppServer server, String user, String password, LinkedBlockingQueue<Message> inbox) throws Exception {
        XMPPTCPConnectionConfiguration config = XMPPTCPConnectionConfiguration.builder()
                .setUsernameAndPassword(user, password)
                .setXmppDomain("localhost")
                .setHostAddress(InetAddress.getByName("127.0.0.1"))
                .setPort(server.port())
                .setResource("smack")
                .setSecurityMode(SecurityMode.required)
                .setCustomX509TrustManager(trustManager(dir.resolve("cert.pem")))
                .setSendPresence(true)
                .build();
        XMPPTCPConnection c = new XMPPTCPConnection(config);
        c.setReplyTimeout(10_000);
        // registered before login: offline messages arrive right after the initial presence
        c.addAsyncStanzaListener(st -> {
            Message m = (Message) st;
            if (m.getBody() != null) {
                inbox.add(m);
            }
        }, StanzaTypeFilter.MESSAGE);
        return c;
    }

    private static void send(XMPPTCPConnection c, EntityBareJid to, String body) throws Exception {
        c.sendStanza(StanzaBuilder.buildMessage().to(to).ofType(Message.Type.chat).setBody(body).build());
    }

    /** Trusts exactly the test's self-signed certificate. */
    static javax.net.ssl.X509TrustManager trustManager(Path pem) throws Exception {
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        try (java.io.InputStream in = Files.newInputStream(pem)) {
            ks.setCertificateEntry("twine", java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        return (javax.net.ssl.X509TrustManager) tmf.getTrustManagers()[0];
    }

    /** Polls {@code condition} for up to 15 seconds, failing with {@code what} if it never holds. */
    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    @Test
    void smackUsersLogInOverStartTlsSubscribeChatAndGetOfflineMessages() throws Exception {
        Roster.setDefaultSubscriptionMode(Roster.SubscriptionMode.accept_all);
        try (XmppServer server = Interop.server(dir, "alice-pw", "bob-pw")) {
            EntityBareJid aliceJid = JidCreate.entityBareFrom("alice@localhost");
            EntityBareJid bobJid = JidCreate.entityBareFrom("bob@localhost");
            LinkedBlockingQueue<Message> bobInbox = new LinkedBlockingQueue<>();
            LinkedBlockingQueue<Message> aliceInbox = new LinkedBlockingQueue<>();
            XMPPTCPConnection alice = connect(server, "alice", "alice-pw", aliceInbox);
            XMPPTCPConnection bob = connect(server, "bob", "bob-pw", bobInbox);
            try {
                assertTrue(alice.isSecureConnection() && alice.isAuthenticated());

                Roster aliceRoster = Roster.getInstanceFor(alice);
                Roster bobRoster = Roster.getInstanceFor(bob);
                aliceRoster.createItemAndRequestSubscription(bobJid, "Bob", new String[] {"Friends"});
                bobRoster.createItemAndRequestSubscription(aliceJid, "Alice", null);
                await(() -> {
                    RosterEntry e = aliceRoster.getEntry(bobJid);
                    return e != null && e.canSeeHisPresence() && e.canSeeMyPresence();
                }, "alice's roster entry for bob to become both");
                await(() -> aliceRoster.getPresence(bobJid).isAvailable() && bobRoster.getPresence(aliceJid).isAvailable(),
                        "each to see the other's presence");
                assertEquals("Bob", aliceRoster.getEntry(bobJid).getName());

                send(alice, bobJid, "hello from smack");
                Message m = bobInbox.poll(15, TimeUnit.SECONDS);
                assertEquals("hello from smack", m == null ? null : m.getBody());
                assertEquals("alice@localhost/smack", m.getFrom().toString());
                send(bob, aliceJid, "hi back");
                Message r = aliceInbox.poll(15, TimeUnit.SECONDS);
                assertEquals("hi back", r == null ? null : r.getBody());

                bob.disconnect();
                await(() -> !aliceRoster.getPresence(bobJid).isAvailable(), "bob to appear offline");
                send(alice, bobJid, "stored for later");
                await(() -> Files.exists(dir.resolve("data/offline/bob.xml")), "the offline store file");
            } finally {
                alice.disconnect();
            }
            LinkedBlockingQueue<Message> inbox = new LinkedBlockingQueue<>();
            XMPPTCPConnection bobAgain = connect(server, "bob", "bob-pw", inbox);
            try {
                Message later = inbox.poll(15, TimeUnit.SECONDS);
                if (later != null && "hello from smack".equals(later.getBody())) {
                    // bob's first session may end before Smack acknowledged that message (XEP-0198
                    // acks are asynchronous), and what a client never acknowledged is stored as for
                    // an unavailable resource (RFC 6121 §8.5.3.2.1): it comes again, first
                    later = inbox.poll(15, TimeUnit.SECONDS);
                }
                assertEquals("stored for later", later == null ? null : later.getBody());
            } finally {
                bobAgain.disconnect();
            }
        }
    }

    @Test
    void smackResumesItsSessionAfterTheSocketDropsAndGetsWhatWasSentMeanwhile() throws Exception {
        try (XmppServer server = Interop.server(dir, "alice-pw", "bob-pw")) {
            EntityBareJid bobJid = JidCreate.entityBareFrom("bob@localhost");
            LinkedBlockingQueue<Message> bobInbox = new LinkedBlockingQueue<>();
            XMPPTCPConnection bob = configure(server, "bob", "bob-pw", bobInbox);
            bob.setUseStreamManagement(true);
            bob.setUseStreamManagementResumption(true);
            bob.connect().login();
            XMPPTCPConnection alice = connect(server, "alice", "alice-pw", new LinkedBlockingQueue<>());
            try {
                await(bob::isSmResumptionPossible, "Smack to have a resumable session");
                org.jxmpp.jid.EntityFullJid bobFull = JidCreate.entityFullFrom("bob@localhost/smack");
                alice.sendStanza(StanzaBuilder.buildMessage().to(bobFull).ofType(Message.Type.chat).setBody("before").build());
                Message first = bobInbox.poll(15, TimeUnit.SECONDS);
                assertEquals("before", first == null ? null : first.getBody());

                bob.instantShutdown(); // the socket goes away without </stream:stream>
                await(() -> server.detachedSessionCount() == 1, "bob's session to wait detached");
                alice.sendStanza(StanzaBuilder.buildMessage().to(bobFull).ofType(Message.Type.chat).setBody("while away").build());

                bob.connect().login();
                assertTrue(bob.streamWasResumed(), "Smack did not resume");
                Message later = bobInbox.poll(15, TimeUnit.SECONDS);
                assertEquals("while away", later == null ? null : later.getBody());
                await(() -> server.detachedSessionCount() == 0, "the detached wait to end");
                assertEquals(2, server.sessionCount());

                send(alice, bobJid, "after");
                Message after = bobInbox.poll(15, TimeUnit.SECONDS);
                assertEquals("after", after == null ? null : after.getBody());
            } finally {
                alice.disconnect();
                bob.disconnect();
            }
        }
    }

    @Test
    void smackLogsInWithScramSha1ForWrittenAndPlainStoredUsers() throws Exception {
        Interop.selfSigned(dir);
        Path users = dir.resolve("users-sha1");
        Files.writeString(users, "carol:{PLAIN}carol-pw\n");
        dev.twine.core.auth.UsersFile.addUser(users, "dave", "dave-pw".toCharArray());
        try (XmppServer server = XmppServer.builder().domain("localhost").users(dev.twine.core.auth.UsersFile.load(users))
                .dataDirectory(dir.resolve("data"))
                .tls(dev.twine.core.Tls.server(dir.resolve("cert.pem"), dir.resolve("key.pem")))
                .listen("tcp:0:interface=127.0.0.1").build()) {
            server.start();
            for (String user : List.of("carol", "dave")) {
                XMPPTCPConnection c = connect(server, user, user + "-pw", new LinkedBlockingQueue<>());
                try {
                    assertTrue(c.isAuthenticated());
                    assertEquals("SCRAM-SHA-1", c.getUsedSaslMechansism(), user);
                } finally {
                    c.disconnect();
                }
                org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
                        () -> connect(server, user, "wrong", new LinkedBlockingQueue<>()));
            }
        }
    }
}
