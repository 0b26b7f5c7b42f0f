package dev.twine.samples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Server;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The echo sample against a client nobody here wrote: OpenBSD netcat. */
@Timeout(60)
class EchoInteropTest {
    static Path tool(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        if ("true".equals(System.getenv("CI"))) {
            throw new AssertionError(name + " is not installed; ci/install-peers should have installed it");
        }
        Assumptions.abort(name + " is not installed");
        return null;
    }

    @Test
    void netcatGetsBackExactlyWhatItSent(@TempDir Path dir) throws Exception {
        Path nc = tool("nc");
        byte[] payload = new byte[300_000];
        new Random(7).nextBytes(payload);
        Path in = dir.resolve("in");
        Files.write(in, payload);
        Path got = dir.resolve("out");
        Server server = EchoPlugin.server(List.of("tcp:0:interface=127.0.0.1")).start();
        try {
            Process p = new ProcessBuilder(nc.toString(), "-N", "127.0.0.1", String.valueOf(server.port()))
                    .redirectInput(in.toFile()).redirectOutput(got.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "nc did not finish");
            assertEquals(0, p.exitValue());
            assertArrayEquals(payload, Files.readAllBytes(got));
        } finally {
            server.close();
        }
    }

    @Test
    void netcatLinesComeBackFromTheLauncherBuiltServer(@TempDir Path dir) throws Exception {
        Path nc = tool("nc");
        Server server = (Server) new EchoPlugin().create(new FixedArguments());
        assertEquals(5, server.limits().perAddress(), "--max-connections-per-address reaches the server");
        server.start();
        try {
            Process p = new ProcessBuilder(nc.toString(), "-N", "127.0.0.1", String.valueOf(server.port())).start();
            p.getOutputStream().write("one\ntwo\n".getBytes(StandardCharsets.US_ASCII));
            p.getOutputStream().close();
            String echoed = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals("one\ntwo\n", echoed);
        } finally {
            server.close();
        }
    }

    /** What the launcher would pass for {@code echo --listen tcp:0:interface=127.0.0.1}. */
    private static final class FixedArguments implements dev.twine.core.spi.ServicePlugin.Arguments {
        @Override
        public List<String> values(String option) {
            return option.equals("--listen") ? List.of("tcp:0:interface=127.0.0.1") : List.of();
        }

        @Override
        public java.util.Optional<String> value(String option) {
            return switch (option) {
                case "--max-connections" -> java.util.Optional.of("10");
                case "--idle-timeout" -> java.util.Optional.of("30s");
                case "--max-connections-per-address" -> java.util.Optional.of("5");
                default -> values(option).stream().findFirst();
            };
        }

        @Override
        public boolean flag(String option) {
            return false;
        }
    }
}
