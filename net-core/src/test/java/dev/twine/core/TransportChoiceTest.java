package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.twine.core.internal.CoreAccess;
import dev.twine.core.internal.ReadinessTransport;
import dev.twine.core.internal.SocketTransport;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The transport a TCP connection gets is the one {@code twine.transport} asks for, or by default
 * the readiness loop from JDK 24 on: so the surefire run with {@code -Dtwine.transport=socket}
 * really tests the socket transport, and the default run the readiness one.
 */
class TransportChoiceTest {
    private static Class<?> expected() {
        String asked = System.getProperty("twine.transport", "");
        boolean readiness = asked.equals("readiness") || (!asked.equals("socket") && Runtime.version().feature() >= 24);
        return readiness ? ReadinessTransport.class : SocketTransport.class;
    }

    @Test
    void bothEndsUseTheTransportThisRunAsksFor() throws Exception {
        BlockingQueue<Class<?>> seen = new ArrayBlockingQueue<>(1);
        Server server = Server.builder("choice")
                .handler(conn -> seen.add(CoreAccess.get().transport(conn).getClass()))
                .listen("tcp:0:interface=127.0.0.1")
                .start();
        try (Connection c = Client.connect(Endpoint.parseClient("tcp:127.0.0.1:" + server.port()),
                ClientOptions.builder().build())) {
            assertEquals(expected(), CoreAccess.get().transport(c).getClass());
            assertEquals(expected(), seen.poll(20, TimeUnit.SECONDS));
        } finally {
            server.shutdown(Duration.ofSeconds(5));
        }
    }
}
