"""A raw XMPP-over-WebSocket (RFC 7395) session with Python's websockets library (Debian
python3-websockets), a WebSocket client nobody here wrote.

usage: websockets_rfc7395.py URL CA_PEM DOMAIN USER PASSWORD PEER

Opens the stream, logs in with SASL PLAIN, binds, sends presence and a message "from python"
to PEER, waits for a chat message back, closes. Prints 'ok NAME' per step; exits 0 if all passed.
"""
import asyncio
import base64
import ssl
import sys

import websockets

url, ca, domain, user, password, peer = sys.argv[1:7]
FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"


async def main():
    context = ssl.create_default_context(cafile=ca)
    async with websockets.connect(url, subprotocols=["xmpp"], ssl=context) as ws:
        assert ws.subprotocol == "xmpp", ws.subprotocol
        await ws.send(f"<open xmlns='{FRAMING}' to='{domain}' version='1.0'/>")
        assert (await ws.recv()).startswith("<open")
        assert "PLAIN" in await ws.recv()
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        await ws.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>")
        assert (await ws.recv()).startswith("<success")
        print("ok login", flush=True)
        await ws.send(f"<open xmlns='{FRAMING}' to='{domain}' version='1.0'/>")
        await ws.recv()
        await ws.recv()
        await ws.send("<iq xmlns='jabber:client' type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                      "<resource>py</resource></bind></iq>")
        assert "/py" in await ws.recv()
        await ws.send("<presence xmlns='jabber:client'/>")
        await ws.send(f"<message xmlns='jabber:client' to='{peer}' type='chat'><body>from python</body></message>")
        print("ok sent", flush=True)
        while True:
            m = await asyncio.wait_for(ws.recv(), 20)
            if m.startswith("<message") and "<body>" in m:
                print("ok reply " + m.split("<body>")[1].split("</body>")[0], flush=True)
                break
        await ws.send(f"<close xmlns='{FRAMING}'/>")
        assert (await ws.recv()).startswith("<close")
        await ws.wait_closed()
        print("ok closed", flush=True)


try:
    asyncio.run(main())
except Exception as e:  # the test prints the output on failure
    print("error", repr(e), flush=True)
    sys.exit(1)
