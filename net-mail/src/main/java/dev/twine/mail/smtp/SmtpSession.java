package dev.twine.mail.smtp;

import dev.twine.core.Connection;
import dev.twine.core.DrainingException;
import dev.twine.core.Handle;
import dev.twine.core.LineReader;
import dev.twine.core.LineTooLongException;
import dev.twine.core.auth.LoginAttempts;
import dev.twine.core.auth.LoginResult;
import dev.twine.core.auth.Principal;
import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One server-side SMTP or LMTP conversation; lives on the connection's thread. The protocol's
 * rules are here; what happens to the mail is the {@link MailDelivery}'s, asked at MAIL, RCPT and
 * the end of DATA.
 */
final class SmtpSession {
    private static final System.Logger LOG = System.getLogger(SmtpSession.class.getName());
    /** One INFO line per accepted message, on a stable logger name operators can route. */
    private static final System.Logger ACCEPTED = System.getLogger("dev.twine.mail.delivery");

    /** RFC 5321 §4.5.3.1.4: 512 octets including CRLF. */
    private static final int MAX_COMMAND = 510;
    /** RFC 4954 §4: an AUTH command or response line may be up to 12288 octets. */
    private static final int MAX_AUTH_LINE = 12288;
    /** RFC 5321 §4.5.3.1.6: 1000 octets including CRLF. */
    private static final int MAX_TEXT_LINE = 998;
    /**
     * Room left in front of a message as it is received, for the trace fields put before it
     * (Received, and Date and Message-ID on submission), so the message handed to the delivery is
     * one array. Longer trace fields (a long HELO name or address) take a copy.
     */
    private static final int HEAD_ROOM = 1024;
    /**
     * The largest message array kept for the session's next message: reuse matters for small
     * messages, and an idle session should not pin a large one.
     */
    private static final int MAX_KEPT = 16 * 1024;

    // the replies of every mail transaction, encoded once
    private static final byte[] MAIL_OK = Reply.of(250, "2.1.0 Ok").toWire().getBytes(StandardCharsets.US_ASCII);
    private static final byte[] RCPT_OK = Reply.of(250, "2.1.5 Ok").toWire().getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SEND_DATA =
            Reply.of(354, "End data with <CR><LF>.<CR><LF>").toWire().getBytes(StandardCharsets.US_ASCII);
    private static final byte[] QUEUED = Reply.of(250, "2.0.0 Ok: queued").toWire().getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CRLF = {'\r', '\n'};
    private static final Reply TRY_LATER = Reply.of(451, "4.3.0 Local error in processing; try again later");

    /**
     * Message ids for the Received field and the log. They start from the clock (4096 per
     * millisecond), so they stay unique across restarts too; cheaper than a random UUID, which
     * takes the SecureRandom lock and reads /dev/urandom.
     */
    private static final AtomicLong NEXT_ID = new AtomicLong(System.currentTimeMillis() << 12);

    private final SmtpServer cfg;
    private final boolean lmtp;
    private final Connection conn;
    private final SmtpInput input;
    /** The array the last message was received in, reused for the next one. */
    private byte[] message;
    private final OutputStream out;

    private String helo;
    /** The start of the Received field, {@code Received: from HELO (PEER)}, made once per HELO. */
    private String receivedFrom;
    private boolean extended;
    private Principal principal;
    /** This connection's logins under the portal's policy, once it has tried one. */
    private LoginAttempts attempts;
    private int errors;
    /** Commands since the last delivered message that moved no mail forward (NOOP, RSET...). */
    private int junk;
    private boolean closing;

    // the mail transaction (RFC 5321 §3.3)
    private String from;
    private boolean smtputf8;
    /** The transaction's DSN and REQUIRETLS parameters (RFC 3461 §4, RFC 8689 §4). */
    private MailParameters mailParameters;
    private Transaction<?> rcpts;
    /** The message of the transaction's BDAT chunks so far (RFC 3030), or null. */
    private Body chunks;
    /** Whether the last command was a BDAT that failed: pipelined chunks behind it are discarded. */
    private boolean chunkFailed;

    SmtpSession(SmtpServer cfg, Connection conn) {
        this.cfg = cfg;
        this.lmtp = cfg.role == SmtpServer.Role.LMTP;
        this.conn = conn;
        this.input = new SmtpInput(conn, cfg.idleTimeout);
        this.out = conn.output();
    }

    void run() throws IOException {
        conn.readTimeout(cfg.idleTimeout);
        try {
            if (!cfg.connectionRate.admit(conn.remoteAddress(), conn.clock().instant())) {
                LOG.log(System.Logger.Level.INFO, "connection rate: service={0} address={1} refused: over {2} a minute",
                        cfg.name(), peerAddress(), cfg.connectionRate.perMinute());
                reply(421, "4.7.0 " + cfg.domain + " Error: too many connections from " + peerAddress());
                flush();
                return;
            }
            if (!greet(cfg.domain + (lmtp ? " LMTP Twine" : " ESMTP Twine"))) {
                return;
            }
            while (!closing) {
                try {
                    int n = input.readLine(MAX_AUTH_LINE);
                    if (n < 0) {
                        return;
                    }
                    command(input.buffer(), input.lineStart(), n);
                } catch (LineTooLongException e) {
                    error(500, "5.5.2 Line too long");
                }
                if (errors >= cfg.maxErrors && !closing) {
                    reply(421, "4.7.0 " + cfg.domain + " Too many errors, closing connection");
                    closing = true;
                }
                // RFC 2920 §3.2: replies to pipelined commands go out together, once no more
                // commands are waiting
                if (closing || input.available() == 0) {
                    flush();
                }
            }
        } catch (DrainingException e) {
            farewell("4.3.2 " + cfg.domain + " Service shutting down, closing connection");
        } catch (SocketTimeoutException e) {
            farewell("4.4.2 " + cfg.domain + " Idle timeout, closing connection");
        } catch (EOFException e) {
            // the client vanished inside a line: nothing it sent last is acted on
        } finally {
            conn.close();
        }
    }

