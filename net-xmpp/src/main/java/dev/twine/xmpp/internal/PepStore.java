package dev.twine.xmpp.internal;

import dev.twine.core.DurableFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;

/**
 * The PEP nodes of every user under a directory: {@code DIR/USER/NODE.xml}, one file per node
 * (names escaped as {@link DataStore#fileName} does), holding the node's configuration and its
 * items as an XML stream document. A change replaces the node's file atomically and forces it
 * to disk before it returns, so what a publish's result acknowledges survives a crash; a
 * deleted node's file is removed and the directory forced.
 *
 * <p>Thread-safe: one user's nodes change under that user's lock, held across the read and the
 * write of a change. Nothing is cached: a node is read from its file when asked for.
 */
final class PepStore {
    /** What a change does to a node (absent: there is none), returning the new one (absent: delete it). */
    @FunctionalInterface
    interface Change<X extends Exception> {
        Optional<PubSubNode> apply(Optional<PubSubNode> current) throws X;
    }

    private final Path dir;
    private final ConcurrentHashMap<String, ReentrantLock> locks = new ConcurrentHashMap<>();

    PepStore(Path dir) throws IOException {
        this.dir = Files.createDirectories(dir);
    }

    private ReentrantLock lock(String user) {
        return locks.computeIfAbsent(user, u -> new ReentrantLock());
    }

    private Path userDir(String user) {
        String f = DataStore.fileName(user);
        return dir.resolve(f.substring(0, f.length() - ".xml".length()));
    }

    /** A user's node, if it exists. */
    Optional<PubSubNode> node(String user, String node) throws IOException {
        ReentrantLock l = lock(user);
        l.lock();
        try {
            return read(userDir(user).resolve(DataStore.fileName(node)));
        } finally {
            l.unlock();
        }
    }

    /** Whether a user may have nodes (a cheap look before reading any: most users have none to send). */
    boolean mayHaveNodes(String user) {
        return Files.isDirectory(userDir(user));
    }

    /** The names of a user's nodes, sorted. */
    List<String> names(String user) throws IOException {
        ReentrantLock l = lock(user);
        l.lock();
        try {
            List<String> out = new ArrayList<>();
            for (Path f : files(user)) {
                read(f).ifPresent(n -> out.add(n.name()));
            }
            out.sort(null);
            return out;
        } finally {
            l.unlock();
        }
    }

    /**
     * Changes one node under the user's lock: {@code change} sees the node as it is and says what
     * it becomes; the result is on disk when this returns. {@code maxNodes} bounds how many nodes
     * the user may have: creating one more returns empty and changes nothing.
     *
     * @return what {@code change} returned, or empty if it would have created a node past {@code maxNodes}
     * @throws X what {@code change} throws (nothing is written then)
     */
    <X extends Exception> Optional<Optional<PubSubNode>> update(String user, String node, int maxNodes, Change<X> change)
            throws IOException, X {
        ReentrantLock l = lock(user);
        l.lock();
        try {
            Path f = userDir(user).resolve(DataStore.fileName(node));
            Optional<PubSubNode> current = read(f);
            Optional<PubSubNode> next = change.apply(current);
            if (next.equals(current)) {
                return Optional.of(next);
            }
            if (next.isEmpty()) {
                Files.deleteIfExists(f);
                DurableFiles.forceDirectory(f.getParent());
                return Optional.of(next);
            }
            if (current.isEmpty() && countLocked(user) >= maxNodes) {
                return Optional.empty();
            }
            Files.createDirectories(f.getParent());
            DataStore.writeAtomically(f, DataStore.document(next.get().toStored()));
            return Optional.of(next);
        } finally {
            l.unlock();
        }
    }

    private int countLocked(String user) throws IOException {
        return files(user).size();
    }

    private List<Path> files(String user) throws IOException {
        try (Stream<Path> s = Files.list(userDir(user))) {
            return s.filter(p -> p.getFileName().toString().endsWith(".xml")).toList();
        } catch (NoSuchFileException e) {
            return List.of();
        }
    }

    private static Optional<PubSubNode> read(Path f) throws IOException {
        List<dev.twine.xmpp.Element> stored = DataStore.read(f);
        if (stored.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(PubSubNode.fromStored(stored));
        } catch (IllegalArgumentException e) {
            throw new IOException(f + ": corrupt PEP node: " + e.getMessage(), e);
        }
    }
}
