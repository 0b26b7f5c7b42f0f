package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UsersFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link SshServer.Builder}: what a server must be given, and what it offers without it. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SshServerBuilderTest {

    @TempDir
    Path dir;

    private Portal portal() throws Exception {
        Path users = dir.resolve("users");
        if (!Files.exists(users)) {
            UsersFile.addUser(users, "alice", "secret".toCharArray());
        }
        return Portal.builder().users(UsersFile.load(users)).build();
    }

    @Test
    void aServerOfferingNothingIsABuildTimeErrorNamingTheBuilderMethods() throws Exception {
        SshServer.Builder b = SshServer.builder().portal(portal());
        IllegalStateException e = assertThrows(IllegalStateException.class, b::build);
        assertTrue(e.getMessage().contains("handler(...)") && e.getMessage().contains("sftp(...)"), e.getMessage());
        b.handler(SampleShell.handler()).build();
        SshServer.builder().portal(portal()).sftp(SftpDirectory.of(dir.resolve("files"))).build();
    }

    @Test
    void aServerWithoutAPortalIsABuildTimeErrorNamingIt() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> SshServer.builder().handler(SampleShell.handler()).build());
        assertEquals("portal(...) is required", e.getMessage());
    }

    @Test
    void theNameIsSshUnlessGiven() throws Exception {
        assertEquals("ssh", SshServer.builder().portal(portal()).handler(SampleShell.handler()).build().name());
        assertEquals("admin-ssh", SshServer.builder().name("admin-ssh").portal(portal())
                .handler(SampleShell.handler()).build().name());
    }

    @Test
    void aNonTcpEndpointIsRefusedWithoutNamingAFlag() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SshServer.builder().listen("udp:2222"));
        assertTrue(e.getMessage().startsWith("udp:2222: "), e.getMessage());
    }

    @Test
    void aPortInUseIsNamedWithItsEndpoint() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            SshServer server = SshServer.builder().listen("tcp:" + taken.getLocalPort() + ":interface=127.0.0.1")
                    .portal(portal()).hostKey(dir.resolve("host_key")).sftp(SftpDirectory.of(dir.resolve("files"))).build();
            java.net.BindException e = assertThrows(java.net.BindException.class, server::start);
            assertTrue(e.getMessage().startsWith("cannot listen on tcp:127.0.0.1:" + taken.getLocalPort() + ": "),
                    e.getMessage());
        }
    }

    @Test
    void anSftpOnlyServerRefusesExecButServesFiles() throws Exception {
        Path files = dir.resolve("files");
        Path hostKey = dir.resolve("host_key");
        SshServer server = SshServer.builder().listen("tcp:0:interface=127.0.0.1").portal(portal())
                .hostKey(hostKey).sftp(SftpDirectory.of(files)).build();
        server.start();
        try {
            Path knownHosts = Files.writeString(dir.resolve("known_hosts"),
                    "[127.0.0.1]:" + server.port() + " " + Files.readString(Path.of(hostKey + ".pub")));
            try (SshClient c = SshClient.builder("127.0.0.1", server.port()).user("alice").password("secret")
                    .knownHosts(knownHosts).timeout(Duration.ofSeconds(20)).connect()) {
                ExecResult r = c.exec("whoami");
                assertEquals(-1, r.exitCode(), "refused: no exit status; " + r);
                assertEquals("", r.stdoutText(), r.toString());
                c.upload(knownHosts, "uploaded");
                assertEquals(Files.readString(knownHosts), Files.readString(files.resolve("uploaded")));
            }
        } finally {
            server.close();
        }
    }
}