    /**
     * Sends the greeting, with the pre-greeting test when the server has a greet delay: the first
     * line of a multiline 220 at once, the last one after the delay (RFC 5321 §4.2.1: a client
     * waits for a reply's last line), as Postfix's postscreen sends its {@code 220-} teaser, unless
     * the client's address passed within a day. A client that sends anything in between is
     * refused; no core read can wait for input without
     * consuming the connection's input on a timeout, so the last line is sent by a child of the
     * connection's scope while this thread waits for the client's first bytes.
     *
     * @return false if the session is over: the client talked first (and was told so) or left
     */
    private boolean greet(String greeting) throws IOException {
        if (!cfg.greetDelay.isPositive() || cfg.greetPasses.hasPassed(conn.remoteAddress(), conn.clock().instant())) {
            reply(220, greeting);
            flush();
            return true;
        }
        out.write(("220-" + greeting + "\r\n").getBytes(StandardCharsets.UTF_8));
        flush();
        java.time.Instant start = conn.clock().instant();
        LateGreeting last = new LateGreeting(greeting);
        Handle<Void> sender = conn.scope().fork("greeting", last::send);
        boolean arrived;
        boolean greeted;
        try {
            arrived = input.awaitInput();
        } finally {
            greeted = last.stop();
            sender.cancel();
        }
        if (!arrived) {
            return false;
        }
        if (!greeted) {
            LOG.log(System.Logger.Level.INFO, "pregreet: service={0} address={1} after={2}s bytes={3}", cfg.name(),
                    peerAddress(), Duration.between(start, conn.clock().instant()).toMillis() / 1000.0, input.available());
            reply(554, "5.5.1 Protocol error: talking before the greeting");
            flush();
            return false;
        }
        cfg.greetPasses.pass(conn.remoteAddress(), conn.clock().instant());
        return true;
    }

    /** The greeting's last line, sent after the greet delay unless {@link #stop()} came first. */
    private final class LateGreeting {
        private final String greeting;
        private final ReentrantLock lock = new ReentrantLock();
        private boolean stopped;
        private boolean sent;

        LateGreeting(String greeting) {
            this.greeting = greeting;
        }

        void send() throws InterruptedException {
            conn.pause(cfg.greetDelay);
            lock.lock();
            try {
                if (stopped) {
                    return;
                }
                sent = true;
                reply(220, greeting);
                flush();
            } catch (IOException e) {
                // the client is gone; the session's own read finds that out
            } finally {
                lock.unlock();
            }
        }

        /** No last line after this; whether it was sent (in whole) before. */
        boolean stop() {
            lock.lock();
            try {
                stopped = true;
                return sent;
            } finally {
                lock.unlock();
            }
        }
    }

    private void farewell(String text) {
        try {
            reply(421, text);
            flush();
        } catch (IOException ignored) {
            // the client is gone as well
        }
    }

