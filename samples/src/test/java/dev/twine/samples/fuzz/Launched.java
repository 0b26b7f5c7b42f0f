package dev.twine.samples.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The launcher as its own process, for crash tests: started with a subcommand's arguments, ready
 * once it printed a {@code listening} line per expected service, and killed with SIGKILL
 * ({@link Process#destroyForcibly()} on Linux), as a power cut or the OOM killer would end it.
 */
final class Launched implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening (\\S+) tcp 127\\.0\\.0\\.1:(\\d+)");

    private final Process process;
    private final Map<String, Integer> ports = new HashMap<>();
    private final List<String> output = new ArrayList<>();

    private Launched(Process process) {
        this.process = process;
    }

    /** Starts {@code twine ARGS} and waits until each of {@code services} is listening. */
    static Launched start(List<String> args, String... services) throws IOException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        String modulePath = System.getProperty("jdk.module.path");
        assertTrue(modulePath != null && !modulePath.isEmpty(), "tests run on the module path");
        List<String> command = new ArrayList<>(List.of(java, "-p", modulePath, "-m", "dev.twine.samples/dev.twine.samples.Main"));
        command.addAll(args);
        Launched l = new Launched(new ProcessBuilder(command).redirectErrorStream(true).start());
        BufferedReader out = new BufferedReader(new InputStreamReader(l.process.getInputStream(), StandardCharsets.UTF_8));
        while (!l.ports.keySet().containsAll(List.of(services))) {
            String line = out.readLine();
            if (line == null) {
                fail("the launcher ended before listening: " + l.output);
            }
            l.output.add(line);
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                l.ports.put(m.group(1), Integer.parseInt(m.group(2)));
            }
        }
        // keep draining its output so that it never blocks on a full pipe
        Thread.ofVirtual().start(() -> {
            try {
                out.transferTo(Writer.nullWriter());
            } catch (IOException ended) {
                // killed
            }
        });
        return l;
    }

    /** Kill and restart rounds: {@code -Dtwine.crash.rounds}, 2 by default ({@code ci/crash} runs more). */
    static int rounds() {
        return Integer.getInteger("twine.crash.rounds", 2);
    }

    /** The random seed: {@code -Dtwine.crash.seed}, a new one by default; every failure names it. */
    static long seed() {
        return Long.getLong("twine.crash.seed", System.nanoTime());
    }

    /** The SHA-256 of {@code text}'s ISO-8859-1 bytes, in hex. */
    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.ISO_8859_1)));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** The SHA-256 of a message's body (what follows the blank line after its header); "" without one. */
    static String bodyDigest(String message) {
        int at = message.indexOf("\r\n\r\n");
        return at < 0 ? "" : sha256(message.substring(at + 4));
    }

    /** The port {@code service} listens on. */
    int port(String service) {
        return ports.get(service);
    }

    /** SIGKILL, and waits for the process to be gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "still alive after SIGKILL");
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }
}
