package dev.twine.xmpp.bench;

import dev.twine.xmpp.bench.XmppLoad.Session;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The message archive row of ci/bench-xmpp: USERS users (PREFIX FIRST onwards, none of them
 * used by the other rows) in pairs first fill their XEP-0313 archives through the server itself
 * (each sends MESSAGES/2 chat messages to its partner, so each archive holds MESSAGES, both
 * directions), then each pages through its own archive from the start, one query in flight: XEP-0059 {@code max} 50 and {@code after} the last id of the
 * page before, from the start again after the page marked {@code complete}.
 *
 * <pre>
 * MamLoad HOST PORT DOMAIN PREFIX PASSWORD FIRST USERS MESSAGES WARMUP_S SECONDS
 *   prints "result queries_per_s=.. p50_us=.. p99_us=.. queries=.. archive=.. errors=.."
 * </pre>
 * Latency is from a query's send to its {@code <fin/>}; {@code archive} is the fewest messages a
 * whole pass through one archive found (MESSAGES when everything was archived).
 */
public final class MamLoad {
    private MamLoad() {}

    private static final int PAGE = 50;
    private static final int SAMPLES_PER_USER = 100_000;

    public static void main(String[] a) throws Exception {
        XmppLoad.Target target = XmppLoad.Target.of(a);
        int first = Integer.parseInt(a[5]);
        int users = Integer.parseInt(a[6]) / 2 * 2;
        int each = Integer.parseInt(a[7]) / 2;
        int warmup = Integer.parseInt(a[8]);
        int seconds = Integer.parseInt(a[9]);
        List<Session> sessions = new ArrayList<>();
        for (int i = 0; i < users; i++) {
            sessions.add(target.login(first + i));
        }
        AtomicInteger errors = new AtomicInteger();
        preload(sessions, each, errors);
        System.err.println("preloaded: " + users + " archives of " + 2 * each + " messages");
        AtomicBoolean measuring = new AtomicBoolean();
        AtomicBoolean stop = new AtomicBoolean();
        LongAdder queries = new LongAdder();
        AtomicInteger fewest = new AtomicInteger(Integer.MAX_VALUE);
        long[][] samples = new long[users][SAMPLES_PER_USER];
        int[] sampled = new int[users];
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < users; i++) {
            Session s = sessions.get(i);
            int me = i;
            threads.add(Thread.ofVirtual().start(() -> {
                String after = null;
                int pass = 0;
                try {
                    s.socket.setSoTimeout(60_000); // a query unanswered for a minute is an error
                    for (int q = 0; !stop.get(); q++) {
                        String id = "q" + q;
                        long t0 = System.nanoTime();
                        s.send("<iq type='set' id='" + id + "'><query xmlns='urn:xmpp:mam:2' queryid='" + id + "'>"
                                + "<set xmlns='http://jabber.org/protocol/rsm'><max>" + PAGE + "</max>"
                                + (after == null ? "" : "<after>" + after + "</after>") + "</set></query></iq>");
                        String text = MucLoad.expect(s, "query " + id, "</fin>");
                        long t = System.nanoTime() - t0;
                        if (measuring.get()) {
                            queries.increment();
                            if (sampled[me] < SAMPLES_PER_USER) {
                                samples[me][sampled[me]++] = t;
                            }
                        }
                        int fin = text.lastIndexOf("<fin");
                        int results = count(text, "<result", fin);
                        pass += results;
                        String last = between(text, "<last>", "</last>", fin);
                        boolean complete = text.indexOf("complete='true'", fin) >= 0 || text.indexOf("complete=\"true\"", fin) >= 0;
                        if (complete || last == null || results == 0) {
                            fewest.accumulateAndGet(pass, Math::min);
                            pass = 0;
                            after = null;
                        } else {
                            after = last;
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    if (!stop.get() && errors.incrementAndGet() <= 3) {
                        System.err.println("archive of " + me + ": " + e);
                    }
                }
            }));
        }
        long elapsed = XmppLoad.measure(measuring, stop, warmup, seconds);
        long[] all = XmppLoad.merge(samples, sampled);
        int f = fewest.get();
        System.out.printf("result queries_per_s=%.0f p50_us=%d p99_us=%d queries=%d archive=%s errors=%d%n",
                queries.sum() / (elapsed / 1e9), XmppLoad.percentile(all, 0.50) / 1000, XmppLoad.percentile(all, 0.99) / 1000,
                queries.sum(), f == Integer.MAX_VALUE ? "-" : Integer.toString(f), errors.get());
        System.out.flush();
        sessions.forEach(Session::close);
        for (Thread t : threads) {
            t.join(5_000);
        }
        System.exit(0);
    }

    /**
     * Each pair sends {@code each} chat messages each way (in writes of 50), each side reading
     * all of its partner's before this returns: by then every server has archived them.
     */
    private static void preload(List<Session> sessions, int each, AtomicInteger errors) throws InterruptedException {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < sessions.size(); i++) {
            Session s = sessions.get(i);
            String peer = sessions.get(i ^ 1).jid;
            int me = i;
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    StringBuilder batch = new StringBuilder();
                    for (int n = 0; n < each; n++) {
                        batch.append("<message to='").append(peer).append("' type='chat'><body>").append(n).append("</body></message>");
                        if (batch.length() > 8192 || n == each - 1) {
                            s.send(batch.toString());
                            batch.setLength(0);
                        }
                    }
                } catch (IOException e) {
                    errors.incrementAndGet();
                    System.err.println("preload sender " + me + ": " + e);
                }
            }));
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    for (int n = 0; n < each; n++) {
                        s.nextBody();
                    }
                } catch (IOException e) {
                    errors.incrementAndGet();
                    System.err.println("preload reader " + me + ": " + e);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
    }

    private static int count(String text, String what, int end) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0 && i < end; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    private static String between(String text, String open, String close, int from) {
        int i = text.indexOf(open, from);
        int j = i < 0 ? -1 : text.indexOf(close, i);
        return j < 0 ? null : text.substring(i + open.length(), j);
    }
}
