"""A slixmpp XEP-0114 component that echoes messages: slixmpp_component.py HOST PORT DOMAIN SECRET.
Prints 'ok connected' when the handshake succeeded, echoes one message per received message
with body 'echo: BODY', and exits after the first echo (or after 60 s)."""
import asyncio
import sys

from slixmpp.componentxmpp import ComponentXMPP

host, port, domain, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = ComponentXMPP(domain, secret, host, port)
done = asyncio.get_event_loop().create_future()


def started(_):
    print("ok connected", flush=True)


def message(msg):
    reply = msg.reply("echo: " + msg["body"])
    reply.send()
    print("ok echoed", msg["from"], flush=True)
    if not done.done():
        asyncio.get_event_loop().call_later(0.5, lambda: done.set_result(True))


c.add_event_handler("session_start", started)
c.add_event_handler("message", message)
c.connect()
asyncio.get_event_loop().run_until_complete(asyncio.wait_for(done, 60))
c.disconnect()
