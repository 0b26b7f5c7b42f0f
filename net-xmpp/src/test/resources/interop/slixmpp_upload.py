"""Drives slixmpp's HTTP File Upload plugin (xep_0363) against a Twine server.

usage: slixmpp_upload.py HOST PORT DOMAIN CA_PEM ALICE_PW FILE

alice finds the upload service through disco (items of the domain, then its info and the
max-file-size form), uploads FILE with upload_file, and fetches the GET URL it got back with
urllib over TLS (trusting CA_PEM): the bytes must be FILE's. A file larger than the advertised
maximum is refused by the plugin itself (FileTooBig), which shows the form was read; a slot asked
for directly for too large a file gets not-acceptable from the server.
Prints 'ok NAME' lines for each step reached and exits 0 only if every step passed.
"""
import asyncio
import io
import logging
import os
import ssl
import sys
import urllib.request
from pathlib import Path

host, port, domain, ca, alice_pw, path = sys.argv[1:7]
os.environ["SSL_CERT_FILE"] = ca  # aiohttp's PUT verifies the upload's certificate against the test CA
import slixmpp  # noqa: E402
from slixmpp.exceptions import IqError  # noqa: E402
from slixmpp.plugins.xep_0363.http_upload import FileTooBig  # noqa: E402

# slixmpp 1.8.3's disco (get_info_from_domain, which upload_file's service discovery uses) hands
# asyncio.wait coroutines, which Python 3.11 refuses; wrap them in tasks as older Pythons did
_wait = asyncio.wait


async def _wait_tasks(aws, *args, **kwargs):
    return await _wait([asyncio.ensure_future(a) for a in aws], *args, **kwargs)


asyncio.wait = _wait_tasks
port = int(port)
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
loop = asyncio.get_event_loop()
failed = []


def ok(step):
    print("ok " + step, flush=True)


async def run(c):
    data = Path(path).read_bytes()
    url = await c["xep_0363"].upload_file(Path(path), content_type="application/octet-stream", timeout=30)
    ok("uploaded")
    if not url.startswith("https://"):
        raise AssertionError("GET URL is not https: " + url)
    context = ssl.create_default_context(cafile=ca)
    fetched = await loop.run_in_executor(None, lambda: urllib.request.urlopen(url, context=context, timeout=30))
    body = fetched.read()
    if body != data:
        raise AssertionError("fetched %d bytes, uploaded %d" % (len(body), len(data)))
    if fetched.headers.get("X-Content-Type-Options") != "nosniff":
        raise AssertionError("no nosniff: %s" % fetched.headers)
    ok("fetched")
    try:
        await c["xep_0363"].upload_file(Path("big.bin"), input_file=io.BytesIO(b"x"), size=int(c["xep_0363"].max_file_size) + 1)
        raise AssertionError("a too large file was accepted")
    except FileTooBig:
        ok("too-large-client")
    try:
        await c["xep_0363"].request_slot(c["xep_0363"].upload_service, "big.bin", int(c["xep_0363"].max_file_size) + 1,
                                         "application/octet-stream", timeout=10)
        raise AssertionError("a slot for a too large file was granted")
    except IqError as e:
        if e.condition != "not-acceptable":
            raise
        ok("too-large-server")


def main():
    c = slixmpp.ClientXMPP("alice@" + domain + "/slix", alice_pw, sasl_mech="SCRAM-SHA-256")
    c.ca_certs = Path(ca)
    for p in ("xep_0030", "xep_0363"):
        c.register_plugin(p)
    done = loop.create_future()

    async def session_start(_):
        ok("login")
        try:
            await run(c)
            ok("done")
        except Exception as e:  # report, then fail the run
            failed.append(e)
            print("failed: %r" % (e,), flush=True)
        done.set_result(True)

    c.add_event_handler("session_start", session_start)
    c.connect(address=(host, port))
    loop.run_until_complete(asyncio.wait_for(done, 90))
    c.disconnect()
    sys.exit(1 if failed else 0)


main()
