package dev.twine.core;

import java.net.SocketAddress;
import java.util.Objects;

/**
 * One received datagram: its payload (exactly the bytes received), who sent it and on which local
 * address it arrived.
 */
public record Datagram(byte[] payload, SocketAddress sender, SocketAddress local) {
    public Datagram {
        Objects.requireNonNull(payload, "payload");
        Objects.requireNonNull(sender, "sender");
    }
}