    /** Runs the command line in {@code raw[off, off + n)}. */
    private void command(byte[] raw, int off, int n) throws IOException {
        boolean afterFailedChunk = chunkFailed;
        chunkFailed = false;
        if (input.lastTerminator() == LineReader.Terminator.LF) {
            // RFC 5321 §2.3.8: only CRLF ends a line; a bare LF is not a command terminator
            error(500, "5.5.2 Bare LF received; lines must end with CRLF");
            return;
        }
        boolean ascii = true;
        for (int i = off; i < off + n; i++) {
            ascii &= raw[i] >= 0;
            if (raw[i] == 0) {
                error(500, "5.5.2 NUL character in command");
                return;
            }
            if (raw[i] == '\r') {
                // RFC 5321 §2.3.8: a bare CR is not a line end either; refused rather than read as
                // two commands or one, so no peer can disagree with us about where a command ends
                error(500, "5.5.2 Bare CR received; lines must end with CRLF");
                return;
            }
        }
        if (!ascii && !isUtf8(raw, off, n)) {
            // RFC 6531 §3.3: a command's non-ASCII text is UTF-8 (RFC 3629). Bytes that are not
            // would be read as U+FFFD and so stored or compared as some other address; refused
            // whole, with Postfix's reply for the same case
            error(500, "5.5.2 Error: bad UTF-8 syntax");
            return;
        }
        String line = new String(raw, off, n, StandardCharsets.UTF_8);
        int sp = line.indexOf(' ');
        String verb = (sp < 0 ? line : line.substring(0, sp)).toUpperCase(Locale.ROOT);
        String arg = sp < 0 ? "" : line.substring(sp + 1).strip();
        if (n > MAX_COMMAND && !verb.equals("AUTH")) {
            error(500, "5.5.2 Line too long");
            return;
        }
        if (isJunk(verb) && ++junk > cfg.maxJunkCommands) {
            // Postfix's smtpd_junk_command_limit: a session that only keeps itself alive ends
            reply(421, "4.7.0 " + cfg.domain + " Error: too many commands without mail, closing connection");
            closing = true;
            return;
        }
        if (lmtp ? verb.equals("EHLO") || verb.equals("HELO") : verb.equals("LHLO")) {
            // RFC 2033 §4.1: LMTP greets with LHLO only, and SMTP knows no LHLO
            error(500, lmtp ? "5.5.1 This is LMTP: send LHLO" : "5.5.2 Command unrecognized");
            return;
        }
        switch (verb) {
            case "EHLO", "LHLO" -> hello(arg, true);
            case "HELO" -> hello(arg, false);
            case "MAIL" -> mail(arg);
            case "RCPT" -> rcpt(arg);
            case "DATA" -> data(arg);
            case "BDAT" -> bdat(arg, afterFailedChunk);
            case "RSET" -> {
                if (!arg.isEmpty()) {
                    error(501, "5.5.4 Syntax: RSET");
                    return;
                }
                resetTransaction();
                reply(250, "2.0.0 Ok");
            }
            case "NOOP" -> reply(250, "2.0.0 Ok");
            case "QUIT" -> {
                reply(221, "2.0.0 " + cfg.domain + " Bye");
                closing = true;
            }
            // RFC 5321 §3.5.3: 252 when verification is turned off
            case "VRFY" -> reply(252, "2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
            case "EXPN" -> error(502, "5.5.1 EXPN not supported");
            case "HELP" -> reply(214, "2.0.0 See RFC 5321");
            case "STARTTLS" -> startTls(arg);
            case "AUTH" -> auth(arg);
            default -> error(500, "5.5.2 Command unrecognized");
        }
    }

    private static boolean isJunk(String verb) {
        return switch (verb) {
            case "NOOP", "RSET", "VRFY", "EXPN", "HELP", "HELO", "EHLO", "LHLO" -> true;
            default -> false;
        };
    }

    private void hello(String arg, boolean ehlo) throws IOException {
        if (arg.isEmpty() || arg.indexOf(' ') >= 0 && !ehlo) {
            error(501, "5.5.4 Syntax: " + (lmtp ? "LHLO" : ehlo ? "EHLO" : "HELO") + " hostname");
            return;
        }
        String name = arg.split(" ", 2)[0];
        if (!canBeDomain(name)) {
            // RFC 5321 §4.1.1.1: the argument is a Domain or an address-literal (§4.1.2, §4.1.3;
            // RFC 6531 §3.3 adds U-labels). A control character or DEL (bytes that are not UTF-8
            // were refused with the command) is in neither, so the command is refused as bad syntax (sendmail's 501 5.5.2) and
            // the name is not echoed back or put into a Received field.
            error(501, "5.5.2 Invalid domain name");
            return;
        }
        // RFC 5321 §4.1.4: EHLO/HELO resets the transaction
        resetTransaction();
        helo = name;
        StringBuilder from = new StringBuilder(64).append("Received: from ");
        sanitize(from, helo);
        from.append(" (");
        sanitize(from, conn.peer());
        receivedFrom = from.append(')').toString();
        extended = ehlo;
        if (!ehlo) {
            reply(250, cfg.domain);
            return;
        }
        List<String> lines = new ArrayList<>();
        // RFC 5321 §4.2: reply text is ASCII, so a U-label name is not echoed
        lines.add(isAscii(helo) ? cfg.domain + " greets " + helo : cfg.domain);
        lines.add("PIPELINING");
        lines.add("SIZE " + cfg.maxMessageSize);
        lines.add("8BITMIME");
        lines.add("CHUNKING");
        lines.add("ENHANCEDSTATUSCODES");
        lines.add("SMTPUTF8");
        lines.add("DSN");
        if (conn.isSecure()) {
            lines.add("REQUIRETLS"); // RFC 8689 §4: offered on a TLS session only
        }
        if (cfg.tls != null && !conn.isSecure()) {
            lines.add("STARTTLS");
        }
        if (authOffered()) {
            lines.add("AUTH " + String.join(" ", mechanisms()));
        }
        writeReply(new Reply(250, lines));
    }

    private boolean authOffered() {
        return cfg.portal != null && principal == null && (conn.isSecure() || cfg.allowPlainAuth);
    }

    private void mail(String arg) throws IOException {
        if (helo == null) {
            error(503, "5.5.1 Send EHLO or HELO first");
            return;
        }
        if (from != null) {
            error(503, "5.5.1 Nested MAIL command");
            return;
        }
        if (cfg.role == SmtpServer.Role.SUBMISSION && principal == null) {
            // RFC 6409 §4.3, RFC 3207 §4
            if (cfg.tls != null && !conn.isSecure() && !cfg.allowPlainAuth) {
                error(530, "5.7.0 Must issue a STARTTLS command first");
            } else {
                error(530, "5.7.0 Authentication required");
            }
            return;
        }
        if (!startsWithIgnoreCase(arg, "FROM:")) {
            error(501, "5.5.4 Syntax: MAIL FROM:<address>");
            return;
        }
        Path p;
        try {
            p = Path.parse(arg.substring(5), true);
        } catch (IllegalArgumentException e) {
            error(501, "5.1.7 Bad sender address syntax");
            return;
        }
        boolean utf8 = false;
        DsnSyntax.MailArgs dsn = new DsnSyntax.MailArgs();
        for (String param : p.params()) {
            String[] kv = param.split("=", 2);
            String key = kv[0].toUpperCase(Locale.ROOT);
            String value = kv.length > 1 ? kv[1] : null;
            switch (key) {
                case "SIZE" -> {
                    long size;
                    try {
                        size = Long.parseLong(value);
                    } catch (NumberFormatException | NullPointerException e) {
                        error(501, "5.5.4 Bad SIZE parameter");
                        return;
                    }
                    if (size > cfg.maxMessageSize) {
                        // RFC 1870 §6.1
                        error(552, "5.3.4 Message size exceeds fixed maximum message size");
                        return;
                    }
                }
                case "BODY" -> {
                    if (value == null || !(value.equalsIgnoreCase("7BIT") || value.equalsIgnoreCase("8BITMIME"))) {
                        error(501, "5.5.4 Bad BODY parameter");
                        return;
                    }
                }
                case "SMTPUTF8" -> utf8 = true;
                case "AUTH" -> {
                    // RFC 4954 §5: accepted; the submitter's identity is not forwarded
                }
                case "RET", "ENVID", "REQUIRETLS" -> {
                    if (!mailParameter(dsn, key, value)) {
                        return;
                    }
                }
                default -> {
                    error(555, "5.5.4 Unsupported MAIL parameter " + key);
                    return;
                }
            }
        }
        if (!utf8 && !isAscii(p.address())) {
            error(553, "5.6.7 Non-ASCII address requires SMTPUTF8");
            return;
        }
        // RFC 6409 §6.1: an authenticated submitter sends only as an address of their own. The
        // null sender is let through, as Postfix's reject_sender_login_mismatch does: a bounce
        // claims no one's address.
        if (principal != null && !cfg.anySender && !p.address().isEmpty()) {
            Reply notOwned = Reply.of(553, "5.7.1 <" + p.address() + ">: Sender address rejected: not owned by user "
                    + principal.name());
            Optional<Reply> refused = ask(() -> requireOwned(p.address(), notOwned));
            if (refused.isPresent()) {
                refuse(refused.get());
                return;
            }
        }
        Optional<Reply> refused = ask(() -> cfg.delivery.sender(session(), p.address()));
        if (refused.isPresent()) {
            refuse(refused.get());
            return;
        }
        Reply limited = cfg.sendingLimits.takeMessage(principal != null ? principal.name() : null, conn.remoteAddress());
        if (limited != null) {
            writeReply(limited);
            return;
        }
        from = p.address();
        smtputf8 = utf8;
        mailParameters = dsn.build();
        rcpts = transaction(cfg.delivery);
        // a client that starts a mail transaction is a real one: it leaves the pre-authentication
        // limits (on submission, AUTH has already done this)
        conn.markAuthenticated();
        out.write(MAIL_OK);
    }

    private void rcpt(String arg) throws IOException {
        if (from == null) {
            error(503, "5.5.1 Need MAIL before RCPT");
            return;
        }
        if (chunks != null) {
            // RFC 3030 §2: the chunks are the message; its envelope is complete by then
            error(503, "5.5.1 RCPT after BDAT; send RSET");
            return;
        }
        if (!startsWithIgnoreCase(arg, "TO:")) {
            error(501, "5.5.4 Syntax: RCPT TO:<address>");
            return;
        }
        Path p;
        try {
            p = Path.parse(arg.substring(3), false);
        } catch (IllegalArgumentException e) {
            error(501, "5.1.3 Bad recipient address syntax");
            return;
        }
        RcptParameters dsn;
        try {
            dsn = DsnSyntax.rcpt(p.params());
        } catch (SmtpException e) {
            error(e.reply().code(), e.reply().lines().get(0));
            return;
        }
        if (!smtputf8 && !isAscii(p.address())) {
            error(553, "5.6.7 Non-ASCII address requires SMTPUTF8");
            return;
        }
        if (rcpts.size() >= cfg.maxRecipients) {
            // RFC 5321 §4.5.3.1.10
            reply(452, "4.5.3 Too many recipients");
            junk++;
            return;
        }
        String address = p.address();
        int at = address.lastIndexOf('@');
        if (at < 0) {
            // <postmaster>, RFC 5321 §4.1.1.3: the server's own
            address = address + "@" + cfg.domain;
        } else if (principal == null && !cfg.domains.contains(address.substring(at + 1).toLowerCase(Locale.ROOT))) {
            // never an open relay: other domains only for authenticated clients, whatever the delivery
            error(550, "5.7.1 <" + address + ">: Relay access denied");
            return;
        }
        Reply limited = cfg.sendingLimits.takeRecipient(principal != null ? principal.name() : null, conn.remoteAddress());
        if (limited != null) {
            // RFC 5321 §4.5.3.1.10: the client keeps what it has and sends the rest later
            writeReply(limited);
            junk++;
            return;
        }
        String rcpt = address;
        Optional<Reply> refused = ask(() -> rcpts.add(session(), from, rcpt, dsn));
        if (refused.isPresent()) {
            refuse(refused.get());
            return;
        }
        out.write(RCPT_OK);
    }

    /**
     * Takes a DSN parameter (RFC 3461 §4.3, §4.4) or REQUIRETLS (RFC 8689 §4.1, only over TLS, as
     * only there it is offered) into {@code dsn}.
     *
     * @return false if it was refused (the reply is written)
     */
    private boolean mailParameter(DsnSyntax.MailArgs dsn, String key, String value) throws IOException {
        if (key.equals("REQUIRETLS") && !conn.isSecure()) {
            error(530, "5.7.0 Must issue a STARTTLS command first");
            return false;
        }
        try {
            dsn.add(key, value);
            return true;
        } catch (SmtpException e) {
            error(e.reply().code(), e.reply().lines().get(0));
            return false;
        }
    }

    /**
     * Refuses with {@code refusal} unless the authenticated user may send as {@code address}: the
     * one place sender ownership is asked (for MAIL FROM and for From:), of the server's
     * {@link SenderLogins}.
     */
    private void requireOwned(String address, Reply refusal) throws IOException, InterruptedException {
        if (!cfg.senders.owns(principal, address)) {
            throw new SmtpException(refusal);
        }
    }

    /** What the delivery is told about this session. */
    private MailDelivery.Session session() {
        return new MailDelivery.Session(conn.remoteAddress(), helo, Optional.ofNullable(principal), conn.tlsSession());
    }

    /** A call into the delivery. */
    private interface Call {
        void run() throws IOException, InterruptedException;
    }

    /**
     * Runs {@code call}; empty if it returned, else the reply its failure gets. Interrupted, the
     * session ends with 421.
     */
    private Optional<Reply> ask(Call call) {
        try {
            call.run();
            return Optional.empty();
        } catch (IOException | InterruptedException | RuntimeException e) {
            return Optional.of(failure(e));
        }
    }

    /** The reply to a delivery's failure {@code e}: see {@link MailDelivery}'s error handling. */
    private Reply failure(Exception e) {
        if (e instanceof InterruptedException) {
            // the server is stopping this connection: nothing is accepted
            Thread.currentThread().interrupt();
            closing = true;
            return Reply.of(421, "4.3.2 " + cfg.domain + " Service shutting down, closing connection");
        }
        if (e instanceof IOException io) {
            if (!(io instanceof SmtpException) && !(io instanceof PartialDeliveryException)) {
                LOG.log(System.Logger.Level.WARNING, "SMTP " + conn.peer() + ": delivery failed: " + e);
            }
            return failureReply(io);
        }
        LOG.log(System.Logger.Level.WARNING, "SMTP " + conn.peer() + ": delivery failed", e);
        return TRY_LATER;
    }

    /** The reply a delivery's I/O failure gets: its own for a refusal, else 451 4.3.0. */
    static Reply failureReply(IOException e) {
        if (e instanceof SmtpException s) {
            return s.reply();
        }
        if (e instanceof PartialDeliveryException p) {
            return p.reply();
        }
        return TRY_LATER;
    }

    /** Sends a delivery's refusal; a permanent one counts as the client's error. */
    private void refuse(Reply r) throws IOException {
        if (r.isPermanent()) {
            countError();
        }
        writeReply(r);
    }

    private <T> Transaction<T> transaction(MailDelivery<T> delivery) {
        return new Transaction<>(delivery);
    }

    /** The accepted recipients of a transaction with their destinations, typed as the delivery's. */
    private static final class Transaction<T> {
        private final MailDelivery<T> delivery;
        private final List<MailDelivery.Recipient<T>> recipients = new ArrayList<>();

        Transaction(MailDelivery<T> delivery) {
            this.delivery = delivery;
        }

        int size() {
            return recipients.size();
        }

        void add(MailDelivery.Session session, String from, String address, RcptParameters dsn)
                throws IOException, InterruptedException {
            T destination = delivery.recipient(session, from, address);
            recipients.add(new MailDelivery.Recipient<>(address, Objects.requireNonNull(destination, "destination"), dsn));
        }

        void deliver(MailDelivery.Session session, String id, String from, MailParameters parameters, byte[] buf, int off,
                int len) throws IOException, InterruptedException {
            delivery.deliver(new MailDelivery.Envelope<>(session, id, from, recipients, parameters),
                    new ByteArrayInputStream(buf, off, len));
        }

        List<String> addresses() {
            return recipients.stream().map(MailDelivery.Recipient::address).toList();
        }
    }

    private void data(String arg) throws IOException {
        if (!arg.isEmpty()) {
            error(501, "5.5.4 Syntax: DATA");
            return;
        }
        if (from == null) {
            error(503, "5.5.1 Need MAIL command");
            return;
        }
        if (chunks != null) {
            // RFC 3030 §2: DATA and BDAT do not mix in one transaction
            error(503, "5.5.1 DATA after BDAT; send RSET");
            return;
        }
        if (rcpts.size() == 0) {
            // RFC 5321 §3.3
            error(554, "5.5.1 No valid recipients");
            return;
        }
        out.write(SEND_DATA);
        flush();
        // besides the idle timeout for each line (RFC 5321 §4.5.3.2.5's timeout per data block),
        // the whole text must keep up a minimum rate, or lines sent just often enough to beat that
        // timeout would keep the transaction open for ever
        input.beginText(cfg.minDataRate);
        // dot-unstuffed straight into the array that is stored, after room for the trace fields
        Body body = new Body();
        boolean afterCrlf = true;
        input.expectText();
        try {
            while (true) {
                int n;
                try {
                    n = input.readLine(MAX_TEXT_LINE);
                } catch (LineTooLongException e) {
                    // the reader skips the rest of that line (through its LF); the message is
                    // refused in any case, so a dot line after it may end the data
                    body.tooLong = true;
                    afterCrlf = true;
                    continue;
                }
                if (n < 0) {
                    throw new EOFException("connection closed inside DATA");
                }
                byte[] line = input.buffer();
                int start = input.lineStart();
                boolean crlf = input.lastTerminator() == LineReader.Terminator.CRLF;
                // RFC 5321 §4.1.1.4: only <CRLF>.<CRLF> ends the data; a dot line next to a bare
                // LF or CR does not. And RFC 5321 §2.3.8: a bare CR or LF is no line end, so a
                // message holding one is refused whole (550 5.5.2, as Postfix's
                // smtpd_forbid_bare_newline does) rather than normalised: a normalised copy could
                // still be read differently by whoever sees the original bytes, while a refusal
                // leaves no message for a later hop to split into two (SMTP smuggling). The data is
                // read to the real end marker first, so what followed the look-alike is never
                // taken as commands.
                if (afterCrlf && crlf && n == 1 && line[start] == '.') {
                    break;
                }
                afterCrlf = crlf;
                if (!crlf) {
                    body.bareLf = true;
                }
                if (n > 0 && line[start] == '.') {
                    // RFC 5321 §4.5.2
                    start++;
                    n--;
                }
                body.size += n + 2;
                if (body.size > cfg.maxMessageSize) {
                    body.tooBig = true;
                }
                if (body.refused()) {
                    continue; // keep reading to the end, store nothing
                }
                for (int i = start; i < start + n; i++) {
                    byte b = line[i];
                    if (b == 0) {
                        body.nul = true;
                        break;
                    }
                    if (b == '\r') {
                        // a CR not followed by LF (the line's own CRLF is already taken off)
                        body.bareCr = true;
                        break;
                    }
                }
                if (!body.refused()) {
                    body.append(line, start, n);
                    body.append(CRLF, 0, 2);
                }
            }
        } finally {
            input.endText();
            keep(body);
        }
        try {
            endOfMessage(body);
        } finally {
            resetTransaction();
        }
    }

    /**
     * The message a DATA or the BDATs of a transaction brought, as stored: in {@code buf} from
     * {@link #HEAD_ROOM} to {@code len}; and what is wrong with it, if anything.
     */
    private final class Body {
        byte[] buf;
        int len = HEAD_ROOM;
        /** The message's size as the limit counts it (after dot-unstuffing). */
        long size;
        boolean tooBig;
        boolean tooLong;
        boolean bareLf;
        boolean bareCr;
        boolean nul;
        /** BDAT, across chunks: the length of the line so far, and whether a CR ended the last chunk. */
        int lineLength;
        boolean cr;

        Body() {
            buf = message != null ? message : new byte[HEAD_ROOM + 4096];
            message = null;
        }

        void append(byte[] b, int off, int n) {
            if (len + n > buf.length) {
                // size is checked against the limit before, so this stays below it
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + n));
            }
            System.arraycopy(b, off, buf, len, n);
            len += n;
        }

