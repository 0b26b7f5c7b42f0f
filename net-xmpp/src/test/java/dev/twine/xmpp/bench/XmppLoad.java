package dev.twine.xmpp.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The XMPP load generator of ci/bench-xmpp, speaking just enough XMPP over plaintext TCP (SASL
 * PLAIN, bind, presence, messages) to drive any server the same way.
 *
 * <pre>
 * XmppLoad pairs HOST PORT DOMAIN PREFIX PASSWORD PAIRS WINDOW WARMUP_S SECONDS
 *   users PREFIX0..PREFIX(2*PAIRS-1); each pair keeps WINDOW messages in flight each way: every
 *   message received is answered with a new one (the answers to messages read at once go out in
 *   one write, as a client under load would send them). Prints
 *   "result msgs_per_s=.. p50_us=.. p99_us=.. errors=.."
 * XmppLoad pairs HOST PORT DOMAIN PREFIX PASSWORD PAIRS WINDOW WARMUP_S SECONDS PORT_B DOMAIN_B
 *   the same across two federated servers: the first of each pair on PORT (DOMAIN), the second
 *   on PORT_B (DOMAIN_B, users PREFIX1, PREFIX3, ... there), so every message goes over s2s.
 * XmppLoad idle HOST PORT DOMAIN PREFIX PASSWORD COUNT HOLD_S
 *   COUNT sessions logged in with presence sent, then idle; prints "idle-ready connected=.. errors=.."
 *   and holds them HOLD_S seconds (or until killed).
 * </pre>
 */
public final class XmppLoad {
    private XmppLoad() {}

    /** Message bodies carry nanoseconds since this, a non-negative number. */
    private static final long BASE = System.nanoTime();

    public static void main(String[] a) throws Exception {
        String host = a[1];
        int port = Integer.parseInt(a[2]);
        String domain = a[3];
        String prefix = a[4];
        String password = a[5];
        if (a[0].equals("pairs")) {
            int portB = a.length > 11 ? Integer.parseInt(a[10]) : port;
            String domainB = a.length > 11 ? a[11] : domain;
            pairs(host, port, domain, portB, domainB, prefix, password, Integer.parseInt(a[6]), Integer.parseInt(a[7]),
                    Integer.parseInt(a[8]), Integer.parseInt(a[9]));
        } else {
            idle(host, port, domain, prefix, password, Integer.parseInt(a[6]), Integer.parseInt(a[7]));
        }
        System.exit(0);
    }

    /** Where and as whom MucLoad and MamLoad log in: their first arguments, HOST PORT DOMAIN PREFIX PASSWORD. */
    record Target(String host, int port, String domain, String prefix, String password) {
        static Target of(String[] a) {
            return new Target(a[0], Integer.parseInt(a[1]), a[2], a[3], a[4]);
        }

        /** A session of user PREFIX{@code n}, logged in and available. */
        Session login(int n) throws IOException {
            return new Session(host, port, domain, prefix + n, password);
        }
    }

    /** One logged-in stream with a small read buffer and a write lock. */
    static final class Session {
        final Socket socket;
        final InputStream in;
        final OutputStream out;
        final ReentrantLock lock = new ReentrantLock();
        final String jid;
        byte[] buf = new byte[8192];
        int len;

