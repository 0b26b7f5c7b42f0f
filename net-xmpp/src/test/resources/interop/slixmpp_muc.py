"""Drives slixmpp's XEP-0045 plugin (a group chat client nobody here wrote) against a Twine server.

usage: slixmpp_muc.py HOST PORT DOMAIN CA_PEM ALICE_PW BOB_PW CAROL_PW

alice, bob and carol log in over STARTTLS and join team@conference.DOMAIN (alice first, so she
creates it and owns it); alice speaks three times and everyone hears it; bob sends carol a private
message through the room; carol leaves, alice speaks again, and carol rejoins asking for the last
three messages of history, which must come with delay stamps from the room, oldest first.
Prints 'ok NAME' lines for each step reached and exits 0 only if every step passed.
"""
import asyncio
import logging
import sys
from pathlib import Path

import slixmpp

host, port, domain, ca, alice_pw, bob_pw, carol_pw = sys.argv[1:8]
port = int(port)
ROOM = slixmpp.JID("team@conference." + domain)
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")


def client(user, password):
    c = slixmpp.ClientXMPP(user + "@" + domain + "/slix", password, sasl_mech="SCRAM-SHA-256")
    c.ca_certs = Path(ca)
    c.register_plugin("xep_0030")
    c.register_plugin("xep_0045")
    c.register_plugin("xep_0203")
    c.started = asyncio.get_event_loop().create_future()
    c.heard = asyncio.Queue()
    c.private = asyncio.Queue()

    async def session_start(_):
        c.send_presence()
        if not c.started.done():
            c.started.set_result(True)

    def groupchat(msg):
        if msg["body"]:
            c.heard.put_nowait(msg)

    def message(msg):
        if msg["type"] == "chat" and msg["body"]:
            c.private.put_nowait(msg)

    c.add_event_handler("session_start", session_start)
    c.add_event_handler("groupchat_message", groupchat)
    c.add_event_handler("message", message)
    return c


async def hear(c, body):
    while True:
        m = await asyncio.wait_for(c.heard.get(), 20)
        if m["body"] == body:
            return m


async def main():
    alice, bob, carol = client("alice", alice_pw), client("bob", bob_pw), client("carol", carol_pw)
    for c in (alice, bob, carol):
        c.connect(address=(host, port))
    await asyncio.wait_for(asyncio.gather(alice.started, bob.started, carol.started), 30)
    print("ok login", flush=True)
    muc = lambda c: c.plugin["xep_0045"]
    pres, _, _, _ = await muc(alice).join_muc_wait(ROOM, "Alice", maxstanzas=0, timeout=20)
    assert pres["muc"]["affiliation"] == "owner", pres
    assert "201" in [str(s) for s in pres["muc"]["status_codes"]], pres
    print("ok alice-created-room", flush=True)
    await muc(bob).join_muc_wait(ROOM, "Bob", maxstanzas=0, timeout=20)
    _, _, occupants, _ = await muc(carol).join_muc_wait(ROOM, "Carol", maxstanzas=0, timeout=20)
    assert sorted(p["from"].resource for p in occupants) == ["Alice", "Bob", "Carol"], occupants
    print("ok three-in-room", flush=True)
    for body in ("one", "two", "three"):
        alice.send_message(mto=ROOM, mbody=body, mtype="groupchat")
    for c in (alice, bob, carol):
        for body in ("one", "two", "three"):
            m = await hear(c, body)
            assert m["from"] == slixmpp.JID(str(ROOM) + "/Alice"), m
    print("ok everyone-heard", flush=True)
    bob.send_message(mto=slixmpp.JID(str(ROOM) + "/Carol"), mbody="psst", mtype="chat")
    m = await asyncio.wait_for(carol.private.get(), 20)
    assert m["body"] == "psst" and m["from"] == slixmpp.JID(str(ROOM) + "/Bob"), m
    print("ok private-message", flush=True)
    gone = asyncio.get_event_loop().create_future()
    alice.add_event_handler("muc::%s::got_offline" % ROOM, lambda p: gone.done() or gone.set_result(p))
    muc(carol).leave_muc(ROOM, "Carol")
    await asyncio.wait_for(gone, 20)
    print("ok carol-left", flush=True)
    alice.send_message(mto=ROOM, mbody="four", mtype="groupchat")
    await hear(bob, "four")
    _, _, _, history = await muc(carol).join_muc_wait(ROOM, "Carol", maxstanzas=3, timeout=20)
    bodies = [h["body"] for h in history]
    assert bodies == ["two", "three", "four"], bodies
    assert all(h["delay"]["from"] == ROOM for h in history), history
    print("ok history-on-rejoin", flush=True)
    for c in (alice, bob, carol):
        await c.disconnect()
    print("ok done", flush=True)


asyncio.get_event_loop().run_until_complete(asyncio.wait_for(main(), 90))
