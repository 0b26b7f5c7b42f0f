package dev.twine.core;

import dev.twine.core.internal.SocketTransport;
import dev.twine.core.internal.ReadinessTransport;
import dev.twine.core.internal.Transport;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;

/**
 * Which transport carries TCP connections, chosen once per process.
 *
 * <p>The <em>readiness</em> transport ({@link ReadinessTransport}: non-blocking channels on a few
 * selector loops run by virtual threads) is the default on JDK 24 and later, where a virtual
 * thread blocked in {@code Selector.select} no longer pins its carrier (JEP 491). On JDK 21 to 23
 * the <em>socket</em> transport ({@link SocketTransport}: the JDK's blocking sockets, timeouts by
 * the watchdog) is the default. The system property {@code twine.transport=readiness|socket}
 * forces either; any other value is reported once and ignored.
 */
final class Transports {
    private static final boolean READINESS = choose(System.getProperty("twine.transport", ""));

    private Transports() {}

    /** Whether TCP connections use the readiness transport in this process. */
    static boolean readiness() {
        return READINESS;
    }

    private static boolean choose(String property) {
        return switch (property) {
            case "readiness" -> true;
            case "socket" -> false;
            default -> {
                if (!property.isEmpty()) {
                    System.getLogger(Transports.class.getName()).log(Level.WARNING,
                            "twine.transport={0} is neither readiness nor socket; using the default", property);
                }
                yield Runtime.version().feature() >= 24;
            }
        };
    }

    /** A socket transport over an accepted or connected socket; the socket is closed if that fails. */
    static Transport of(Socket s) throws IOException {
        try {
            s.setTcpNoDelay(true);
            return new SocketTransport(s);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** A readiness transport over an accepted or connected TCP channel; closed if that fails. */
    static Transport of(SocketChannel ch) throws IOException {
        try {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            return new ReadinessTransport(ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }
}
