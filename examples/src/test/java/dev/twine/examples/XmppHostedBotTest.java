package dev.twine.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.twine.xmpp.XmppServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The hosted bot against slixmpp: a shouted reply from the bot's address, the refusal, disco#info. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class XmppHostedBotTest {
    @TempDir
    Path dir;

    @Test
    void slixmppGetsAShoutedReplyAnErrorForAnEmptyMessageAndTheBotsIdentity() throws Exception {
        String python = ExamplePeers.require("/usr/bin/python3");
        XmppServer server = XmppHostedBot.start("tcp:0:interface=127.0.0.1", dir.resolve("data"));
        try {
            Path script = dir.resolve("client.py");
            Files.writeString(script, """
                    import asyncio, sys
                    import slixmpp
                    c = slixmpp.ClientXMPP('alice@localhost/test', 'secret')
                    c.register_plugin('xep_0030')
                    got = asyncio.Queue()
                    c.add_event_handler('message', lambda m: got.put_nowait(m))
                    c.add_event_handler('message_error', lambda m: got.put_nowait(m))
                    async def go(_):
                        try:
                            c.send_message(mto='shout@bot.localhost', mbody='hello there')
                            m = await asyncio.wait_for(got.get(), 20)
                            print('reply', m['from'], m['body'])
                            c.send_message(mto='shout@bot.localhost', mbody=' ')
                            m = await asyncio.wait_for(got.get(), 20)
                            print('error', m['type'], m['error']['condition'], m['error']['text'])
                            info = await c['xep_0030'].get_info(jid='bot.localhost', timeout=20)
                            print('identity', [i[-1] for i in info['disco_info']['identities']])
                        finally:
                            c.disconnect()
                    c.add_event_handler('session_start', go)
                    c.connect(('127.0.0.1', int(sys.argv[1])), disable_starttls=True)
                    c.process(forever=False)
                    """);
            ExamplePeers.Run run = ExamplePeers.run(List.of(python, script.toString(), String.valueOf(server.port())),
                    null, Duration.ofSeconds(90));
            assertEquals(0, run.exit(), run.toString());
            assertEquals(List.of("reply shout@bot.localhost HELLO THERE!", "error error not-acceptable say something",
                    "identity ['Shouter']"), run.out().lines().toList(), run.toString());
        } finally {
            server.shutdown(Duration.ofSeconds(5));
        }
    }
}
