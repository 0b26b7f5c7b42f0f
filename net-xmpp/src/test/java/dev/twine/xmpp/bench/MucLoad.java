package dev.twine.xmpp.bench;

import dev.twine.xmpp.bench.XmppLoad.Session;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The group chat row of ci/bench-xmpp: one room of OCCUPANTS users at {@code conference.DOMAIN},
 * SENDERS of them each keeping WINDOW groupchat messages in flight (a new one goes out when the
 * room reflects one of the sender's own back), every occupant reading every message. The same
 * XEP-0045 steps on every server: occupants join one at a time with {@code maxstanzas='0'} (no
 * discussion history, so joins stay cheap) and wait for their self-presence (status 110); the
 * first creates the room and submits an empty configuration form, the instant room of §10.1.2
 * (Prosody and ejabberd keep a new room locked until then).
 *
 * <pre>
 * MucLoad HOST PORT DOMAIN PREFIX PASSWORD OCCUPANTS SENDERS WINDOW WARMUP_S SECONDS
 *   prints "result deliveries_per_s=.. msgs_per_s=.. p50_us=.. p99_us=.. deliveries=.. errors=.."
 * </pre>
 * Deliveries are the copies occupants receive (messages/s times occupants); latency is from the
 * send to each copy's arrival, sampled at every occupant.
 */
public final class MucLoad {
    private MucLoad() {}

    private static final long BASE = System.nanoTime();
    /** A body is {@code (nanos << SENDER_BITS) | sender}, digits only, as {@link Session#bufferedBody} reads. */
    private static final int SENDER_BITS = 10;
    private static final int SAMPLES_PER_OCCUPANT = 20_000;

    public static void main(String[] a) throws Exception {
        XmppLoad.Target target = XmppLoad.Target.of(a);
        int occupants = Integer.parseInt(a[5]);
        int senders = Math.min(Integer.parseInt(a[6]), occupants);
        int window = Integer.parseInt(a[7]);
        int warmup = Integer.parseInt(a[8]);
        int seconds = Integer.parseInt(a[9]);
        if (senders >= 1 << SENDER_BITS) {
            throw new IllegalArgumentException("at most " + ((1 << SENDER_BITS) - 1) + " senders");
        }
        String room = "bench@conference." + target.domain();
        List<Session> sessions = new ArrayList<>();
        for (int i = 0; i < occupants; i++) {
            sessions.add(target.login(i));
        }
        AtomicBoolean measuring = new AtomicBoolean();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger errors = new AtomicInteger();
        LongAdder deliveries = new LongAdder();
        long[][] samples = new long[occupants][SAMPLES_PER_OCCUPANT];
        int[] sampled = new int[occupants];
        CountDownLatch done = new CountDownLatch(occupants);
        for (int i = 0; i < occupants; i++) {
            Session s = sessions.get(i);
            s.socket.setSoTimeout(30_000);
            s.send("<presence to='" + room + "/n" + i + "'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>");
            expect(s, "joining as n" + i, "code='110'", "code=\"110\"");
            if (i == 0) {
                s.send("<iq type='set' id='cfg1' to='" + room + "'><query xmlns='http://jabber.org/protocol/muc#owner'>"
                        + "<x xmlns='jabber:x:data' type='submit'/></query></iq>");
                expect(s, "configuring the room", "'cfg1'", "\"cfg1\"");
            }
            s.socket.setSoTimeout(0);
            final int me = i;
            Thread.ofVirtual().start(() -> {
                StringBuilder next = new StringBuilder();
                try {
                    while (!stop.get()) {
                        long v = s.nextBody();
                        while (v >= 0) {
                            long now = System.nanoTime() - BASE;
                            if (measuring.get()) {
                                deliveries.increment();
                                if (sampled[me] < SAMPLES_PER_OCCUPANT) {
                                    samples[me][sampled[me]++] = now - (v >>> SENDER_BITS);
                                }
                            }
                            if ((v & ((1 << SENDER_BITS) - 1)) == me && me < senders) {
                                groupchat(next, room, now, me); // one of mine came back: the next one
                            }
                            v = s.bufferedBody();
                        }
                        if (!next.isEmpty() && !stop.get()) {
                            s.send(next.toString()); // those read at once are answered in one write
                            next.setLength(0);
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    if (!stop.get() && errors.incrementAndGet() <= 3) {
                        System.err.println("occupant " + me + ": " + e);
                    }
                } finally {
                    done.countDown();
                }
            });
        }
        System.err.println("joined: " + occupants + " occupants");
        for (int i = 0; i < senders; i++) {
            for (int w = 0; w < window; w++) {
                StringBuilder m = new StringBuilder();
                groupchat(m, room, System.nanoTime() - BASE, i);
                sessions.get(i).send(m.toString());
            }
        }
        long elapsed = XmppLoad.measure(measuring, stop, warmup, seconds);
        long total = deliveries.sum();
        long[] all = XmppLoad.merge(samples, sampled);
        double perSecond = total / (elapsed / 1e9);
        System.out.printf("result deliveries_per_s=%.0f msgs_per_s=%.0f p50_us=%d p99_us=%d deliveries=%d errors=%d%n",
                perSecond, perSecond / occupants, XmppLoad.percentile(all, 0.50) / 1000, XmppLoad.percentile(all, 0.99) / 1000,
                total, errors.get());
        System.out.flush();
        sessions.forEach(Session::close);
        done.await(5, TimeUnit.SECONDS);
        System.exit(0);
    }

    private static void groupchat(StringBuilder out, String room, long nanos, int sender) {
        out.append("<message to='").append(room).append("' type='groupchat'><body>")
                .append((nanos << SENDER_BITS) | sender).append("</body></message>");
    }

    /** Reads through one of {@code ok}; an error stanza first (or the server closing) fails with {@code what}. */
    static String expect(Session s, String what, String... ok) throws IOException {
        String[] markers = Arrays.copyOf(ok, ok.length + 2);
        markers[ok.length] = "type='error'";
        markers[ok.length + 1] = "type=\"error\"";
        String text = s.take(markers);
        if (text.endsWith("type='error'") || text.endsWith("type=\"error\"")) {
            String rest = s.take("</presence>", "</iq>", "</message>");
            throw new IOException(what + ": the server refused: " + text.substring(Math.max(0, text.length() - 300)) + rest);
        }
        return text;
    }
}
