package dev.twine.mail.smtp;

import dev.twine.core.Client;
import dev.twine.core.ClientOptions;
import dev.twine.core.Connection;
import dev.twine.core.Endpoint;
import dev.twine.core.LineReader;
import dev.twine.core.Tls;
import jakarta.mail.Address;
import jakarta.mail.MessagingException;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A blocking SMTP client (RFC 5321) for one session: connect, {@link #ehlo}, {@link #startTls},
 * {@link #auth}, then {@link #send} messages, then {@link #quit}. The relay queue uses it; it is
 * usable alone.
 *
 * <pre>{@code
 * try (SmtpClient smtp = SmtpClient.connect("mail.example.org:587", Duration.ofSeconds(30))) {
 *     smtp.ehlo("client.example.org");
 *     smtp.startTls(Tls.client());
 *     smtp.ehlo("client.example.org");           // again, as RFC 3207 says
 *     smtp.auth("alice", password);
 *     Map<String, Reply> refused = smtp.send("alice@example.org", List.of("bob@example.org"), message);
 *     smtp.quit();
 * }
 * }</pre>
 *
 * <h2>Error handling</h2>
 * A command the server refuses throws {@link SmtpException} carrying the reply (except
 * {@link #rcpt}, which returns the reply so a caller can go on with the other recipients). Network
 * failures throw {@link IOException}; every read is bounded by the read timeout given at
 * connect. Interrupting the thread closes the socket. Not for use by several threads at once.
 */
public final class SmtpClient implements AutoCloseable {
    private final Connection conn;
    private final LineReader lines;
    private final OutputStream out;
    private final Reply greeting;
    private String heloName = "localhost";
    private Set<String> extensions = Set.of();
    private Map<String, String> extensionArgs = Map.of();

    private SmtpClient(Connection conn) throws IOException {
        this.conn = conn;
        this.lines = LineReader.of(conn, 8192);
        this.out = conn.output();
        this.greeting = read();
        if (greeting.code() != 220) {
            conn.close();
            throw new SmtpException("greeting", greeting);
        }
    }

    /**
     * Connects to {@code host:port} and reads the greeting.
     *
     * @param timeout bounds the connect and each later read; zero means no limit
     * @throws SmtpException if the server's greeting is not 220 (the connection is then closed)
     * @throws IOException if the connection fails
     */
    public static SmtpClient connect(String hostPort, Duration timeout) throws IOException {
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("expected HOST:PORT, got '" + hostPort + "'");
        }
        Endpoint ep = Endpoint.parseClient("tcp:" + hostPort);
        ClientOptions.Builder o = ClientOptions.builder().name("smtp-client");
        if (!timeout.isZero()) {
            o.connectTimeout(timeout).readTimeout(timeout).writeTimeout(timeout);
        }
        return over(Client.connect(ep, o.build()));
    }

    /**
     * Runs a client session over an existing connection (from {@link Client}, or an in-memory one
     * in tests) and reads the greeting. The client owns the connection from then on.
     */
    public static SmtpClient over(Connection connection) throws IOException {
        Objects.requireNonNull(connection, "connection");
        try {
            return new SmtpClient(connection);
        } catch (IOException | RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    /** The server's 220 greeting. */
    public Reply greeting() {
        return greeting;
    }

    /**
     * Sends EHLO and records the extensions offered.
     *
     * @return the extension keywords, upper case ({@code STARTTLS}, {@code AUTH}, {@code SIZE}...)
     * @throws SmtpException if the server refuses EHLO
     */
    public Set<String> ehlo(String clientName) throws IOException {
        heloName = Objects.requireNonNull(clientName, "clientName");
        Reply r = command("EHLO " + clientName);
        if (r.code() != 250) {
            throw new SmtpException("EHLO", r);
        }
        Set<String> ext = new LinkedHashSet<>();
        Map<String, String> args = new LinkedHashMap<>();
        for (String l : r.lines().subList(1, r.lines().size())) {
            String[] kv = l.strip().split(" ", 2);
            String key = kv[0].toUpperCase(Locale.ROOT);
            ext.add(key);
            args.put(key, kv.length > 1 ? kv[1] : "");
        }
        extensions = Set.copyOf(ext);
        extensionArgs = Map.copyOf(args);
        return extensions;
    }

    /** Whether the last EHLO offered {@code keyword}. */
    public boolean supports(String keyword) {
        return extensions.contains(keyword.toUpperCase(Locale.ROOT));
    }

    /** Whether the connection is encrypted. */
    public boolean isSecure() {
        return conn.isSecure();
    }

    /**
     * Sends STARTTLS (RFC 3207), runs the handshake, and repeats EHLO as §4.2 requires.
     *
     * @throws SmtpException if the server refuses STARTTLS
     * @throws IOException if the handshake fails (the connection is then closed)
     */
    public void startTls(Tls tls) throws IOException {
        startTls(tls, null);
    }

    /**
     * Sends STARTTLS as {@link #startTls(Tls)} does, checking the server's certificate against
     * {@code serverName} (and sending it as SNI) rather than the name connected to: an MX host's
     * name when the connection went to one of its addresses (RFC 7672 §3.2.3, RFC 8461 §4.1).
     * With a verifying {@code tls} ({@link Tls#client()}, {@link Tls#client(java.nio.file.Path)}),
     * a certificate that is not valid for that name fails the handshake.
     *
     * @param serverName the name to verify; null for the name connected to
     * @throws SmtpException if the server refuses STARTTLS
     * @throws IOException if the handshake fails (the connection is then closed)
     */
    public void startTls(Tls tls, String serverName) throws IOException {
        Reply r = command("STARTTLS");
        if (r.code() != 220) {
            throw new SmtpException("STARTTLS", r);
        }
        if (serverName == null) {
            conn.startTls(tls);
        } else {
            conn.startTls(tls, serverName);
        }
        ehlo(heloName);
    }

    /**
     * A client TLS configuration for opportunistic STARTTLS between MTAs (RFC 7435): it encrypts
     * but accepts any certificate, since MX hosts are commonly self-signed and an unverified TLS
     * session is still better than plaintext. Do not use it where the peer must be verified.
     */
    public static Tls opportunisticTls() {
        return Tls.clientAcceptingAnyCertificate();
    }

    /**
     * Authenticates with AUTH PLAIN (or LOGIN if the server offers only that, RFC 4954).
     *
     * @throws SmtpException if the server refuses the credentials (535) or AUTH altogether
     */
    public void auth(String username, String password) throws IOException {
        String mechs = extensionArgs.getOrDefault("AUTH", "").toUpperCase(Locale.ROOT);
        Base64.Encoder b64 = Base64.getEncoder();
        Reply r;
        if (!mechs.contains("PLAIN") && mechs.contains("LOGIN")) {
            r = command("AUTH LOGIN");
            if (r.code() == 334) {
                r = command(b64.encodeToString(username.getBytes(StandardCharsets.UTF_8)), "AUTH LOGIN username");
            }
            if (r.code() == 334) {
                r = command(b64.encodeToString(password.getBytes(StandardCharsets.UTF_8)), "AUTH LOGIN password");
            }
        } else {
            String plain = "\0" + username + "\0" + password;
            r = command("AUTH PLAIN " + b64.encodeToString(plain.getBytes(StandardCharsets.UTF_8)), "AUTH PLAIN");
        }
        if (r.code() != 235) {
            throw new SmtpException("AUTH", r);
        }
    }

    /**
     * Starts a transaction with MAIL FROM; adds BODY=8BITMIME and SMTPUTF8 when offered and
     * needed.
     *
     * @param from the reverse path without brackets; empty for a bounce
     * @throws SmtpException if the server refuses the sender
     */
    public void mail(String from, boolean eightBit) throws IOException {
        mail(from, eightBit, MailParameters.none());
    }

    /**
     * Starts a transaction as {@link #mail(String, boolean)} does, adding {@code parameters} the
     * server can take: {@code RET} and {@code ENVID} when it offers DSN (RFC 3461 §4.3, §4.4;
     * left out otherwise), {@code REQUIRETLS} when it offers that (RFC 8689 §4; a caller that must
     * not send without it checks {@link #supports} first).
     *
     * @throws SmtpException if the server refuses the sender
     */
    public void mail(String from, boolean eightBit, MailParameters parameters) throws IOException {
        StringBuilder cmd = new StringBuilder("MAIL FROM:<").append(from).append('>');
        for (String p : DsnSyntax.mailArguments(parameters, supports("DSN"), supports("REQUIRETLS"))) {
            cmd.append(' ').append(p);
        }
        if (eightBit && supports("8BITMIME")) {
            cmd.append(" BODY=8BITMIME");
        }
        if (!from.chars().allMatch(c -> c < 0x80) && supports("SMTPUTF8")) {
            cmd.append(" SMTPUTF8");
        }
        Reply r = command(cmd.toString());
        if (r.code() != 250) {
            throw new SmtpException("MAIL FROM", r);
        }
    }

    /**
     * Adds a recipient; returns the reply whatever it is, so the caller can go on with the
     * others.
     */
    public Reply rcpt(String to) throws IOException {
        return command("RCPT TO:<" + to + ">");
    }

    /**
     * Adds a recipient with its {@code NOTIFY} and {@code ORCPT} when the server offers DSN
     * (RFC 3461 §4.1, §4.2; left out otherwise); returns the reply whatever it is.
     */
    public Reply rcpt(String to, RcptParameters parameters) throws IOException {
        if (!supports("DSN")) {
            return rcpt(to);
        }
        StringBuilder cmd = new StringBuilder("RCPT TO:<").append(to).append('>');
        for (String p : DsnSyntax.rcptArguments(parameters)) {
            cmd.append(' ').append(p);
        }
        return command(cmd.toString());
    }

    /**
     * Sends the message with DATA: bare LFs and bare CRs become CRLF, lines starting with a dot get another
     * (RFC 5321 §4.5.2), and the end marker follows.
     *
     * @throws SmtpException if the server refuses DATA or the message
     */
    public void data(byte[] message) throws IOException {
        Reply r = command("DATA");
        if (r.code() != 354) {
            throw new SmtpException("DATA", r);
        }
        writeStuffed(message);
        out.write(".\r\n".getBytes(StandardCharsets.US_ASCII));
        conn.flush();
        r = read();
        if (r.code() != 250) {
            throw new SmtpException("end of DATA", r);
        }
    }

    /**
     * Sends one message: MAIL, RCPT for each recipient, DATA.
     *
     * @return the recipients the server refused, with its replies; empty if all were accepted
     * @throws SmtpException if MAIL or DATA is refused, or every recipient is (the transaction is
     *     then reset)
     */
    public Map<String, Reply> send(String from, List<String> recipients, byte[] message) throws IOException {
        Map<String, RcptParameters> plain = new LinkedHashMap<>();
        recipients.forEach(r -> plain.put(r, RcptParameters.none()));
        return send(from, MailParameters.none(), plain, message);
    }

    /**
     * Sends one message as {@link #send(String, List, byte[])} does, with the MAIL parameters and
     * each recipient's (in the map's order) that the server can take: see
     * {@link #mail(String, boolean, MailParameters)} and {@link #rcpt(String, RcptParameters)}.
     *
     * @return the recipients the server refused, with its replies; empty if all were accepted
     * @throws SmtpException if MAIL or DATA is refused, or every recipient is
     */
    public Map<String, Reply> send(String from, MailParameters parameters, Map<String, RcptParameters> recipients,
            byte[] message) throws IOException {
        if (recipients.isEmpty()) {
            throw new IllegalArgumentException("no recipients");
        }
        mail(from, has8Bit(message), parameters);
        Map<String, Reply> refused = new LinkedHashMap<>();
        Reply last = null;
        for (Map.Entry<String, RcptParameters> rcpt : recipients.entrySet()) {
            String to = rcpt.getKey();
            Reply r = rcpt(to, rcpt.getValue());
            if (r.code() != 250 && r.code() != 251) {
                refused.put(to, r);
                last = r;
            }
        }
        if (refused.size() == recipients.size()) {
            rset();
            throw new SmtpException("RCPT TO", last);
        }
        data(message);
        return refused;
    }

    /**
     * Sends a MIME message to its To, Cc and Bcc recipients from its first From address; the Bcc
     * header is not sent.
     *
     * @throws MessagingException if the message cannot be written or has no sender or recipients
     */
    public Map<String, Reply> send(MimeMessage message) throws IOException, MessagingException {
        Address[] fromAddrs = message.getFrom();
        Address[] to = message.getAllRecipients();
        if (fromAddrs == null || fromAddrs.length == 0 || to == null || to.length == 0) {
            throw new MessagingException("the message needs a From and at least one recipient");
        }
        List<String> rcpts = new ArrayList<>();
        for (Address a : to) {
            rcpts.add(((InternetAddress) a).getAddress());
        }
        message.saveChanges();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        message.writeTo(bytes, new String[] {"Bcc"});
        return send(((InternetAddress) fromAddrs[0]).getAddress(), rcpts, bytes.toByteArray());
    }

    /** Sends RSET; ignores a refusal. */
    public void rset() throws IOException {
        command("RSET");
    }

    /** Sends NOOP and returns the reply. */
    public Reply noop() throws IOException {
        return command("NOOP");
    }

    /** Sends QUIT, reads the reply if any, and closes the connection. */
    public void quit() throws IOException {
        try {
            command("QUIT");
        } finally {
            conn.close();
        }
    }

    /** Closes the connection without QUIT. */
    @Override
    public void close() {
        conn.close();
    }

    /**
     * Sends one command line and reads the reply.
     *
     * @throws IOException if the connection fails or the reply is malformed
     */
    public Reply command(String line) throws IOException {
        return command(line, line);
    }

    private Reply command(String line, String forErrors) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        conn.flush();
        try {
            return read();
        } catch (IOException e) {
            throw new IOException(forErrors + ": " + e.getMessage(), e);
        }
    }

    private Reply read() throws IOException {
        List<String> text = new ArrayList<>();
        int code = -1;
        for (int n = 0; n < 1000; n++) {
            String l = lines.readLine();
            if (l == null) {
                throw new IOException("the SMTP server closed the connection");
            }
            if (l.length() < 3 || !Character.isDigit(l.charAt(0)) || !Character.isDigit(l.charAt(1)) || !Character.isDigit(l.charAt(2))
                    || l.length() > 3 && l.charAt(3) != ' ' && l.charAt(3) != '-') {
                throw new IOException("malformed SMTP reply: " + l);
            }
            int c = Integer.parseInt(l.substring(0, 3));
            if (code >= 0 && c != code) {
                throw new IOException("SMTP reply changed code mid-reply: " + l);
            }
            code = c;
            text.add(l.length() > 4 ? l.substring(4) : "");
            if (l.length() == 3 || l.charAt(3) == ' ') {
                if (code < 200 || code > 599) {
                    throw new IOException("SMTP reply code out of range: " + l);
                }
                return new Reply(code, text);
            }
        }
        throw new IOException("SMTP reply longer than 1000 lines");
    }

    /**
     * Writes {@code m} as DATA text: every line end, whether CRLF, a bare LF or a bare CR, goes out
     * as CRLF (RFC 5321 §2.3.8: a bare CR or LF must never be sent, or the next hop and the one
     * after it may disagree on where the message ends, which is SMTP smuggling), a line starting
     * with a dot gets another (§4.5.2), and the last line is ended if it was not.
     */
    private void writeStuffed(byte[] m) throws IOException {
        int start = 0;
        int n = m.length;
        boolean lineStart = true;
        for (int i = 0; i < n; i++) {
            byte b = m[i];
            if (lineStart && b == '.') {
                out.write(m, start, i - start);
                out.write('.');
                start = i;
            }
            if (b == '\r') {
                if (i + 1 < n && m[i + 1] == '\n') {
                    i++; // CRLF: written as it is
                } else {
                    out.write(m, start, i - start);
                    out.write('\r');
                    out.write('\n');
                    start = i + 1;
                }
                lineStart = true;
            } else if (b == '\n') {
                out.write(m, start, i - start);
                out.write('\r');
                start = i; // the LF itself goes out with the next piece
                lineStart = true;
            } else {
                lineStart = false;
            }
        }
        out.write(m, start, n - start);
        if (n > 0 && !lineStart) {
            out.write('\r');
            out.write('\n');
        }
    }

    private static boolean has8Bit(byte[] m) {
        for (byte b : m) {
            if (b < 0) {
                return true;
            }
        }
        return false;
    }
}
