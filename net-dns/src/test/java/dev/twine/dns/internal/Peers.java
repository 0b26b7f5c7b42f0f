package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.twine.core.spi.ServicePlugin;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Finding and running real third-party programs; a missing one fails under CI=true. */
final class Peers {
    private Peers() {}

    /** The absolute path of {@code program}, or a failure (CI) / skipped test (elsewhere). */
    static Path require(String program, String debianPackage) {
        for (String dir : new String[] {"/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"}) {
            Path p = Path.of(dir, program);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        String msg = program + " not found: install the Debian package " + debianPackage + " (listed in ci/peers/dns.txt)";
        if ("true".equals(System.getenv("CI"))) {
            fail(msg);
        }
        assumeTrue(false, msg);
        return null;
    }

    /** Output of a finished command (stdout and stderr together). */
    record Run(int exit, String output) {}

    /** Runs a command to its end, at most {@code seconds}; kills it (by its PID) after that. */
    static Run run(int seconds, List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            p.getOutputStream().close();
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                throw new AssertionError("still running after " + seconds + " s: " + command);
            }
            return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        } finally {
            p.destroyForcibly();
        }
    }

    /** Launcher-style arguments for a plugin, from option → values. */
    static ServicePlugin.Arguments args(Map<String, List<String>> given) {
        Map<String, List<String>> copy = new LinkedHashMap<>(given);
        return new ServicePlugin.Arguments() {
            @Override
            public List<String> values(String option) {
                return copy.getOrDefault(option, List.of());
            }

            @Override
            public Optional<String> value(String option) {
                List<String> v = values(option);
                return v.isEmpty() ? Optional.empty() : Optional.of(v.get(v.size() - 1));
            }

            @Override
            public boolean flag(String option) {
                return copy.containsKey(option);
            }
        };
    }

    /** dig's answer, parsed from its default output. */
    record Dig(String status, List<String> flags, Map<String, List<String>> sections, String raw) {
        List<String> section(String name) {
            return sections.getOrDefault(name, List.of());
        }

        /** The rdata (last field onwards) of records of {@code type} in a section. */
        List<String> data(String section, String type) {
            List<String> out = new ArrayList<>();
            for (String line : section(section)) {
                String[] f = line.split("\\s+", 5);
                if (f.length == 5 && f[3].equals(type)) {
                    out.add(f[4]);
                }
            }
            return out;
        }

        List<String> owners(String section) {
            return section(section).stream().map(l -> l.split("\\s+")[0]).toList();
        }
    }

    static Dig dig(Path dig, int port, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(dig.toString(), "@127.0.0.1", "-p", String.valueOf(port), "+time=3", "+tries=1"));
        cmd.addAll(List.of(args));
        Run r = run(30, cmd);
        if (r.exit() != 0) {
            throw new AssertionError("dig failed (" + r.exit() + "): " + r.output());
        }
        String status = null;
        List<String> flags = List.of();
        Map<String, List<String>> sections = new LinkedHashMap<>();
        String current = null;
        for (String line : r.output().split("\n")) {
            if (line.startsWith(";; ->>HEADER<<-")) {
                status = line.replaceAll(".*status: ([A-Z]+),.*", "$1");
            } else if (line.startsWith(";; flags:")) {
                flags = List.of(line.replaceAll(";; flags: ([a-z ]*);.*", "$1").trim().split(" "));
            } else if (line.matches(";; [A-Z]+ SECTION:")) {
                current = line.replaceAll(";; ([A-Z]+) SECTION:", "$1");
            } else if (line.isBlank() || line.startsWith(";")) {
                if (line.isBlank()) {
                    current = null;
                }
            } else if (current != null) {
                sections.computeIfAbsent(current, k -> new ArrayList<>()).add(line.trim());
            }
        }
        if (status == null) {
            throw new AssertionError("no header in dig's output: " + r.output());
        }
        return new Dig(status, flags, sections, r.output());
    }
}
