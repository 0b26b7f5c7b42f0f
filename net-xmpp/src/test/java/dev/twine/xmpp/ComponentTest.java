package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.auth.UsersFile;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ComponentTest {
    private static String handshake(String id, String secret) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest((id + secret).getBytes(StandardCharsets.UTF_8)));
    }

    private static XmppServer server(Path dir) throws Exception {
        Path users = dir.resolve("users");
        Files.createFile(users);
        UsersFile.addUser(users, "alice", "secret-alice".toCharArray());
        return XmppServer.builder().domain("example.org").users(UsersFile.load(users)).dataDirectory(dir.resolve("data"))
                .componentListen("tcp:0:interface=127.0.0.1", "s3cret").build();
    }

    static String open(Connection c, String secret) throws Exception {
        Fixture.write(c, "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='bot.example.org'>");
        String header = Fixture.readUntil(c, "from='bot.example.org'>");
        Matcher m = Pattern.compile("id='([^']+)'").matcher(header);
        assertTrue(m.find(), header);
        Fixture.write(c, "<handshake>" + handshake(m.group(1), secret) + "</handshake>");
        return Fixture.readUntil(c, ">");
    }

    @Test
    void componentWithRightSecretExchangesStanzasWithUsers() throws Exception {
        Path dir = Files.createTempDirectory("twine-xmpp-");
        XmppServer server = server(dir);
        try (MemoryConnections.Served comp = MemoryConnections.serve(server.componentHandler(), Chunking.byteByByte());
                MemoryConnections.Served user = MemoryConnections.serve(server.clientHandler(), Chunking.whole())) {
            Connection c = comp.client();
            assertEquals("<handshake/>", open(c, "s3cret"));
            XmppClient alice = XmppClient.builder("alice@example.org/a", "secret-alice".toCharArray())
                    .connection(user.client()).requireTls(false).connect();
            alice.sendMessage(Jid.parse("echo@bot.example.org"), "ping bot");
            String got = Fixture.readUntil(c, "</message>");
            assertTrue(got.contains("from='alice@example.org/a'") && got.contains("ping bot"), got);
            Fixture.write(c, "<message from='echo@bot.example.org' to='alice@example.org/a'><body>pong</body></message>");
            Element m = alice.await(e -> e.childText("body").orElse("").equals("pong"), Fixture.WAIT).orElseThrow();
            assertEquals("echo@bot.example.org", m.attributeOrEmpty("from"));
            // disco#items on the server lists the component
            Element items = alice.request(Element.of("iq", "jabber:client").withAttribute("type", "get")
                    .withAttribute("to", "example.org").withChild(Element.of("query", "http://jabber.org/protocol/disco#items")), Fixture.WAIT);
            assertTrue(items.toXml().contains("jid='bot.example.org'"), items.toXml());
            // a component cannot speak for others
            Fixture.write(c, "<message from='alice@example.org' to='alice@example.org/a'><body>forged</body></message>");
            assertTrue(Fixture.readToEnd(c).contains("<invalid-from "));
        }
    }

    @Test
    void componentWithWrongSecretIsNotAuthorized() throws Exception {
        Path dir = Files.createTempDirectory("twine-xmpp-");
        XmppServer server = server(dir);
        try (MemoryConnections.Served comp = MemoryConnections.serve(server.componentHandler(), Chunking.whole())) {
            Connection c = comp.client();
            String reply = open(c, "wrong");
            String rest = reply + Fixture.readToEnd(c);
            assertTrue(rest.contains("<not-authorized "), rest);
        }
    }
}