        /**
         * Adds a BDAT chunk: not dot-stuffed (RFC 3030 §2), so it is stored as it came, but under
         * DATA's rules: the size limit, lines of at most 998 octets, and no bare CR, bare LF or NUL,
         * which a chunk boundary neither hides nor makes (a CR ending one chunk and the LF
         * beginning the next are one line end).
         */
        void addChunk(byte[] b, int off, int n) {
            size += n;
            if (size > cfg.maxMessageSize) {
                tooBig = true;
            }
            if (refused()) {
                return;
            }
            for (int i = off; i < off + n; i++) {
                byte c = b[i];
                if (cr) {
                    cr = false;
                    if (c == '\n') {
                        lineLength = 0;
                        continue;
                    }
                    bareCr = true;
                    return;
                }
                if (c == '\r') {
                    cr = true;
                } else if (c == '\n') {
                    bareLf = true;
                    return;
                } else if (c == 0) {
                    nul = true;
                    return;
                } else if (++lineLength > MAX_TEXT_LINE) {
                    tooLong = true;
                    return;
                }
            }
            append(b, off, n);
        }

        /** After the last chunk: a CR left over is a bare one; a last line without CRLF gets one. */
        void endChunks() {
            if (cr) {
                bareCr = true;
            } else if (lineLength > 0 && !refused()) {
                append(CRLF, 0, 2);
            }
        }

