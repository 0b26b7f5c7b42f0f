package dev.twine.core.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.twine.core.TestPeers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The users file is shared with Dovecot (docs/ARCHITECTURE.md, "Data formats"): a real Dovecot reads the lines Twine writes,
 * extra SCRAM-SHA-1 field included, and authenticates the users with their passwords.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DovecotUsersFileTest {
    private static final Path DOVECOT = Path.of("/usr/sbin/dovecot");
    private static final Path DOVEADM = Path.of("/usr/bin/doveadm");

    @TempDir
    Path dir;

    @Test
    void dovecotAuthenticatesUsersTwineWrote() throws Exception {
        requireDovecot();
        // Dovecot's auth process runs as its own user: everything it reads must be readable
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path users = dir.resolve("users");
        UsersFile.addUser(users, "alice", "correct horse".toCharArray());
        UsersFile.addUser(users, "bob", "b0b".toCharArray());
        UsersFile.changePassword(users, "bob", "new b0b".toCharArray());
        Files.setPosixFilePermissions(users, PosixFilePermissions.fromString("rw-r--r--"));
        Path conf = dir.resolve("dovecot.conf");
        Files.writeString(conf, """
                base_dir = %1$s/run
                state_dir = %1$s/state
                log_path = %1$s/dovecot.log
                protocols =
                ssl = no
                auth_mechanisms = plain
                passdb {
                  driver = passwd-file
                  args = %1$s/users
                }
                userdb {
                  driver = static
                  args = uid=nobody gid=nogroup home=%1$s/home
                }
                """.formatted(dir));
        Files.createDirectories(dir.resolve("run"));
        Files.createDirectories(dir.resolve("state"));
        Process dovecot = new ProcessBuilder(DOVECOT.toString(), "-F", "-c", conf.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("dovecot.out").toFile()).start();
        try {
            waitForAuthSocket(dovecot);
            assertAuth(conf, "alice", "correct horse", true);
            assertAuth(conf, "alice", "wrong", false);
            assertAuth(conf, "bob", "new b0b", true);
            assertAuth(conf, "bob", "b0b", false);
        } finally {
            dovecot.destroy(); // SIGTERM to the PID we started
            if (!dovecot.waitFor(10, TimeUnit.SECONDS)) {
                dovecot.destroyForcibly();
            }
        }
    }

    private void waitForAuthSocket(Process dovecot) throws Exception {
        Path socket = dir.resolve("run/auth-client");
        for (int i = 0; i < 200 && !Files.exists(socket); i++) {
            if (!dovecot.isAlive()) {
                fail("dovecot exited: " + Files.readString(dir.resolve("dovecot.out")));
            }
            Thread.sleep(50);
        }
        assertTrue(Files.exists(socket), "dovecot did not create " + socket);
    }

    private void assertAuth(Path conf, String user, String password, boolean ok) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(DOVEADM.toString(), "-c", conf.toString(), "auth", "test", user, password));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "doveadm did not finish");
        assertTrue(out.contains("passdb: " + user + " auth " + (ok ? "succeeded" : "failed")), out);
        assertEquals(ok ? 0 : 77, p.exitValue(), out);
    }

    private static void requireDovecot() {
        TestPeers.require(DOVECOT.toString(), "dovecot-imapd");
        TestPeers.require(DOVEADM.toString(), "dovecot-imapd");
    }
}
