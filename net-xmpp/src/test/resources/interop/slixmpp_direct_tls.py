"""Two slixmpp users log in over direct TLS (XEP-0368: TLS from the first byte, ALPN
xmpp-client, no STARTTLS) and chat.

usage: slixmpp_direct_tls.py HOST PORT DOMAIN CA_PEM ALICE_PW BOB_PW

Prints 'ok NAME' for each step reached and exits 0 only if every step passed.
"""
import asyncio
import logging
import sys
from pathlib import Path

import slixmpp

host, port, domain, ca, alice_pw, bob_pw = sys.argv[1:7]
port = int(port)
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")


def client(jid, password):
    c = slixmpp.ClientXMPP(jid + "/slix", password, sasl_mech="SCRAM-SHA-256")
    c.ca_certs = Path(ca)
    c.ssl_context.set_alpn_protocols(["xmpp-client"])  # XEP-0368 §4
    c.started = asyncio.get_event_loop().create_future()
    c.messages = asyncio.Queue()

    async def session_start(_):
        c.send_presence()
        if not c.started.done():
            c.started.set_result(True)

    def message(msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            c.messages.put_nowait(msg)

    def failed(_):
        if not c.started.done():
            c.started.set_exception(RuntimeError(jid + ": authentication failed"))

    c.add_event_handler("session_start", session_start)
    c.add_event_handler("message", message)
    c.add_event_handler("failed_auth", failed)
    return c


async def main():
    alice = client("alice@" + domain, alice_pw)
    bob = client("bob@" + domain, bob_pw)
    for c in (alice, bob):
        c.connect(address=(host, port), use_ssl=True, force_starttls=False)
    await asyncio.wait_for(asyncio.gather(alice.started, bob.started), 30)
    print("ok login-direct-tls", flush=True)
    alpn = alice.transport.get_extra_info("ssl_object").selected_alpn_protocol()
    print("ok alpn " + str(alpn), flush=True)
    alice.send_message(mto=bob.boundjid, mbody="over direct tls", mtype="chat")
    got = await asyncio.wait_for(bob.messages.get(), 20)
    assert got["body"] == "over direct tls", got["body"]
    print("ok message-to-bob", flush=True)
    bob.send_message(mto=alice.boundjid, mbody="likewise", mtype="chat")
    got = await asyncio.wait_for(alice.messages.get(), 20)
    assert got["body"] == "likewise", got["body"]
    print("ok reply-to-alice", flush=True)
    for c in (alice, bob):
        c.disconnect()
    print("ok done", flush=True)


try:
    asyncio.get_event_loop().run_until_complete(main())
except Exception as e:  # the test prints the output on failure
    print("error", repr(e), flush=True)
    sys.exit(1)
