package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * OpenSSH's {@code sshd} in the foreground on a free loopback port, with its own config, Ed25519
 * host key and authorized_keys directory in {@code dir} (PEERS.md's recipe), logging in the
 * current system user with the keys {@link #authorize}d; stopped by its PID.
 */
final class OpenSshd implements AutoCloseable {

    final Path dir;
    final Path hostKey;
    final Path authorized;
    final int port;
    final Path knownHosts;
    private final Process process;

    private OpenSshd(Path dir, Path hostKey, Path authorized, int port, Path knownHosts, Process process) {
        this.dir = dir;
        this.hostKey = hostKey;
        this.authorized = authorized;
        this.port = port;
        this.knownHosts = knownHosts;
        this.process = process;
    }

    /** Starts sshd with the given extra config lines; {@link #knownHosts} lists its key. */
    static OpenSshd start(Path dir, String... extraConfig) throws Exception {
        String binary = Peers.require("/usr/sbin/sshd");
        Path hostKey = Peers.keygen(dir, "ed25519", "ssh_host_ed25519_key");
        Path authorized = Files.createDirectories(dir.resolve("authorized"));
        Files.createDirectories(Path.of("/run/sshd"));
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        List<String> config = new ArrayList<>(List.of(
                "Port " + port,
                "ListenAddress 127.0.0.1",
                "HostKey " + hostKey,
                "PidFile " + dir.resolve("sshd.pid"),
                "UsePAM no",
                "StrictModes no",
                "PermitRootLogin prohibit-password",
                "AuthorizedKeysFile " + authorized + "/%u",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "Subsystem sftp internal-sftp"));
        config.addAll(List.of(extraConfig));
        Path file = dir.resolve("sshd_config");
        Files.writeString(file, String.join("\n", config) + "\n");
        Process sshd = Peers.start(List.of(binary, "-D", "-e", "-f", file.toString()), dir.resolve("sshd.log"));
        if (!Peers.awaitListening(port, Duration.ofSeconds(15), sshd::isAlive)) {
            Peers.stop(sshd);
            fail("sshd did not start: " + Files.readString(dir.resolve("sshd.log")));
        }
        Path knownHosts = dir.resolve("known_hosts");
        Files.writeString(knownHosts, "[127.0.0.1]:" + port + " " + Files.readString(Path.of(hostKey + ".pub")));
        return new OpenSshd(dir, hostKey, authorized, port, knownHosts, sshd);
    }

    /** Lets the current system user log in with the key whose private file is {@code key}. */
    void authorize(Path key) throws IOException {
        Path file = authorized.resolve(System.getProperty("user.name"));
        Files.writeString(file, Files.readString(Path.of(key + ".pub")), java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND);
    }

    @Override
    public void close() throws InterruptedException {
        Peers.stop(process);
    }
}
