package dev.twine.samples;

import java.io.PrintStream;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.ConsoleHandler;
import java.util.logging.ErrorManager;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * The launcher's log handler: each record formatted with {@link SimpleFormatter} and written whole
 * to standard error, one writer at a time under a {@link ReentrantLock}.
 *
 * <p>It replaces the JDK's {@code ConsoleHandler}, whose {@code publish} writes inside the
 * handler's monitor. Under a flood every connection thread can log at once (refusals, failed
 * logins), so that monitor is contended by thousands of virtual threads while its owner waits on a
 * file write, and on JDK 25.0.3 and earlier a virtual thread blocked entering a contended monitor
 * can stay parked for good (JDK-8373120, fixed in 25.0.4). A server's accept loop logs its first
 * refusal, so one wedged handler stopped every listener of the process: connections piled up in
 * the kernel's backlog and no one could log in. Here the waiters queue on a lock that parks and
 * unparks like any other, and the stream's own monitor is only ever entered by its one writer.
 */
final class LogHandler extends Handler {
    private final ReentrantLock lock = new ReentrantLock();
    private final PrintStream err;

    LogHandler(PrintStream err) {
        this.err = err;
        setFormatter(new SimpleFormatter());
    }

    /**
     * Replaces the root logger's {@code ConsoleHandler} (the JDK's default) with one of these on
     * {@code err}, at its level. Handlers an operator configured ({@code java.util.logging.config.file})
     * other than that one are left as they are.
     */
    static void install(PrintStream err) {
        Logger root = Logger.getLogger("");
        for (Handler old : root.getHandlers()) {
            if (old instanceof ConsoleHandler) {
                LogHandler h = new LogHandler(err);
                h.setLevel(old.getLevel());
                root.removeHandler(old);
                old.close();
                root.addHandler(h);
            }
        }
    }

    @Override
    public void publish(LogRecord record) {
        if (!isLoggable(record)) {
            return;
        }
        String line;
        try {
            line = getFormatter().format(record);
        } catch (RuntimeException e) {
            reportError(null, e, ErrorManager.FORMAT_FAILURE);
            return;
        }
        lock.lock();
        try {
            err.print(line);
            err.flush();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void flush() {
        lock.lock();
        try {
            err.flush();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        flush();
    }
}