        boolean refused() {
            return tooBig || tooLong || bareLf || bareCr || nul;
        }

        /** Why the message is refused whole, or null if it is not (yet). */
        Reply refusal() {
            if (tooBig) {
                return Reply.of(552, "5.3.4 Message size exceeds fixed maximum message size");
            } else if (tooLong) {
                return Reply.of(500, "5.5.2 Line too long (the limit is 998 octets, RFC 5321 section 4.5.3.1.6)");
            } else if (bareLf) {
                return Reply.of(550, "5.5.2 Bare LF in message; lines must end with CRLF");
            } else if (bareCr) {
                return Reply.of(550, "5.5.2 Bare CR in message; lines must end with CRLF");
            } else if (nul) {
                return Reply.of(554, "5.6.0 NUL character in message");
            }
            return null;
        }
    }

    /** Keeps a small message array for the session's next message. */
    private void keep(Body body) {
        if (body.buf.length <= MAX_KEPT) {
            message = body.buf;
        }
    }

    /** The end of a message's text: refuses it, or hands it to the delivery. */
    private void endOfMessage(Body body) throws IOException {
        Reply refusal = body.refusal();
        if (refusal != null) {
            refuseMessage(refusal);
        } else if (principal != null && !cfg.anySender && refusedFrom(body.buf, body.len)) {
            // RFC 6409 §6.1 lets a submission server refuse a message its submitter may not
            // send; 550 is the policy refusal RFC 5321 §4.3.2 lists for the end of DATA
            return;
        } else {
            deliver(body.buf, body.len);
            junk = 0;
        }
    }

    /**
     * {@code BDAT size [LAST]} (RFC 3030): a chunk of exactly {@code size} octets follows the
     * command line. Whatever the reply, the chunk is read first (§2: a failed chunk consumes its
     * bytes, so the stream stays in step); after a failed chunk the transaction is over, and the
     * chunks a pipelining client had already sent behind it are read and refused, as §2 asks,
     * without counting as further errors.
     */
    private void bdat(String arg, boolean afterFailedChunk) throws IOException {
        String[] parts = arg.split(" ");
        if (parts.length > 2 || !parts[0].matches("[0-9]{1,18}") || parts.length == 2 && !parts[1].equalsIgnoreCase("LAST")) {
            // the size is unknown, so is where the chunk ends: what follows is read as commands
            error(501, "5.5.4 Syntax: BDAT chunk-size [LAST]");
            return;
        }
        long size = Long.parseLong(parts[0]);
        boolean last = parts.length == 2;
        Reply refused = null;
        if (afterFailedChunk) {
            refused = Reply.of(503, "5.5.1 Error: an earlier BDAT failed; send RSET");
        } else if (from == null) {
            refused = Reply.of(503, "5.5.1 Need MAIL command");
        } else if (rcpts.size() == 0) {
            refused = Reply.of(554, "5.5.1 No valid recipients");
        }
        if (refused == null && chunks == null) {
            chunks = new Body();
        }
        input.expectText();
        input.beginText(cfg.minDataRate);
        try {
            for (long left = size; left > 0; ) {
                int n = input.readBytes(left);
                if (n < 0) {
                    throw new EOFException("connection closed inside a BDAT chunk");
                }
                if (refused == null) {
                    chunks.addChunk(input.buffer(), input.lineStart(), n);
                }
                left -= n;
            }
        } finally {
            input.endText();
        }
        if (refused != null) {
            chunkFailed = true;
            if (afterFailedChunk) {
                junk++; // not an error of its own, but no mail moves forward either
                writeReply(refused);
            } else {
                error(refused.code(), refused.lines().get(0));
            }
            return;
        }
        if (last) {
            chunks.endChunks();
        }
        Reply refusal = chunks.refusal();
        if (!last && refusal != null) {
            // RFC 3030 §2: the transaction has failed; the client sends no more chunks for it
            countError();
            writeReply(refusal);
            resetTransaction();
            chunkFailed = true;
        } else if (!last) {
            reply(250, "2.0.0 " + size + " octets received");
        } else {
            try {
                endOfMessage(chunks);
            } finally {
                resetTransaction();
            }
        }
    }

    /**
     * Refuses the message as a whole: one reply, or in LMTP the same reply for each recipient
     * (RFC 2033 §4.2: after the final dot there is one reply per accepted RCPT).
     */
    private void refuseMessage(int code, String text) throws IOException {
        refuseMessage(Reply.of(code, text));
    }

    /** {@link #refuseMessage(int, String)}; a temporary refusal is not counted as an error. */
    private void refuseMessage(Reply r) throws IOException {
        if (r.isPermanent()) {
            countError();
        }
        for (int i = lmtp ? rcpts.size() : 1; i > 0; i--) {
            writeReply(r);
        }
    }

    /**
     * Refuses the message in {@code buf[HEAD_ROOM, len)} unless every address in every From:
     * field is one the authenticated user may send as; a From: that cannot be parsed is not.
     *
     * @return whether it was refused (the reply is written)
     */
    private boolean refusedFrom(byte[] buf, int len) throws IOException {
        Reply notOwned = Reply.of(550, "5.7.1 From: address not owned by user " + principal.name());
        List<String> addresses = new ArrayList<>();
        try {
            for (String value : Headers.scan(buf, HEAD_ROOM, len).values("from")) {
                for (InternetAddress a : InternetAddress.parseHeader(value, true)) {
                    for (InternetAddress m : a.isGroup() ? a.getGroup(true) : new InternetAddress[] {a}) {
                        if (m.getAddress() == null) {
                            throw new AddressException("no address");
                        }
                        addresses.add(m.getAddress());
                    }
                }
            }
        } catch (AddressException e) {
            refuseMessage(notOwned);
            return true;
        }
        for (String address : addresses) {
            Optional<Reply> refused = ask(() -> requireOwned(address, notOwned));
            if (refused.isPresent()) {
                refuseMessage(refused.get());
                return true;
            }
        }
        return false;
    }

    /**
     * Hands the message in {@code buf[HEAD_ROOM, len)}, behind its trace fields, to the delivery,
     * then answers: 250 only once it has returned.
     */
    private void deliver(byte[] buf, int len) throws IOException {
        String id = Long.toHexString(NEXT_ID.incrementAndGet()).toUpperCase(Locale.ROOT);
        StringBuilder trace = new StringBuilder(256);
        received(trace, id);
        if (cfg.role == SmtpServer.Role.SUBMISSION) {
            // RFC 6409 §8.2 and §8.3: complete a message that lacks them
            Headers h = Headers.scan(buf, HEAD_ROOM, len);
            if (!h.has("date")) {
                trace.append("Date: ").append(Rfc5322.now()).append("\r\n");
            }
            if (!h.has("message-id")) {
                trace.append("Message-ID: <").append(UUID.randomUUID()).append('@').append(cfg.domain).append(">\r\n");
            }
        }
        byte[] traced = trace.toString().getBytes(StandardCharsets.UTF_8);
        int start = HEAD_ROOM - traced.length;
        if (start < 0) {
            byte[] bigger = new byte[traced.length + len - HEAD_ROOM];
            System.arraycopy(buf, HEAD_ROOM, bigger, traced.length, len - HEAD_ROOM);
            len = bigger.length;
            buf = bigger;
            start = 0;
        }
        System.arraycopy(traced, 0, buf, start, traced.length);
        MailDelivery.Session session = session();
        try {
            rcpts.deliver(session, id, from, mailParameters, buf, start, len - start);
        } catch (PartialDeliveryException e) {
            // RFC 2033 §4.2: LMTP tells each recipient its own outcome; SMTP has one reply
            if (lmtp) {
                for (String address : rcpts.addresses()) {
                    Reply r = e.failures().get(address);
                    writeReply(r != null ? r : delivered(address));
                }
            } else {
                writeReply(e.reply());
            }
            return;
        } catch (IOException | InterruptedException | RuntimeException e) {
            Reply failed = failure(e);
            for (int i = lmtp && !closing ? rcpts.size() : 1; i > 0; i--) {
                writeReply(failed);
            }
            return;
        }
        junk = 0;
        // one line per accepted message, as Postfix's cleanup/qmgr lines give an operator; made
        // here rather than from a {0} pattern, whose MessageFormat (and a DecimalFormat for each
        // number, which also wrote the size as 2,048) cost more than the rest of the line's trip
        if (ACCEPTED.isLoggable(System.Logger.Level.INFO)) {
            ACCEPTED.log(System.Logger.Level.INFO, "accepted: service=" + cfg.name() + " id=" + id + " address="
                    + peerAddress() + " from=<" + from + "> recipients=" + rcpts.size() + " size=" + (len - start)
                    + (principal != null ? " user=" + principal.name() : ""));
        }
        if (lmtp) {
            for (String address : rcpts.addresses()) {
                writeReply(delivered(address));
            }
        } else {
            out.write(QUEUED);
        }
    }

    /** The client's address without the port, as the login lines print it. */
    private String peerAddress() {
        return conn.remoteAddress() instanceof java.net.InetSocketAddress a && a.getAddress() != null
                ? a.getAddress().getHostAddress() : String.valueOf(conn.remoteAddress());
    }

    private static Reply delivered(String address) {
        return Reply.of(250, "2.0.0 <" + address + "> Ok: delivered");
    }

    /** Appends the Received field (RFC 5321 §4.4 trace information). */
    private void received(StringBuilder sb, String id) {
        sb.append(receivedFrom);
        if (principal != null) {
            // as Postfix records it; the protocol keyword below says so too (RFC 3848)
            sb.append("\r\n\t(Authenticated sender: ");
            sanitize(sb, principal.name());
            sb.append(')');
        }
        sb.append("\r\n\tby ").append(cfg.domain).append(" (Twine) with ").append(lmtp ? "LMTP" : extended ? "ESMTP" : "SMTP");
        if (extended) {
            // RFC 3848 §2
            if (conn.isSecure()) {
                sb.append('S');
            }
            if (principal != null) {
                sb.append('A');
            }
        }
        sb.append(" id ").append(id);
        List<String> addresses = rcpts.addresses().stream().distinct().toList();
        if (addresses.size() == 1) {
            sb.append("\r\n\tfor <").append(addresses.get(0)).append('>');
        }
        sb.append(";\r\n\t").append(Rfc5322.now()).append("\r\n");
    }

    private void startTls(String arg) throws IOException {
        if (cfg.tls == null) {
            error(502, "5.5.1 STARTTLS not available");
            return;
        }
        if (conn.isSecure()) {
            error(503, "5.5.1 TLS already active");
            return;
        }
        if (!arg.isEmpty()) {
            error(501, "5.5.4 Syntax: STARTTLS");
            return;
        }
        reply(220, "2.0.0 Ready to start TLS");
        flush();
        // Connection.startTls discards anything the client sent after STARTTLS in plaintext, and
        // so do we: RFC 3207 §4.2 forbids acting on it (the command injection attack)
        input.discard();
        conn.startTls(cfg.tls);
        // RFC 3207 §4.2: forget everything learnt from the client before TLS
        helo = null;
        extended = false;
        principal = null;
        resetTransaction();
    }

    private void auth(String arg) throws IOException {
        if (cfg.portal == null) {
            error(502, "5.5.1 AUTH not available");
            return;
        }
        if (helo == null || !extended) {
            error(503, "5.5.1 Send EHLO first");
            return;
        }
        if (principal != null) {
            error(503, "5.5.1 Already authenticated");
            return;
        }
        if (from != null) {
            error(503, "5.5.1 AUTH not permitted during a mail transaction");
            return;
        }
        if (!conn.isSecure() && !cfg.allowPlainAuth) {
            // RFC 4954 §6
            error(538, "5.7.11 Encryption required for requested authentication mechanism");
            return;
        }
        String[] parts = arg.split(" ");
        String mech = parts[0].toUpperCase(Locale.ROOT);
        if (mech.isEmpty() || parts.length > 2) {
            error(501, "5.5.4 Syntax: AUTH mechanism [initial-response]");
            return;
        }
        if (!mechanisms().contains(mech)) {
            error(504, "5.5.4 Unrecognized authentication mechanism");
            return;
        }
        Optional<byte[]> initial = Optional.empty();
        if (parts.length > 1) {
            try {
                initial = Optional.of(decode(parts[1]));
            } catch (BadBase64 e) {
                error(501, "5.5.2 Cannot decode response");
                return;
            }
        }
        if (attempts == null) {
            attempts = cfg.portal.policy().open(cfg.name(), conn.remoteAddress());
        }
        LoginResult result;
        try {
            // RFC 4954 §4: the SASL profile is 334 challenges, base64 responses, "*" to cancel
            result = cfg.portal.sasl(mech).run(initial, this::challenge, attempts);
        } catch (InterruptedException e) {
            // cancelled during a failure's delay: the server is stopping this connection
            Thread.currentThread().interrupt();
            closing = true;
            return;
        }
        switch (result) {
            case LoginResult.LoggedIn in -> {
                principal = in.principal();
                conn.markAuthenticated();
                reply(235, "2.7.0 Authentication successful");
            }
            case LoginResult.Failed f -> loginFailed(f.mayRetry(), Reply.of(535, "5.7.8 Authentication credentials invalid"));
            // RFC 4954 §6: 454 is the temporary failure, whatever the credentials
            case LoginResult.Refused r -> loginFailed(r.mayRetry(), Reply.of(454, "4.7.0 Temporary authentication failure; try again later"));
            case LoginResult.Abandoned a -> {
                // challenge() has answered the cancel or the bad line
            }
        }
    }

    /** Answers a failed or refused login with {@code reply}, or closes if no retry is left. */
    private void loginFailed(boolean mayRetry, Reply reply) throws IOException {
        if (mayRetry) {
            writeReply(reply);
        } else {
            reply(421, "4.7.0 " + cfg.domain + " Too many failed authentications, closing connection");
            closing = true;
        }
    }

    /**
     * The SASL mechanisms offered: whatever the portal offers (SCRAM-SHA-256, PLAIN), and the
     * obsolete LOGIN beside PLAIN, which old SMTP clients still use.
     */
    private List<String> mechanisms() {
        List<String> offered = new ArrayList<>(cfg.portal.saslMechanisms());
        if (offered.contains("PLAIN")) {
            offered.add("LOGIN");
        }
        return offered;
    }

    /**
     * Sends a 334 challenge and reads the response; empty (after replying) if the client cancelled
     * or sent a line that is too long or not base64.
     */
    private Optional<byte[]> challenge(byte[] challenge) throws IOException {
        reply(334, Base64.getEncoder().encodeToString(challenge));
        flush();
        int n;
        try {
            n = input.readLine(MAX_AUTH_LINE);
        } catch (LineTooLongException e) {
            error(500, "5.5.6 Authentication exchange line is too long");
            return Optional.empty();
        }
        if (n < 0) {
            throw new EOFException("connection closed during AUTH");
        }
        String line = new String(input.buffer(), input.lineStart(), n, StandardCharsets.UTF_8);
        if (line.equals("*")) {
            // RFC 4954 §4
            error(501, "5.0.0 Authentication cancelled");
            return Optional.empty();
        }
        try {
            return Optional.of(decode(line));
        } catch (BadBase64 e) {
            error(501, "5.5.2 Cannot decode response");
            return Optional.empty();
        }
    }

    private static byte[] decode(String b64) throws BadBase64 {
        if (b64.equals("=")) {
            return new byte[0];
        }
        try {
            return Base64.getDecoder().decode(b64);
        } catch (IllegalArgumentException e) {
            throw new BadBase64();
        }
    }

    private static final class BadBase64 extends Exception {
        private static final long serialVersionUID = 1L;
    }

    private void resetTransaction() {
        from = null;
        smtputf8 = false;
        mailParameters = null;
        rcpts = null;
        if (chunks != null) {
            keep(chunks);
            chunks = null;
        }
    }

    private void error(int code, String text) throws IOException {
        countError();
        reply(code, text);
    }

    /**
     * Counts a refused command; past the tarpit threshold, waits the error delay before its reply
     * (Postfix's smtpd_error_sleep_time), the replies before it sent first. Not at the error that
     * closes the session: that one goes at once.
     */
    private void countError() throws IOException {
        errors++;
        if (cfg.errorDelay.isPositive() && errors > cfg.tarpitAfter && errors < cfg.maxErrors) {
            flush();
            try {
                conn.pause(cfg.errorDelay);
            } catch (InterruptedException e) {
                // cancelled: the server is stopping this connection
                Thread.currentThread().interrupt();
                closing = true;
            }
        }
    }

    private void reply(int code, String text) throws IOException {
        writeReply(Reply.of(code, text));
    }

    private void writeReply(Reply r) throws IOException {
        List<String> lines = r.lines();
        for (int i = 0; i < lines.size(); i++) {
            if (!isTextstring(lines.get(i))) {
                r = new Reply(r.code(), lines.stream().map(SmtpSession::toTextstring).toList());
                break;
            }
        }
        out.write(r.toWire().getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * Whether {@code text} may follow a reply code as it is: RFC 5321 §4.2 makes reply text a
     * {@code textstring}, HT and printable ASCII only.
     */
    private static boolean isTextstring(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != '\t' && (c < 0x20 || c >= 0x7f)) {
                return false;
            }
        }
        return true;
    }

    /**
     * {@code text} with everything {@link #isTextstring} refuses made '?': what a reply carries
     * from the client (a MAIL parameter, an address) or from a delivery's reply stays one line
     * of ASCII, and a CR or LF in it cannot end the reply early.
     */
    private static String toTextstring(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            sb.append(c != '\t' && (c < 0x20 || c >= 0x7f) ? '?' : c);
        }
        return sb.toString();
    }

    private void flush() throws IOException {
        conn.flush();
    }

    private static void sanitize(StringBuilder sb, String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append(c < 0x21 || c == 0x7f || c == '(' || c == ')' ? '_' : c);
        }
    }

    /**
     * Whether {@code name} holds only characters a Domain, an address-literal or a U-label can
     * hold: no control character, no DEL, and no U+FFFD (what the command decoder makes of bytes
     * that are not UTF-8). Looser than the grammar on purpose: many real clients send names with
     * '_' or without a dot, and RFC 5321 §4.1.4 lets a server check the name but not refuse mail
     * because the check failed.
     */
    private static boolean canBeDomain(String name) {
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c < 0x21 || c >= 0x7f && c <= 0x9f || c == '\ufffd') {
                return false;
            }
        }
        return true;
    }

    private static boolean isUtf8(byte[] raw, int off, int n) {
        try {
            StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(raw, off, n));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    private static boolean startsWithIgnoreCase(String s, String prefix) {
        return s.regionMatches(true, 0, prefix, 0, prefix.length());
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] r = new byte[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** A reverse- or forward-path with its ESMTP parameters (RFC 5321 §4.1.2). */
    record Path(String address, List<String> params) {
        static Path parse(String s, boolean reverse) {
            s = s.stripLeading(); // tolerate "MAIL FROM: <a@b>", which many clients send
            if (!s.startsWith("<")) {
                throw new IllegalArgumentException("no <");
            }
            int end = -1;
            boolean quoted = false;
            for (int i = 1; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '"') {
                    quoted = !quoted;
                } else if (c == '\\' && quoted) {
                    i++;
                } else if (c == '>' && !quoted) {
                    end = i;
                    break;
                }
            }
            if (end < 0) {
                throw new IllegalArgumentException("no >");
            }
            String addr = s.substring(1, end);
            String rest = s.substring(end + 1).strip();
            List<String> params = rest.isEmpty() ? List.of() : List.of(rest.split(" +"));
            if (addr.startsWith("@")) {
                // RFC 5321 §4.1.1.3: a source route is accepted and ignored
                int colon = addr.indexOf(':');
                if (colon < 0) {
                    throw new IllegalArgumentException("bad source route");
                }
                addr = addr.substring(colon + 1);
            }
            if (addr.isEmpty()) {
                if (!reverse) {
                    throw new IllegalArgumentException("empty forward path");
                }
                return new Path("", params);
            }
            for (int i = 0; i < addr.length(); i++) {
                char c = addr.charAt(i);
                if (c <= 0x20 || c == 0x7f) {
                    throw new IllegalArgumentException("bad character");
                }
            }
            int at = addr.lastIndexOf('@');
            if (at < 0) {
                // RFC 5321 §4.1.1.3: <Postmaster> without a domain is a valid recipient
                if (!reverse && addr.equalsIgnoreCase("postmaster")) {
                    return new Path("postmaster", params);
                }
                throw new IllegalArgumentException("no domain");
            }
            if (at == 0 || at == addr.length() - 1) {
                throw new IllegalArgumentException("empty local part or domain");
            }
            return new Path(addr, params);
        }
    }
}
