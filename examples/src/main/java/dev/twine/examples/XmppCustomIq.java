package dev.twine.examples;

import dev.twine.core.auth.StoredSecret;
import dev.twine.core.auth.UserStore;
import dev.twine.xmpp.DiscoInfo;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.IqHandler;
import dev.twine.xmpp.IqRequest;
import dev.twine.xmpp.IqType;
import dev.twine.xmpp.StanzaError;
import dev.twine.xmpp.StanzaException;
import dev.twine.xmpp.XmppServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * An XMPP server that answers an IQ namespace of its own: {@code <time xmlns='urn:example:time'/>}
 * sent to the server gets the server's clock back, and the server's service discovery
 * ({@code disco#info}) lists the feature because the handler declares it. Roster, presence,
 * offline messages, ping and the rest keep working: they are handlers of the same kind.
 *
 * <p>Run: {@code ./twine run examples/src/main/java/dev/twine/examples/XmppCustomIq.java [PORT]}
 * (port 5230 by default; one user, {@code alice@localhost} with password {@code secret}, on a
 * plaintext loopback stream: add {@code .tls(...)} to the builder for anything else). Try it with
 * slixmpp:
 * <pre>
 * /usr/bin/python3 -c "import slixmpp, xml.etree.ElementTree as ET
 * c = slixmpp.ClientXMPP('alice@localhost', 'secret')
 * async def go(_):
 *     iq = c.make_iq_get(ito='localhost'); iq.append(ET.Element('{urn:example:time}time'))
 *     print((await iq.send()).xml.find('{urn:example:time}time').text); c.disconnect()
 * c.add_event_handler('session_start', go); c.connect(('127.0.0.1', 5230), disable_starttls=True); c.process(forever=False)"
 * </pre>
 */
public final class XmppCustomIq {
    static final String NS = "urn:example:time";

    /** Answers {@code <time/>} with the time as an XEP-0082 timestamp; anything else is a bad request. */
    static final class TimeHandler implements IqHandler {
        @Override
        public Optional<Element> handle(IqRequest request) throws StanzaException {
            if (!request.payload().name().equals("time")) {
                throw new StanzaException(StanzaError.BAD_REQUEST, "ask with <time/>");
            }
            return Optional.of(Element.of("time", NS).withText(Instant.now().toString()));
        }

        @Override
        public DiscoInfo disco() {
            return DiscoInfo.features(NS); // joins the server's disco#info
        }
    }

    /** Starts the server on {@code endpoint}, keeping its data under {@code dataDir}; the caller stops it. */
    static XmppServer start(String endpoint, Path dataDir) throws Exception {
        UserStore users = name -> name.equals("alice") ? Optional.of(new StoredSecret.Plain("secret")) : Optional.empty();
        XmppServer server = XmppServer.builder().domain("localhost").users(users).dataDirectory(dataDir)
                .iqHandler(IqType.GET, NS, new TimeHandler())
                .listen(endpoint).build();
        server.start();
        return server;
    }

    public static void main(String[] args) throws Exception {
        String port = args.length > 0 ? args[0] : "5230";
        XmppServer server = start("tcp:" + port + ":interface=127.0.0.1", Files.createTempDirectory("xmpp-custom-iq"));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.shutdown(Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        System.out.println("XMPP for alice@localhost (password secret) on 127.0.0.1:" + server.port() + "; Ctrl-C stops");
        server.awaitTermination();
    }
}
