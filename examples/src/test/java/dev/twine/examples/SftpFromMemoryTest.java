package dev.twine.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.ssh.SshServer;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example against OpenSSH's {@code sftp -b}, logging in with a key made by {@code ssh-keygen}:
 * the seeded file comes down, an uploaded one lands in the zip file system, and nothing else is
 * offered (exec is refused).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SftpFromMemoryTest {

    private static final Duration LIMIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private List<String> client(String program, Path key, String portFlag, int port) {
        return new ArrayList<>(List.of(ExamplePeers.require(program), "-F", "/dev/null",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-i", key.toString(), portFlag, String.valueOf(port)));
    }

    @Test
    void openSshSftpGetsTheSeededFileAndPutsOneIntoTheZipFileSystem() throws Exception {
        ExamplePeers.Run keygen = ExamplePeers.run(List.of(ExamplePeers.require("/usr/bin/ssh-keygen"), "-q",
                "-t", "ed25519", "-N", "", "-f", dir.resolve("id_ed25519").toString()), null, LIMIT);
        assertEquals(0, keygen.exit(), keygen.toString());
        Path key = dir.resolve("id_ed25519");
        Path local = Files.createDirectories(dir.resolve("local"));
        Files.writeString(local.resolve("upload.txt"), "put over sftp\n");
        Path batch = Files.writeString(dir.resolve("batch"), """
                get hello.txt %s
                put %s /upload.txt
                ls -1
                """.formatted(local.resolve("hello.txt"), local.resolve("upload.txt")));
        FileSystem files = SftpFromMemory.seededFiles();
        SshServer server = SftpFromMemory.start("tcp:0:interface=127.0.0.1", files, Path.of(key + ".pub"));
        try {
            List<String> sftp = client("/usr/bin/sftp", key, "-P", server.port());
            sftp.addAll(List.of("-b", batch.toString(), "demo@127.0.0.1"));
            ExamplePeers.Run r = ExamplePeers.run(sftp, null, LIMIT);
            assertEquals(0, r.exit(), r.toString());
            assertEquals("Hello from a zip file system\n", Files.readString(local.resolve("hello.txt")), r.toString());
            assertEquals("put over sftp\n", Files.readString(files.getPath("/upload.txt")), r.toString());
            assertTrue(r.out().contains("upload.txt"), r.toString());

            List<String> ssh = client("/usr/bin/ssh", key, "-p", server.port());
            ssh.addAll(List.of("demo@127.0.0.1", "ls"));
            ExamplePeers.Run exec = ExamplePeers.run(ssh, null, LIMIT);
            assertNotEquals(0, exec.exit(), exec.toString());
        } finally {
            server.close();
            files.close();
        }
    }
}
