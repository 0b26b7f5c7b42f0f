package dev.twine.core;

import java.util.Optional;

/**
 * What a server runs for each datagram on a {@code udp:} endpoint: request in, response out
 * (DNS). {@link #handle} runs on a virtual thread of its own per datagram and may block; the
 * number handled at once is bounded by {@link Server.Builder#maxDatagramsInFlight(int)}, past
 * which the server stops receiving, so the kernel's socket buffer fills and drops, and memory
 * stays bounded under a flood.
 *
 * <p>A handler whose answer is often ready without blocking (a cache) also overrides
 * {@link #tryHandle}: the server asks it first, on the thread that received the datagram, and
 * sends what it returns from there, so such a datagram costs no thread of its own and no
 * hand-off between threads. For example, a look-up service that remembers what a slow backend
 * said:
 *
 * <pre>{@code
 * Map<String, byte[]> known = new ConcurrentHashMap<>();
 * DatagramHandler lookup = new DatagramHandler() {
 *     public Optional<byte[]> tryHandle(Datagram d) { // a map look-up: never blocks
 *         return Optional.ofNullable(known.get(new String(d.payload(), UTF_8)));
 *     }
 *
 *     public Optional<byte[]> handle(Datagram d) throws Exception { // may block: a thread of its own
 *         String key = new String(d.payload(), UTF_8);
 *         byte[] value = directory.fetch(key).getBytes(UTF_8); // a blocking call to the backend
 *         if (known.size() < 10_000) {
 *             known.put(key, value);
 *         }
 *         return Optional.of(value);
 *     }
 * };
 * Server.builder("lookup").listen("udp:7000").datagramHandler(lookup).start();
 * }</pre>
 */
@FunctionalInterface
public interface DatagramHandler {
    /**
     * Answers one datagram, on a virtual thread of its own; may block.
     *
     * @return the reply to send back to the sender, or empty to send nothing
     * @throws Exception anything; the datagram is dropped and the error logged once
     */
    Optional<byte[]> handle(Datagram request) throws Exception;

    /**
     * Answers one datagram at once if that needs no blocking work, on the thread that received
     * it: the server calls this first for every datagram, sends a present reply from that thread,
     * and only for an empty result starts a thread that calls {@link #handle} (so empty means
     * "not at once", never "send nothing": a datagram to be dropped goes to {@code handle}, which
     * says so). The default answers nothing at once, so every datagram goes to {@code handle}.
     *
     * <p>It must not block (no I/O, no sleeping, no lock held by someone doing I/O): while it runs,
     * the endpoint receives nothing more. It runs before {@code handle} is called for the same
     * datagram, never at the same time; it may run at the same time as {@code handle} for other
     * datagrams, so what the two share must be safe for concurrent use.
     *
     * @return the reply to send back to the sender now, or empty to have {@code handle} decide
     * @throws Exception anything; the datagram is dropped and the error logged once
     */
    default Optional<byte[]> tryHandle(Datagram request) throws Exception {
        return Optional.empty();
    }
}
