package dev.twine.core;

/**
 * What a server runs for each connection, on the connection's own virtual thread: plain blocking
 * code that reads, writes and returns.
 *
 * <p>When {@code handle} returns, the server flushes the output and closes the connection. An
 * exception that escapes closes only this connection and is logged once with the peer's address
 * (at debug level for the ordinary ends of a connection: a vanished peer, a timeout, a drain).
 */
@FunctionalInterface
public interface ConnectionHandler {
    /**
     * Serves one connection.
     *
     * @throws Exception anything; it ends this connection only
     */
    void handle(Connection connection) throws Exception;
}
