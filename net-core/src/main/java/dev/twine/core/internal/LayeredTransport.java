package dev.twine.core.internal;

import java.io.IOException;
import java.net.SocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import javax.net.ssl.SSLSession;

/**
 * A transport that runs over another one, {@link #under()}, and leaves to it all that it does not
 * change itself: timeouts and the read deadline, the clock, the addresses, the TLS session and
 * its ALPN protocol, shutting down, closing. A layer overrides its bytes ({@link #read},
 * {@link #write}) and whatever else it does differently (TLS has its own session; compression
 * frees its zlib state on close).
 *
 * <p>Whether a read would wait ({@link #readyToRead()}, {@link #awaitReadable()}) is not passed
 * down: a layer that keeps bytes of its own answers for them, and one that keeps none must say so.
 * Neither is {@link #startTls}: by default TLS runs over the layer, as over any transport.
 */
public interface LayeredTransport extends Transport {
    /** The transport under this one; called for every forwarded operation, so it may change. */
    Transport under();

    @Override
    default void readTimeout(Duration timeout) throws IOException {
        under().readTimeout(timeout);
    }

    @Override
    default void writeTimeout(Duration timeout) {
        under().writeTimeout(timeout);
    }

    @Override
    default void readDeadline(Instant deadline) {
        under().readDeadline(deadline);
    }

    @Override
    default Clock clock() {
        return under().clock();
    }

    @Override
    default SocketAddress remoteAddress() {
        return under().remoteAddress();
    }

    @Override
    default SocketAddress localAddress() {
        return under().localAddress();
    }

    @Override
    default SSLSession tlsSession() {
        return under().tlsSession();
    }

    @Override
    default String applicationProtocol() {
        return under().applicationProtocol();
    }

    @Override
    default void shutdownInput() {
        under().shutdownInput();
    }

    @Override
    default void shutdownOutput() throws IOException {
        under().shutdownOutput();
    }

    @Override
    default void close() {
        under().close();
    }

    @Override
    default boolean isClosed() {
        return under().isClosed();
    }
}
