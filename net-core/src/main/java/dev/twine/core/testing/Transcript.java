package dev.twine.core.testing;

import dev.twine.core.ConnectionHandler;
import dev.twine.core.LineReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A scripted conversation with a server-side handler, written the way RFCs print them:
 *
 * <pre>{@code
 * Transcript.parse("""
 *     S: 220 example.org ready
 *     C: HELO client.example
 *     S: 250 example.org
 *     C: QUIT
 *     S: 221 bye
 *     S: <closed>
 *     """).run(new SmtpHandler(config));
 * }</pre>
 *
 * <p>{@code C:} lines are sent by the test, each followed by CRLF; consecutive {@code C:} lines are
 * sent in one write (pipelined), so chunking also splits across line boundaries. {@code S:} lines
 * must be what the handler sends next, exactly. {@code S: <closed>} expects the handler to close
 * the connection (end of stream) at that point. Other lines ({@code #} comments, blank ones) are
 * ignored; leading indentation is stripped, trailing spaces are kept (write a trailing space as
 * {@code \s} inside a Java text block, whose compiler removes plain trailing spaces).
 *
 * <p>{@link #run(ConnectionHandler)} replays the script under every {@link Chunking#standard()}
 * chunking, each with a fresh handler connection; a mismatch throws {@link AssertionError} naming
 * the chunking, the script line, what was expected and what came.
 */
public final class Transcript {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private record Step(int lineNumber, boolean client, String text) {}

    private final List<Step> steps;
    private final int maxLine;

    private Transcript(List<Step> steps, int maxLine) {
        this.steps = steps;
        this.maxLine = maxLine;
    }

    /**
     * Parses a script.
     *
     * @throws IllegalArgumentException naming a line that is neither {@code C:}, {@code S:},
     *     a comment nor blank
     */
    public static Transcript parse(String script) {
        List<Step> steps = new ArrayList<>();
        String[] lines = script.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            // indentation goes; trailing spaces stay, as some replies end in one (SMTP's "334 ",
            // IMAP's "+ "): in a Java text block write such a space as \s, which the compiler keeps
            String line = lines[i].stripLeading();
            if (line.endsWith("\r")) {
                line = line.substring(0, line.length() - 1);
            }
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("C:") || line.startsWith("S:")) {
                String text = line.substring(2);
                if (text.startsWith(" ")) {
                    text = text.substring(1);
                }
                steps.add(new Step(i + 1, line.charAt(0) == 'C', text));
            } else {
                throw new IllegalArgumentException("transcript line " + (i + 1) + ": expected 'C: ...' or 'S: ...', got '" + line + "'");
            }
        }
        return new Transcript(List.copyOf(steps), 64 * 1024);
    }

    /** Replays the script under every standard chunking. */
    public void run(ConnectionHandler handler) throws InterruptedException {
        for (Chunking c : Chunking.standard()) {
            run(handler, c);
        }
    }

    /**
     * Replays the script once under {@code chunking}; then closes the client end and checks that
     * the handler ended without an exception.
     *
     * @throws AssertionError on the first difference, or if the handler failed or hung
     */
    public void run(ConnectionHandler handler, Chunking chunking) throws InterruptedException {
        try (MemoryConnections.Served served = MemoryConnections.serve(handler, chunking)) {
            served.client().readTimeout(WAIT);
            LineReader reader = LineReader.of(served.client(), maxLine);
            ByteArrayOutputStream pending = new ByteArrayOutputStream();
            for (Step step : steps) {
                if (step.client()) {
                    pending.writeBytes((step.text() + "\r\n").getBytes(StandardCharsets.UTF_8));
                    continue;
                }
                send(served, pending);
                String got;
                try {
                    got = reader.readLine();
                } catch (IOException e) {
                    throw fail(chunking, step, "no line came: " + e, served);
                }
                if (step.text().equals("<closed>")) {
                    if (got != null) {
                        throw fail(chunking, step, "expected the server to close, but it sent: " + got, served);
                    }
                } else if (got == null) {
                    throw fail(chunking, step, "expected '" + step.text() + "' but the server closed the connection", served);
                } else if (!got.equals(step.text())) {
                    throw fail(chunking, step, "expected '" + step.text() + "' but got '" + got + "'", served);
                }
            }
            send(served, pending);
            served.client().shutdownOutput();
            Optional<Throwable> failure = served.awaitHandler(WAIT);
            if (failure.isPresent()) {
                AssertionError e = new AssertionError("[" + chunking + "] handler failed: " + failure.get());
                e.initCause(failure.get());
                throw e;
            }
        } catch (IOException e) {
            throw new AssertionError("[" + chunking + "] I/O error talking to the handler: " + e, e);
        }
    }

    private static void send(MemoryConnections.Served served, ByteArrayOutputStream pending) throws IOException {
        if (pending.size() > 0) {
            served.client().output().write(pending.toByteArray());
            served.client().flush();
            pending.reset();
        }
    }

    private static AssertionError fail(Chunking chunking, Step step, String what, MemoryConnections.Served served) {
        String handlerState = "";
        try {
            Optional<Throwable> t = served.awaitHandler(Duration.ofMillis(50));
            handlerState = t.map(e -> " (the handler threw " + e + ")").orElse(" (the handler returned)");
        } catch (AssertionError | InterruptedException stillRunning) {
            // the handler is still running; nothing to add
        }
        return new AssertionError("[" + chunking + "] transcript line " + step.lineNumber() + ": " + what + handlerState);
    }
}
