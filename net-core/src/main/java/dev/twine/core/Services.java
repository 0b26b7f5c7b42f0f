package dev.twine.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.ReentrantLock;

/** Combines services. */
public final class Services {
    private Services() {}

    /**
     * A service made of others: started in order (if one fails, those already started are closed
     * and the failure is thrown), stopped in reverse order sharing one grace period. It terminates
     * when all members have.
     */
    public static Service group(String name, List<? extends Service> members) {
        return new Group(name, List.copyOf(members));
    }

    private static final class Group implements Service {
        private final String name;
        private final List<Service> members;
        private final ReentrantLock lock = new ReentrantLock();
        private final List<Service> started = new ArrayList<>();
        private final CountDownLatch stopped = new CountDownLatch(1);
        private boolean begun;

        Group(String name, List<Service> members) {
            this.name = Objects.requireNonNull(name, "name");
            this.members = members;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public List<Service> members() {
            return members;
        }

        @Override
        public void start() throws Exception {
            lock.lock();
            try {
                if (begun) {
                    throw new IllegalStateException("service group '" + name + "' already started");
                }
                begun = true;
                for (Service s : members) {
                    try {
                        s.start();
                    } catch (Exception e) {
                        closeStarted();
                        stopped.countDown();
                        throw e;
                    }
                    started.add(s);
                }
            } finally {
                lock.unlock();
            }
        }

        @Override
        public List<Binding> bindings() {
            List<Binding> all = new ArrayList<>();
            for (Service s : members) {
                all.addAll(s.bindings());
            }
            return all;
        }

        /** Reloads every member; the first failure is thrown after all have been tried. */
        @Override
        public boolean reload() throws java.io.IOException {
            return reloadAll(snapshotReversed().reversed(), Service::reload);
        }

        @Override
        public void shutdown(Duration grace) throws InterruptedException {
            long deadline = System.nanoTime() + grace.toNanos();
            List<Service> toStop = snapshotReversed();
            try {
                for (Service s : toStop) {
                    long left = Math.max(0, deadline - System.nanoTime());
                    s.shutdown(Duration.ofNanos(left));
                }
            } catch (InterruptedException e) {
                toStop.forEach(Service::close);
                throw e;
            } finally {
                stopped.countDown();
            }
        }

        @Override
        public void close() {
            try {
                closeStarted();
            } finally {
                stopped.countDown();
            }
        }

        private void closeStarted() {
            for (Service s : snapshotReversed()) {
                s.close();
            }
        }

        private List<Service> snapshotReversed() {
            List<Service> copy;
            if (lock.isHeldByCurrentThread()) {
                copy = new ArrayList<>(started);
            } else {
                lock.lock();
                try {
                    copy = new ArrayList<>(started);
                } finally {
                    lock.unlock();
                }
            }
            return copy.reversed();
        }

        @Override
        public void awaitTermination() throws InterruptedException {
            stopped.await();
        }
    }

    /** One thing's reload, as {@link Service#reload()} and {@link Tls#reload()} are. */
    interface Reload<T> {
        boolean reload(T item) throws java.io.IOException;
    }

    /**
     * Reloads every item in order, even after one fails, so one bad file does not stop the others.
     *
     * @return whether any item changed
     * @throws java.io.IOException the first failure, with the later ones suppressed in it
     */
    static <T> boolean reloadAll(List<T> items, Reload<T> reload) throws java.io.IOException {
        boolean any = false;
        java.io.IOException first = null;
        for (T item : items) {
            try {
                any |= reload.reload(item);
            } catch (java.io.IOException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
        return any;
    }
}
