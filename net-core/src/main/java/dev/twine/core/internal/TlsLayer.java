package dev.twine.core.internal;

import java.io.IOException;
import java.net.Socket;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;

/** What a transport needs of a TLS configuration to start TLS: an engine, or a layered socket. */
public interface TlsLayer {
    /** An engine in the configuration's client or server mode, for {@code host} and {@code port}. */
    SSLEngine engine(String host, int port);

    /** An {@code SSLSocket} over {@code raw}, not yet handshaken; no bytes consumed before count. */
    SSLSocket layer(Socket raw, String host) throws IOException;
}
