"""Drives slixmpp's XEP-0191 (blocking) and XEP-0352 (CSI) plugins against a Twine server.

usage: slixmpp_mobile.py HOST PORT DOMAIN CA_PEM ALICE_PW BOB_PW

alice and bob subscribe to each other. bob fetches his (empty) blocklist, blocks alice (the
push reaches him, alice sees him go unavailable, her message is refused with
service-unavailable, his to her with not-acceptable), then unblocks her (messages flow again).
Then bob says he is inactive; alice changes her presence three times and bob, once active
again, must have received only the last of them.
Prints 'ok NAME' lines for each step reached and exits 0 only if every step passed.
"""
import asyncio
import logging
import sys
from pathlib import Path

import slixmpp

host, port, domain, ca, alice_pw, bob_pw = sys.argv[1:7]
port = int(port)
ALICE = "alice@" + domain
BOB = "bob@" + domain
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")


def client(jid, password):
    c = slixmpp.ClientXMPP(jid + "/slix", password, sasl_mech="SCRAM-SHA-256")
    c.ca_certs = Path(ca)
    for p in ("xep_0030", "xep_0199", "xep_0191", "xep_0352"):
        c.register_plugin(p)
    c.started = asyncio.get_event_loop().create_future()
    c.messages = asyncio.Queue()
    c.errors = asyncio.Queue()
    c.presences = []
    c.pushes = asyncio.Queue()

    async def session_start(_):
        await c.get_roster()
        c.send_presence()
        if not c.started.done():
            c.started.set_result(True)

    def message(msg):
        if msg["type"] != "error" and msg["body"]:
            c.messages.put_nowait(msg)

    def presence(pres):
        if pres["from"].bare != c.boundjid.bare:
            c.presences.append(pres)

    c.add_event_handler("session_start", session_start)
    c.add_event_handler("message", message)
    c.add_event_handler("message_error", lambda msg: c.errors.put_nowait(msg))
    c.add_event_handler("presence", presence)
    c.add_event_handler("blocked", lambda iq: c.pushes.put_nowait("blocked"))
    c.add_event_handler("unblocked", lambda iq: c.pushes.put_nowait("unblocked"))
    return c


async def until(check, what, seconds=20):
    for _ in range(seconds * 20):
        if check():
            print("ok", what, flush=True)
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("timed out waiting for: " + what)


async def main():
    alice, bob = client(ALICE, alice_pw), client(BOB, bob_pw)
    for c in (alice, bob):
        c.connect(address=(host, port))
    await asyncio.wait_for(asyncio.gather(alice.started, bob.started), 30)
    print("ok login", flush=True)
    alice.send_presence(pto=BOB, ptype="subscribe")
    await until(lambda: alice.client_roster[BOB]["subscription"] == "both"
                and bob.client_roster[ALICE]["subscription"] == "both", "rosters-both")

    blocked = await bob["xep_0191"].get_blocked()
    assert len(blocked["blocklist"]["items"]) == 0, blocked
    print("ok blocklist-empty", flush=True)
    await bob["xep_0191"].block(ALICE)
    assert await asyncio.wait_for(bob.pushes.get(), 20) == "blocked"
    blocked = await bob["xep_0191"].get_blocked()
    assert {str(j) for j in blocked["blocklist"]["items"]} == {ALICE}, blocked
    print("ok blocked-and-pushed", flush=True)
    await until(lambda: any(p["from"].bare == BOB and p["type"] == "unavailable" for p in alice.presences), "unavailable-on-block")
    alice.send_message(mto=BOB + "/slix", mbody="let me in", mtype="chat")
    err = await asyncio.wait_for(alice.errors.get(), 20)
    assert err["error"]["condition"] == "service-unavailable", err
    print("ok refused-from-blocked", flush=True)
    bob.send_message(mto=ALICE, mbody="hi", mtype="chat")
    err = await asyncio.wait_for(bob.errors.get(), 20)
    assert err["error"]["condition"] == "not-acceptable" and "urn:xmpp:blocking:errors" in str(err), err
    print("ok not-acceptable-to-blocked", flush=True)
    await bob["xep_0191"].unblock(ALICE)
    assert await asyncio.wait_for(bob.pushes.get(), 20) == "unblocked"
    alice.send_message(mto=BOB + "/slix", mbody="hello again", mtype="chat")
    m = await asyncio.wait_for(bob.messages.get(), 20)
    assert m["body"] == "hello again", m
    print("ok unblocked", flush=True)

    assert bob["xep_0352"].enabled, "the server did not offer CSI"
    print("ok csi-offered", flush=True)
    bob["xep_0352"].send_inactive()
    await bob["xep_0199"].ping(jid=domain)  # the nonza was handled before the answer
    before = len(bob.presences)
    for show in ("away", "dnd", "xa"):
        alice.send_presence(pshow=show)
    await alice["xep_0199"].ping(jid=domain)  # alice's presence went out before the answer
    bob["xep_0352"].send_active()
    await bob["xep_0199"].ping(jid=domain)  # what was held came before the answer
    got = [p for p in bob.presences[before:] if p["from"].bare == ALICE]
    assert [p["show"] for p in got] == ["xa"], [str(p) for p in got]
    print("ok csi-coalesced", flush=True)

    for c in (alice, bob):
        await c.disconnect()
    print("ok done", flush=True)


asyncio.get_event_loop().run_until_complete(asyncio.wait_for(main(), 110))
