package dev.twine.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.xmpp.XmppServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The custom-IQ XMPP server against slixmpp: login, the custom IQ and its error, disco#info. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class XmppCustomIqTest {
    @TempDir
    Path dir;

    @Test
    void slixmppGetsTheTimeAnErrorForABadRequestAndFindsTheFeatureInDisco() throws Exception {
        String python = ExamplePeers.require("/usr/bin/python3");
        XmppServer server = XmppCustomIq.start("tcp:0:interface=127.0.0.1", dir.resolve("data"));
        try {
            Path script = dir.resolve("client.py");
            Files.writeString(script, """
                    import asyncio, sys, xml.etree.ElementTree as ET
                    import slixmpp
                    from slixmpp.exceptions import IqError
                    c = slixmpp.ClientXMPP('alice@localhost/test', 'secret')
                    c.register_plugin('xep_0030')
                    async def go(_):
                        try:
                            iq = c.make_iq_get(ito='localhost')
                            iq.append(ET.Element('{urn:example:time}time'))
                            print('time', (await iq.send(timeout=20)).xml.find('{urn:example:time}time').text)
                            iq = c.make_iq_get(ito='localhost')
                            iq.append(ET.Element('{urn:example:time}date'))
                            try:
                                await iq.send(timeout=20)
                                print('error none')
                            except IqError as e:
                                print('error', e.condition, e.text)
                            info = await c['xep_0030'].get_info(jid='localhost', timeout=20)
                            print('feature', 'urn:example:time' in info['disco_info']['features'])
                        finally:
                            c.disconnect()
                    c.add_event_handler('session_start', go)
                    c.add_event_handler('failed_auth', lambda _: (print('login failed'), c.disconnect()))
                    c.connect(('127.0.0.1', int(sys.argv[1])), disable_starttls=True)
                    c.process(forever=False)
                    """);
            Instant before = Instant.now();
            ExamplePeers.Run run = ExamplePeers.run(List.of(python, script.toString(), String.valueOf(server.port())),
                    null, Duration.ofSeconds(90));
            assertEquals(0, run.exit(), run.toString());
            List<String> lines = run.out().lines().toList();
            assertEquals(3, lines.size(), run.toString());
            assertTrue(lines.get(0).startsWith("time "), run.toString());
            Instant answered = Instant.parse(lines.get(0).substring(5));
            assertTrue(!answered.isBefore(before.minusSeconds(1)) && !answered.isAfter(Instant.now().plusSeconds(1)), run.toString());
            assertEquals("error bad-request ask with <time/>", lines.get(1), run.toString());
            assertEquals("feature True", lines.get(2), run.toString());
        } finally {
            server.shutdown(Duration.ofSeconds(5));
        }
    }
}
