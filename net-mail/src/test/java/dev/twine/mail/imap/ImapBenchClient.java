package dev.twine.mail.imap;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The load generator of {@code ci/bench-imap}: {@code HOST PORT USER PASS SESSIONS MESSAGES BATCH}.
 * Each of SESSIONS connections logs in, EXAMINEs INBOX and FETCHes its share of MESSAGES
 * ({@code BODY.PEEK[HEADER] BODY.PEEK[TEXT]}, BATCH messages per command); prints
 * {@code fetched N bytes B seconds S}. Exits 1 if any session did not get all its messages.
 */
public final class ImapBenchClient {
    private ImapBenchClient() {}

    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        String user = args[2];
        String pass = args[3];
        int sessions = Integer.parseInt(args[4]);
        int messages = Integer.parseInt(args[5]);
        int batch = Integer.parseInt(args[6]);
        AtomicLong fetched = new AtomicLong();
        AtomicLong bytes = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        long t0 = System.nanoTime();
        int per = messages / sessions;
        for (int s = 0; s < sessions; s++) {
            int first = s * per + 1;
            int last = s == sessions - 1 ? messages : first + per - 1;
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    session(host, port, user, pass, first, last, batch, fetched, bytes);
                } catch (Throwable e) {
                    errors.add(e);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf("fetched %d bytes %d seconds %.3f%n", fetched.get(), bytes.get(), secs);
        if (!errors.isEmpty() || fetched.get() != messages) {
            errors.forEach(Throwable::printStackTrace);
            System.exit(1);
        }
    }

    private static void session(String host, int port, String user, String pass, int first, int last, int batch,
            AtomicLong fetched, AtomicLong bytes) throws IOException {
        try (Socket sock = new Socket(host, port)) {
            sock.setSoTimeout(120_000);
            InputStream in = new BufferedInputStream(sock.getInputStream(), 64 * 1024);
            OutputStream out = sock.getOutputStream();
            readResponse(in, null);
            command(in, out, "a LOGIN " + user + " " + pass, null, null);
            command(in, out, "b EXAMINE INBOX", null, null);
            int n = 0;
            for (int lo = first; lo <= last; lo += batch) {
                int hi = Math.min(last, lo + batch - 1);
                n += command(in, out, "f" + lo + " FETCH " + lo + ":" + hi + " (BODY.PEEK[HEADER] BODY.PEEK[TEXT])",
                        fetched, bytes);
            }
            if (n != last - first + 1) {
                throw new IOException("got " + n + " of " + (last - first + 1) + " messages");
            }
            command(in, out, "z LOGOUT", null, null);
        }
    }

    /** Sends a command; returns the number of FETCH responses before the tagged OK. */
    private static int command(InputStream in, OutputStream out, String cmd, AtomicLong fetched, AtomicLong bytes)
            throws IOException {
        out.write((cmd + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String tag = cmd.substring(0, cmd.indexOf(' '));
        int count = 0;
        while (true) {
            String line = readResponse(in, bytes);
            if (line.startsWith(tag + " ")) {
                if (!line.startsWith(tag + " OK")) {
                    throw new IOException(cmd + ": " + line);
                }
                return count;
            }
            if (line.startsWith("* ") && line.contains(" FETCH ")) {
                count++;
                if (fetched != null) {
                    fetched.incrementAndGet();
                }
            }
        }
    }

    /** One response line, skipping over its literals (their sizes go to {@code bytes}). */
    private static String readResponse(InputStream in, AtomicLong bytes) throws IOException {
        StringBuilder first = new StringBuilder();
        boolean firstLine = true;
        while (true) {
            String line = readLine(in);
            if (firstLine) {
                first.append(line);
                firstLine = false;
            }
            if (line.endsWith("}")) {
                int open = line.lastIndexOf('{');
                long n = Long.parseLong(line.substring(open + 1, line.length() - 1));
                in.skipNBytes(n);
                if (bytes != null) {
                    bytes.addAndGet(n);
                }
                continue;
            }
            return first.toString();
        }
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(128);
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) {
                throw new IOException("connection closed");
            }
            if (c != '\r') {
                b.write(c);
            }
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }
}
