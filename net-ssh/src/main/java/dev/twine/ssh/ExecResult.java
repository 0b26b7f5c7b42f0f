package dev.twine.ssh;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * What a remote command returned: its exit status (RFC 4254 §6.10) and everything it wrote.
 *
 * @param exitCode the exit status, or -1 if the server sent none (for instance after a signal, or
 *     when the server refused to run the command)
 * @param stdout the command's standard output
 * @param stderr the command's standard error (extended data type 1)
 */
public record ExecResult(int exitCode, byte[] stdout, byte[] stderr) {

    /**
     * Validates and copies the components.
     *
     * @throws NullPointerException if an array is null
     */
    public ExecResult {
        stdout = Objects.requireNonNull(stdout, "stdout").clone();
        stderr = Objects.requireNonNull(stderr, "stderr").clone();
    }

    /**
     * The standard output.
     *
     * @return a copy of the bytes
     */
    @Override
    public byte[] stdout() {
        return stdout.clone();
    }

    /**
     * The standard error.
     *
     * @return a copy of the bytes
     */
    @Override
    public byte[] stderr() {
        return stderr.clone();
    }

    /**
     * Compares exit code and the contents of both outputs.
     *
     * @param o another object
     * @return true if {@code o} is an equal result
     */
    @Override
    public boolean equals(Object o) {
        return o instanceof ExecResult r && r.exitCode == exitCode && java.util.Arrays.equals(r.stdout, stdout)
                && java.util.Arrays.equals(r.stderr, stderr);
    }

    /**
     * A hash of exit code and output contents.
     *
     * @return the hash code
     */
    @Override
    public int hashCode() {
        return 31 * (31 * exitCode + java.util.Arrays.hashCode(stdout)) + java.util.Arrays.hashCode(stderr);
    }

    /**
     * Describes the result by exit code and output sizes.
     *
     * @return {@code ExecResult[exitCode=N, stdout=N bytes, stderr=N bytes]}
     */
    @Override
    public String toString() {
        return "ExecResult[exitCode=" + exitCode + ", stdout=" + stdout.length + " bytes, stderr=" + stderr.length
                + " bytes]";
    }

    /**
     * The standard output decoded as UTF-8.
     *
     * @return the output text
     */
    public String stdoutText() {
        return new String(stdout, StandardCharsets.UTF_8);
    }

    /**
     * The standard error decoded as UTF-8.
     *
     * @return the error text
     */
    public String stderrText() {
        return new String(stderr, StandardCharsets.UTF_8);
    }
}
