package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The sample shell's logic over in-memory sessions, stdin whole, byte by byte and in random chunks. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class SampleShellTest {

    private static int run(FakeSession s) throws Exception {
        return SampleShell.handler().run(s);
    }

    @Test
    void execEchoRepliesWithItsArguments() throws Exception {
        FakeSession s = new FakeSession("echo a  b", null, "", FakeSession.Chunks.WHOLE);
        assertEquals(0, run(s));
        assertEquals("a  b\n", s.out());
    }

    @Test
    void execUnknownCommandGives127OnStderr() throws Exception {
        FakeSession s = new FakeSession("rm -rf /", null, "", FakeSession.Chunks.WHOLE);
        assertEquals(127, run(s));
        assertEquals("", s.out());
        assertEquals("rm: command not found\n", s.err());
    }

    @Test
    void execExitWithBadNumberGivesTwo() throws Exception {
        FakeSession s = new FakeSession("exit x", null, "", FakeSession.Chunks.WHOLE);
        assertEquals(2, run(s));
        assertTrue(s.err().contains("not a number"));
    }

    @ParameterizedTest
    @EnumSource(FakeSession.Chunks.class)
    void shellRunsLinesUntilExitAndReturnsItsStatus(FakeSession.Chunks chunks) throws Exception {
        FakeSession s = new FakeSession(null, null, "echo x\r\nwhoami\n\nexit 4\necho never\n", chunks);
        assertEquals(4, run(s));
        assertTrue(s.out().contains("twine$ x\ntwine$ alice\n"), s.out());
        assertFalse(s.out().contains("never"), s.out());
        assertFalse(s.out().contains("\r"), s.out());
    }

    @ParameterizedTest
    @EnumSource(FakeSession.Chunks.class)
    void endOfInputEndsShellWithLastStatus(FakeSession.Chunks chunks) throws Exception {
        FakeSession s = new FakeSession(null, null, "false\n", chunks);
        assertEquals(1, run(s));
    }

    @ParameterizedTest
    @EnumSource(FakeSession.Chunks.class)
    void ptyShellEchoesTypingHandlesBackspaceAndUsesCrLf(FakeSession.Chunks chunks) throws Exception {
        FakeSession s = new FakeSession(null, new Pty("xterm", 80, 24), "echoo\u007f hi\rtty\rexit 0\r", chunks);
        assertEquals(0, run(s));
        String out = s.out();
        assertTrue(out.contains("echoo\b \b hi\r\n"), out);
        assertTrue(out.contains("\r\nhi\r\n"), out);
        assertTrue(out.contains("term=xterm columns=80 rows=24\r\n"), out);
    }

    @ParameterizedTest
    @EnumSource(FakeSession.Chunks.class)
    void ptyCtrlCDropsTheLineAndCtrlDEndsTheShell(FakeSession.Chunks chunks) throws Exception {
        FakeSession s = new FakeSession(null, new Pty("vt100", 0, 0), "exit 9\u0003echo ok\r\u0004", chunks);
        assertEquals(0, run(s));
        assertTrue(s.out().contains("^C\r\n"), s.out());
        assertTrue(s.out().contains("ok\r\n"), s.out());
    }

    @ParameterizedTest
    @EnumSource(FakeSession.Chunks.class)
    void overlongLineIsRefusedAndTheShellGoesOn(FakeSession.Chunks chunks) throws Exception {
        String stdin = "echo " + "a".repeat(SampleShell.MAX_LINE + 100) + "\necho ok\nexit\n";
        FakeSession s = new FakeSession(null, null, stdin, chunks);
        assertEquals(0, run(s));
        assertTrue(s.err().contains("line longer than 4096 bytes"), s.err());
        assertTrue(s.out().contains("ok\n"), s.out());
        assertFalse(s.out().contains("aaaa"), "the long line was executed");
    }

    @Test
    void drainingShellSaysGoodbyeAtTheNextPrompt() throws Exception {
        FakeSession s = new FakeSession(null, null, "echo 1\necho 2\n", FakeSession.Chunks.WHOLE);
        s.draining = true;
        assertEquals(0, run(s));
        assertTrue(s.out().endsWith("server shutting down, goodbye\n"), s.out());
        assertFalse(s.out().contains("1\n"), s.out());
    }
}
