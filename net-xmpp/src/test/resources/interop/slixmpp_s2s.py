"""Two slixmpp users on two federated servers (an XMPP client nobody here wrote, both sides).

usage: slixmpp_s2s.py A_JID A_PW A_HOST A_PORT A_CA B_JID B_PW B_HOST B_PORT B_CA

A subscribes to B and B to A (each approves), both see the other's presence, A messages B and
B answers, and each pings the other across the federation (XEP-0199, to the full JID).
Prints 'ok NAME' for each step reached and exits 0 only if every step passed.
"""
import asyncio
import logging
import sys
from pathlib import Path

import slixmpp

a_jid, a_pw, a_host, a_port, a_ca, b_jid, b_pw, b_host, b_port, b_ca = sys.argv[1:11]
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")


def client(jid, password, ca):
    c = slixmpp.ClientXMPP(jid + "/slix", password)
    c.ca_certs = Path(ca)
    c.register_plugin("xep_0030")
    c.register_plugin("xep_0199")
    c.started = asyncio.get_event_loop().create_future()
    c.messages = asyncio.Queue()
    c.available_from = set()

    async def session_start(_):
        await c.get_roster()
        c.send_presence()
        if not c.started.done():
            c.started.set_result(True)

    def message(msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            c.messages.put_nowait(msg)

    def available(pres):
        c.available_from.add(pres["from"].bare)

    def failed(_):
        if not c.started.done():
            c.started.set_exception(RuntimeError(jid + ": authentication failed"))

    c.add_event_handler("session_start", session_start)
    c.add_event_handler("message", message)
    c.add_event_handler("presence_available", available)
    c.add_event_handler("failed_auth", failed)
    return c


async def until(check, what, seconds=30):
    for _ in range(seconds * 20):
        if check():
            print("ok", what, flush=True)
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("timed out waiting for: " + what)


async def main():
    a = client(a_jid, a_pw, a_ca)
    b = client(b_jid, b_pw, b_ca)
    a.connect(address=(a_host, int(a_port)))
    b.connect(address=(b_host, int(b_port)))
    await asyncio.wait_for(asyncio.gather(a.started, b.started), 30)
    print("ok login", flush=True)
    a.send_presence(pto=b_jid, ptype="subscribe")
    b.send_presence(pto=a_jid, ptype="subscribe")
    await until(lambda: a.client_roster[b_jid]["subscription"] == "both"
                and b.client_roster[a_jid]["subscription"] == "both", "rosters-both")
    await until(lambda: b_jid in a.available_from and a_jid in b.available_from, "presence-seen")
    a.send_message(mto=b_jid, mbody="hello from " + a_jid, mtype="chat")
    got = await asyncio.wait_for(b.messages.get(), 30)
    assert got["body"] == "hello from " + a_jid, got["body"]
    print("ok message-a-to-b", flush=True)
    got.reply("hello back from " + b_jid).send()
    back = await asyncio.wait_for(a.messages.get(), 30)
    assert back["body"] == "hello back from " + b_jid, back["body"]
    print("ok message-b-to-a", flush=True)
    await a["xep_0199"].ping(jid=b_jid + "/slix", timeout=20)
    print("ok ping-a-to-b", flush=True)
    await b["xep_0199"].ping(jid=a_jid + "/slix", timeout=20)
    print("ok ping-b-to-a", flush=True)
    a.disconnect()
    b.disconnect()


asyncio.get_event_loop().run_until_complete(main())
print("ok all", flush=True)
