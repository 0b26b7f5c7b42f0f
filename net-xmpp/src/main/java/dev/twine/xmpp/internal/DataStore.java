package dev.twine.xmpp.internal;

import dev.twine.core.DurableFiles;
import dev.twine.xmpp.Element;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Rosters and offline messages under a data directory, one file per user and kind:
 * {@code roster/USER.xml} and {@code offline/USER.xml}. Each file is an XML stream document that
 * {@link XmlReader} reads back. Every change is written to a temporary file, forced to disk,
 * renamed over the old one and the directory forced, before the caller acknowledges it to a client.
 *
 * <p>Thread-safe: each user's files are changed under that user's lock; a roster is cached in
 * memory after first use.
 */
public final class DataStore {
    private static final XmlLimits FILE_LIMITS = new XmlLimits(64 * 1024 * 1024, 64, 64);

    private final Path rosterDir;
    private final Path offlineDir;
    private final ConcurrentHashMap<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, LinkedHashMap<String, RosterItem>> rosters = new ConcurrentHashMap<>();

    /**
     * Opens (creating as needed) the store under {@code dataDir}.
     *
     * @throws IOException if the directories cannot be made
     */
    public DataStore(Path dataDir) throws IOException {
        rosterDir = Files.createDirectories(dataDir.resolve("roster"));
        offlineDir = Files.createDirectories(dataDir.resolve("offline"));
    }

    private ReentrantLock lock(String user) {
        return locks.computeIfAbsent(user, u -> new ReentrantLock());
    }

    /** A user's roster entries, hidden ones included, as a snapshot. */
    public List<RosterItem> roster(String user) throws IOException {
        ReentrantLock l = lock(user);
        l.lock();
        try {
            return List.copyOf(load(user).values());
        } finally {
            l.unlock();
        }
    }

    /** One entry of a user's roster, or null. */
    public RosterItem rosterItem(String user, String jid) throws IOException {
        ReentrantLock l = lock(user);
        l.lock();
        try {
            return load(user).get(jid);
        } finally {
            l.unlock();
        }
    }

    /**
     * Changes a user's roster under its lock and writes it durably before returning.
     *
     * @param change edits the map (bare JID to entry) in place
     */
    public void updateRoster(String user, Consumer<Map<String, RosterItem>> change) throws IOException {
        ReentrantLock l = lock(user);
        l.lock();
        try {
            LinkedHashMap<String, RosterItem> current = load(user);
            LinkedHashMap<String, RosterItem> copy = new LinkedHashMap<>(current);
            change.accept(copy);
            if (copy.equals(current)) {
                return;
            }
            List<Element> items = new ArrayList<>();
            for (RosterItem i : copy.values()) {
                items.add(i.toStored());
            }
            writeAtomically(rosterDir.resolve(fileName(user)), document(items));
            rosters.put(user, copy);
        } finally {
            l.unlock();
        }
    }

    private LinkedHashMap<String, RosterItem> load(String user) throws IOException {
        LinkedHashMap<String, RosterItem> r = rosters.get(user);
        if (r != null) {
            return r;
        }
        r = new LinkedHashMap<>();
        for (Element e : read(rosterDir.resolve(fileName(user)))) {
            RosterItem item = RosterItem.fromStored(e);
            r.put(item.jid(), item);
        }
        rosters.put(user, r);
        return r;
    }

    /**
     * Appends a message to a user's offline store, durably.
     *
     * @return false if the user already has {@code max} messages waiting (nothing is stored)
     */
    public boolean storeOffline(String user, Element message, int max) throws IOException {
        ReentrantLock l = lock(user);
        l.lock();
        try {
            Path f = offlineDir.resolve(fileName(user));
            List<Element> all = new ArrayList<>(read(f));
            if (all.size() >= max) {
                return false;
            }
            all.add(message);
            writeAtomically(f, document(all));
            return true;
        } finally {
            l.unlock();
        }
    }

    /** The messages waiting for a user, oldest first. */
    public List<Element> offline(String user) throws IOException {
        ReentrantLock l = lock(user);
        l.lock();
        try {
            return read(offlineDir.resolve(fileName(user)));
        } finally {
            l.unlock();
        }
    }

    /** Removes the first {@code count} waiting messages (those just delivered). */
    public void dropOffline(String user, int count) throws IOException {
        ReentrantLock l = lock(user);
        l.lock();
        try {
            Path f = offlineDir.resolve(fileName(user));
            List<Element> all = read(f);
            List<Element> rest = all.subList(Math.min(count, all.size()), all.size());
            if (rest.isEmpty()) {
                Files.deleteIfExists(f);
                DurableFiles.forceDirectory(offlineDir);
            } else {
                writeAtomically(f, document(rest));
            }
        } finally {
            l.unlock();
        }
    }

    static List<Element> read(Path f) throws IOException {
        byte[] data;
        try {
            data = Files.readAllBytes(f);
        } catch (NoSuchFileException e) {
            return List.of();
        }
        return parse(new ByteArrayInputStream(data), f);
    }

    /** The elements of a stream document read from {@code in}; {@code f} names it in errors. */
    static List<Element> parse(java.io.InputStream in, Path f) throws IOException {
        XmlReader r = new XmlReader(in, FILE_LIMITS);
        List<Element> out = new ArrayList<>();
        try {
            r.readHeader();
            for (Element e = r.next(); e != null; e = r.next()) {
                out.add(e);
            }
        } catch (StreamErrorException e) {
            throw new IOException(f + ": corrupt store file: " + e.getMessage(), e);
        }
        return out;
    }

    static byte[] document(List<Element> elements) {
        StringBuilder sb = new StringBuilder("<?xml version='1.0'?>\n<stream:stream xmlns='jabber:client' xmlns:stream='")
                .append(XmlReader.STREAMS).append("'>\n");
        for (Element e : elements) {
            sb.append(e.toXml()).append('\n');
        }
        sb.append("</stream:stream>\n");
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** A file name for a user that cannot escape the directory: [a-z0-9._-] kept, the rest %XX. */
    static String fileName(String user) {
        StringBuilder sb = new StringBuilder();
        for (byte b : user.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || (c == '.' && sb.length() > 0)) {
                sb.append(c);
            } else {
                sb.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return sb.append(".xml").toString();
    }

    /**
     * Writes a file so that a reader sees the old or the new content, and the new one survives a
     * crash (net-core's {@link DurableFiles}: a user's roster and offline messages are theirs
     * alone, so a new file is owner-only).
     */
    static void writeAtomically(Path file, byte[] data) throws IOException {
        DurableFiles.replace(file, data);
    }

    /** For tests: whether the roster is cached. */
    boolean cached(String user) {
        return rosters.containsKey(user);
    }

    /** Forgets cached rosters, as after a restart. */
    void forgetCache() {
        rosters.clear();
    }

    @Override
    public String toString() {
        return "DataStore[" + rosterDir.getParent() + "]";
    }

}
