package dev.twine.core.testing;

import dev.twine.core.Connection;
import dev.twine.core.ConnectionHandler;
import dev.twine.core.Handle;
import dev.twine.core.Scope;
import dev.twine.core.internal.CoreAccess;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Connections with no socket under them: two {@link Connection}s joined by in-memory pipes, with
 * the same buffers, codecs and timeouts as real ones. Bytes reach the other side cut as a
 * {@link Chunking} says, and timeouts are read on a {@link Clock} (a {@link ManualClock} in tests
 * that must not sleep). {@link Connection#startTls} works on them too, through an
 * {@code SSLEngine}, so a protocol's STARTTLS can be tested in every chunking; the client side
 * names the server with {@link Connection#startTls(dev.twine.core.Tls, String)}.
 *
 * <pre>{@code
 * try (MemoryConnections.Served s = MemoryConnections.serve(new EchoHandler(), Chunking.byteByByte())) {
 *     LineWriter.of(s.client()).writeLine("hi").flush();
 *     assertEquals("hi", LineReader.of(s.client(), 100).readLine());
 * }
 * }</pre>
 */
public final class MemoryConnections {
    /** Default per-direction capacity: a writer blocks past this many unread bytes. */
    public static final int DEFAULT_CAPACITY = 256 * 1024;

    private static final AtomicInteger PORTS = new AtomicInteger(40000);

    private MemoryConnections() {}

    /** Two connected ends: what the client writes the server reads, and back. */
    public record Pair(Connection client, Connection server) implements AutoCloseable {
        /** Closes both ends. */
        @Override
        public void close() {
            client.close();
            server.close();
        }
    }

    /** A pair that delivers each write whole, on the system clock. */
    public static Pair pair() {
        return pair(Chunking.whole(), Clock.systemUTC(), DEFAULT_CAPACITY);
    }

    /** A pair that cuts writes as {@code chunking} says, on the system clock. */
    public static Pair pair(Chunking chunking) {
        return pair(chunking, Clock.systemUTC(), DEFAULT_CAPACITY);
    }

    /**
     * A pair whose timeouts are read on {@code clock} and whose writers block once
     * {@code capacity} bytes are unread in a direction.
     */
    public static Pair pair(Chunking chunking, Clock clock, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be positive: " + capacity);
        }
        Pipe up = new Pipe(chunking, clock, capacity);
        Pipe down = new Pipe(chunking, clock, capacity);
        InetSocketAddress clientAddr = new InetSocketAddress(InetAddress.getLoopbackAddress(), PORTS.getAndIncrement() % 20000 + 40000);
        InetSocketAddress serverAddr = new InetSocketAddress(InetAddress.getLoopbackAddress(), 7);
        CoreAccess.Factory f = CoreAccess.get();
        Connection client = f.connection("memory-client", new MemoryTransport(down, up, clientAddr, serverAddr), true);
        Connection server = f.connection("memory", new MemoryTransport(up, down, serverAddr, clientAddr), false);
        return new Pair(client, server);
    }

    /**
     * Runs {@code handler} on the server end of a new pair, on its own virtual thread, as a server
     * would (flush and close when it returns); the test talks through {@link Served#client()}.
     */
    public static Served serve(ConnectionHandler handler, Chunking chunking) {
        return serve(handler, chunking, Clock.systemUTC());
    }

    /** Like {@link #serve(ConnectionHandler, Chunking)}, with timeouts read on {@code clock}. */
    public static Served serve(ConnectionHandler handler, Chunking chunking, Clock clock) {
        Pair pair = pair(chunking, clock, DEFAULT_CAPACITY);
        Scope scope = Scope.open("memory-server");
        Handle<Void> h = scope.fork("handler", () -> {
            try {
                handler.handle(pair.server());
                if (!pair.server().isClosed()) {
                    pair.server().flush();
                }
            } finally {
                CoreAccess.get().end(pair.server());
            }
        });
        return new Served(pair, scope, h);
    }

    /** A handler running on the server end of an in-memory pair. */
    public static final class Served implements AutoCloseable {
        private final Pair pair;
        private final Scope scope;
        private final Handle<Void> handler;

        private Served(Pair pair, Scope scope, Handle<Void> handler) {
            this.pair = pair;
            this.scope = scope;
            this.handler = handler;
        }

        /** The test's end. */
        public Connection client() {
            return pair.client();
        }

        /** The handler's end; tests may inspect it (for example whether it was closed). */
        public Connection server() {
            return pair.server();
        }

        /**
         * Waits up to {@code timeout} (real time) for the handler to return.
         *
         * @return what the handler threw, or empty if it returned normally
         * @throws AssertionError if it is still running after {@code timeout}
         */
        public Optional<Throwable> awaitHandler(Duration timeout) throws InterruptedException {
            try {
                handler.await(timeout);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError("handler still running after " + timeout);
            } catch (RuntimeException failedOrCancelled) {
                // the state below says which
            }
            return handler.state() == Handle.State.FAILED ? Optional.of(handler.exceptionNow()) : Optional.empty();
        }

        /** Closes the client end and waits for the handler to end (it is cancelled if it does not). */
        @Override
        public void close() {
            pair.client().close();
            try {
                awaitHandler(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (AssertionError stuck) {
                scope.cancel();
            }
            try {
                scope.close();
            } catch (RuntimeException handlerFailure) {
                // reported through awaitHandler; closing must not throw it again
            }
        }
    }
}
