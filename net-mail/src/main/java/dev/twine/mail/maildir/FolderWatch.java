package dev.twine.mail.maildir;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A watch on a folder; close it when done. It uses the file system's notifications
 * (inotify on Linux); if none are left (Linux allows 128 inotify instances per user by
 * default), it falls back to looking at the directory times once a second.
 */
final class FolderWatch implements AutoCloseable {
    private static final long POLL_MILLIS = 1000;
    private final Path dir;
    private final WatchService service;
    private volatile boolean closed;
    private long lastStamp;

    FolderWatch(Path dir, boolean notified) throws IOException {
        this.dir = dir;
        WatchService ws = null;
        try {
            if (!notified) {
                throw new IOException("polling asked for");
            }
            ws = FileSystems.getDefault().newWatchService();
            for (String sub : List.of("new", "cur")) {
                dir.resolve(sub).register(ws, StandardWatchEventKinds.ENTRY_CREATE,
                        StandardWatchEventKinds.ENTRY_DELETE, StandardWatchEventKinds.ENTRY_MODIFY);
            }
        } catch (IOException e) {
            if (ws != null) {
                ws.close();
            }
            ws = null;
            lastStamp = stamp();
        }
        this.service = ws;
    }

    /** Whether file-system notifications back this watch (false: it polls). */
    boolean isNotified() {
        return service != null;
    }

    /**
     * Blocks until something changes in the folder or {@code timeout} passes.
     *
     * @return true if a change was seen
     * @throws InterruptedException if interrupted while waiting
     * @throws java.nio.file.ClosedWatchServiceException once {@link #close()} was called
     */
    boolean awaitChange(Duration timeout) throws InterruptedException {
        if (service == null) {
            return poll(timeout);
        }
        WatchKey key = service.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (key == null) {
            return false;
        }
        // collapse a burst of events into one wake-up
        do {
            key.pollEvents();
            key.reset();
        } while ((key = service.poll()) != null);
        return true;
    }

    private boolean poll(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (closed) {
                throw new java.nio.file.ClosedWatchServiceException();
            }
            long now = stamp();
            if (now != lastStamp) {
                lastStamp = now;
                return true;
            }
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) {
                return false;
            }
            Thread.sleep(Math.min(left, POLL_MILLIS));
        }
    }

    private long stamp() {
        try {
            return Files.getLastModifiedTime(dir.resolve("new")).toMillis() * 31
                    + Files.getLastModifiedTime(dir.resolve("cur")).toMillis();
        } catch (IOException e) {
            return -1;
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        if (service != null) {
            service.close();
        }
    }
}
