package dev.twine.core;

import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * An address a {@link Service} listens on, once bound: the protocol ({@code tcp}, {@code tls},
 * {@code udp}, {@code unix}) and the real address (with the real port when port 0 was asked for).
 */
public record Binding(String service, String protocol, SocketAddress address) {
    /** The bound port, or -1 for a Unix socket. */
    public int port() {
        return address instanceof InetSocketAddress i ? i.getPort() : -1;
    }

    /** The launcher's ready line: {@code listening echo tcp 127.0.0.1:7000}. */
    public String listeningLine() {
        String where;
        if (address instanceof InetSocketAddress i) {
            String ip = i.getAddress().getHostAddress();
            where = (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + i.getPort();
        } else {
            where = String.valueOf(address);
        }
        return "listening " + service + " " + protocol + " " + where;
    }
}
