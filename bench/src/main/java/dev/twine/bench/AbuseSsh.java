package dev.twine.bench;

import dev.twine.bench.AbuseSessions.Outcome;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The SSH side of {@link Abuse}, through the real OpenSSH client (no SSH code of our own, and none
 * of the server's library): a guessing connection is one {@code ssh -b ATTACKER} process whose
 * password prompts are answered by an askpass script that logs the time of each prompt, so the
 * tool knows how many attempts were made and how long each answer took; the legitimate login is
 * {@code sshpass -p PW ssh -b LEGIT ... true}. SSH has no temporary-failure answer, so every
 * failed attempt counts as evaluated; a penalised server shows as connections cut off or not
 * admitted, and the leak check (the right password from the attacker after the penalty began)
 * is what decides.
 */
final class AbuseSsh {
    private static final String ASKPASS = """
            #!/bin/sh
            # answers ssh's password prompt for ci/abuse, logging when it was asked
            date +%s%N >> "$ABUSE_ASKPASS_LOG"
            printf '%s\\n' "$ABUSE_PASSWORD"
            """;
    private static final Duration PROCESS_LIMIT = Duration.ofSeconds(60);
    private final Abuse.Settings s;
    private final Path askpass;
    private final Set<Process> running = ConcurrentHashMap.newKeySet();
    private volatile boolean stopped;

    AbuseSsh(Abuse.Settings s) throws IOException {
        this.s = s;
        Files.createDirectories(s.work());
        this.askpass = s.work().resolve("abuse-askpass.sh");
        Files.writeString(askpass, ASKPASS, StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(askpass, PosixFilePermissions.fromString("rwx------"));
    }

    private List<String> ssh(String source, int prompts) {
        return new ArrayList<>(List.of("ssh", "-F", "/dev/null",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=no",
                "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password",
                "-o", "NumberOfPasswordPrompts=" + prompts, "-o", "ConnectTimeout=5",
                "-b", source, "-p", Integer.toString(s.server().getPort()),
                s.user() + "@" + s.server().getHostString(), "true"));
    }

    /** One guessing connection: {@code --ssh-prompts} wrong passwords, or the right one once. */
    void guess(Abuse.Guessing g, boolean right, long start) {
        Path log = null;
        try {
            log = Files.createTempFile(s.work(), "askpass", ".log");
            ProcessBuilder pb = new ProcessBuilder(ssh(s.attacker().getHostAddress(), right ? 1 : s.sshPrompts()));
            pb.environment().put("SSH_ASKPASS", askpass.toString());
            pb.environment().put("SSH_ASKPASS_REQUIRE", "force");
            pb.environment().put("ABUSE_ASKPASS_LOG", log.toString());
            pb.environment().put("ABUSE_PASSWORD", right ? s.password() : s.wrong());
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
            Ended r = run(pb);
            if (r == null || stopped) {
                return; // ended by the end of the run: not counted
            }
            List<Long> asked = new ArrayList<>();
            for (String line : Files.readAllLines(log)) {
                if (!line.isBlank()) {
                    asked.add(Long.parseLong(line.trim()));
                }
            }
            int made = asked.size();
            if (made == 0) {
                g.notAdmitted.increment();
                sleepQuietly(Duration.ofMillis(100));
                return;
            }
            g.connections.increment();
            int denied = count(r.stderr, "Permission denied");
            boolean success = r.exit == 0;
            for (int i = 0; i < made; i++) {
                long next = i + 1 < made ? asked.get(i + 1) : r.endEpochNanos;
                long took = Math.max(0, next - asked.get(i));
                Outcome o;
                if (i < denied) {
                    o = Outcome.FAILED;
                } else if (success && i == made - 1) {
                    o = Outcome.SUCCESS;
                } else {
                    o = Outcome.CUT_OFF;
                }
                g.record(o, right, took, start);
            }
        } catch (IOException | RuntimeException e) {
            if (!stopped) {
                System.err.println("abuse: ssh: " + e);
            }
        } finally {
            if (log != null) {
                try {
                    Files.deleteIfExists(log);
                } catch (IOException e) {
                    // the work directory is removed by ci/abuse anyway
                }
            }
        }
    }

    /** The legitimate login: null if it worked in time, else what went wrong. */
    String legitLogin(Duration timeout) {
        List<String> cmd = new ArrayList<>(List.of("sshpass", "-p", s.password()));
        cmd.addAll(ssh(s.legit().getHostAddress(), 1));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        try {
            Process p = pb.start();
            running.add(p);
            try {
                byte[] err = readWithin(p, timeout);
                if (err == null) {
                    return "no answer within " + timeout.toSeconds() + " s";
                }
                int exit = p.waitFor();
                return exit == 0 ? null
                        : "sshpass/ssh exit " + exit + ": " + AbuseSessions.shorten(new String(err, StandardCharsets.UTF_8));
            } finally {
                running.remove(p);
                kill(p);
            }
        } catch (IOException e) {
            return "cannot run sshpass/ssh: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** Ends every ssh this run started (the end of the window). */
    void stop() {
        stopped = true;
        for (Process p : running) {
            kill(p);
        }
    }

    private record Ended(int exit, String stderr, long endEpochNanos) {
    }

    private Ended run(ProcessBuilder pb) throws IOException {
        Process p = pb.start();
        running.add(p);
        try {
            byte[] err = readWithin(p, PROCESS_LIMIT);
            long end = epochNanos();
            if (err == null || stopped) {
                return null;
            }
            return new Ended(p.waitFor(), new String(err, StandardCharsets.UTF_8), end);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            running.remove(p);
            kill(p);
        }
    }

    /** Its stderr once it has ended, or null (and it is killed) if it runs longer than {@code limit}. */
    private static byte[] readWithin(Process p, Duration limit) throws IOException {
        try {
            if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                kill(p);
                return null;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            kill(p);
            return null;
        }
        // ssh writes little to stderr: the pipe buffer holds it all while it runs
        return p.getErrorStream().readAllBytes();
    }

    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    private static long epochNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + what.length())) {
            n++;
        }
        return n;
    }

    private static void sleepQuietly(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
