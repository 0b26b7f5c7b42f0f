package dev.twine.xmpp.internal;

import dev.twine.core.DurableFiles;
import dev.twine.xmpp.Element;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Message archives (XEP-0313), one file per user under {@code DATA/mam/USER.log}: one line per
 * message, {@code ID TAB MILLIS TAB WITH TAB base64(XML)}, appended (written, not forced) before
 * the message is routed on. Each archive's index (id, time, correspondent, where the line is) is
 * read once into memory, by one pass over the file, and answers queries; only the messages of
 * a page are read back. An archive keeps the latest {@code max} messages: older ones leave the
 * index at once and the file once they are a fifth of it (the rest is copied to a new file,
 * replaced atomically).
 *
 * <p>Thread-safe: each user's archive is changed and read under that user's lock.
 */
final class Archive {
    /** One archived message in the index. */
    record Entry(long id, long millis, String with, long offset, int length) {
        String idText() {
            return Long.toString(id, 36);
        }
    }

    private static final FileAttribute<?>[] PRIVATE = FileSystems.getDefault().supportedFileAttributeViews().contains("posix")
            ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))}
            : new FileAttribute<?>[0];

    private static final java.util.Set<StandardOpenOption> APPEND =
            java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);

    private final Path dir;
    private volatile int max;
    private final AtomicLong ids = new AtomicLong(System.currentTimeMillis() * 1000);
    private final ConcurrentHashMap<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, List<Entry>> indexes = new ConcurrentHashMap<>();

    Archive(Path dir, int max) throws IOException {
        this.dir = Files.createDirectories(dir);
        this.max = max;
    }

    void max(int messages) {
        max = messages;
    }

    ReentrantLock lock(String user) {
        return locks.computeIfAbsent(user, u -> new ReentrantLock());
    }

    private Path file(String user) {
        String xml = DataStore.fileName(user); // NAME.xml: the archive is NAME.log
        return dir.resolve(xml.substring(0, xml.length() - ".xml".length()) + ".log");
    }

    /**
     * Appends a message to a user's archive: written to the file before this returns (so a
     * crash of the process loses nothing), not forced to disk per message (a power cut can lose
     * the last lines; see the comment in the body for why).
     *
     * @return its archive id
     */
    String append(String user, String with, long millis, Element message) throws IOException {
        ReentrantLock l = lock(user);
        l.lock();
        try {
            List<Entry> index = index(user);
            long id = ids.incrementAndGet();
            if (!index.isEmpty() && id <= index.get(index.size() - 1).id()) {
                id = index.get(index.size() - 1).id() + 1; // ids only grow within an archive, restarts included
                ids.accumulateAndGet(id, Math::max);
            }
            byte[] line = (Long.toString(id, 36) + '\t' + millis + '\t' + with + '\t'
                    + Base64.getEncoder().encodeToString(message.toXml().getBytes(StandardCharsets.UTF_8)) + '\n')
                    .getBytes(StandardCharsets.UTF_8);
            Path f = file(user);
            long offset;
            try (FileChannel ch = FileChannel.open(f, APPEND, PRIVATE)) {
                offset = ch.size();
                ByteBuffer b = ByteBuffer.wrap(line);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                // not forced per message: the archive is history, not the message's only copy
                // (it was routed live, or into offline storage, which is forced), and an fsync per
                // line on each side of every chat cost two thirds of the server's message rate.
                // Written before routing, it survives a crash of the process; a power cut can
                // take the last lines, as with Prosody's and ejabberd's archives.
            }
            if (offset == 0) {
                DurableFiles.forceDirectory(dir); // a new file (or an empty one): its name made durable, once
            }
            index.add(new Entry(id, millis, with, offset, line.length));
            trim(user, index);
            return Long.toString(id, 36);
        } finally {
            l.unlock();
        }
    }

    /** The user's index, oldest first; the caller holds the user's lock and must not keep it past. */
    List<Entry> index(String user) throws IOException {
        List<Entry> index = indexes.get(user);
        if (index != null) {
            return index;
        }
        index = new ArrayList<>();
        byte[] all;
        try {
            all = Files.readAllBytes(file(user));
        } catch (NoSuchFileException e) {
            all = new byte[0];
        }
        int start = 0;
        for (int i = 0; i < all.length; i++) {
            if (all[i] != '\n') {
                continue;
            }
            String[] parts = new String(all, start, i - start, StandardCharsets.UTF_8).split("\t", 4);
            try {
                index.add(new Entry(Long.parseLong(parts[0], 36), Long.parseLong(parts[1]), parts[2], start, i + 1 - start));
            } catch (RuntimeException e) {
                throw new IOException(file(user) + ": corrupt archive line at byte " + start, e);
            }
            start = i + 1;
        }
        // a line cut short by a crash (no newline) was never acknowledged: it is left out
        indexes.put(user, index);
        trim(user, index);
        return index;
    }

    /** Drops what is past the limit from the index, and from the file once it is a fifth of it. */
    private void trim(String user, List<Entry> index) throws IOException {
        if (index.size() > max) {
            index.subList(0, index.size() - max).clear();
        }
        if (index.isEmpty() || index.get(0).offset() == 0) {
            return;
        }
        long cut = index.get(0).offset();
        Entry last = index.get(index.size() - 1);
        long end = last.offset() + last.length();
        if (cut * 4 < end - cut) {
            return;
        }
        byte[] rest;
        try (RandomAccessFile raf = new RandomAccessFile(file(user).toFile(), "r")) {
            rest = new byte[Math.toIntExact(end - cut)];
            raf.seek(cut);
            raf.readFully(rest);
        }
        DurableFiles.replace(file(user), rest);
        for (int i = 0; i < index.size(); i++) {
            Entry e = index.get(i);
            index.set(i, new Entry(e.id(), e.millis(), e.with(), e.offset() - cut, e.length()));
        }
    }

    /** Deletes an archive (a room that ended). */
    void delete(String user) throws IOException {
        ReentrantLock l = lock(user);
        l.lock();
        try {
            indexes.remove(user);
            if (Files.deleteIfExists(file(user))) {
                DurableFiles.forceDirectory(dir);
            }
        } finally {
            l.unlock();
        }
    }

    private static final byte[] HEAD = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
            .getBytes(StandardCharsets.UTF_8);
    private static final byte[] TAIL = "</stream:stream>".getBytes(StandardCharsets.UTF_8);

    /**
     * Reads archived messages back, in the order given; the caller holds the user's lock. The
     * page's messages are parsed as one document (a parser per message cost most of a query).
     */
    List<Element> read(String user, List<Entry> entries) throws IOException {
        if (entries.isEmpty()) {
            return new ArrayList<>();
        }
        ByteArrayOutputStream doc = new ByteArrayOutputStream();
        doc.writeBytes(HEAD);
        try (RandomAccessFile raf = new RandomAccessFile(file(user).toFile(), "r")) {
            for (Entry e : entries) {
                byte[] line = new byte[e.length()];
                raf.seek(e.offset());
                raf.readFully(line);
                String text = new String(line, StandardCharsets.UTF_8);
                String b64 = text.substring(text.lastIndexOf('\t') + 1).strip();
                try {
                    doc.writeBytes(Base64.getDecoder().decode(b64));
                } catch (IllegalArgumentException ex) {
                    throw new IOException(file(user) + ": corrupt archive entry " + e.idText(), ex);
                }
            }
        }
        doc.writeBytes(TAIL);
        List<Element> out = DataStore.parse(new ByteArrayInputStream(doc.toByteArray()), file(user));
        if (out.size() != entries.size()) {
            // an entry that is not exactly one element would shift every message after it
            throw new IOException(file(user) + ": corrupt archive entries between " + entries.get(0).idText() + " and "
                    + entries.get(entries.size() - 1).idText());
        }
        return out;
    }
}
