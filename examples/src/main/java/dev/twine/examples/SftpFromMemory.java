/*
 * SftpFromMemory: an SSH server whose SFTP files live in a zip file system (the JDK's jdk.zipfs,
 * which keeps what is written in memory until it is closed), seeded with hello.txt. The realm
 * given to sftp(...) decides, per logged-in user, which directory of which file system they see;
 * here the one user, demo, gets the zip's root. There is no shell: exec and shell are refused.
 *
 * Run it:  ./twine run examples/src/main/java/dev/twine/examples/SftpFromMemory.java [PORT]
 * then log in as demo with the password demo, or with your key ~/.ssh/id_ed25519 (default port
 * 2223; the host key is made in a temporary directory, so the client asks about it once):
 *          sftp -P 2223 demo@127.0.0.1
 *          sftp> get hello.txt
 *          sftp> put some-file
 */
package dev.twine.examples;

import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UsersFile;
import dev.twine.ssh.AuthorizedKeysDirectory;
import dev.twine.ssh.SshServer;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

public final class SftpFromMemory {

    /** A zip file system (in a temporary file, written there only when closed) holding hello.txt. */
    static FileSystem seededFiles() throws Exception {
        Path zip = Files.createTempDirectory("sftp-from-memory").resolve("files.zip");
        FileSystem files = FileSystems.newFileSystem(zip, Map.of("create", "true"));
        Files.writeString(files.getPath("/hello.txt"), "Hello from a zip file system\n");
        return files;
    }

    /**
     * Starts the server on {@code endpoint}: user demo logs in with the password demo or any key
     * in {@code authorizedKeys} (an OpenSSH authorized_keys file, if it exists), and sees
     * {@code files} over SFTP.
     */
    static SshServer start(String endpoint, FileSystem files, Path authorizedKeys) throws Exception {
        Path dir = Files.createTempDirectory("sftp-from-memory");
        UsersFile.addUser(dir.resolve("users"), "demo", "demo".toCharArray());
        Path keys = Files.createDirectories(dir.resolve("keys"));
        if (Files.exists(authorizedKeys)) {
            Files.copy(authorizedKeys, keys.resolve("demo")); // AuthorizedKeysDirectory reads DIR/<user>
        }
        SshServer server = SshServer.builder()
                .listen(endpoint)
                .portal(Portal.builder()
                        .users(UsersFile.load(dir.resolve("users")))
                        .publicKeys(AuthorizedKeysDirectory.of(keys))
                        .build())
                .hostKey(dir.resolve("host_key"))        // made on first start
                .sftp(user -> files.getPath("/"))        // the realm: this user's SFTP root
                .build();
        server.start();                                  // returns once listening
        return server;
    }

    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 2223;
        FileSystem files = seededFiles();
        Path myKey = Path.of(System.getProperty("user.home"), ".ssh", "id_ed25519.pub");
        SshServer server = start("tcp:" + port + ":interface=127.0.0.1", files, myKey);
        System.out.println("sftp -P " + server.port() + " demo@127.0.0.1   (password: demo)");
        server.awaitTermination();
    }
}
