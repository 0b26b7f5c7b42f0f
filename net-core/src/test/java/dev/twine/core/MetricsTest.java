package dev.twine.core;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Transcript;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * If a server has a metrics registry, then its counters move as connections come and go, the
 * registry writes the Prometheus text format (checked by Prometheus' own Python parser), and the
 * HTTP handler serves it at /metrics and nothing else.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MetricsTest {

    @TempDir
    Path dir;

    @Test
    void writesFamiliesWithHelpTypeAndEscapedLabels() {
        Metrics m = Metrics.create();
        Metrics.Counter c = m.counter("app_events_total", "Events.", "kind", "a\"b\\c\nd");
        c.increment();
        c.add(2);
        assertTrue(c == m.counter("app_events_total", "Events.", "kind", "a\"b\\c\nd"), "same labels, same counter");
        m.counter("app_events_total", "Events.", "kind", "other").increment();
        AtomicLong depth = new AtomicLong(7);
        m.gauge("app_queue_depth", "Queued.", depth::get);
        depth.set(9);
        assertEquals("""
                # HELP app_events_total Events.
                # TYPE app_events_total counter
                app_events_total{kind="a\\"b\\\\c\\nd"} 3
                app_events_total{kind="other"} 1
                # HELP app_queue_depth Queued.
                # TYPE app_queue_depth gauge
                app_queue_depth 9
                """, m.text());
    }

    @Test
    void seriesListsEverySeriesWithItsLabelsAndReadsLiveValues() {
        Metrics m = Metrics.create();
        Metrics.Counter smtp = m.counter("app_events_total", "Events.", "service", "smtp", "kind", "a\"b");
        AtomicLong depth = new AtomicLong(7);
        m.gauge("app_queue_depth", "Queued.", depth::get);
        List<Metrics.Series> all = m.series();
        assertEquals(2, all.size());
        Metrics.Series events = all.get(0);
        assertEquals("app_events_total", events.name());
        assertEquals("Events.", events.help());
        assertTrue(events.counter());
        assertEquals(List.of("service", "kind"), List.copyOf(events.labels().keySet()), "registration order");
        assertEquals("a\"b", events.labels().get("kind"), "the value itself, not the text format's escape");
        smtp.add(5);
        assertEquals(5, events.value().getAsLong(), "read live, not a snapshot");
        Metrics.Series queue = all.get(1);
        assertEquals(false, queue.counter());
        assertTrue(queue.labels().isEmpty());
        depth.set(9);
        assertEquals(9, queue.value().getAsLong());
        assertThrows(UnsupportedOperationException.class, () -> events.labels().put("x", "y"));
    }

    @Test
    void refusesBadNamesOddLabelsAndTypeClashes() {
        Metrics m = Metrics.create();
        m.gauge("g", "a gauge", () -> 1);
        assertThrows(IllegalArgumentException.class, () -> m.counter("g", "now a counter"));
        assertThrows(IllegalArgumentException.class, () -> m.counter("bad-name", "x"));
        assertThrows(IllegalArgumentException.class, () -> m.counter("ok_total", "x", "only-a-name"));
        assertThrows(IllegalArgumentException.class, () -> m.counter("ok_total", "x", "__reserved", "v"));
        assertThrows(IllegalArgumentException.class, () -> m.counter("ok_total", "x").add(-1));
    }

    @Test
    void serverCountersMoveWithConnections() throws Exception {
        Metrics m = Metrics.create();
        try (Server s = Server.builder("echo").listen("tcp:0:interface=127.0.0.1").metrics(m)
                .handler(c -> c.input().transferTo(c.output())).start()) {
            for (int i = 0; i < 2; i++) {
                try (Socket sock = new Socket(InetAddress.getByName("127.0.0.1"), s.port())) {
                    sock.getOutputStream().write("hello\n".getBytes(US_ASCII));
                    sock.shutdownOutput();
                    assertEquals("hello", new BufferedReader(new InputStreamReader(sock.getInputStream(), US_ASCII)).readLine());
                }
            }
            String text = awaitText(m, "twine_connections_open{service=\"echo\"} 0");
            assertTrue(text.contains("twine_connections_total{service=\"echo\"} 2\n"), text);
            assertTrue(text.contains("twine_received_bytes_total{service=\"echo\"} 12\n"), text);
            assertTrue(text.contains("twine_sent_bytes_total{service=\"echo\"} 12\n"), text);
            assertTrue(text.contains("twine_handler_errors_total{service=\"echo\"} 0\n"), text);
        }
    }

    /** The handlers finish on their own threads: wait (bounded) until the open gauge says so. */
    private static String awaitText(Metrics m, String line) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String text = m.text();
        while (!text.contains(line + "\n") && System.nanoTime() < until) {
            Thread.sleep(10);
            text = m.text();
        }
        return text;
    }

    @Test
    void httpHandlerServesMetricsOnlyAtItsPath() throws Exception {
        Metrics m = Metrics.create();
        m.gauge("x", "X.", () -> 5);
        String body = "# HELP x X.\n# TYPE x gauge\nx 5\n";
        // the head's lines end in CRLF, the body's in LF: the transcript accepts either
        Transcript.parse("""
                C: GET /metrics HTTP/1.1
                C: Host: localhost
                C:
                S: HTTP/1.1 200 OK
                S: Content-Type: text/plain; version=0.0.4; charset=utf-8
                S: Content-Length: %d
                S: Connection: close
                S:
                S: # HELP x X.
                S: # TYPE x gauge
                S: x 5
                S: <closed>
                """.formatted(body.length()))
                .run(m.httpHandler());
    }

    @Test
    void httpHandlerRefusesOtherPathsAndMethods() throws Exception {
        Metrics m = Metrics.create();
        try (Server s = Server.builder("metrics").listen("tcp:0:interface=127.0.0.1").handler(m.httpHandler()).start()) {
            assertEquals("HTTP/1.1 404 Not Found", statusLine(s, "GET /secrets HTTP/1.1"));
            assertEquals("HTTP/1.1 405 Method Not Allowed", statusLine(s, "POST /metrics HTTP/1.1"));
            assertEquals("HTTP/1.1 302 Found", statusLine(s, "GET / HTTP/1.1"));
            assertEquals("HTTP/1.1 400 Bad Request", statusLine(s, "GARBAGE"));
        }
    }

    private static String statusLine(Server s, String request) throws Exception {
        try (Socket sock = new Socket(InetAddress.getByName("127.0.0.1"), s.port())) {
            sock.setSoTimeout(10_000);
            sock.getOutputStream().write((request + "\r\nHost: x\r\n\r\n").getBytes(US_ASCII));
            return new BufferedReader(new InputStreamReader(sock.getInputStream(), US_ASCII)).readLine();
        }
    }

    @Test
    void prometheusOwnParserReadsWhatTheEndpointServes() throws Exception {
        TestPeers.require("/usr/bin/python3", "python3-prometheus-client");
        Metrics m = Metrics.create();
        m.counter("app_logins_total", "Logins.", "service", "imap", "result", "ok").add(4);
        try (Server echo = Server.builder("echo").listen("tcp:0:interface=127.0.0.1").metrics(m)
                .handler(c -> c.input().transferTo(c.output())).start();
             Server http = Server.builder("metrics").listen("tcp:0:interface=127.0.0.1").handler(m.httpHandler()).start()) {
            try (Socket sock = new Socket(InetAddress.getByName("127.0.0.1"), echo.port())) {
                sock.getOutputStream().write('x');
                assertEquals('x', sock.getInputStream().read());
            }
            Path script = dir.resolve("scrape.py");
            Files.writeString(script, """
                    import sys, urllib.request
                    from prometheus_client.parser import text_string_to_metric_families
                    text = urllib.request.urlopen("http://127.0.0.1:%s/metrics", timeout=10).read().decode()
                    for family in text_string_to_metric_families(text):
                        for sample in family.samples:
                            labels = ",".join(k + "=" + v for k, v in sorted(sample.labels.items()))
                            print(family.type, sample.name, labels, int(sample.value))
                    """.formatted(http.port()));
            Process p = new ProcessBuilder(List.of("/usr/bin/python3", script.toString())).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), US_ASCII);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("counter app_logins_total result=ok,service=imap 4\n"), out);
            assertTrue(out.contains("counter twine_connections_total service=echo 1\n"), out);
            assertTrue(out.contains("gauge twine_connections_open service=echo "), out);
        }
    }
}
