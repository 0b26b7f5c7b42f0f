package dev.twine.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** CPU time and limits of a process, read from Linux's {@code /proc}. */
final class ProcessCpu {
    private ProcessCpu() {
    }

    /**
     * utime + stime of {@code pid} in clock ticks (fields 14 and 15 of {@code /proc/PID/stat},
     * proc(5)), counting every thread of the process.
     *
     * @throws IOException if the process is gone or /proc cannot be read
     */
    static long ticks(String pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", pid, "stat"));
        // the command name (field 2) is in parentheses and may itself contain spaces or ')'
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        // fields[0] is field 3 (state), so utime (14) is fields[11] and stime (15) is fields[12]
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }

    /**
     * Busy time of the whole machine in clock ticks, all CPUs together: the first line of
     * {@code /proc/stat} less idle and iowait. Compared with the server's and the load generator's
     * own CPU time it shows what else (other processes, softirq time not charged to either) ran.
     *
     * @throws IOException if /proc/stat cannot be read
     */
    static long machineBusyTicks() throws IOException {
        String first;
        try (var lines = Files.lines(Path.of("/proc/stat"))) {
            first = lines.findFirst().orElseThrow(() -> new IOException("/proc/stat is empty"));
        }
        String[] f = first.trim().split("\\s+");
        // cpu user nice system idle iowait irq softirq steal ...
        long busy = 0;
        for (int i = 1; i < f.length && i <= 8; i++) {
            if (i != 4 && i != 5) {
                busy += Long.parseLong(f[i]);
            }
        }
        return busy;
    }

    /** The soft limit on open files of this process, or -1 if it cannot be read or is unlimited. */
    static long openFileLimit() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/self/limits"));
            for (String line : lines) {
                if (line.startsWith("Max open files")) {
                    String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
                    return soft.equals("unlimited") ? -1 : Long.parseLong(soft);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /**
     * Read- and write-like system calls made by {@code pid} so far, all threads together:
     * {@code syscr + syscw} of {@code /proc/PID/io} (proc(5)). Polls ({@code epoll_wait},
     * {@code epoll_ctl}) are not counted there.
     *
     * @throws IOException if the process is gone or its io file cannot be read (another user's)
     */
    static long ioCalls(String pid) throws IOException {
        long calls = 0;
        for (String line : Files.readAllLines(Path.of("/proc", pid, "io"))) {
            if (line.startsWith("syscr:") || line.startsWith("syscw:")) {
                calls += Long.parseLong(line.substring(6).trim());
            }
        }
        return calls;
    }

    /**
     * Voluntary plus involuntary context switches of every live thread of {@code pid}: the sum of
     * {@code /proc/PID/task/TID/status} (the process's own status file counts its main thread only).
     * A thread that ended during the window takes its count with it, which the carriers and pollers
     * of a running server do not.
     *
     * @throws IOException if the process is gone
     */
    static long contextSwitches(String pid) throws IOException {
        long total = 0;
        try (var tasks = Files.list(Path.of("/proc", pid, "task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                List<String> lines;
                try {
                    lines = Files.readAllLines(task.resolve("status"));
                } catch (IOException gone) {
                    continue; // the thread ended while we listed
                }
                for (String line : lines) {
                    if (line.startsWith("voluntary_ctxt_switches:") || line.startsWith("nonvoluntary_ctxt_switches:")) {
                        total += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                    }
                }
            }
        }
        return total;
    }
}
