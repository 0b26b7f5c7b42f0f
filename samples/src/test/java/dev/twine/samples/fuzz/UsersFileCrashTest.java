package dev.twine.samples.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.StoredSecret;
import dev.twine.core.auth.UsersFile;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash consistency of the users file under {@code twine user passwd} (issue 16): a loop of
 * password changes for one user of twenty, each {@code twine user passwd --password-stdin} its
 * own process, most of them killed with SIGKILL at a seeded random moment, while a reader in this
 * test reads the file over and over. Invariants:
 * <ul>
 *   <li>every read, at any moment, sees a whole file: it parses, every other user's line is
 *       byte for byte as it was, and the changed user has exactly one line (never a truncated,
 *       empty or half-written file);</li>
 *   <li>after each process has ended, the user's password is the one before or the one that
 *       process was given, and it is the new one if the process exited 0.</li>
 * </ul>
 * The number of changes is 8 per {@code -Dtwine.crash.rounds} (default 2); the seed comes from
 * {@code -Dtwine.crash.seed}.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class UsersFileCrashTest {
    private static final int USERS = 20;

    @TempDir
    Path dir;

    @Test
    void usersFileIsOldOrNewWholeUnderKilledPasswd() throws Exception {
        int changes = 8 * Launched.rounds();
        long seed = Launched.seed();
        Random random = new Random(seed);
        Path file = dir.resolve("users");
        for (int i = 0; i < USERS; i++) {
            UsersFile.addUser(file, "user" + i, ("password" + i).toCharArray());
        }
        Map<String, String> others = lines(Files.readString(file));
        others.remove("user7");
        AtomicBoolean done = new AtomicBoolean();
        AtomicInteger reads = new AtomicInteger();
        Set<String> torn = ConcurrentHashMap.newKeySet();
        Thread reader = Thread.ofVirtual().start(() -> {
            while (!done.get()) {
                try {
                    String text = Files.readString(file);
                    reads.incrementAndGet();
                    Map<String, String> now = lines(text);
                    String changed = now.remove("user7");
                    if (!now.equals(others) || changed == null || !changed.startsWith("user7:{")) {
                        torn.add(text.length() + " bytes: " + text.substring(0, Math.min(200, text.length())));
                    }
                } catch (NoSuchFileException e) {
                    torn.add("the file was missing");
                } catch (IOException | RuntimeException e) {
                    torn.add(e.toString());
                }
            }
        });
        String java = ProcessHandle.current().info().command().orElseThrow();
        String password = "password7";
        int finished = 0;
        for (int n = 0; n < changes; n++) {
            String context = "seed " + seed + ", change " + n;
            String next = "new-password-" + n;
            Process p = new ProcessBuilder(java, "-p", System.getProperty("jdk.module.path"), "-m",
                    "dev.twine.samples/dev.twine.samples.Main", "user", "passwd", "--users", file.toString(), "user7", "--password-stdin")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try (OutputStream in = p.getOutputStream()) {
                in.write((next + "\n").getBytes(StandardCharsets.UTF_8));
            }
            // most are killed somewhere between starting and writing; every fourth runs to its end
            boolean exited = n % 4 == 3 ? p.waitFor(60, TimeUnit.SECONDS) : p.waitFor(random.nextInt(1500), TimeUnit.MILLISECONDS);
            if (!exited) {
                p.destroyForcibly();
                assertTrue(p.waitFor(30, TimeUnit.SECONDS), "still alive after SIGKILL; " + context);
            }
            boolean changed = verifies(file, next);
            if (exited && p.exitValue() == 0) {
                finished++;
                assertTrue(changed, "passwd exited 0 but the new password does not work; " + context);
            } else {
                assertTrue(changed || verifies(file, password), "neither the old nor the new password works; " + context);
            }
            if (changed) {
                password = next;
            }
            assertEquals(Set.of(), torn, "a reader saw a torn users file; " + context);
        }
        done.set(true);
        reader.join();
        assertEquals(Set.of(), torn, "a reader saw a torn users file; seed " + seed);
        assertTrue(finished > 0 && reads.get() > 0, "no passwd finished or nothing was read; seed " + seed);
    }

    /** A users file's lines by user name. */
    private static Map<String, String> lines(String text) {
        Map<String, String> m = new TreeMap<>();
        for (String line : text.split("\n")) {
            if (!line.isBlank() && !line.startsWith("#")) {
                if (m.put(line.substring(0, Math.max(0, line.indexOf(':'))), line) != null) {
                    m.put("(a user twice)", line);
                }
            }
        }
        return m;
    }

    /** Whether user7's stored SCRAM-SHA-256 secret is {@code password}'s. */
    private static boolean verifies(Path file, String password) throws IOException {
        StoredSecret secret = UsersFile.load(file).find("user7").orElseThrow();
        if (!(secret instanceof StoredSecret.Scram s)) {
            throw new AssertionError("not a SCRAM secret: " + secret);
        }
        return StoredSecret.Scram.derive(s.mechanism(), password, s.salt(), s.iterations()).equals(s);
    }
}
