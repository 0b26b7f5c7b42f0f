package dev.twine.ssh;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.TreeMap;

/**
 * The sample shell of {@code twine ssh}: a small line REPL of built-in commands, written as a
 * {@link SshCommandHandler} in plain blocking style. An {@code exec} request runs one line and
 * returns its status; a {@code shell} prompts and reads lines until {@code exit}, end of input or
 * server shutdown.
 *
 * <p>Commands: {@code help}, {@code echo ARGS...}, {@code whoami}, {@code date}, {@code env},
 * {@code tty} (the terminal and its size), {@code true}, {@code false}, {@code exit [N]}. An
 * unknown command prints an error on standard error and has status 127. Lines longer than
 * {@value #MAX_LINE} bytes are refused with an error and skipped.
 *
 * <p>With a terminal (a {@code pty-req}) the shell does what a terminal line discipline would: it
 * echoes what is typed, handles backspace, Ctrl-C (drop the line) and Ctrl-D (end on an empty
 * line), and ends output lines with CR LF.
 */
public final class SampleShell {

    /** The longest line accepted, in bytes. */
    public static final int MAX_LINE = 4096;

    private static final String PROMPT = "twine$ ";
    private static final int EOF = -1;
    private static final int TOO_LONG = -2;

    private SampleShell() {
    }

    /**
     * The shell as a handler.
     *
     * @return a handler that is stateless and may serve any number of sessions at once
     */
    public static SshCommandHandler handler() {
        return SampleShell::run;
    }

    private static int run(SshSession s) throws IOException {
        boolean tty = s.pty().isPresent();
        Out out = new Out(s.stdout(), tty);
        Out err = new Out(s.stderr(), tty);
        if (s.command().isPresent()) {
            return execute(s, s.command().get(), out, err);
        }
        out.line("Welcome to Twine's sample shell, " + s.principal().name() + ". Type 'help'.");
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int status = 0;
        while (true) {
            if (s.draining()) {
                out.line("server shutting down, goodbye");
                return status;
            }
            out.text(PROMPT);
            int r = readLine(s.stdin(), s.stdout(), tty, line);
            if (r == EOF) {
                if (tty) {
                    out.line("");
                }
                return status;
            }
            if (r == TOO_LONG) {
                err.line("error: line longer than " + MAX_LINE + " bytes");
                status = 2;
                continue;
            }
            String text = line.toString(StandardCharsets.UTF_8).strip();
            if (text.isEmpty()) {
                continue;
            }
            String[] words = text.split("\\s+");
            if (words[0].equals("exit")) {
                return words.length > 1 ? exitStatus(words[1], err) : status;
            }
            status = execute(s, text, out, err);
        }
    }

    private static int exitStatus(String arg, Out err) throws IOException {
        try {
            return Integer.parseInt(arg);
        } catch (NumberFormatException e) {
            err.line("exit: not a number: " + arg);
            return 2;
        }
    }

    /** Runs one command line; returns its status. */
    private static int execute(SshSession s, String commandLine, Out out, Out err) throws IOException {
        String text = commandLine.strip();
        String[] words = text.isEmpty() ? new String[] {""} : text.split("\\s+");
        String rest = text.length() > words[0].length() ? text.substring(words[0].length()).strip() : "";
        switch (words[0]) {
            case "" -> {
                return 0;
            }
            case "help" -> {
                out.line("commands: help, echo ARGS, whoami, date, env, tty, true, false, exit [N]");
                return 0;
            }
            case "echo" -> {
                out.line(rest);
                return 0;
            }
            case "whoami" -> {
                out.line(s.principal().name());
                return 0;
            }
            case "date" -> {
                out.line(ZonedDateTime.now().format(DateTimeFormatter.RFC_1123_DATE_TIME));
                return 0;
            }
            case "env" -> {
                for (Map.Entry<String, String> e : new TreeMap<>(s.env()).entrySet()) {
                    out.line(e.getKey() + "=" + e.getValue());
                }
                return 0;
            }
            case "tty" -> {
                if (s.pty().isEmpty()) {
                    out.line("not a tty");
                    return 1;
                }
                Pty p = s.pty().get();
                out.line("term=" + p.term() + " columns=" + p.columns() + " rows=" + p.rows());
                return 0;
            }
            case "true" -> {
                return 0;
            }
            case "false" -> {
                return 1;
            }
            case "exit" -> {
                return words.length > 1 ? exitStatus(words[1], err) : 0;
            }
            default -> {
                err.line(words[0] + ": command not found");
                return 127;
            }
        }
    }

    /**
     * Reads one line into {@code line}; returns its length, {@link #EOF} at end of input (or
     * Ctrl-D on an empty terminal line) or {@link #TOO_LONG} for an over-long line (consumed).
     */
    private static int readLine(InputStream in, OutputStream echo, boolean tty, ByteArrayOutputStream line)
            throws IOException {
        line.reset();
        boolean tooLong = false;
        while (true) {
            int b = in.read();
            if (b < 0) {
                if (line.size() > 0 && !tooLong) {
                    return line.size();
                }
                return tooLong ? TOO_LONG : EOF;
            }
            if (b == '\n' || b == '\r') {
                if (tty) {
                    echo.write(new byte[] {'\r', '\n'});
                    echo.flush();
                }
                if (b == '\r' && !tty) {
                    continue; // CR LF from a client without a terminal: the LF ends the line
                }
                if (tooLong) {
                    return TOO_LONG;
                }
                return line.size();
            }
            if (tty) {
                switch (b) {
                    case 0x7f, 0x08 -> {
                        if (line.size() > 0 && !tooLong) {
                            byte[] kept = line.toByteArray();
                            // drop the last UTF-8 character, continuation bytes included
                            int end = kept.length - 1;
                            while (end > 0 && (kept[end] & 0xC0) == 0x80) {
                                end--;
                            }
                            line.reset();
                            line.write(kept, 0, end);
                            echo.write(new byte[] {'\b', ' ', '\b'});
                            echo.flush();
                        }
                        continue;
                    }
                    case 0x03 -> {
                        echo.write("^C\r\n".getBytes(StandardCharsets.US_ASCII));
                        echo.flush();
                        line.reset();
                        tooLong = false;
                        echo.write(PROMPT.getBytes(StandardCharsets.US_ASCII));
                        echo.flush();
                        continue;
                    }
                    case 0x04 -> {
                        if (line.size() == 0) {
                            return EOF;
                        }
                        continue;
                    }
                    default -> {
                        echo.write(b);
                        echo.flush();
                    }
                }
            }
            if (line.size() >= MAX_LINE) {
                tooLong = true;
                line.reset();
            }
            if (!tooLong) {
                line.write(b);
            }
        }
    }

    /** Line output: LF, or CR LF on a terminal. */
    private record Out(OutputStream stream, boolean tty) {
        void line(String s) throws IOException {
            text(s + (tty ? "\r\n" : "\n"));
        }

        void text(String s) throws IOException {
            stream.write(s.getBytes(StandardCharsets.UTF_8));
            stream.flush();
        }
    }
}
