"""Drives slixmpp's XEP-0313 plugin (an archive client nobody here wrote) against a Twine server.

usage: slixmpp_mam.py HOST PORT DOMAIN CA_PEM ALICE_PW BOB_PW

alice sends bob 500 chat messages; bob pages through his archive with slixmpp's RSM iterator,
100 a page, and must get all 500 in order, each with a delay stamp; then backwards from the end,
the last 50 in reverse order.
Prints 'ok NAME' lines for each step reached and exits 0 only if every step passed.
"""
import asyncio
import logging
import sys
from pathlib import Path

import slixmpp

host, port, domain, ca, alice_pw, bob_pw = sys.argv[1:7]
port = int(port)
N = 500
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")


def client(user, password):
    c = slixmpp.ClientXMPP(user + "@" + domain + "/slix", password, sasl_mech="SCRAM-SHA-256")
    c.ca_certs = Path(ca)
    for p in ("xep_0030", "xep_0059", "xep_0297", "xep_0313"):
        c.register_plugin(p)
    c.started = asyncio.get_event_loop().create_future()
    c.received = 0
    c.all_in = asyncio.get_event_loop().create_future()

    async def session_start(_):
        c.send_presence()
        if not c.started.done():
            c.started.set_result(True)

    def message(msg):
        if msg["type"] == "chat" and msg["body"].startswith("note "):
            c.received += 1
            if c.received == N and not c.all_in.done():
                c.all_in.set_result(True)

    c.add_event_handler("session_start", session_start)
    c.add_event_handler("message", message)
    return c


async def main():
    alice, bob = client("alice", alice_pw), client("bob", bob_pw)
    for c in (alice, bob):
        c.connect(address=(host, port))
    await asyncio.wait_for(asyncio.gather(alice.started, bob.started), 30)
    print("ok login", flush=True)
    for i in range(N):
        alice.send_message(mto="bob@" + domain, mbody="note %d" % i, mtype="chat")
    await asyncio.wait_for(bob.all_in, 60)
    print("ok delivered", flush=True)
    bodies = []
    async for m in bob["xep_0313"].iterate(rsm={"max": 100}):
        fwd = m["mam_result"]["forwarded"]
        assert fwd["delay"]["stamp"] is not None, m
        bodies.append(fwd["stanza"]["body"])
    assert bodies == ["note %d" % i for i in range(N)], (len(bodies), bodies[:3], bodies[-3:])
    print("ok paged-500", flush=True)
    last = []
    async for m in bob["xep_0313"].iterate(rsm={"max": 20}, reverse=True, total=50):
        last.append(m["mam_result"]["forwarded"]["stanza"]["body"])
    assert last == ["note %d" % i for i in range(N - 1, N - 51, -1)], last
    print("ok backwards-50", flush=True)
    for c in (alice, bob):
        await c.disconnect()
    print("ok done", flush=True)


asyncio.get_event_loop().run_until_complete(asyncio.wait_for(main(), 110))
