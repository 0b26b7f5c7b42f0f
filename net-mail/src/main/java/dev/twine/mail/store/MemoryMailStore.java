package dev.twine.mail.store;

import dev.twine.mail.internal.Crlf;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link MailStore} in memory, for tests, examples and mail that need not outlive the process:
 * every user gets an account with an empty {@code INBOX} on first use. Nothing is written
 * anywhere, so "durable" in the interfaces' contracts means "visible to every session of this
 * store" here. Safe for concurrent use; {@link Mailbox#watch()} wakes at once on a change.
 *
 * <pre>{@code
 * MemoryMailStore store = MemoryMailStore.create();
 * store.account("alice").mailbox("INBOX").orElseThrow().append(
 *         new ByteArrayInputStream("Subject: hi\r\n\r\nHello.\r\n".getBytes(US_ASCII)), Set.of(), null);
 * }</pre>
 */
public final class MemoryMailStore implements MailStore {
    private static final String INBOX = "INBOX";
    private final Map<String, MemoryAccount> accounts = new ConcurrentHashMap<>();
    /** UIDVALIDITY of the next mailbox: each mailbox made gets a new one (RFC 9051 §2.3.1.1). */
    private final AtomicLong validity;

    private MemoryMailStore(long firstUidValidity) {
        this.validity = new AtomicLong(firstUidValidity - 1);
    }

    /** A new, empty store whose mailboxes' UIDVALIDITY values start at the current time in seconds. */
    public static MemoryMailStore create() {
        return new MemoryMailStore(Instant.now().getEpochSecond());
    }

    /**
     * A new, empty store whose first mailbox gets UIDVALIDITY {@code firstUidValidity} and each
     * later one the next value: for tests and transcripts that name UIDVALIDITY.
     *
     * @throws IllegalArgumentException if {@code firstUidValidity} is not positive
     */
    public static MemoryMailStore create(long firstUidValidity) {
        if (firstUidValidity <= 0) {
            throw new IllegalArgumentException("UIDVALIDITY must be positive: " + firstUidValidity);
        }
        return new MemoryMailStore(firstUidValidity);
    }

    /**
     * The account of {@code user}, made with an empty {@code INBOX} on first use. Never throws.
     *
     * @throws NullPointerException if {@code user} is null
     */
    @Override
    public Account account(String user) {
        Objects.requireNonNull(user, "user");
        return accounts.computeIfAbsent(user, MemoryAccount::new);
    }

    private static String canonical(String name) {
        if (name.isEmpty()) {
            throw new IllegalArgumentException("empty mailbox name");
        }
        return name.equalsIgnoreCase(INBOX) ? INBOX : name;
    }

    private final class MemoryAccount implements Account {
        private final String user;
        private final ReentrantLock lock = new ReentrantLock();
        // guarded by lock
        private final TreeMap<String, MemoryMailbox> boxes = new TreeMap<>();
        private final LinkedHashSet<String> subscriptions = new LinkedHashSet<>();
        /** Uses given at creation (RFC 6154), over the conventional ones of {@link Account#specialUses}. */
        private final Map<String, Set<String>> uses = new HashMap<>();

        MemoryAccount(String user) {
            this.user = user;
            boxes.put(INBOX, new MemoryMailbox(validity.incrementAndGet()));
        }

        @Override
        public String user() {
            return user;
        }

