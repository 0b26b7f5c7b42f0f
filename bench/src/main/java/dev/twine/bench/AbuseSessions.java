package dev.twine.bench;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * The minimal protocol clients of {@link Abuse}: just enough SMTP, submission, IMAP, POP3 and XMPP
 * to open a session from a chosen source address and make login attempts on it, classifying each
 * server answer the way the abuse table counts it. Written for hostile measurement, not for use:
 * every read has a timeout, nothing is retried, and a session that goes wrong is simply closed.
 */
final class AbuseSessions {
    private AbuseSessions() {
    }

    /** What the server did with one login attempt. */
    enum Outcome {
        /** Logged in. */
        SUCCESS,
        /** A definite failure: the server evaluated the password and said no. */
        FAILED,
        /** A temporary failure (SMTP 454, IMAP NO [UNAVAILABLE], POP3 [SYS/TEMP], XMPP temporary-auth-failure). */
        REFUSED,
        /** The connection ended (or a stream error, or no answer in time) before an answer. */
        CUT_OFF
    }

    /** The session could not start: connect failed, or the server's greeting was a refusal. */
    static final class NotAdmitted extends IOException {
        NotAdmitted(String message) {
            super(message);
        }
    }

    /** One open protocol session, ready for login attempts. */
    interface Session extends Closeable {
        /** Makes one login attempt with the session's user and {@code password}. */
        Outcome attempt(String password) throws IOException;

        /** Says goodbye politely if it can, then closes (never throws). */
        void quit();

        /** Closes at once (never throws). */
        @Override
        void close();

        /**
         * False when the last SUCCESS accepted the password without giving access (a POP3
         * maildrop locked by another session): a leak for the attacker, a failure for the user.
         */
        default boolean usable() {
            return true;
        }
    }

    /** What a session needs to know, shared by every connection of one run. */
    record Target(String service, InetSocketAddress server, String user, String domain) {
    }

    /** The first bytes of a command that never ends, and the byte repeated after it, per service. */
    static byte[] slowPrefix(String service, String domain) {
        String s = switch (service) {
            case "smtp", "submission" -> "EHLO ";
            case "imap" -> "a1 LOGIN ";
            case "pop3" -> "USER ";
            case "ssh" -> "SSH-2.0-";
            // a complete stream header, then whitespace keepalives forever (RFC 6120 §4.6.1)
            case "xmpp" -> streamHeader(domain);
            default -> throw new IllegalArgumentException(service);
        };
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * What the service's normal greeting contains (XMPP: the stream features it sends once the
     * client's stream header is in), so that a close before it can be told from a later one.
     */
    static String greeting(String service) {
        return switch (service) {
            case "smtp", "submission" -> "220";
            case "imap" -> "* OK";
            case "pop3" -> "+OK";
            case "ssh" -> "SSH-";
            case "xmpp" -> "<stream:features";
            default -> null;
        };
    }

    /** The byte a slowloris connection drips after its prefix. */
    static byte slowFiller(String service) {
        return (byte) (service.equals("xmpp") ? ' ' : 'a');
    }

    /** Opens a TCP connection from {@code source} (port chosen by the kernel) to the server. */
    static Socket connect(InetAddress source, InetSocketAddress server, Duration timeout) throws IOException {
        Socket s = new Socket();
        try {
            // a port of an earlier connection in TIME_WAIT may be reused for this bind
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(source, 0));
            s.connect(server, (int) timeout.toMillis());
            s.setTcpNoDelay(true);
            return s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    /** Opens a session of {@code t.service()} from {@code source}; every read waits at most {@code timeout}. */
    static Session open(Target t, InetAddress source, Duration timeout, Closer closer) throws IOException {
        Socket socket;
        try {
            socket = connect(source, t.server(), timeout);
        } catch (IOException e) {
            throw new NotAdmitted("connect: " + e.getMessage());
        }
        closer.add(socket);
        try {
            socket.setSoTimeout((int) timeout.toMillis());
            Session session = switch (t.service()) {
                case "smtp", "submission" -> Smtp.open(socket, t);
                case "imap" -> Imap.open(socket, t);
                case "pop3" -> Pop3.open(socket, t);
                case "xmpp" -> Xmpp.open(socket, t);
                default -> throw new IllegalArgumentException("no session client for " + t.service());
            };
            return session;
        } catch (IOException | RuntimeException e) {
            closeQuietly(socket);
            closer.remove(socket);
            if (e instanceof NotAdmitted n) {
                throw n;
            }
            throw new NotAdmitted(e.getClass().getSimpleName() + " during the greeting: " + e.getMessage());
        }
    }

    /** Every socket still open, so that the end of a run can close them all at once. */
    static final class Closer {
        private final java.util.Set<Closeable> open = java.util.concurrent.ConcurrentHashMap.newKeySet();
        private volatile boolean closed;

        void add(Closeable c) {
            open.add(c);
            if (closed) {
                closeQuietly(c);
            }
        }

        void remove(Closeable c) {
            open.remove(c);
        }

        void closeAll() {
            closed = true;
            for (Closeable c : open) {
                closeQuietly(c);
            }
            open.clear();
        }
    }

    static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // closing is best effort: the run is over for this socket either way
        }
    }

