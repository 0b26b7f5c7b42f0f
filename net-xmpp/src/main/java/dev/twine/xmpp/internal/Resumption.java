package dev.twine.xmpp.internal;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * XEP-0198 §5 resumption, server-wide: the sessions a client can resume by id, and those whose
 * connection dropped and that wait, detached, for their client, with the bound on how many may
 * wait. The waiting itself happens on each session's own thread (see {@link C2sSession}).
 */
public final class Resumption {

    /** How long a resumable session waits for its client after its connection drops; zero: no resumption. */
    volatile Duration resumeTimeout = Duration.ofSeconds(300);
    /** The most sessions waiting detached at once; past it the oldest ends. */
    volatile int maxDetached = 1000;
    /** The clock detached sessions wait on (a test's manual clock, or the system's). */
    volatile java.time.Clock clock = java.time.Clock.systemUTC();
    private final Map<String, C2sSession> resumable = new ConcurrentHashMap<>();
    private final ReentrantLock detachLock = new ReentrantLock();
    private final java.util.LinkedHashSet<C2sSession> detached = new java.util.LinkedHashSet<>();

    /** Sets XEP-0198 resumption: the longest wait for a client, the most detached sessions, the clock. */
    public void configure(Duration timeout, int maxDetachedSessions, java.time.Clock waitClock) {
        if (timeout.isNegative() || maxDetachedSessions < 0) {
            throw new IllegalArgumentException("negative resumption limits");
        }
        resumeTimeout = timeout.truncatedTo(ChronoUnit.SECONDS);
        maxDetached = maxDetachedSessions;
        clock = java.util.Objects.requireNonNull(waitClock, "clock");
    }

    /**
     * Where clients should resume (XEP-0198 §5 {@code location}: a host name or address, with
     * an optional port), or empty to leave the attribute out.
     */
    volatile String location = "";

    /** Sets the preferred resumption address of {@code <enabled/>} (checked by the builder); empty for none. */
    public void location(String hostPort) {
        location = java.util.Objects.requireNonNull(hostPort, "location");
    }

    /** The user and last {@code h} of a session that ended, for {@code <failed h/>} (XEP-0198 §5). */
    private record Ended(String user, long h) {}

    /** Sessions that ended lately, oldest first, at most {@link #maxDetached} (at least 100) of them. */
    private final java.util.LinkedHashMap<String, Ended> ended = new java.util.LinkedHashMap<>();

    /** Remembers how many of its client's stanzas an ended session had handled. */
    void ended(String id, String user, long h) {
        detachLock.lock();
        try {
            ended.put(id, new Ended(user, h));
            while (ended.size() > Math.max(100, maxDetached)) {
                ended.remove(ended.keySet().iterator().next());
            }
        } finally {
            detachLock.unlock();
        }
    }

    /** The last {@code h} of {@code user}'s ended session {@code id}, or -1 if not known. */
    long endedH(String id, String user) {
        detachLock.lock();
        try {
            Ended e = ended.get(id);
            return e != null && e.user().equals(user) ? e.h() : -1;
        } finally {
            detachLock.unlock();
        }
    }

    void register(String id, C2sSession s) {
        resumable.put(id, s);
    }

    void forget(String id, C2sSession s) {
        resumable.remove(id, s);
    }

    /** The resumable session with this id, attached or detached, or null. */
    C2sSession find(String id) {
        return resumable.get(id);
    }

    /**
     * Counts a session that starts waiting detached. If that makes more than {@link #maxDetached},
     * the oldest waiting one is told to end now; with a limit of zero none waits (false).
     */
    boolean detach(C2sSession s) {
        C2sSession oldest = null;
        detachLock.lock();
        try {
            if (maxDetached == 0 || stopped) {
                return false;
            }
            detached.add(s);
            if (detached.size() > maxDetached) {
                oldest = detached.iterator().next();
                detached.remove(oldest);
            }
        } finally {
            detachLock.unlock();
        }
        if (oldest != null) {
            oldest.evict();
        }
        return true;
    }

    private boolean stopped;

    /** The server is stopping: detached sessions end now, and no more wait. */
    public void stop() {
        List<C2sSession> waiting;
        detachLock.lock();
        try {
            stopped = true;
            waiting = new ArrayList<>(detached);
        } finally {
            detachLock.unlock();
        }
        waiting.forEach(C2sSession::evict);
    }

    void undetach(C2sSession s) {
        detachLock.lock();
        try {
            detached.remove(s);
        } finally {
            detachLock.unlock();
        }
    }

    /** The number of sessions waiting detached for their clients. */
    public int detachedCount() {
        detachLock.lock();
        try {
            return detached.size();
        } finally {
            detachLock.unlock();
        }
    }
}
