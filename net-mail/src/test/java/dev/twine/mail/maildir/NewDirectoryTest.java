package dev.twine.mail.maildir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Scope;
import dev.twine.core.testing.FsyncFailures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Group commit of renames into new/: each delivery learns its own outcome. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NewDirectoryTest {
    @TempDir
    Path dir;

    @Test
    void aRenameThatFailsInABatchFailsOnlyItsOwnDeliveryAndTheOthersAreStillCommitted() throws Exception {
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Path nu = Files.createDirectories(dir.resolve("new"));
        Files.writeString(tmp.resolve("a"), "a");
        Files.writeString(tmp.resolve("c"), "c");
        NewDirectory.Move a = new NewDirectory.Move(tmp.resolve("a"), nu.resolve("a,S=1"));
        NewDirectory.Move gone = new NewDirectory.Move(tmp.resolve("b"), nu.resolve("b,S=1")); // never written
        NewDirectory.Move c = new NewDirectory.Move(tmp.resolve("c"), nu.resolve("c,S=1"));
        NewDirectory.commit(nu, List.of(a, gone, c));
        assertNull(a.failure);
        assertNull(a.forceFailure);
        assertNull(c.failure);
        assertNull(c.forceFailure);
        assertInstanceOf(NoSuchFileException.class, gone.failure);
        assertTrue(a.durable && c.durable && !gone.durable, "only renamed and forced moves may be acknowledged");
        assertEquals("a", Files.readString(nu.resolve("a,S=1"), StandardCharsets.US_ASCII));
        assertEquals("c", Files.readString(nu.resolve("c,S=1"), StandardCharsets.US_ASCII));
        assertFalse(Files.exists(nu.resolve("b,S=1")));
    }

    @Test
    void aFailedForceFailsEveryMoveOfTheBatchAndTakesTheirFilesOutOfNewAgain() throws Exception {
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Path nu = Files.createDirectories(dir.resolve("new"));
        Files.writeString(tmp.resolve("a"), "a");
        Files.writeString(tmp.resolve("b"), "b");
        NewDirectory.Move a = new NewDirectory.Move(tmp.resolve("a"), nu.resolve("a,S=1"));
        NewDirectory.Move b = new NewDirectory.Move(tmp.resolve("b"), nu.resolve("b,S=1"));
        try (FsyncFailures failing = FsyncFailures.under(nu)) {
            NewDirectory.commit(nu, List.of(a, b));
            assertEquals(1, failing.failures(), "one force for the whole batch");
        }
        for (NewDirectory.Move m : List.of(a, b)) {
            assertNull(m.failure, "the rename itself worked");
            assertInstanceOf(java.io.IOException.class, m.forceFailure);
            assertFalse(m.durable, "a move whose directory was not forced may not be acknowledged");
            assertFalse(Files.exists(m.to), "a refused delivery is not left in new/: " + m.to);
        }
    }

    @Test
    void moveInThrowsForItsOwnFailedRenameAndLeavesNothingInNew() throws Exception {
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Path nu = Files.createDirectories(dir.resolve("new"));
        NewDirectory newDir = new NewDirectory(nu);
        assertThrows(NoSuchFileException.class, () -> newDir.moveIn(tmp.resolve("missing"), nu.resolve("missing,S=0")));
        try (var s = Files.list(nu)) {
            assertEquals(0, s.count());
        }
        // the directory is still usable afterwards
        Files.writeString(tmp.resolve("ok"), "ok");
        newDir.moveIn(tmp.resolve("ok"), nu.resolve("ok,S=2"));
        assertTrue(Files.exists(nu.resolve("ok,S=2")));
        assertFalse(Files.exists(tmp.resolve("ok")));
    }

    @Test
    void concurrentMovesWithSomeFailingEachGetTheirOwnOutcome() throws Exception {
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Path nu = Files.createDirectories(dir.resolve("new"));
        NewDirectory newDir = new NewDirectory(nu);
        int n = 64;
        boolean[] failed = new boolean[n];
        try (Scope scope = Scope.open("moves")) {
            for (int i = 0; i < n; i++) {
                int k = i;
                scope.fork("m" + k, () -> {
                    Path from = tmp.resolve("f" + k);
                    if (k % 5 != 0) {
                        Files.writeString(from, "m" + k);
                    }
                    try {
                        newDir.moveIn(from, nu.resolve("f" + k + ",S=0"));
                    } catch (NoSuchFileException e) {
                        failed[k] = true;
                    }
                    return null;
                });
            }
            scope.join();
        }
        for (int i = 0; i < n; i++) {
            assertEquals(i % 5 == 0, failed[i], "message " + i);
            assertEquals(i % 5 != 0, Files.exists(nu.resolve("f" + i + ",S=0")), "message " + i);
        }
        try (var s = Files.list(tmp)) {
            assertEquals(0, s.count(), "nothing left in tmp/");
        }
    }
}