        Session(String host, int port, String domain, String user, String password) throws IOException {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port), 30_000);
            socket.setSoTimeout(60_000);
            in = socket.getInputStream();
            out = socket.getOutputStream();
            String header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='"
                    + domain + "' version='1.0'>";
            send(header);
            readUntil("</stream:features>");
            send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
                    + Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8)) + "</auth>");
            String r = readUntilAny("success", "failure");
            if (r.equals("failure")) {
                throw new IOException("authentication failed for " + user);
            }
            len = 0;
            send(header);
            readUntil("</stream:features>");
            send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>load</resource></bind></iq>");
            readUntil("</iq>");
            jid = user + "@" + domain + "/load";
            send("<presence/>");
            len = 0;
            socket.setSoTimeout(0);
        }

        void send(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            lock.lock();
            try {
                out.write(b);
                out.flush();
            } finally {
                lock.unlock();
            }
        }

        private String readUntilAny(String... markers) throws IOException {
            while (true) {
                String s = new String(buf, 0, len, StandardCharsets.ISO_8859_1);
                for (String m : markers) {
                    int i = s.indexOf(m);
                    if (i >= 0) {
                        return m;
                    }
                }
                fill();
            }
        }

        private void readUntil(String marker) throws IOException {
            while (true) {
                String s = new String(buf, 0, len, StandardCharsets.ISO_8859_1);
                int i = s.indexOf(marker);
                if (i >= 0) {
                    int end = i + marker.length();
                    System.arraycopy(buf, end, buf, 0, len - end);
                    len -= end;
                    return;
                }
                fill();
            }
        }

        /**
         * Reads through the first of {@code markers} and returns everything up to its end (the
         * rest stays buffered); blocks for it.
         */
        String take(String... markers) throws IOException {
            while (true) {
                String s = new String(buf, 0, len, StandardCharsets.ISO_8859_1);
                int best = -1;
                for (String m : markers) {
                    int i = s.indexOf(m);
                    if (i >= 0 && (best < 0 || i + m.length() < best)) {
                        best = i + m.length();
                    }
                }
                if (best >= 0) {
                    System.arraycopy(buf, best, buf, 0, len - best);
                    len -= best;
                    return s.substring(0, best);
                }
                fill();
            }
        }

        private void fill() throws IOException {
            if (len == buf.length) {
                buf = Arrays.copyOf(buf, buf.length * 2);
            }
            int n = in.read(buf, len, buf.length - len);
            if (n < 0) {
                throw new IOException("server closed the stream");
            }
            len += n;
        }

        private static final byte[] BODY = "<body>".getBytes(StandardCharsets.US_ASCII);

        /** Reads the next {@code <body>} text (a number), skipping everything else; blocks for it. */
        long nextBody() throws IOException {
            while (true) {
                long v = bufferedBody();
                if (v >= 0) {
                    return v;
                }
                fill();
            }
        }

        /**
         * The next {@code <body>} number if one is complete in what was read already, else -1
         * (without reading).
         */
        long bufferedBody() throws IOException {
            int i = indexOf(BODY, 0);
            if (i < 0) {
                if (len > 16) {
                    // keep a tail that may hold the start of "<body>"
                    System.arraycopy(buf, len - 8, buf, 0, 8);
                    len = 8;
                }
                return -1;
            }
            int j = i + BODY.length;
            int k = j;
            long v = 0;
            while (k < len && buf[k] != '<') {
                int d = buf[k] - '0';
                if (d < 0 || d > 9) {
                    throw new IOException("not a number in <body>");
                }
                v = v * 10 + d;
                k++;
            }
            if (k == len) {
                return -1;
            }
            if (k == j) {
                throw new IOException("empty <body>");
            }
            System.arraycopy(buf, k, buf, 0, len - k);
            len -= k;
            return v;
        }

        private byte[] messageHead;
        private static final byte[] MESSAGE_TAIL = "</body></message>".getBytes(StandardCharsets.US_ASCII);
        private byte[] pending = new byte[1024];
        private int pendingLen;

        /**
         * Queues {@code <message to=PEER type=chat><body>NANOS</body></message>} in a reused buffer;
         * {@link #flushChats()} sends what is queued in one write. Answering every message read
         * at once with one write keeps the generator's own cost small, so it does not cap what
         * the server can do on a shared machine; both servers get the same treatment.
         */
        void queueChat(String peer, long nanos) {
            if (messageHead == null) {
                messageHead = ("<message to='" + peer + "' type='chat'><body>").getBytes(StandardCharsets.UTF_8);
            }
            int need = messageHead.length + 20 + MESSAGE_TAIL.length;
            if (pendingLen + need > pending.length) {
                pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLen + need));
            }
            System.arraycopy(messageHead, 0, pending, pendingLen, messageHead.length);
            pendingLen = writeDecimal(nanos, pendingLen + messageHead.length);
            System.arraycopy(MESSAGE_TAIL, 0, pending, pendingLen, MESSAGE_TAIL.length);
            pendingLen += MESSAGE_TAIL.length;
        }

        void flushChats() throws IOException {
            if (pendingLen == 0) {
                return;
            }
            lock.lock();
            try {
                out.write(pending, 0, pendingLen);
            } finally {
                lock.unlock();
            }
            pendingLen = 0;
        }

        private int writeDecimal(long v, int at) {
            int digits = 1;
            for (long t = v / 10; t > 0; t /= 10) {
                digits++;
            }
            for (int i = at + digits - 1; i >= at; i--) {
                pending[i] = (byte) ('0' + v % 10);
                v /= 10;
            }
            return at + digits;
        }

        private int indexOf(byte[] pat, int from) {
            outer:
            for (int i = from; i <= len - pat.length; i++) {
                for (int j = 0; j < pat.length; j++) {
                    if (buf[i + j] != pat[j]) {
                        continue outer;
                    }
                }
                return i;
            }
            return -1;
        }

        void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    /**
     * Across two servers, before any clock starts: one message each way on a pair, waited for.
     * The first stanza for a remote domain sets up that server-to-server stream (connect,
     * STARTTLS, dialback with its verification stream), which on a loaded machine takes seconds
     * that would otherwise be measured as the latency of every message of the first window.
     */
    private static void prime(Session a, Session b) throws IOException {
        a.queueChat(b.jid, System.nanoTime() - BASE);
        a.flushChats();
        b.nextBody();
        b.queueChat(a.jid, System.nanoTime() - BASE);
        b.flushChats();
        a.nextBody();
    }

    private static void pairs(String host, int port, String domain, int portB, String domainB, String prefix, String password,
            int pairs, int window, int warmup, int seconds) throws Exception {
        List<Session> sessions = new ArrayList<>();
        AtomicInteger errors = new AtomicInteger();
        for (int i = 0; i < 2 * pairs; i++) {
            boolean second = i % 2 == 1; // a pair is (i, i ^ 1)
            sessions.add(new Session(host, second ? portB : port, second ? domainB : domain, prefix + i, password));
        }
        if (port != portB || !domain.equals(domainB)) {
            prime(sessions.get(0), sessions.get(1));
        }
        AtomicBoolean measuring = new AtomicBoolean();
        AtomicBoolean stop = new AtomicBoolean();
        LongAdder count = new LongAdder();
        int cap = 200_000;
        long[][] samples = new long[2 * pairs][cap];
        int[] sampleCount = new int[2 * pairs];
        CountDownLatch done = new CountDownLatch(2 * pairs);
        for (int i = 0; i < 2 * pairs; i++) {
            final int me = i;
            Session s = sessions.get(i);
            Session peer = sessions.get(i ^ 1);
            long[] mine = samples[i];
            Thread.ofVirtual().start(() -> {
                try {
                    for (int w = 0; w < window; w++) {
                        s.queueChat(peer.jid, System.nanoTime() - BASE);
                        s.flushChats(); // the window starts as separate messages
                    }
                    while (!stop.get()) {
                        // each message received is answered by a new one; those read at once are
                        // answered together
                        long sent = s.nextBody();
                        while (sent >= 0) {
                            long now = System.nanoTime() - BASE;
                            if (measuring.get()) {
                                count.increment();
                                if (sampleCount[me] < cap) {
                                    mine[sampleCount[me]++] = now - sent;
                                }
                            }
                            s.queueChat(peer.jid, now);
                            sent = s.bufferedBody();
                        }
                        if (!stop.get()) {
                            s.flushChats();
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    if (!stop.get()) {
                        errors.incrementAndGet();
                    }
                } finally {
                    done.countDown();
                }
            });
        }
        long elapsed = measure(measuring, stop, warmup, seconds);
        long total = count.sum();
        long[] all = merge(samples, sampleCount);
        long p50 = percentile(all, 0.50) / 1000;
        long p99 = percentile(all, 0.99) / 1000;
        System.out.printf("result msgs_per_s=%.0f p50_us=%d p99_us=%d messages=%d errors=%d%n",
                total / (elapsed / 1e9), p50, p99, total, errors.get());
        System.out.flush();
        sessions.forEach(Session::close);
        done.await(5, TimeUnit.SECONDS);
    }

    /**
     * Sleeps through the warm-up, then {@code seconds} with {@code measuring} set, then sets
     * {@code stop}: the measured window in nanoseconds.
     */
    static long measure(AtomicBoolean measuring, AtomicBoolean stop, int warmup, int seconds) throws InterruptedException {
        Thread.sleep(warmup * 1000L);
        measuring.set(true);
        long t0 = System.nanoTime();
        Thread.sleep(seconds * 1000L);
        measuring.set(false);
        long elapsed = System.nanoTime() - t0;
        stop.set(true);
        return elapsed;
    }

    /** The samples of every row's first {@code counts[i]} entries, sorted. */
    static long[] merge(long[][] rows, int[] counts) {
        int n = 0;
        for (int c : counts) {
            n += c;
        }
        long[] all = new long[n];
        int k = 0;
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, all, k, counts[i]);
            k += counts[i];
        }
        Arrays.sort(all);
        return all;
    }

    /** The {@code q} quantile of sorted samples (0 if there are none). */
    static long percentile(long[] sorted, double q) {
        return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) (sorted.length * q))];
    }

    private static void idle(String host, int port, String domain, String prefix, String password, int count, int hold)
            throws Exception {
        List<Session> sessions = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicInteger errors = new AtomicInteger();
        java.util.concurrent.Semaphore parallel = new java.util.concurrent.Semaphore(64);
        CountDownLatch all = new CountDownLatch(count);
        for (int i = 0; i < count; i++) {
            final int n = i;
            parallel.acquire();
            Thread.ofVirtual().start(() -> {
                try {
                    sessions.add(new Session(host, port, domain, prefix + n, password));
                } catch (IOException e) {
                    if (errors.incrementAndGet() <= 3) {
                        System.err.println("login " + prefix + n + ": " + e);
                    }
                } finally {
                    parallel.release();
                    all.countDown();
                }
            });
        }
        all.await();
        System.out.println("idle-ready connected=" + sessions.size() + " errors=" + errors.get());
        System.out.flush();
        Thread.sleep(hold * 1000L);
        sessions.forEach(Session::close);
    }
}
