package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ServicesTest {
    private final List<String> log = new CopyOnWriteArrayList<>();

    /** A service that records what is done to it. */
    private final class Recorded implements Service {
        private final String name;
        private final Exception failOnStart;
        private final CountDownLatch stopped = new CountDownLatch(1);

        Recorded(String name, Exception failOnStart) {
            this.name = name;
            this.failOnStart = failOnStart;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public void start() throws Exception {
            log.add("start " + name);
            if (failOnStart != null) {
                throw failOnStart;
            }
        }

        @Override
        public List<Binding> bindings() {
            return List.of(new Binding(name, "tcp", new InetSocketAddress("127.0.0.1", 1000 + name.length())));
        }

        @Override
        public void shutdown(Duration grace) {
            log.add("shutdown " + name);
            stopped.countDown();
        }

        @Override
        public void close() {
            log.add("close " + name);
            stopped.countDown();
        }

        @Override
        public void awaitTermination() throws InterruptedException {
            stopped.await();
        }
    }

    @Test
    void startsInOrderAndShutsDownInReverse() throws Exception {
        Service group = Services.group("all", List.of(new Recorded("a", null), new Recorded("bb", null), new Recorded("ccc", null)));
        group.start();
        assertEquals(List.of("a", "bb", "ccc"), group.bindings().stream().map(Binding::service).toList());
        group.shutdown(Duration.ofSeconds(1));
        assertEquals(List.of("start a", "start bb", "start ccc", "shutdown ccc", "shutdown bb", "shutdown a"), log);
        group.awaitTermination();
    }

    @Test
    void aMemberThatFailsToStartClosesTheOnesAlreadyStartedAndTheFailureIsThrown() {
        IOException boom = new IOException("cannot bind");
        Service group = Services.group("all", List.of(new Recorded("a", null), new Recorded("b", null), new Recorded("c", boom),
                new Recorded("d", null)));
        IOException thrown = assertThrows(IOException.class, group::start);
        assertSame(boom, thrown);
        assertEquals(List.of("start a", "start b", "start c", "close b", "close a"), log, "d never started; c failed itself");
    }

    @Test
    void closeStopsEveryStartedMemberAndEndsTheWait() throws Exception {
        Service group = Services.group("all", List.of(new Recorded("a", null), new Recorded("b", null)));
        group.start();
        Thread waiter = Thread.ofVirtual().start(() -> {
            try {
                group.awaitTermination();
                log.add("terminated");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        group.close();
        assertTrue(waiter.join(Duration.ofSeconds(10)), "awaitTermination did not return after close");
        assertEquals(List.of("start a", "start b", "close b", "close a", "terminated"), log);
    }

    @Test
    void startingTwiceIsRefused() throws Exception {
        Service group = Services.group("all", List.of(new Recorded("a", null)));
        group.start();
        assertThrows(IllegalStateException.class, group::start);
        group.close();
        assertTrue(log.contains("close a"));
    }
}