        @Override
        public List<String> mailboxes() {
            lock.lock();
            try {
                List<String> names = new ArrayList<>();
                names.add(INBOX);
                boxes.keySet().stream().filter(n -> !n.equals(INBOX)).forEach(names::add);
                return names;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public Optional<Mailbox> mailbox(String name) {
            lock.lock();
            try {
                return Optional.ofNullable(boxes.get(canonical(name)));
            } finally {
                lock.unlock();
            }
        }

        @Override
        public boolean create(String name) {
            lock.lock();
            try {
                String n = canonical(name);
                if (boxes.containsKey(n)) {
                    return false;
                }
                boxes.put(n, new MemoryMailbox(validity.incrementAndGet()));
                return true;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public boolean create(String name, Set<String> given) {
            lock.lock();
            try {
                if (!create(name)) {
                    return false;
                }
                if (!given.isEmpty()) {
                    uses.put(canonical(name), Set.copyOf(given));
                }
                return true;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public Map<String, Set<String>> specialUses() throws IOException {
            lock.lock();
            try {
                Map<String, Set<String>> all = new LinkedHashMap<>(Account.super.specialUses());
                all.putAll(uses);
                return all;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public boolean delete(String name) {
            String n = canonical(name);
            if (n.equals(INBOX)) {
                throw new IllegalArgumentException("the inbox cannot be deleted");
            }
            lock.lock();
            try {
                MemoryMailbox gone = boxes.remove(n);
                if (gone == null) {
                    return false;
                }
                gone.discard();
                uses.remove(n);
                return true;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public boolean rename(String from, String to) {
            String f = canonical(from);
            String t = canonical(to);
            if (f.equals(INBOX) || t.equals(INBOX)) {
                throw new IllegalArgumentException("the inbox cannot be renamed here");
            }
            lock.lock();
            try {
                if (!boxes.containsKey(f) || boxes.containsKey(t)) {
                    return false;
                }
                for (String name : List.copyOf(boxes.keySet())) {
                    if (name.equals(f) || name.startsWith(f + ".")) {
                        boxes.put(t + name.substring(f.length()), boxes.remove(name));
                        Set<String> u = uses.remove(name);
                        if (u != null) {
                            uses.put(t + name.substring(f.length()), u);
                        }
                    }
                }
                return true;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public List<String> subscriptions() {
            lock.lock();
            try {
                return List.copyOf(subscriptions);
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void subscribe(String name, boolean subscribed) {
            lock.lock();
            try {
                if (subscribed) {
                    subscriptions.add(name);
                } else {
                    subscriptions.remove(name);
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /** One message's content and state; replaced, never changed, so readers need no lock. */
    private record Entry(StoredMessage meta, byte[] data, Instant date) {}

    private static final class MemoryMailbox implements Mailbox {
        private final long uidValidity;
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        private final AtomicBoolean exclusive = new AtomicBoolean();
        // guarded by lock
        private long uidNext = 1;
        /** RFC 7162 §3.1.2.1: grows with every new message, flag change and expunge. */
        private long highestModSeq = 1;
        private final TreeMap<Long, Entry> entries = new TreeMap<>();
        private final List<String> keywords = new ArrayList<>();
        /** Counts changes, for watches. */
        private long version;

        MemoryMailbox(long uidValidity) {
            this.uidValidity = uidValidity;
        }

        @Override
        public long uidValidity() {
            return uidValidity;
        }

        @Override
        public long uidNext() {
            lock.lock();
            try {
                return uidNext;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public long highestModSeq() {
            lock.lock();
            try {
                return highestModSeq;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public List<StoredMessage> messages() {
            lock.lock();
            try {
                return entries.values().stream().map(Entry::meta).toList();
            } finally {
                lock.unlock();
            }
        }

        @Override
        public Optional<StoredMessage> find(long uid) {
            return Optional.ofNullable(entry(uid)).map(Entry::meta);
        }

        private Entry entry(long uid) {
            lock.lock();
            try {
                return entries.get(uid);
            } finally {
                lock.unlock();
            }
        }

        private Entry existing(long uid) throws NoSuchMessageException {
            Entry e = entry(uid);
            if (e == null) {
                throw new NoSuchMessageException(uid, null);
            }
            return e;
        }

        @Override
        public byte[] read(long uid) throws NoSuchMessageException {
            return existing(uid).data().clone();
        }

        @Override
        public long size(long uid) throws NoSuchMessageException {
            return existing(uid).data().length;
        }

        @Override
        public Instant internalDate(long uid) throws NoSuchMessageException {
            return existing(uid).date();
        }

        @Override
        public List<String> keywords() {
            lock.lock();
            try {
                return List.copyOf(keywords);
            } finally {
                lock.unlock();
            }
        }

        @Override
        public StoredMessage append(InputStream message, Set<String> flags, Instant internalDate) throws IOException {
            byte[] data = Crlf.of(message.readAllBytes());
            lock.lock();
            try {
                long uid = uidNext++;
                StoredMessage m = new StoredMessage(uid, uidValidity + "." + uid, known(flags), true, ++highestModSeq);
                entries.put(uid, new Entry(m, data, internalDate != null ? internalDate : Instant.now()));
                changed();
                return m;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public Optional<StoredMessage> setFlags(long uid, Set<String> flags) {
            lock.lock();
            try {
                Entry e = entries.get(uid);
                if (e == null) {
                    return Optional.empty();
                }
                Set<String> now = known(flags);
                if (now.equals(e.meta().flags())) {
                    return Optional.of(e.meta());
                }
                StoredMessage m = e.meta().withFlags(now, ++highestModSeq);
                entries.put(uid, new Entry(m, e.data(), e.date()));
                changed();
                return Optional.of(m);
            } finally {
                lock.unlock();
            }
        }

        /** The flags in a fixed order (system flags, then keywords as first used), keywords recorded. */
        private Set<String> known(Set<String> flags) {
            LinkedHashSet<String> out = new LinkedHashSet<>();
            for (String f : List.of(StoredMessage.SEEN, StoredMessage.ANSWERED, StoredMessage.FLAGGED,
                    StoredMessage.DELETED, StoredMessage.DRAFT)) {
                if (flags.stream().anyMatch(f::equalsIgnoreCase)) {
                    out.add(f);
                }
            }
            for (String f : flags) {
                if (!f.startsWith("\\") && keywords.stream().noneMatch(f::equalsIgnoreCase)) {
                    keywords.add(f);
                }
            }
            for (String k : keywords) {
                if (flags.stream().anyMatch(k::equalsIgnoreCase)) {
                    out.add(k);
                }
            }
            return out;
        }

        @Override
        public Set<Long> claimRecent() {
            lock.lock();
            try {
                Set<Long> claimed = new LinkedHashSet<>();
                for (Entry e : List.copyOf(entries.values())) {
                    StoredMessage m = e.meta();
                    if (m.recent()) {
                        entries.put(m.uid(), new Entry(new StoredMessage(m.uid(), m.uniqueId(), m.flags(), false, m.modSeq()),
                                e.data(), e.date()));
                        claimed.add(m.uid());
                    }
                }
                return claimed;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void expunge(Collection<Long> uids) {
            lock.lock();
            try {
                boolean any = false;
                for (long uid : uids) {
                    any |= entries.remove(uid) != null;
                }
                if (any) {
                    highestModSeq++;
                    changed();
                }
            } finally {
                lock.unlock();
            }
        }

        /** The mailbox was deleted: its messages go, and sessions still holding it see that. */
        void discard() {
            lock.lock();
            try {
                entries.clear();
                highestModSeq++;
                changed();
            } finally {
                lock.unlock();
            }
        }

        private void changed() {
            version++;
            changed.signalAll();
        }

        @Override
        public boolean tryLockExclusive() {
            return exclusive.compareAndSet(false, true);
        }

        @Override
        public void unlockExclusive() {
            exclusive.set(false);
        }

        @Override
        public Watch watch() {
            lock.lock();
            try {
                return new MemoryWatch(version);
            } finally {
                lock.unlock();
            }
        }

        private final class MemoryWatch implements Watch {
            private long seen;
            private volatile boolean closed;

            MemoryWatch(long seen) {
                this.seen = seen;
            }

            @Override
            public boolean awaitChange(Duration timeout) throws InterruptedException {
                long left = timeout.toNanos();
                lock.lockInterruptibly();
                try {
                    while (true) {
                        if (closed) {
                            throw new IllegalStateException("watch closed");
                        }
                        if (version != seen) {
                            seen = version;
                            return true;
                        }
                        if (left <= 0) {
                            return false;
                        }
                        left = changed.awaitNanos(left);
                    }
                } finally {
                    lock.unlock();
                }
            }

            @Override
            public void close() {
                closed = true;
                lock.lock();
                try {
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        }
    }
}
