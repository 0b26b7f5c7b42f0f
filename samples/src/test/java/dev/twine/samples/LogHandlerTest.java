package dev.twine.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LogHandlerTest {
    @Test
    void theConsoleHandlerIsReplacedAndEveryLineFromManyVirtualThreadsArrivesWhole() throws Exception {
        Logger root = Logger.getLogger("");
        Handler[] before = root.getHandlers();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, false, StandardCharsets.UTF_8);
        ConsoleHandler console = new ConsoleHandler();
        console.setLevel(Level.WARNING);
        for (Handler h : before) {
            root.removeHandler(h);
        }
        root.addHandler(console);
        try {
            LogHandler.install(err);
            Handler[] now = root.getHandlers();
            assertEquals(1, now.length);
            assertTrue(now[0] instanceof LogHandler, "the ConsoleHandler is replaced: " + Arrays.toString(now));
            assertEquals(Level.WARNING, now[0].getLevel(), "at the level it had");

            Logger log = Logger.getLogger("dev.twine.samples.LogHandlerTest");
            int threads = 500;
            int lines = 20;
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                ts.add(Thread.ofVirtual().start(() -> {
                    for (int i = 0; i < lines; i++) {
                        log.warning("thread " + id + " line " + i);
                        log.info("below the handler's level");
                    }
                }));
            }
            for (Thread t : ts) {
                t.join();
            }
            String got = bytes.toString(StandardCharsets.UTF_8);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("WARNING: thread (\\d+) line (\\d+)\\R|"
                    + "WARNING dev\\.twine\\.samples\\.LogHandlerTest: thread (\\d+) line (\\d+)\\R").matcher(got);
            java.util.Set<String> seen = new java.util.HashSet<>();
            int count = 0;
            while (m.find()) {
                count++;
                seen.add(m.group(1) != null ? m.group(1) + "/" + m.group(2) : m.group(3) + "/" + m.group(4));
            }
            assertEquals(threads * lines, count, "every warning written whole, in either of the formats");
            assertEquals(threads * lines, seen.size(), "each once");
            assertFalse(got.contains("below the handler's level"), "nothing under the handler's level");
        } finally {
            for (Handler h : root.getHandlers()) {
                root.removeHandler(h);
            }
            for (Handler h : before) {
                root.addHandler(h);
            }
        }
    }
}
