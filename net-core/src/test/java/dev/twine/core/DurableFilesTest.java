package dev.twine.core;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.FsyncFailures;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * If a file is replaced through {@link DurableFiles}, then it holds exactly the new content with
 * the permissions the documented rules give, and a failed replacement leaves the old file and no
 * temporary file behind.
 */
class DurableFilesTest {
    @TempDir
    Path dir;

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void createsAnOwnerOnlyFileWithTheContent() throws IOException {
        Path f = dir.resolve("state");
        DurableFiles.replace(f, "one".getBytes(UTF_8));
        assertEquals("one", Files.readString(f));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        assertEquals(List.of("state"), names(), "no temporary file is left");
    }

    @Test
    void replacingKeepsTheOperatorsPermissionsButReplacePrivateDoesNot() throws IOException {
        Path f = dir.resolve("state");
        DurableFiles.replace(f, "one".getBytes(UTF_8));
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r-----"));
        DurableFiles.replace(f, out -> out.write("two".getBytes(UTF_8)));
        assertEquals("two", Files.readString(f));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        DurableFiles.replacePrivate(f, "key".getBytes(UTF_8));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
    }

    @Test
    void aFailingWriterLeavesTheOldFileAndNoTemporary() throws IOException {
        Path f = dir.resolve("state");
        DurableFiles.replace(f, "old".getBytes(UTF_8));
        IOException e = assertThrows(IOException.class, () -> DurableFiles.replace(f, out -> {
            out.write("half of the new".getBytes(UTF_8));
            throw new IOException("disk full");
        }));
        assertEquals("disk full", e.getMessage());
        assertEquals("old", Files.readString(f));
        assertEquals(List.of("state"), names());
    }

    @Test
    void aMissingDirectoryIsAnError() {
        assertThrows(NoSuchFileException.class, () -> DurableFiles.forceDirectory(dir.resolve("nope")));
        assertThrows(IOException.class, () -> DurableFiles.replace(dir.resolve("nope/state"), new byte[] {1}));
    }

    @Test
    void anInjectedFsyncFailureFailsTheReplacementUnderItsDirectoryOnly() throws IOException {
        Path data = Files.createDirectory(dir.resolve("data"));
        Path f = data.resolve("state");
        DurableFiles.replace(f, "old".getBytes(UTF_8));
        Path elsewhere = dir.resolve("elsewhere");
        try (FsyncFailures failing = FsyncFailures.under(data)) {
            assertThrows(IOException.class, () -> DurableFiles.replace(f, "new".getBytes(UTF_8)));
            assertThrows(IOException.class, () -> DurableFiles.forceDirectory(data));
            assertEquals(2, failing.failures());
            DurableFiles.replace(elsewhere, "fine".getBytes(UTF_8)); // outside its directory
        }
        assertEquals("old", Files.readString(f), "the target is as it was");
        try (Stream<Path> s = Files.list(data)) {
            assertEquals(List.of(f), s.toList(), "no temporary file is left");
        }
        DurableFiles.replace(f, "new".getBytes(UTF_8));
        assertEquals("new", Files.readString(f), "forces work again once it is closed");
        assertTrue(Files.exists(elsewhere));
    }
}
