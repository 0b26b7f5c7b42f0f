package dev.twine.mail.maildir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Scope;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Delivery with a shared directory force: every message lands whole in new/. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MaildirDeliveryTest {
    @TempDir
    Path dir;

    @Test
    void concurrentDeliveriesAllLandWholeInNewAndNothingStaysInTmp() throws Exception {
        Maildir d = Maildir.open(dir);
        try (Scope scope = Scope.open("deliveries")) {
            for (int i = 0; i < 64; i++) {
                int n = i;
                scope.fork("d" + i, () -> d.deliver("alice", ("X-N: " + n + "\r\n").getBytes(StandardCharsets.US_ASCII),
                        "body\r\n".getBytes(StandardCharsets.US_ASCII)));
            }
            scope.join();
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir.resolve("alice/new"))) {
            files = s.toList();
        }
        assertEquals(64, files.size());
        for (Path f : files) {
            byte[] b = Files.readAllBytes(f);
            assertTrue(f.getFileName().toString().endsWith(",S=" + b.length), f.toString());
            assertTrue(new String(b, StandardCharsets.US_ASCII).matches("X-N: \\d+\r\nbody\r\n"));
        }
        try (Stream<Path> s = Files.list(dir.resolve("alice/tmp"))) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void aBufferSliceIsStoredInOneFileForEachUserAndTheBufferIsLeftAsItWas() throws Exception {
        Maildir d = Maildir.open(dir);
        byte[] array = "junk|Subject: s\r\n\r\nbody\r\n|junk".getBytes(StandardCharsets.US_ASCII);
        java.nio.ByteBuffer slice = java.nio.ByteBuffer.wrap(array, 5, array.length - 10);
        Path forAlice = d.deliver("alice", slice);
        Path forBob = d.deliver("bob", slice);
        assertEquals(5, slice.position(), "position unchanged");
        assertEquals(array.length - 5, slice.limit(), "limit unchanged");
        for (Path f : List.of(forAlice, forBob)) {
            assertEquals("Subject: s\r\n\r\nbody\r\n", Files.readString(f, StandardCharsets.US_ASCII));
            assertTrue(f.getFileName().toString().endsWith(",S=" + Files.size(f)), f.toString());
            assertEquals("new", f.getParent().getFileName().toString());
        }
        assertEquals(dir.resolve("alice/new"), forAlice.getParent());
        assertEquals(dir.resolve("bob/new"), forBob.getParent());
    }

    @Test
    void aStreamDeliveredAfterItsDirectoriesVanishedIsStoredWhole() throws Exception {
        Maildir d = Maildir.open(dir);
        d.deliver("dave", java.nio.ByteBuffer.wrap("first\r\n".getBytes(StandardCharsets.US_ASCII)));
        // new/ alone removed: the rename is retried into a new new/
        deleteTree(dir.resolve("dave/new"));
        Path second = Maildir.deliver(dir.resolve("dave"), new java.io.ByteArrayInputStream("second\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("second\r\n", Files.readString(second, StandardCharsets.US_ASCII));
        // everything removed: the stream is still read only once, into the new tmp/
        deleteTree(dir.resolve("dave"));
        Path third = Maildir.deliver(dir.resolve("dave"), new java.io.ByteArrayInputStream("third\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("third\r\n", Files.readString(third, StandardCharsets.US_ASCII));
        assertTrue(third.getFileName().toString().endsWith(",S=7"), third.toString());
        try (Stream<Path> s = Files.list(dir.resolve("dave/tmp"))) {
            assertEquals(0, s.count());
        }
    }

    private static void deleteTree(Path root) throws java.io.IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Test
    void messagesDeliveredInTheSameMillisecondKeepTheirArrivalOrder() throws Exception {
        Maildir d = Maildir.open(dir);
        int n = 500;
        for (int i = 0; i < n; i++) {
            d.deliver("carol", new byte[0], ("n" + i + "\r\n").getBytes(StandardCharsets.US_ASCII));
        }
        List<MailMessage> msgs = d.mailbox("carol", "").messages();
        assertEquals(n, msgs.size());
        for (int i = 0; i < n; i++) {
            assertEquals("n" + i + "\r\n", Files.readString(msgs.get(i).file(), StandardCharsets.US_ASCII), "message " + (i + 1));
        }
    }

    @Test
    void recreatesRemovedDirectoriesAndRefusesUnsafeUserNames() throws Exception {
        Maildir d = Maildir.open(dir);
        Path first = d.deliver("bob", new byte[0], "a\r\n".getBytes(StandardCharsets.US_ASCII));
        Files.delete(first);
        Files.delete(dir.resolve("bob/new"));
        Files.delete(dir.resolve("bob/tmp"));
        Path second = d.deliver("bob", new byte[0], "b\r\n".getBytes(StandardCharsets.US_ASCII));
        assertArrayEquals("b\r\n".getBytes(StandardCharsets.US_ASCII), Files.readAllBytes(second));
        assertThrows(IllegalArgumentException.class, () -> d.deliver("../evil", new byte[0], new byte[0]));
    }
}
