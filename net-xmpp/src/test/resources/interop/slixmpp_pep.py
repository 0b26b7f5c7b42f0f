"""Drives slixmpp's PEP plugins (xep_0163, xep_0084, xep_0172, xep_0054, xep_0060) against a Twine server.

usage: slixmpp_pep.py HOST PORT DOMAIN CA_PEM ALICE_PW BOB_PW

bob subscribes to alice's presence. alice publishes an avatar (XEP-0084 data, then metadata):
bob, whose caps ask for avatar metadata (+notify), is notified and fetches the data by id, which
must hash to that id. alice publishes a nickname (XEP-0172), which bob is notified of. alice sets
her vCard (XEP-0054), bob reads it back. alice stores two bookmarks (XEP-0402 options: whitelist,
max_items=max) and reads both back; bob may not read them.
Prints 'ok NAME' lines for each step reached and exits 0 only if every step passed.
"""
import asyncio
import hashlib
import logging
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import slixmpp
from slixmpp.exceptions import IqError

host, port, domain, ca, alice_pw, bob_pw = sys.argv[1:7]
port = int(port)
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
loop = asyncio.get_event_loop()
BOOKMARKS = "urn:xmpp:bookmarks:1"


def client(user, password):
    c = slixmpp.ClientXMPP(user + "@" + domain + "/slix", password, sasl_mech="SCRAM-SHA-256")
    c.ca_certs = Path(ca)
    for p in ("xep_0004", "xep_0030", "xep_0060", "xep_0115", "xep_0163", "xep_0084", "xep_0172", "xep_0054"):
        c.register_plugin(p)
    c.started = loop.create_future()
    c.subscribed = loop.create_future()
    c.avatar = loop.create_future()
    c.nick = loop.create_future()

    async def session_start(_):
        await c["xep_0115"].update_caps(broadcast=False)  # the +notify interests in the first presence's caps
        c.send_presence()
        await c.get_roster()
        if not c.started.done():
            c.started.set_result(True)

    def subscribed(p):
        if not c.subscribed.done():
            c.subscribed.set_result(True)

    def avatar(msg):
        item = msg["pubsub_event"]["items"]["item"]
        if not c.avatar.done():
            c.avatar.set_result((msg["from"].bare, item["id"], item["avatar_metadata"]["info"]["bytes"]))

    def nick(msg):
        if not c.nick.done():
            c.nick.set_result((msg["from"].bare, msg["pubsub_event"]["items"]["item"]["nick"]["nick"]))

    c.add_event_handler("session_start", session_start)
    c.add_event_handler("presence_subscribed", subscribed)
    c.add_event_handler("avatar_metadata_publish", avatar)
    c.add_event_handler("user_nick_publish", nick)
    return c


def bookmark_options(c):
    form = c["xep_0004"].make_form(ftype="submit")
    form.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#publish-options")
    form.add_field(var="pubsub#persist_items", value="true")
    form.add_field(var="pubsub#max_items", value="max")
    form.add_field(var="pubsub#send_last_published_item", value="never")
    form.add_field(var="pubsub#access_model", value="whitelist")
    return form


async def main():
    alice, bob = client("alice", alice_pw), client("bob", bob_pw)
    for c in (alice, bob):
        c.connect(address=(host, port))
    await asyncio.wait_for(asyncio.gather(alice.started, bob.started), 30)
    print("ok login", flush=True)
    bob.send_presence_subscription(pto="alice@" + domain)
    await asyncio.wait_for(bob.subscribed, 20)  # slixmpp's alice approves it by herself
    print("ok subscribed", flush=True)

    image = os.urandom(3000)
    avatar_id = alice["xep_0084"].generate_id(image)
    await alice["xep_0084"].publish_avatar(image)
    await alice["xep_0084"].publish_avatar_metadata({"id": avatar_id, "type": "image/png", "bytes": len(image)})
    publisher, got_id, size = await asyncio.wait_for(bob.avatar, 20)
    assert (str(publisher), got_id, int(size)) == ("alice@" + domain, avatar_id, len(image)), (publisher, got_id, size)
    print("ok avatar-notified", flush=True)
    data = await bob["xep_0084"].retrieve_avatar("alice@" + domain, got_id)
    fetched = data["pubsub"]["items"]["item"]["avatar_data"]["value"]
    assert hashlib.sha1(fetched).hexdigest() == avatar_id
    print("ok avatar-fetched", flush=True)

    await alice["xep_0172"].publish_nick("Alice in Twine")
    publisher, name = await asyncio.wait_for(bob.nick, 20)
    assert (str(publisher), name) == ("alice@" + domain, "Alice in Twine"), (publisher, name)
    print("ok nick", flush=True)

    card = alice["xep_0054"].make_vcard()
    card["FN"] = "Alice Liddell"
    card["NICKNAME"] = "alice"
    await alice["xep_0054"].publish_vcard(card)
    got = await bob["xep_0054"].get_vcard("alice@" + domain)
    assert got["vcard_temp"]["FN"] == "Alice Liddell", got
    print("ok vcard", flush=True)

    for room in ("team@conference." + domain, "ops@conference." + domain):
        conference = ET.Element("{%s}conference" % BOOKMARKS, {"name": room.split("@")[0], "autojoin": "true"})
        ET.SubElement(conference, "{%s}nick" % BOOKMARKS).text = "alice"
        await alice["xep_0060"].publish(None, BOOKMARKS, id=room, payload=conference, options=bookmark_options(alice))
    items = await alice["xep_0060"].get_items(None, BOOKMARKS)
    ids = [i["id"] for i in items["pubsub"]["items"]]
    assert ids == ["team@conference." + domain, "ops@conference." + domain], ids
    try:
        await bob["xep_0060"].get_items("alice@" + domain, BOOKMARKS)
        raise AssertionError("bob read alice's bookmarks")
    except IqError as e:
        assert e.condition == "not-allowed", e.condition
    print("ok bookmarks", flush=True)

    for c in (alice, bob):
        c.disconnect()
    print("ok done", flush=True)


loop.run_until_complete(asyncio.wait_for(main(), 100))
