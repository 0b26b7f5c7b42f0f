package dev.twine.core;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * A small registry of counters and gauges, written out in the Prometheus text format (version
 * 0.0.4), with no dependency: what {@code --metrics-listen EP} serves. A {@link Server} given a
 * registry ({@link Server.Builder#metrics}) registers its connection and traffic series; protocol
 * modules add their own (messages delivered, logins) the same way.
 *
 * <pre>{@code
 * Metrics metrics = Metrics.create();
 * Metrics.Counter delivered = metrics.counter("twine_smtp_messages_total",
 *         "Messages accepted with a 250 after DATA.", "service", "smtp");
 * delivered.increment();
 * metrics.gauge("app_queue_length", "Messages waiting.", queue::size);
 * Server.builder("metrics").listen("tcp:9100:interface=127.0.0.1").handler(metrics.httpHandler()).start();
 * }</pre>
 *
 * <p>Names follow Prometheus' rules ({@code [a-zA-Z_:][a-zA-Z0-9_:]*}, counters ending in
 * {@code _total}); a name is one family with one type and help text, and each distinct set of
 * label values is one series in it. Registering the same name and labels again returns the same
 * counter (a gauge replaces its supplier), so a component restarted in the same process keeps
 * counting. Micrometer users register {@link #series()} with their registry (the deployment guide
 * has the adapter, a dozen lines); the core stays dependency-free.
 *
 * <p>Thread-safe: counters are {@link LongAdder}s, cheap enough for every read and write.
 */
public final class Metrics {

    private static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    /** A monotonically increasing count. */
    public static final class Counter {
        private final LongAdder value = new LongAdder();

        private Counter() {
        }

        /** Adds one. */
        public void increment() {
            value.increment();
        }

        /**
         * Adds {@code n}.
         *
         * @param n how much, at least 0
         * @throws IllegalArgumentException if negative: a counter never goes down
         */
        public void add(long n) {
            if (n < 0) {
                throw new IllegalArgumentException("a counter cannot decrease: " + n);
            }
            value.add(n);
        }

        /**
         * The count so far.
         *
         * @return the sum of everything added
         */
        public long value() {
            return value.sum();
        }
    }

    private enum Type { COUNTER, GAUGE }

    /** A family and its series, keyed by their label text in the exposition format. */
    private record Family(String name, String help, Type type, Map<String, Series> series) {}

    /**
     * One series of the registry, live: {@link #value()} reads the current value each time, so an
     * adapter to another metrics library (Micrometer's {@code FunctionCounter} and {@code Gauge})
     * can register it once and let that library read it.
     *
     * @param name the family name
     * @param help the family's help text
     * @param counter true for a counter (never decreases), false for a gauge
     * @param labels the label names and values, in registration order
     * @param value reads the current value; cheap and thread-safe
     */
    public record Series(String name, String help, boolean counter, Map<String, String> labels, LongSupplier value) {
        /** Checks and copies the labels. */
        public Series {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(help, "help");
            labels = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(labels));
            Objects.requireNonNull(value, "value");
        }
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, Family> families = new LinkedHashMap<>();
    private final Map<String, Counter> counters = new LinkedHashMap<>();

    private Metrics() {
    }

    /**
     * Creates an empty registry.
     *
     * @return a new registry
     */
    public static Metrics create() {
        return new Metrics();
    }

    /**
     * Registers (or finds) a counter.
     *
     * @param name the family name, e.g. {@code twine_connections_total}
     * @param help one line saying what it counts
     * @param labels label names and values, alternating: {@code "service", "smtp"}
     * @return the counter for these labels
     * @throws IllegalArgumentException if the name or a label name is not valid, the labels are
     *     not in pairs, or the name is already a gauge
     */
    public Counter counter(String name, String help, String... labels) {
        Counter c = new Counter();
        String key = register(name, help, Type.COUNTER, labels, c::value, false);
        lock.lock();
        try {
            return counters.computeIfAbsent(key, k -> c);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Registers a counter whose value something else keeps (a server's own adders).
     *
     * @param name the family name, ending in {@code _total}
     * @param help one line saying what it counts
     * @param value reads the current count; must never decrease
     * @param labels label names and values, alternating
     * @throws IllegalArgumentException as for {@link #counter}
     */
    public void counter(String name, String help, LongSupplier value, String... labels) {
        register(name, help, Type.COUNTER, labels, value, true);
    }

    /**
     * Registers a gauge: a value read when the metrics are written.
     *
     * @param name the family name
     * @param help one line saying what it measures
     * @param value reads the current value; called on the scraping thread, so it must be cheap
     *     and thread-safe
     * @param labels label names and values, alternating
     * @throws IllegalArgumentException as for {@link #counter}
     */
    public void gauge(String name, String help, LongSupplier value, String... labels) {
        register(name, help, Type.GAUGE, labels, value, true);
    }

    private String register(String name, String help, Type type, String[] labels, LongSupplier value, boolean replace) {
        Objects.requireNonNull(help, "help");
        Objects.requireNonNull(value, "value");
        if (!name.matches("[a-zA-Z_:][a-zA-Z0-9_:]*")) {
            throw new IllegalArgumentException("not a metric name: '" + name + "'");
        }
        if (labels.length % 2 != 0) {
            throw new IllegalArgumentException("labels come in name, value pairs: " + List.of(labels));
        }
        StringBuilder key = new StringBuilder();
        Map<String, String> labelMap = new LinkedHashMap<>();
        for (int i = 0; i < labels.length; i += 2) {
            if (!labels[i].matches("[a-zA-Z_][a-zA-Z0-9_]*") || labels[i].startsWith("__")) {
                throw new IllegalArgumentException("not a label name: '" + labels[i] + "'");
            }
            labelMap.put(labels[i], labels[i + 1]);
            key.append(key.isEmpty() ? "{" : ",").append(labels[i]).append("=\"").append(escape(labels[i + 1])).append('"');
        }
        if (!key.isEmpty()) {
            key.append('}');
        }
        String series = key.toString();
        lock.lock();
        try {
            Family f = families.computeIfAbsent(name, n -> new Family(n, help, type, new LinkedHashMap<>()));
            if (f.type() != type) {
                throw new IllegalArgumentException(name + " is already a " + f.type().name().toLowerCase(Locale.ROOT));
            }
            if (replace || !f.series().containsKey(series)) {
                f.series().put(series, new Series(name, f.help(), type == Type.COUNTER, labelMap, value));
            }
        } finally {
            lock.unlock();
        }
        return name + series;
    }

    /** Label values escape backslash, double quote and newline (the text format's rules). */
    private static String escape(String value) {
        return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    /**
     * Writes every series in the Prometheus text format: {@code # HELP}, {@code # TYPE}, then one
     * line per series, families in registration order.
     *
     * @param out where to write
     * @throws IOException if {@code out} fails
     */
    public void write(Appendable out) throws IOException {
        List<Family> snapshot = snapshot();
        for (Family f : snapshot) {
            out.append("# HELP ").append(f.name()).append(' ')
                    .append(f.help().replace("\\", "\\\\").replace("\n", "\\n")).append('\n');
            out.append("# TYPE ").append(f.name()).append(' ').append(f.type().name().toLowerCase(Locale.ROOT)).append('\n');
            for (Map.Entry<String, Series> s : f.series().entrySet()) {
                out.append(f.name()).append(s.getKey()).append(' ').append(Long.toString(s.getValue().value().getAsLong())).append('\n');
            }
        }
    }

    private List<Family> snapshot() {
        lock.lock();
        try {
            List<Family> snapshot = new ArrayList<>();
            for (Family f : families.values()) {
                snapshot.add(new Family(f.name(), f.help(), f.type(), new LinkedHashMap<>(f.series())));
            }
            return snapshot;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Every series registered so far, families in registration order: what an adapter to
     * another metrics library registers there. Series registered later (a server built
     * afterwards) are not in the list; call it once everything is built.
     *
     * @return the series, each reading its live value
     */
    public List<Series> series() {
        List<Series> all = new ArrayList<>();
        for (Family f : snapshot()) {
            all.addAll(f.series().values());
        }
        return List.copyOf(all);
    }

    /**
     * The metrics as text, as {@link #write} writes them.
     *
     * @return the exposition text
     */
    public String text() {
        StringBuilder b = new StringBuilder();
        try {
            write(b);
        } catch (IOException e) {
            throw new AssertionError("a StringBuilder does not fail", e);
        }
        return b.toString();
    }

    /**
     * A connection handler that answers HTTP/1.1 {@code GET /metrics} (and {@code HEAD}) with the
     * text format, for Prometheus to scrape; {@code /} redirects there, other paths get 404 and
     * other methods 405. One request per connection ({@code Connection: close}); request lines
     * and headers are bounded (8 KiB each, 100 headers), so a client cannot hold memory. Serve it
     * on its own {@link Server}, with a read timeout.
     *
     * @return the handler
     */
    public ConnectionHandler httpHandler() {
        return conn -> {
            LineReader in = LineReader.of(conn, 8192);
            String request;
            try {
                request = in.readLine();
                for (int i = 0; ; i++) {
                    String header = in.readLine();
                    if (header == null || header.isEmpty()) {
                        break;
                    }
                    if (i == 100) {
                        respond(conn, "431 Request Header Fields Too Large", "too many headers\n", true);
                        return;
                    }
                }
            } catch (LineTooLongException e) {
                respond(conn, "431 Request Header Fields Too Large", "request line or header too long\n", true);
                return;
            }
            if (request == null) {
                return;
            }
            String[] parts = request.split(" ");
            if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
                respond(conn, "400 Bad Request", "expected GET /metrics HTTP/1.1\n", true);
                return;
            }
            boolean head = parts[0].equals("HEAD");
            if (!head && !parts[0].equals("GET")) {
                respond(conn, "405 Method Not Allowed", "only GET and HEAD\n", true);
                return;
            }
            String path = parts[1].indexOf('?') >= 0 ? parts[1].substring(0, parts[1].indexOf('?')) : parts[1];
            if (path.equals("/")) {
                LineWriter.of(conn).write("HTTP/1.1 302 Found\r\nLocation: /metrics\r\nContent-Length: 0\r\n"
                        + "Connection: close\r\n\r\n").flush();
                return;
            }
            if (!path.equals("/metrics")) {
                respond(conn, "404 Not Found", "the metrics are at /metrics\n", !head);
                return;
            }
            byte[] body = text().getBytes(StandardCharsets.UTF_8);
            LineWriter.of(conn).write("HTTP/1.1 200 OK\r\nContent-Type: " + CONTENT_TYPE + "\r\nContent-Length: "
                    + body.length + "\r\nConnection: close\r\n\r\n");
            if (!head) {
                conn.output().write(body);
            }
            conn.flush();
        };
    }

    private static void respond(Connection conn, String status, String body, boolean withBody) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        LineWriter.of(conn).write("HTTP/1.1 " + status + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
                + b.length + "\r\nConnection: close\r\n\r\n");
        if (withBody) {
            conn.output().write(b);
        }
        conn.flush();
    }
}
