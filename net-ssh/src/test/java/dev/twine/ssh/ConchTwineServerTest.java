package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.ssh.internal.ConchCommand;
import dev.twine.ssh.internal.ConchSftpCommand;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code twine conch} and {@code twine conch-sftp} against Twine's own server. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ConchTwineServerTest {

    @TempDir
    static Path dir;
    TwineSshFixture twine;
    Path key;

    @BeforeAll
    void start() throws Exception {
        twine = new TwineSshFixture(dir, b -> b.handler(SampleShell.handler()));
        key = Peers.keygen(Files.createDirectories(dir.resolve("keys")), "ed25519", "id_ed25519");
        twine.authorize(key);
    }

    @AfterAll
    void stop() throws Exception {
        if (twine != null) {
            twine.close();
        }
    }

    private List<String> login(String portFlag, String... rest) {
        List<String> a = new java.util.ArrayList<>(List.of(portFlag, String.valueOf(twine.server.port()), "-i",
                key.toString(), "-o", "UserKnownHostsFile=" + twine.knownHosts));
        a.addAll(List.of(rest));
        return a;
    }

    @Test
    void execStatusAndOutputThroughTheSampleShell() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = new ConchCommand(Map.of(), dir).run(login("-p", TwineSshFixture.USER + "@127.0.0.1", "echo", "hi;"),
                new ByteArrayInputStream(new byte[0]), new PrintStream(out, true), new PrintStream(err, true));
        assertEquals(0, status, err.toString());
        assertTrue(out.toString().contains("hi"), out.toString());
        int three = new ConchCommand(Map.of(), dir).run(login("-p", TwineSshFixture.USER + "@127.0.0.1", "exit", "3"),
                new ByteArrayInputStream(new byte[0]), new PrintStream(out, true), new PrintStream(err, true));
        assertEquals(3, three, err.toString());
    }

    @Test
    void sftpPutListGetIntoTheConfinedRoot() throws Exception {
        Path up = Files.writeString(dir.resolve("up.txt"), "to twine\n");
        Path back = dir.resolve("back.txt");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String commands = "put " + up + " /up.txt\nls /\nget /up.txt " + back + "\npwd\n";
        int status = new ConchSftpCommand(Map.of(), dir).run(login("-P", TwineSshFixture.USER + "@127.0.0.1"),
                new ByteArrayInputStream(commands.getBytes(StandardCharsets.UTF_8)), new PrintStream(out, true),
                new PrintStream(err, true));
        assertEquals(0, status, err.toString());
        assertEquals("to twine\n", Files.readString(twine.sftpRoot.resolve("up.txt")));
        assertEquals("to twine\n", Files.readString(back));
        assertTrue(out.toString().contains("sftp> ls /\n"), out.toString());
        assertTrue(out.toString().contains("Remote working directory: /"), out.toString());
    }
}
