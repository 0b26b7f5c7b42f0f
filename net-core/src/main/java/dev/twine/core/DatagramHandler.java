package dev.twine.core;

import java.util.Optional;

/**
 * What a server runs for each datagram on a {@code udp:} endpoint, on its own virtual thread:
 * request in, response out (DNS). The number of datagrams handled at once is bounded by
 * {@link Server.Builder#maxDatagramsInFlight(int)}; past it the server stops receiving, so the
 * kernel's socket buffer fills and drops, and memory stays bounded under a flood.
 */
@FunctionalInterface
public interface DatagramHandler {
    /**
     * Answers one datagram.
     *
     * @return the reply to send back to the sender, or empty to send nothing
     * @throws Exception anything; the datagram is dropped and the error logged once
     */
    Optional<byte[]> handle(Datagram request) throws Exception;
}
