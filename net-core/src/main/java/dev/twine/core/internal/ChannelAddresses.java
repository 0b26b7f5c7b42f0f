package dev.twine.core.internal;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.channels.NetworkChannel;
import java.nio.channels.SocketChannel;

/** The addresses of a connected channel, for the transports over one: null once it is closed. */
final class ChannelAddresses {
    private ChannelAddresses() {
    }

    /** The peer's address, or null if the channel is closed. */
    static SocketAddress remote(SocketChannel channel) {
        try {
            return channel.getRemoteAddress();
        } catch (IOException e) {
            return null;
        }
    }

    /** This side's address, or null if the channel is closed. */
    static SocketAddress local(NetworkChannel channel) {
        try {
            return channel.getLocalAddress();
        } catch (IOException e) {
            return null;
        }
    }
}
