package dev.twine.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The example systemd units in docs/systemd pass systemd's own checker, and each socket unit
 * names the descriptor the service's command line adopts.
 */
@Timeout(60)
class SystemdUnitsTest {

    private static Path units() {
        return Path.of(System.getenv().getOrDefault("TWINE_ROOT", "..")).resolve("docs/systemd");
    }

    @Test
    void unitsPassSystemdAnalyzeVerify() throws Exception {
        Path analyze = EchoInteropTest.tool("systemd-analyze");
        List<String> cmd = new ArrayList<>(List.of(analyze.toString(), "verify", "--man=no"));
        try (Stream<Path> files = Files.list(units())) {
            files.filter(f -> f.toString().endsWith(".service") || f.toString().endsWith(".socket"))
                    .sorted().forEach(f -> cmd.add(f.toString()));
        }
        assertTrue(cmd.size() > 4, "units found: " + cmd);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertEquals("", out.strip(), "no warnings either");
    }

    @Test
    void everySocketUnitIsAdoptedByNameInItsService() throws Exception {
        String service = Files.readString(units().resolve("twine-mail.service"));
        try (Stream<Path> files = Files.list(units())) {
            for (Path socket : files.filter(f -> f.toString().endsWith(".socket")).toList()) {
                String text = Files.readString(socket);
                String name = text.lines().filter(l -> l.startsWith("FileDescriptorName=")).findFirst().orElseThrow()
                        .substring("FileDescriptorName=".length());
                assertTrue(service.contains("systemd:name=" + name), socket + " is adopted as systemd:name=" + name);
                assertTrue(service.contains(socket.getFileName().toString()), "the service requires " + socket.getFileName());
            }
        }
    }
}