    static String plain(String user, String password) {
        return Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    static String streamHeader(String domain) {
        return "<?xml version='1.0'?><stream:stream to='" + domain + "' xmlns='jabber:client'"
                + " xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
    }

    // --- line protocols -------------------------------------------------------------------------

    /** CRLF (or LF) lines over a socket, at most 64 KiB each. */
    static final class Lines {
        private final Socket socket;
        private InputStream in;
        private OutputStream out;

        Lines(Socket socket) throws IOException {
            this.socket = socket;
            this.in = socket.getInputStream();
            this.out = socket.getOutputStream();
        }

        /** The next line without its end, or null at the end of the stream. */
        String read() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream(128);
            while (true) {
                int b = in.read();
                if (b < 0) {
                    return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
                }
                if (b == '\n') {
                    String s = line.toString(StandardCharsets.UTF_8);
                    return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
                }
                if (line.size() > 65_536) {
                    throw new IOException("a line longer than 64 KiB");
                }
                line.write(b);
            }
        }

        void write(String line) throws IOException {
            out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        void close() {
            closeQuietly(socket);
        }
    }

    /** An SMTP reply: the code of its last line and all its text. */
    record Reply(int code, String text) {
    }

    /** SMTP (port 25 role: a MAIL/RCPT "login") and submission (AUTH PLAIN). */
    static final class Smtp implements Session {
        private final Lines lines;
        private final Target target;

        private Smtp(Lines lines, Target target) {
            this.lines = lines;
            this.target = target;
        }

        static Smtp open(Socket socket, Target t) throws IOException {
            Lines lines = new Lines(socket);
            Reply greeting = reply(lines);
            if (greeting == null || greeting.code() != 220) {
                throw new NotAdmitted("greeting " + (greeting == null ? "none (closed)" : greeting.text()));
            }
            lines.write("EHLO abuse.client");
            Reply ehlo = reply(lines);
            if (ehlo == null || ehlo.code() != 250) {
                throw new NotAdmitted("EHLO answered " + (ehlo == null ? "nothing (closed)" : ehlo.text()));
            }
            return new Smtp(lines, t);
        }

        static Reply reply(Lines lines) throws IOException {
            StringBuilder text = new StringBuilder();
            while (true) {
                String line = lines.read();
                if (line == null) {
                    return null;
                }
                if (line.length() < 3 || !line.substring(0, 3).chars().allMatch(Character::isDigit)) {
                    throw new IOException("not an SMTP reply: " + shorten(line));
                }
                text.append(line).append(' ');
                if (line.length() == 3 || line.charAt(3) != '-') {
                    return new Reply(Integer.parseInt(line.substring(0, 3)), text.toString().trim());
                }
            }
        }

        @Override
        public Outcome attempt(String password) throws IOException {
            try {
                if (target.service().equals("smtp")) {
                    // port 25 has no login: a transaction up to an accepted recipient stands for one
                    lines.write("MAIL FROM:<legit@client.test>");
                    Reply mail = reply(lines);
                    if (mail == null || mail.code() == 421) {
                        return Outcome.CUT_OFF;
                    }
                    if (mail.code() != 250) {
                        return mail.code() >= 500 ? Outcome.FAILED : Outcome.REFUSED;
                    }
                    lines.write("RCPT TO:<" + target.user() + "@" + target.domain() + ">");
                    Reply rcpt = reply(lines);
                    if (rcpt == null || rcpt.code() == 421) {
                        return Outcome.CUT_OFF;
                    }
                    lines.write("RSET");
                    reply(lines);
                    return rcpt.code() == 250 ? Outcome.SUCCESS : rcpt.code() >= 500 ? Outcome.FAILED : Outcome.REFUSED;
                }
                lines.write("AUTH PLAIN " + plain(target.user(), password));
                Reply r = reply(lines);
                if (r == null || r.code() == 421) {
                    return Outcome.CUT_OFF;
                }
                if (r.code() == 235) {
                    return Outcome.SUCCESS;
                }
                // RFC 4954 §6: 454 is the temporary failure, 535 the definite one
                return r.code() >= 500 ? Outcome.FAILED : Outcome.REFUSED;
            } catch (SocketTimeoutException e) {
                return Outcome.CUT_OFF;
            } catch (IOException e) {
                return Outcome.CUT_OFF;
            }
        }

        @Override
        public void quit() {
            try {
                lines.write("QUIT");
                reply(lines);
            } catch (IOException e) {
                // goodbye is best effort
            }
            lines.close();
        }

        @Override
        public void close() {
            lines.close();
        }
    }

    /** IMAP LOGIN (RFC 3501 §6.2.3). */
    static final class Imap implements Session {
        private final Lines lines;
        private final Target target;
        private int tag;

        private Imap(Lines lines, Target target) {
            this.lines = lines;
            this.target = target;
        }

        static Imap open(Socket socket, Target t) throws IOException {
            Lines lines = new Lines(socket);
            String greeting = lines.read();
            if (greeting == null || !greeting.startsWith("* OK")) {
                throw new NotAdmitted("greeting " + (greeting == null ? "none (closed)" : shorten(greeting)));
            }
            return new Imap(lines, t);
        }

        @Override
        public Outcome attempt(String password) throws IOException {
            String t = "a" + (++tag);
            try {
                lines.write(t + " LOGIN " + quote(target.user()) + " " + quote(password));
                while (true) {
                    String line = lines.read();
                    if (line == null) {
                        return Outcome.CUT_OFF;
                    }
                    if (!line.startsWith(t + " ")) {
                        continue; // untagged data, or a * BYE before the close
                    }
                    String rest = line.substring(t.length() + 1).toUpperCase(Locale.ROOT);
                    if (rest.startsWith("OK")) {
                        return Outcome.SUCCESS;
                    }
                    // RFC 5530 §3: UNAVAILABLE is the temporary failure
                    return rest.startsWith("NO [UNAVAILABLE]") ? Outcome.REFUSED : Outcome.FAILED;
                }
            } catch (IOException e) {
                return Outcome.CUT_OFF;
            }
        }

        private static String quote(String s) {
            return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        }

        @Override
        public void quit() {
            try {
                String t = "a" + (++tag);
                lines.write(t + " LOGOUT");
                for (int i = 0; i < 10; i++) {
                    String line = lines.read();
                    if (line == null || line.startsWith(t + " ")) {
                        break;
                    }
                }
            } catch (IOException e) {
                // goodbye is best effort
            }
            lines.close();
        }

        @Override
        public void close() {
            lines.close();
        }
    }

    /** POP3 USER/PASS (RFC 1939 §7). */
    static final class Pop3 implements Session {
        private final Lines lines;
        private final Target target;
        private boolean inUse;

        private Pop3(Lines lines, Target target) {
            this.lines = lines;
            this.target = target;
        }

        static Pop3 open(Socket socket, Target t) throws IOException {
            Lines lines = new Lines(socket);
            String greeting = lines.read();
            if (greeting == null || !greeting.startsWith("+OK")) {
                throw new NotAdmitted("greeting " + (greeting == null ? "none (closed)" : shorten(greeting)));
            }
            return new Pop3(lines, t);
        }

        @Override
        public Outcome attempt(String password) throws IOException {
            try {
                lines.write("USER " + target.user());
                String user = lines.read();
                if (user == null) {
                    return Outcome.CUT_OFF;
                }
                if (!user.startsWith("+OK")) {
                    return classify(user);
                }
                lines.write("PASS " + password);
                String pass = lines.read();
                if (pass == null) {
                    return Outcome.CUT_OFF;
                }
                if (pass.toUpperCase(Locale.ROOT).startsWith("-ERR [IN-USE]")) {
                    // RFC 2449 §8.1.1: the password was accepted, only the maildrop is locked
                    inUse = true;
                    return Outcome.SUCCESS;
                }
                return pass.startsWith("+OK") ? Outcome.SUCCESS : classify(pass);
            } catch (IOException e) {
                return Outcome.CUT_OFF;
            }
        }

        @Override
        public boolean usable() {
            return !inUse;
        }

        /** RFC 3206 §4: [SYS/TEMP] is the temporary failure; [AUTH] and the rest are definite. */
        private static Outcome classify(String err) {
            return err.toUpperCase(Locale.ROOT).startsWith("-ERR [SYS/TEMP]") ? Outcome.REFUSED : Outcome.FAILED;
        }

        @Override
        public void quit() {
            try {
                lines.write("QUIT");
                lines.read();
            } catch (IOException e) {
                // goodbye is best effort
            }
            lines.close();
        }

        @Override
        public void close() {
            lines.close();
        }
    }

    // --- XMPP -----------------------------------------------------------------------------------

    /** XMPP client stream: STARTTLS (any certificate is trusted), then SASL PLAIN (RFC 6120 §5, §6). */
    static final class Xmpp implements Session {
        private static final Pattern FEATURES = Pattern.compile("</stream:features>|<stream:features\\s*/>");
        private static final Pattern PROCEED = Pattern.compile("<proceed[^>]*/>|</proceed>");
        private static final Pattern SASL_ANSWER = Pattern.compile(
                "<failure[^>]*/>|</failure>|<success[^>]*/>|</success>");
        private static final Pattern STREAM_END = Pattern.compile("</stream:stream>|</stream:error>|<stream:error");
        private Socket socket;
        private final Target target;
        private final StringBuilder buffer = new StringBuilder();

        private Xmpp(Socket socket, Target target) {
            this.socket = socket;
            this.target = target;
        }

        static Xmpp open(Socket socket, Target t) throws IOException {
            Xmpp x = new Xmpp(socket, t);
            x.send(streamHeader(t.domain()));
            String features = x.await(FEATURES);
            if (features == null) {
                throw new NotAdmitted("no stream features (" + x.summary() + ")");
            }
            if (features.contains("<starttls")) {
                x.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
                if (x.await(PROCEED) == null) {
                    throw new NotAdmitted("STARTTLS not answered with proceed (" + x.summary() + ")");
                }
                SSLSocket tls = (SSLSocket) trustAll().getSocketFactory()
                        .createSocket(socket, t.server().getHostString(), t.server().getPort(), true);
                tls.setUseClientMode(true);
                tls.setSoTimeout(socket.getSoTimeout());
                tls.startHandshake();
                x.socket = tls;
                x.buffer.setLength(0);
                x.send(streamHeader(t.domain()));
                features = x.await(FEATURES);
                if (features == null) {
                    throw new NotAdmitted("no stream features after TLS (" + x.summary() + ")");
                }
            }
            if (!features.contains(">PLAIN<")) {
                throw new NotAdmitted("SASL PLAIN not offered");
            }
            return x;
        }

        private void send(String s) throws IOException {
            OutputStream out = socket.getOutputStream();
            out.write(s.getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        /**
         * Reads until {@code end} matches (returns everything up to and including it, removing it
         * from the buffer), or null when the stream ends or fails first.
         */
        private String await(Pattern end) throws IOException {
            byte[] chunk = new byte[8192];
            InputStream in = socket.getInputStream();
            while (true) {
                Matcher m = end.matcher(buffer);
                if (m.find()) {
                    String upTo = buffer.substring(0, m.end());
                    buffer.delete(0, m.end());
                    return upTo;
                }
                if (STREAM_END.matcher(buffer).find()) {
                    return null;
                }
                int n = in.read(chunk);
                if (n < 0) {
                    return null;
                }
                buffer.append(new String(chunk, 0, n, StandardCharsets.UTF_8));
                if (buffer.length() > 1_000_000) {
                    throw new IOException("more than 1 MB without the expected element");
                }
            }
        }

        private String summary() {
            return buffer.length() == 0 ? "nothing received" : shorten(buffer.toString());
        }

        @Override
        public Outcome attempt(String password) throws IOException {
            try {
                send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
                        + plain(target.user(), password) + "</auth>");
                String answer = await(SASL_ANSWER);
                if (answer == null) {
                    return Outcome.CUT_OFF;
                }
                int at = answer.lastIndexOf("<failure");
                int success = answer.lastIndexOf("<success");
                if (success > at) {
                    return Outcome.SUCCESS;
                }
                // RFC 6120 §6.5.12: temporary-auth-failure
                return answer.substring(Math.max(at, 0)).contains("temporary-auth-failure") ? Outcome.REFUSED : Outcome.FAILED;
            } catch (IOException e) {
                return Outcome.CUT_OFF;
            }
        }

        @Override
        public void quit() {
            try {
                send("</stream:stream>");
            } catch (IOException e) {
                // goodbye is best effort
            }
            closeQuietly(socket);
        }

        @Override
        public void close() {
            closeQuietly(socket);
        }
    }

    private static volatile SSLContext trustAll;

    /** A TLS context that trusts any server certificate: the XMPP server's is self-signed. */
    static SSLContext trustAll() throws IOException {
        SSLContext known = trustAll;
        if (known != null) {
            return known;
        }
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            TrustManager any = new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            };
            ctx.init(null, new TrustManager[] {any}, new SecureRandom());
            trustAll = ctx;
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IOException("no TLS: " + e.getMessage(), e);
        }
    }

    static String shorten(String s) {
        String one = s.replaceAll("\\s+", " ").trim();
        return one.length() > 120 ? one.substring(0, 120) + "..." : one;
    }
}
