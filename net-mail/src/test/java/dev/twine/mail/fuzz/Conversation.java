package dev.twine.mail.fuzz;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.ConnectionHandler;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One fuzz input as a whole session: the bytes are what a client sends, then it half-closes; the
 * server's reply lines are collected until it closes. Bounded in time: a session that has not
 * ended {@link #BOUND} after its input ran out is a hang, which fails the target.
 */
final class Conversation {
    static final Duration BOUND = Duration.ofSeconds(10);

    private Conversation() {}

    /**
     * Runs {@code handler} on {@code input} and returns the server's output as lines (CRLF
     * removed). Fails if the handler threw, hung, or ended a line without CRLF.
     */
    static List<String> run(ConnectionHandler handler, byte[] input) throws Exception {
        return run(handler, input, BOUND);
    }

    /** Like {@link #run(ConnectionHandler, byte[])}, with another bound (for long sessions). */
    static List<String> run(ConnectionHandler handler, byte[] input, Duration bound) throws Exception {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        Optional<Throwable> failure;
        try (MemoryConnections.Served served = MemoryConnections.serve(handler, Chunking.whole())) {
            Connection client = served.client();
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    client.input().transferTo(got);
                } catch (IOException closed) {
                    // the server closed without flushing: what arrived is what is checked
                }
            });
            try {
                client.output().write(input);
                client.flush();
                client.shutdownOutput();
            } catch (IOException serverClosedFirst) {
                // the server may close before it read everything (421, QUIT, a limit): allowed
            }
            reader.join(bound);
            assertFalse(reader.isAlive(), "the session did not end within " + bound + " after its input ended");
            failure = served.awaitHandler(bound);
        }
        failure.ifPresent(t -> {
            throw new AssertionError("the session handler threw " + t, t);
        });
        String out = got.toString(StandardCharsets.ISO_8859_1);
        assertTrue(out.isEmpty() || out.endsWith("\r\n"), "the last reply line has no CRLF");
        if (out.isEmpty()) {
            return List.of();
        }
        String[] lines = out.split("\r\n", -1);
        return List.of(lines).subList(0, lines.length - 1);
    }

    /** Fails unless every line matches {@code shape}. */
    static void assertEveryLine(List<String> lines, Pattern shape) {
        for (String line : lines) {
            assertTrue(shape.matcher(line).matches(), () -> "not a reply of the protocol: '" + line + "' in " + lines);
        }
    }
}
