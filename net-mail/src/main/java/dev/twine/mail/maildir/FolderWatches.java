package dev.twine.mail.maildir;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The watches on Maildir folders: one per directory however many sessions wait on it, counted by
 * reference, so 10,000 IMAP IDLE sessions on one inbox cost one watch, not 10,000.
 *
 * <p>Notifications come from one {@link WatchService} for all folders (one inotify instance on
 * Linux, which allows 128 per user by default), read by one thread. When the file system gives no
 * notifications (the service or a directory's registration fails, or {@value #MODE_PROPERTY} is
 * {@code poll}), one polling thread looks at the watched folders' directory times every
 * {@link #POLL} instead: still one thread for the process, never one per session.
 *
 * <p>A folder's change is a new value of its generation (from one counter for the whole
 * registry, so values only grow); each {@link FolderWatch} remembers the last it saw, which makes a
 * change between a session's look and its wait impossible to miss. Deliveries of this process
 * call {@link #changed(Path)} once their message is in {@code new/}, which wakes the folder's
 * sessions at once, without waiting for the file system's event.
 */
final class FolderWatches {
    /** The system property that forces polling ({@code poll}) for the process's registry. */
    static final String MODE_PROPERTY = "twine.maildir.watch";
    /** How often the polling fallback looks at directory times. */
    static final Duration POLL = Duration.ofSeconds(1);
    /** A directory time this close to the moment it was read may hide a change in the same tick. */
    private static final long RACY_MILLIS = 2_000;
    /** At most this many of a folder's own changes are waited for (see {@link #expect}). */
    private static final int MAX_OWN = 10_000;
    private static final System.Logger LOG = System.getLogger(FolderWatches.class.getName());
    private static final FolderWatches SHARED = new FolderWatches(
            !"poll".equalsIgnoreCase(System.getProperty(MODE_PROPERTY, "")));

    private final boolean notify;
    private final AtomicLong generations = new AtomicLong();
    /** Watched folders by absolute directory; changed under {@link #lock}, read without it. */
    private final Map<Path, Watched> byDir = new ConcurrentHashMap<>();
    private final Map<WatchKey, Watched> byKey = new ConcurrentHashMap<>();
    /** Folders the poller looks at (no notifications for them). */
    private final Set<Watched> polled = ConcurrentHashMap.newKeySet();
    private final ReentrantLock lock = new ReentrantLock();
    // guarded by lock
    private WatchService service;
    private boolean serviceFailed;
    private boolean pollerStarted;

    /**
     * A registry of its own; {@code notify} false polls every folder (what tests use to take the
     * fallback path). Its threads start with the first watch and run, parked, for the process's life.
     */
    FolderWatches(boolean notify) {
        this.notify = notify;
    }

    /** The process's registry, which every {@link Maildir} uses unless given another. */
    static FolderWatches shared() {
        return SHARED;
    }

    /** One watched folder and the sessions watching it. */
    static final class Watched {
        final Path dir;
        /** The generation of the last change; only grows. */
        volatile long generation;
        /** The open watches, each woken on a change. */
        final Set<FolderWatch> watches = ConcurrentHashMap.newKeySet();
        /**
         * Changes this process is making ({@code new/NAME}, {@code cur/NAME}) and tells its
         * sessions of itself: their file-system events wake nobody.
         */
        final Set<String> own = ConcurrentHashMap.newKeySet();
        /** Whether notifications back this folder (the registry's lock guards changes). */
        volatile boolean notified;
        // guarded by the registry's lock
        int refs;
        final List<WatchKey> keys = new ArrayList<>(2);
        // the poller's alone
        long[] times;
        boolean racy;

        Watched(Path dir) {
            this.dir = dir;
        }
    }

    /**
     * Opens a watch on the folder at {@code dir} (a Maildir directory with {@code new/} and
     * {@code cur/}), sharing the folder's watch with every other session on it; close it when
     * done. Blocks briefly while a first watch registers the directories.
     *
     * @throws IOException never for a missing notification service (it polls then); kept for
     *     callers that may grow a failing set-up
     */
    FolderWatch open(Path dir) throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        lock.lock();
        try {
            Watched w = byDir.get(abs);
            if (w == null) {
                w = new Watched(abs);
                w.generation = generations.get();
                if (!register(w)) {
                    startPolling(w);
                }
                byDir.put(abs, w);
            }
            w.refs++;
            FolderWatch watch = new FolderWatch(this, w);
            w.watches.add(watch);
            return watch;
        } finally {
            lock.unlock();
        }
    }

    /** Ends one session's share of a folder's watch; the last one out removes the watch. */
    void release(FolderWatch watch) {
        Watched w = watch.watched();
        lock.lock();
        try {
            if (!w.watches.remove(watch) || --w.refs > 0) {
                return;
            }
            byDir.remove(w.dir);
            polled.remove(w);
            for (WatchKey k : w.keys) {
                byKey.remove(k);
                k.cancel();
            }
            w.keys.clear();
            w.notified = false;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Tells the sessions watching the folder at {@code dir}, if any, that it changed. Does not
     * block; what a delivery of this process calls once its message is durably in {@code new/}.
     */
    void changed(Path dir) {
        Watched w = byDir.get(dir.toAbsolutePath().normalize());
        if (w != null) {
            signal(w);
        }
    }

    /**
     * Says that this process is about to create or remove {@code sub/name} in the folder at
     * {@code dir} ({@code sub} is {@code new} or {@code cur}) and will tell the folder's sessions
     * itself (or that they need not know, as of a {@code \Recent} claim): the file system's event
     * for it then wakes nobody. Call {@link #unexpect} if the change does not happen.
     */
    void expect(Path dir, String sub, String name) {
        Watched w = byDir.get(dir.toAbsolutePath().normalize());
        if (w != null && w.notified) {
            if (w.own.size() >= MAX_OWN) {
                // events that never came (a rename that failed unseen): forget them; the worst is
                // a wake-up too many
                w.own.clear();
            }
            w.own.add(sub + "/" + name);
        }
    }

    /** Takes back an {@link #expect} whose change did not happen. */
    void unexpect(Path dir, String sub, String name) {
        Watched w = byDir.get(dir.toAbsolutePath().normalize());
        if (w != null) {
            w.own.remove(sub + "/" + name);
        }
    }

    /** Whether notifications (not the poller) back the folder's watch. */
    boolean isNotified(Watched w) {
        return w.notified;
    }

    /** Folders watched now; for tests. */
    int watchedFolders() {
        return byDir.size();
    }

    private void signal(Watched w) {
        w.generation = generations.incrementAndGet();
        for (FolderWatch watch : w.watches) {
            watch.wake();
        }
    }

    // ---- notifications (lock held to register) ----

    private boolean register(Watched w) {
        if (!notify || serviceFailed) {
            return false;
        }
        try {
            if (service == null) {
                service = FileSystems.getDefault().newWatchService();
                WatchService ws = service;
                Thread.ofVirtual().name("twine-maildir-watch").start(() -> dispatch(ws));
            }
        } catch (IOException | UnsupportedOperationException e) {
            // Linux: no inotify instance left (fs.inotify.max_user_instances)
            serviceFailed = true;
            LOG.log(System.Logger.Level.WARNING, "no file-system notifications, Maildir folders are polled: " + e);
            return false;
        }
        try {
            for (String sub : List.of("new", "cur")) {
                WatchKey k = w.dir.resolve(sub).register(service, StandardWatchEventKinds.ENTRY_CREATE,
                        StandardWatchEventKinds.ENTRY_DELETE, StandardWatchEventKinds.ENTRY_MODIFY);
                w.keys.add(k);
                byKey.put(k, w);
            }
            w.notified = true;
            return true;
        } catch (IOException e) {
            // Linux: no inotify watch left (fs.inotify.max_user_watches), or the folder went
            LOG.log(System.Logger.Level.DEBUG, "polling " + w.dir + ": " + e);
            for (WatchKey k : w.keys) {
                byKey.remove(k);
                k.cancel();
            }
            w.keys.clear();
            return false;
        }
    }

    /** The one thread reading the service: a burst of events wakes each folder once. */
    private void dispatch(WatchService ws) {
        try {
            while (true) {
                Set<Watched> changed = new HashSet<>();
                WatchKey key = ws.take();
                do {
                    List<WatchEvent<?>> events = key.pollEvents();
                    Watched w = byKey.get(key);
                    if (w != null && !ownOnly(w, key, events)) {
                        changed.add(w);
                    }
                    if (!key.reset() && w != null) {
                        // the directory went (or was replaced): the poller keeps looking at it
                        moveToPolling(w, key);
                        changed.add(w);
                    }
                } while ((key = ws.poll()) != null);
                changed.forEach(this::signal);
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            // the process is ending
        }
    }

    /** Whether every one of {@code events} is one of this process's own expected changes. */
    private static boolean ownOnly(Watched w, WatchKey key, List<WatchEvent<?>> events) {
        String sub = ((Path) key.watchable()).getFileName().toString();
        boolean own = true;
        for (WatchEvent<?> e : events) {
            // every event is matched, so none is left expected
            if (e.kind() == StandardWatchEventKinds.OVERFLOW || !(e.context() instanceof Path p)
                    || !w.own.remove(sub + "/" + p)) {
                own = false;
            }
        }
        return own;
    }

    private void moveToPolling(Watched w, WatchKey gone) {
        lock.lock();
        try {
            byKey.remove(gone);
            if (w.keys.remove(gone) && byDir.get(w.dir) == w) {
                for (WatchKey k : w.keys) {
                    byKey.remove(k);
                    k.cancel();
                }
                w.keys.clear();
                w.notified = false;
                startPolling(w);
            }
        } finally {
            lock.unlock();
        }
    }

    // ---- the polling fallback ----

    private void startPolling(Watched w) {
        w.times = times(w.dir);
        w.racy = true;
        polled.add(w);
        if (!pollerStarted) {
            pollerStarted = true;
            Thread.ofVirtual().name("twine-maildir-poll").start(this::poll);
        }
    }

    private void poll() {
        try {
            while (true) {
                Thread.sleep(POLL);
                for (Watched w : polled) {
                    long[] now = times(w.dir);
                    // a change in the same clock tick as the last look leaves the times as they
                    // were: times that were recent then are worth one more wake-up
                    if (!Arrays.equals(now, w.times) || w.racy) {
                        signal(w);
                    }
                    w.racy = now != null
                            && System.currentTimeMillis() - Math.max(now[0], now[1]) / 1_000_000 < RACY_MILLIS;
                    w.times = now;
                }
            }
        } catch (InterruptedException e) {
            // the process is ending
        }
    }

    /** The modification times of {@code new/} and {@code cur/} in nanoseconds, null if unreadable. */
    private static long[] times(Path dir) {
        try {
            return new long[] {nanos(Files.getLastModifiedTime(dir.resolve("new"))),
                nanos(Files.getLastModifiedTime(dir.resolve("cur")))};
        } catch (IOException e) {
            return null;
        }
    }

    private static long nanos(FileTime t) {
        return t.to(java.util.concurrent.TimeUnit.NANOSECONDS);
    }
}
