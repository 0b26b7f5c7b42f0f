package dev.twine.dns.internal;

import dev.twine.core.Client;
import dev.twine.core.ClientOptions;
import dev.twine.core.Connection;
import dev.twine.core.Endpoint;
import dev.twine.core.Frames;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TSIG;

/**
 * Sends one query and returns the matching response: UDP first, each server in turn, each
 * attempt bounded by the timeout; over TCP when the UDP answer is truncated (RFC 7766 §5) or
 * when asked to. Holds no state between calls but its configuration, so one instance may serve
 * many threads.
 */
public final class Exchanger {
    /** The EDNS0 UDP payload size advertised (the 2020 DNS flag day's 1232, RFC 6891 §6.2.5). */
    public static final int UDP_SIZE = 1232;
    private static final SecureRandom IDS = new SecureRandom();

    private final List<InetSocketAddress> servers;
    private final Duration timeout;
    private final int attempts;

    /**
     * @param servers where to send queries, tried in order
     * @param timeout one attempt's wait for an answer; must be positive
     * @param attempts rounds over all servers, at least 1
     */
    public Exchanger(List<InetSocketAddress> servers, Duration timeout, int attempts) {
        if (servers.isEmpty()) {
            throw new IllegalArgumentException("no DNS server to ask");
        }
        if (timeout.isZero() || timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must be positive: " + timeout);
        }
        if (attempts < 1) {
            throw new IllegalArgumentException("attempts must be at least 1: " + attempts);
        }
        this.servers = List.copyOf(servers);
        this.timeout = timeout;
        this.attempts = attempts;
    }

    /** A recursive-desired query for one question, with EDNS0 and a random ID. */
    public static Message query(Record question) {
        Message q = Message.newQuery(question);
        q.getHeader().setID(IDS.nextInt(0x10000));
        q.addRecord(new OPTRecord(UDP_SIZE, 0, 0, 0), Section.ADDITIONAL);
        return q;
    }

    /**
     * Sends {@code query} until a server answers, falling back to TCP on a truncated answer.
     *
     * @return the response, whatever its response code
     * @throws SocketTimeoutException if no server answered within the attempts
     * @throws IOException if the network fails
     * @throws InterruptedException if interrupted while waiting (cancellation)
     */
    public Message exchange(Message query) throws IOException, InterruptedException {
        return exchange(query, null);
    }

    /**
     * Signs {@code query} with {@code key} (RFC 8945 §5.1) and sends it as {@link #exchange(Message)}
     * does, taking only a response signed with the same key over the query's MAC (§5.3).
     *
     * @param key the TSIG key, or null to send the query as it is
     * @throws IOException as {@link #exchange(Message)}, and if a response's signature is missing or bad
     * @throws InterruptedException if interrupted while waiting (cancellation)
     */
    public Message exchange(Message query, TSIG key) throws IOException, InterruptedException {
        if (key != null) {
            key.apply(query, null);
        }
        byte[] wire = query.toWire();
        IOException last = null;
        for (int round = 0; round < attempts; round++) {
            for (InetSocketAddress server : servers) {
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                try {
                    Message r = udp(server, query, wire, key);
                    if (r.getHeader().getFlag(Flags.TC)) {
                        return tcp(server, query, wire, key);
                    }
                    return r;
                } catch (IOException e) {
                    last = e;
                }
            }
        }
        if (last instanceof SocketTimeoutException) {
            throw new SocketTimeoutException("no answer from " + servers + " after " + attempts + " attempt(s) of " + timeout);
        }
        throw last;
    }

    /** Sends {@code query} over TCP to the first server that takes the connection. */
    public Message exchangeTcp(Message query) throws IOException {
        byte[] wire = query.toWire();
        IOException last = null;
        for (InetSocketAddress server : servers) {
            try {
                return tcp(server, query, wire, null);
            } catch (IOException e) {
                last = e;
            }
        }
        throw last;
    }

    private Message udp(InetSocketAddress server, Message query, byte[] wire, TSIG key) throws IOException {
        try (DatagramSocket s = new DatagramSocket()) {
            s.connect(server);
            s.send(new DatagramPacket(wire, wire.length));
            long end = System.nanoTime() + timeout.toNanos();
            byte[] buf = new byte[65_535];
            // answers with another ID or question are ignored (RFC 5452 §9.1), within the timeout
            for (int i = 0; i < 64; i++) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                s.setSoTimeout((int) Math.max(1, Duration.ofNanos(left).toMillis()));
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                s.receive(p);
                Message r = parse(buf, p.getLength());
                if (r != null && matches(query, r)) {
                    return verified(r, java.util.Arrays.copyOf(buf, p.getLength()), query, key, server);
                }
            }
            throw new SocketTimeoutException("no answer from " + server + " within " + timeout);
        }
    }

    private Message tcp(InetSocketAddress server, Message query, byte[] wire, TSIG key) throws IOException {
        ClientOptions opts = ClientOptions.builder().connectTimeout(timeout).readTimeout(timeout).writeTimeout(timeout).build();
        String host = server.getAddress().getHostAddress();
        if (host.indexOf(':') >= 0) {
            host = "[" + host + "]";
        }
        Frames frames = Frames.u16(65_535);
        try (Connection c = Client.connect(Endpoint.parseClient("tcp:" + host + ":" + server.getPort()), opts)) {
            frames.write(c.output(), wire);
            c.flush();
            for (int i = 0; i < 16; i++) {
                byte[] answer = frames.read(c.input());
                if (answer == null) {
                    throw new IOException(server + " closed the TCP connection without answering");
                }
                Message r = parse(answer, answer.length);
                if (r != null && matches(query, r)) {
                    return verified(r, answer, query, key, server);
                }
            }
            throw new IOException(server + " sent no matching answer over TCP");
        }
    }

    /** {@code r} if no key is asked for or it is signed with {@code key} over the query's MAC (RFC 8945 §5.3). */
    private static Message verified(Message r, byte[] wire, Message query, TSIG key, InetSocketAddress server) throws IOException {
        if (key != null && key.verify(r, wire, query.getTSIG()) != Rcode.NOERROR) {
            throw new IOException(server + " answered without a valid TSIG signature (" + Rcode.TSIGstring(r.getTSIG() == null
                    ? Rcode.BADSIG : r.getTSIG().getError()) + ")");
        }
        return r;
    }

    private static Message parse(byte[] buf, int len) {
        try {
            return new Message(java.util.Arrays.copyOf(buf, len));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static boolean matches(Message query, Message r) {
        if (r.getHeader().getID() != query.getHeader().getID() || !r.getHeader().getFlag(Flags.QR)) {
            return false;
        }
        Record q = query.getQuestion();
        Record a = r.getQuestion();
        // a FORMERR may come without a question
        return a == null ? r.getRcode() != 0
                : a.getName().equals(q.getName()) && a.getType() == q.getType() && a.getDClass() == q.getDClass();
    }
}
