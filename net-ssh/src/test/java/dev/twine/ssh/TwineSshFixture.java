package dev.twine.ssh;

import dev.twine.core.auth.AuthPolicy;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.PublicKeyStore;
import dev.twine.core.auth.UsersFile;
import dev.twine.ssh.internal.HostKeys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A started Twine SSH server on a free loopback port, with a user alice and her files, and two
 * more users, bob and carol, with the same password (for tests of what each user gets).
 */
final class TwineSshFixture implements AutoCloseable {

    static final String USER = "alice";
    static final List<String> OTHER_USERS = List.of("bob", "carol");
    static final String PASSWORD = "wonder land";

    final Path dir;
    final Path keysDir;
    final Path sftpRoot;
    final Path hostKey;
    final Path knownHosts;
    final SshServer server;

    /**
     * The policy most tests run with: short delays, six failures per connection as the server
     * allowed before the core policy, and no address or user penalties, since every test client
     * comes from 127.0.0.1.
     */
    static AuthPolicy testPolicy() {
        return AuthPolicy.builder()
                .failureDelay(Duration.ofMillis(100))
                .maxFailureDelay(Duration.ofMillis(100))
                .maxFailuresPerConnection(6)
                .addressPenalty(0, Duration.ZERO, Duration.ZERO)
                .userPenalty(0, Duration.ZERO, Duration.ZERO)
                .build();
    }

    TwineSshFixture(Path dir, UnaryOperator<SshServer.Builder> customize) throws Exception {
        this(dir, testPolicy(), customize);
    }

    TwineSshFixture(Path dir, AuthPolicy policy, UnaryOperator<SshServer.Builder> customize) throws Exception {
        this(dir, policy, UnaryOperator.identity(), customize);
    }

    /** With {@code keys} wrapping the authorized_keys store the portal checks keys with. */
    TwineSshFixture(Path dir, AuthPolicy policy, UnaryOperator<PublicKeyStore> keys,
            UnaryOperator<SshServer.Builder> customize) throws Exception {
        this.dir = dir;
        Path users = dir.resolve("users");
        UsersFile.addUser(users, USER, PASSWORD.toCharArray());
        for (String other : OTHER_USERS) {
            UsersFile.addUser(users, other, PASSWORD.toCharArray());
        }
        keysDir = Files.createDirectories(dir.resolve("authorized_keys"));
        sftpRoot = Files.createDirectories(dir.resolve("sftp"));
        hostKey = dir.resolve("host/ssh_host_key");
        Portal portal = Portal.builder()
                .users(UsersFile.load(users))
                .publicKeys(keys.apply(AuthorizedKeysDirectory.of(keysDir)))
                .policy(policy)
                .build();
        SshServer.Builder b = SshServer.builder()
                .listen("tcp:0:interface=127.0.0.1")
                .portal(portal)
                .hostKey(hostKey)
                .handler(SampleShell.handler())
                .sftp(SftpDirectory.of(sftpRoot));
        server = customize.apply(b).build();
        server.start();
        knownHosts = dir.resolve("known_hosts");
        List<String> lines = new ArrayList<>();
        for (Path pub : List.of(Path.of(hostKey + ".pub"), Path.of(HostKeys.rsaPath(hostKey) + ".pub"))) {
            lines.add("[127.0.0.1]:" + server.port() + " " + Files.readString(pub).strip());
        }
        Files.write(knownHosts, lines);
    }

    /** Authorizes the public key of {@code privateKey} for alice. */
    void authorize(Path privateKey) throws IOException {
        authorize(privateKey, "");
    }

    /** Adds the key's line to alice's authorized_keys with {@code options} in front (may be empty). */
    void authorize(Path privateKey, String options) throws IOException {
        authorize(USER, privateKey, options);
    }

    /** Adds the key's line to {@code user}'s authorized_keys with {@code options} in front (may be empty). */
    void authorize(String user, Path privateKey, String options) throws IOException {
        String line = Files.readString(Path.of(privateKey + ".pub"));
        Files.writeString(keysDir.resolve(user), options.isEmpty() ? line : options + " " + line,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    }

    /** The common OpenSSH options: no config, strict host key checking against our file. */
    List<String> sshOptions() {
        return new ArrayList<>(List.of("-F", "/dev/null",
                "-o", "UserKnownHostsFile=" + knownHosts,
                "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=yes",
                "-o", "ConnectTimeout=10",
                "-o", "LogLevel=ERROR"));
    }

    /** {@code ssh} logging in as alice with a key, then the remote command words. */
    List<String> sshWithKey(Path key, String... command) {
        return sshWithKey(USER, key, command);
    }

    /** {@code ssh} logging in as {@code user} with a key, then the remote command words. */
    List<String> sshWithKey(String user, Path key, String... command) {
        List<String> cmd = new ArrayList<>(List.of(Peers.require("/usr/bin/ssh")));
        cmd.addAll(sshOptions());
        cmd.addAll(List.of("-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "PasswordAuthentication=no",
                "-o", "KbdInteractiveAuthentication=no", "-i", key.toString(), "-p", String.valueOf(server.port()),
                user + "@127.0.0.1"));
        cmd.addAll(List.of(command));
        return cmd;
    }

    /** {@code sftp -b BATCH} logging in as {@code user} with a key. */
    List<String> sftpWithKey(String user, Path key, Path batchFile) {
        List<String> cmd = new ArrayList<>(List.of(Peers.require("/usr/bin/sftp")));
        cmd.addAll(sshOptions());
        cmd.addAll(List.of("-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", key.toString(),
                "-P", String.valueOf(server.port()), "-b", batchFile.toString(), user + "@127.0.0.1"));
        return cmd;
    }

    /** {@code sshpass -p PASSWORD ssh ...} with the given preferred methods. */
    List<String> sshWithPassword(String password, String methods, String... command) {
        List<String> cmd = new ArrayList<>(List.of(Peers.require("/usr/bin/sshpass"), "-p", password,
                Peers.require("/usr/bin/ssh")));
        cmd.addAll(sshOptions());
        cmd.addAll(List.of("-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=" + methods,
                "-o", "NumberOfPasswordPrompts=1", "-p", String.valueOf(server.port()), USER + "@127.0.0.1"));
        cmd.addAll(List.of(command));
        return cmd;
    }

    @Override
    public void close() {
        try {
            server.shutdown(Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.close();
        }
    }
}
