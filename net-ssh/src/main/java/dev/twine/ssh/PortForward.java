package dev.twine.ssh;

import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * A port forwarding an {@link SshClient} keeps open (RFC 4254 §7): local ({@code ssh -L}),
 * remote ({@code ssh -R}) or dynamic ({@code ssh -D}, a SOCKS proxy). It lasts until it is closed
 * or its connection ends.
 */
public final class PortForward implements AutoCloseable {

    /** Stops one kind of forwarding in MINA. */
    @FunctionalInterface
    interface Stop {
        void stop() throws IOException;
    }

    private final InetSocketAddress listening;
    private final Stop stop;

    PortForward(InetSocketAddress listening, Stop stop) {
        this.listening = listening;
        this.stop = stop;
    }

    /**
     * Where connections are accepted: on this machine for local and dynamic forwarding, on the
     * server for remote forwarding. The port is the real one when 0 was asked for.
     *
     * @return the listening address, unresolved for remote forwarding
     */
    public InetSocketAddress listening() {
        return listening;
    }

    /**
     * Stops accepting; connections already carried are cut. Idempotent.
     *
     * @throws IOException if the server cannot be told ({@code cancel-tcpip-forward})
     */
    @Override
    public void close() throws IOException {
        stop.stop();
    }

    /**
     * Describes the forwarding by its listening address.
     *
     * @return {@code PortForward[address]}
     */
    @Override
    public String toString() {
        return "PortForward[" + listening + "]";
    }
}
