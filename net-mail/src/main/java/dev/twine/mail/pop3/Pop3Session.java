package dev.twine.mail.pop3;

import dev.twine.core.Connection;
import dev.twine.core.DrainingException;
import dev.twine.core.LineReader;
import dev.twine.core.LineTooLongException;
import dev.twine.core.auth.AuthenticationException;
import dev.twine.core.auth.LoginAttempts;
import dev.twine.core.auth.LoginRefusedException;
import dev.twine.core.auth.LoginResult;
import dev.twine.core.auth.Principal;
import dev.twine.core.auth.SaslExchange;
import dev.twine.core.auth.UsernamePassword;
import dev.twine.mail.store.MailStore;
import dev.twine.mail.store.Mailbox;
import dev.twine.mail.store.NoSuchMessageException;
import dev.twine.mail.store.StoredMessage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.TreeSet;

/** One POP3 connection: AUTHORIZATION, TRANSACTION and UPDATE states (RFC 1939 §3). */
final class Pop3Session {
    private static final System.Logger LOG = System.getLogger(Pop3Session.class.getName());
    private final Pop3Server.Config config;
    private final Connection conn;
    private final LineReader lines;
    private final OutputStream out;
    /** This connection's logins under the portal's policy: delays, disconnect, penalties. */
    private final LoginAttempts attempts;
    /** Set when the policy says this connection has no login attempts left: reply, then close. */
    private boolean hangUp;

    private String pendingUser;
    private Mailbox folder;
    private List<StoredMessage> messages;
    private final TreeSet<Integer> deleted = new TreeSet<>();

    Pop3Session(Pop3Server.Config config, Connection conn) {
        this.config = config;
        this.conn = conn;
        this.lines = LineReader.of(conn, 8192);
        this.out = conn.output();
        this.attempts = config.portal().policy().open(config.serviceName(), conn.remoteAddress());
    }

    void run() throws IOException, InterruptedException {
        try {
            reply("+OK Twine POP3 server ready");
            conn.flush();
            while (true) {
                String line;
                try {
                    line = lines.readLine();
                } catch (LineTooLongException e) {
                    reply("-ERR line too long");
                    conn.flush();
                    continue;
                }
                if (line == null) {
                    return; // a vanished client: nothing is deleted (RFC 1939 §6)
                }
                boolean goOn;
                try {
                    goOn = command(line);
                } catch (DrainingException | SocketTimeoutException | java.io.EOFException e) {
                    throw e;
                } catch (RuntimeException | StackOverflowError e) {
                    // a bug here must not end the session without an answer
                    internalError("[SYS/PERM]", e);
                    goOn = true;
                } catch (IOException e) {
                    if (conn.isClosed()) {
                        throw e;
                    }
                    // the store failed (a file that vanished, a full disk): its message may name
                    // files, so it goes to the log and the client gets an id (RFC 3206 SYS/TEMP)
                    internalError("[SYS/TEMP]", e);
                    goOn = true;
                }
                if (!goOn) {
                    conn.flush();
                    return;
                }
                conn.flush();
            }
        } catch (DrainingException e) {
            reply("-ERR [SYS/TEMP] server shutting down, nothing deleted");
            conn.flush();
        } catch (SocketTimeoutException e) {
            // RFC 1939 §3: an autologout timer ends the session without UPDATE
        } catch (java.io.EOFException e) {
            // the client vanished inside an exchange: nothing to answer, nothing deleted
        } finally {
            if (folder != null) {
                folder.unlockExclusive();
                folder = null;
            }
            conn.close();
        }
    }

    /** Logs a failure with the peer and a short id and answers the id only, never the exception text. */
    private void internalError(String code, Throwable e) throws IOException {
        String id = java.util.HexFormat.of().toHexDigits(java.util.concurrent.ThreadLocalRandom.current().nextInt());
        LOG.log(System.Logger.Level.WARNING, "POP3 " + conn.peer() + " failed [" + id + "]", e);
        reply("-ERR " + code + " Internal error occurred. Refer to server log for more information. [" + id + "]");
    }

    private void reply(String s) throws IOException {
        out.write((s + "\r\n").getBytes(StandardCharsets.UTF_8));
    }

    private boolean loginAllowed() {
        return conn.isSecure() || config.plainLoginAllowed();
    }

    /** Runs one command; false ends the session. */
    private boolean command(String line) throws IOException, InterruptedException {
        int sp = line.indexOf(' ');
        String verb = (sp < 0 ? line : line.substring(0, sp)).toUpperCase(Locale.ROOT);
        String arg = sp < 0 ? "" : line.substring(sp + 1);
        if (verb.equals("QUIT")) {
            return quit();
        }
        if (verb.equals("CAPA")) {
            capa();
            return true;
        }
        if (verb.equals("NOOP") && folder != null) {
            reply("+OK");
            return true;
        }
        if (folder == null) {
            authorization(verb, arg);
            // the policy's last allowed failure: the -ERR is sent, the connection ends (no UPDATE)
            return !hangUp;
        }
        transaction(verb, arg);
        return true;
    }

    private void capa() throws IOException {
        reply("+OK capability list follows");
        reply("TOP");
        reply("UIDL");
        reply("RESP-CODES");
        reply("AUTH-RESP-CODE");
        reply("PIPELINING");
        if (folder == null) {
            if (loginAllowed()) {
                reply("USER");
                reply("SASL " + String.join(" ", config.portal().saslMechanisms()));
            }
            if (config.tls() != null && !conn.isSecure()) {
                reply("STLS");
            }
        }
        reply("IMPLEMENTATION Twine");
        reply(".");
    }

    private void authorization(String verb, String arg) throws IOException, InterruptedException {
        switch (verb) {
            case "STLS" -> {
                if (config.tls() == null || conn.isSecure()) {
                    reply("-ERR STLS not available");
                    return;
                }
                reply("+OK begin TLS negotiation");
                // pipelined plaintext after STLS is discarded by startTls (RFC 2595 §4)
                conn.startTls(config.tls());
                pendingUser = null;
            }
            case "USER" -> {
                if (!loginAllowed()) {
                    reply("-ERR [AUTH] use STLS first");
                    return;
                }
                if (arg.isBlank()) {
                    reply("-ERR USER needs a name");
                    return;
                }
                pendingUser = arg.strip();
                reply("+OK send PASS");
            }
            case "PASS" -> {
                if (pendingUser == null) {
                    reply("-ERR USER first");
                    return;
                }
                String user = pendingUser;
                pendingUser = null;
                UsernamePassword credentials;
                try {
                    // RFC 1939 §7: the password may contain spaces
                    credentials = new UsernamePassword(user, arg);
                } catch (IllegalArgumentException e) {
                    failed(attempts.failed(user));
                    return;
                }
                // the policy answers before the password is looked at: while penalised, right or
                // wrong get the same temporary refusal
                answer(attempts.authenticate(config.portal(), credentials));
            }
            case "AUTH" -> auth(arg);
            default -> reply("-ERR unknown command or wrong state");
        }
    }

    /** A login the policy refused: RFC 3206's temporary failure, right password or not. */
    private void refused(LoginRefusedException e) throws IOException {
        reply("-ERR [SYS/TEMP] login temporarily refused, try again later");
        hangUp = !e.mayRetry();
    }

    /** A failed login, already counted and delayed by the policy: -ERR, and the end when no tries are left. */
    private void failed(boolean mayRetry) throws IOException {
        reply(mayRetry ? "-ERR [AUTH] authentication failed" : "-ERR [AUTH] authentication failed, closing connection");
        hangUp = !mayRetry;
    }

    /** Turns how a login went into POP3's replies (RFC 2449 and RFC 3206 response codes). */
    private void answer(LoginResult result) throws IOException, InterruptedException {
        switch (result) {
            case LoginResult.LoggedIn in -> open(in.principal());
            case LoginResult.Failed f -> failed(f.mayRetry());
            case LoginResult.Refused r -> refused(r.reason());
            case LoginResult.Abandoned a -> {
                // the profile has answered the cancel or the bad base64
            }
        }
    }

    /** AUTH (RFC 5034) through the core SASL driver. */
    private void auth(String arg) throws IOException, InterruptedException {
        if (arg.isBlank()) {
            // the pre-RFC 5034 listing some clients still send
            reply("+OK");
            for (String m : config.portal().saslMechanisms()) {
                reply(m);
            }
            reply(".");
            return;
        }
        if (!loginAllowed()) {
            reply("-ERR [AUTH] use STLS first");
            return;
        }
        String[] parts = arg.strip().split(" ");
        String mech = parts[0].toUpperCase(Locale.ROOT);
        if (!config.portal().saslMechanisms().contains(mech)) {
            reply("-ERR unsupported mechanism");
            return;
        }
        Optional<byte[]> initial = Optional.empty();
        if (parts.length > 1) {
            byte[] ir = parts[1].equals("=") ? new byte[0] : decode(parts[1]);
            if (ir == null) {
                reply("-ERR invalid base64");
                return;
            }
            initial = Optional.of(ir);
        }
        SaslExchange.Profile pop3 = challenge -> {
            // RFC 5034 §4: "+ " and the challenge, "*" cancels
            reply("+ " + Base64.getEncoder().encodeToString(challenge));
            conn.flush();
            String line = lines.readLine();
            if (line == null) {
                throw new java.io.EOFException();
            }
            if (line.strip().equals("*")) {
                reply("-ERR authentication cancelled");
                return Optional.empty();
            }
            byte[] response = decode(line);
            if (response == null) {
                reply("-ERR invalid base64");
            }
            return Optional.ofNullable(response);
        };
        answer(config.portal().sasl(mech).run(initial, pop3, attempts));
    }

    private static byte[] decode(String s) {
        try {
            return Base64.getDecoder().decode(s.strip());
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * The end of a successful login: the realm's account (a refusal is a failed login, counted by
     * the policy; a store that cannot be reached a temporary failure), its inbox locked
     * (RFC 1939 §8), then +OK.
     */
    private void open(Principal p) throws IOException, InterruptedException {
        MailStore.Account account;
        try {
            account = config.realm().avatar(p);
        } catch (AuthenticationException e) {
            failed(attempts.failed(p.name()));
            return;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "POP3 " + conn.peer() + ": no mail store for " + p.name(), e);
            reply("-ERR [SYS/TEMP] mail store unavailable, try again later");
            return;
        }
        Mailbox f = account.mailbox("INBOX").orElse(null);
        if (f == null) {
            reply("-ERR [SYS/TEMP] no inbox");
            return;
        }
        if (!f.tryLockExclusive()) {
            reply("-ERR [IN-USE] mailbox is locked by another POP3 session");
            return;
        }
        folder = f;
        try {
            messages = List.copyOf(f.messages());
        } catch (IOException e) {
            folder = null;
            f.unlockExclusive();
            throw e;
        }
        // out of the server's pre-auth counts and deadline; the autologout applies from here
        conn.markAuthenticated();
        reply("+OK " + messages.size() + " messages");
    }

    private void transaction(String verb, String arg) throws IOException {
        switch (verb) {
            case "STAT" -> {
                long total = 0;
                int count = 0;
                for (int i = 0; i < messages.size(); i++) {
                    if (!deleted.contains(i + 1)) {
                        total += size(messages.get(i));
                        count++;
                    }
                }
                reply("+OK " + count + " " + total);
            }
            case "LIST", "UIDL" -> {
                boolean uidl = verb.equals("UIDL");
                if (!arg.isBlank()) {
                    int n = number(arg);
                    if (n > 0) {
                        reply("+OK " + n + " " + (uidl ? uid(messages.get(n - 1)) : size(messages.get(n - 1))));
                    }
                    return;
                }
                reply("+OK listing follows");
                for (int i = 0; i < messages.size(); i++) {
                    if (!deleted.contains(i + 1)) {
                        StoredMessage m = messages.get(i);
                        reply((i + 1) + " " + (uidl ? uid(m) : size(m)));
                    }
                }
                reply(".");
            }
            case "RETR" -> {
                int n = number(arg);
                if (n > 0) {
                    send(n, -1);
                }
            }
            case "TOP" -> {
                String[] a = arg.strip().split("\\s+");
                if (a.length != 2) {
                    reply("-ERR TOP needs a message number and a line count");
                    return;
                }
                int n = number(a[0]);
                if (n <= 0) {
                    return;
                }
                int k;
                try {
                    k = Integer.parseInt(a[1]);
                } catch (NumberFormatException e) {
                    k = -1;
                }
                if (k < 0) {
                    reply("-ERR invalid line count");
                    return;
                }
                send(n, k);
            }
            case "DELE" -> {
                int n = number(arg);
                if (n > 0) {
                    deleted.add(n);
                    reply("+OK message " + n + " deleted");
                }
            }
            case "RSET" -> {
                deleted.clear();
                reply("+OK " + messages.size() + " messages");
            }
            default -> reply("-ERR unknown command or wrong state");
        }
    }

    /** A message number that exists and is not deleted, or 0 after answering -ERR. */
    private int number(String arg) throws IOException {
        int n;
        try {
            n = Integer.parseInt(arg.strip());
        } catch (NumberFormatException e) {
            reply("-ERR invalid message number");
            return 0;
        }
        if (n < 1 || n > messages.size()) {
            reply("-ERR no such message");
            return 0;
        }
        if (deleted.contains(n)) {
            reply("-ERR message " + n + " already deleted");
            return 0;
        }
        return n;
    }

    private long size(StoredMessage m) throws IOException {
        try {
            return folder.size(m.uid());
        } catch (NoSuchMessageException e) {
            return 0;
        }
    }

    /**
     * The UIDL value: the store's unique name for the message, printable ASCII and at most 70
     * characters (RFC 1939 §7), hashed when it is not.
     */
    static String uid(StoredMessage m) {
        String name = m.uniqueId();
        boolean ok = name.length() <= 70 && name.chars().allMatch(c -> c >= 0x21 && c <= 0x7e);
        if (ok) {
            return name;
        }
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 20);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** RETR ({@code bodyLines < 0}) or TOP, byte-stuffed and ended with "." (RFC 1939 §3). */
    private void send(int n, int bodyLines) throws IOException {
        byte[] data;
        try {
            data = folder.read(messages.get(n - 1).uid());
        } catch (NoSuchMessageException e) {
            reply("-ERR message " + n + " is gone");
            return;
        }
        reply("+OK " + (bodyLines < 0 ? data.length + " octets" : "top of message follows"));
        ByteArrayOutputStream buf = new ByteArrayOutputStream(data.length + 64);
        boolean inBody = false;
        int bodyCount = 0;
        int i = 0;
        while (i < data.length) {
            int lf = i;
            while (lf < data.length && data[lf] != '\n') {
                lf++;
            }
            int end = Math.min(lf + 1, data.length);
            boolean blank = end - i <= 2 && (data[i] == '\r' || data[i] == '\n');
            if (inBody && bodyLines >= 0 && bodyCount >= bodyLines) {
                break;
            }
            if (data[i] == '.') {
                buf.write('.');
            }
            buf.write(data, i, end - i);
            if (inBody) {
                bodyCount++;
            } else if (blank) {
                inBody = true;
            }
            i = end;
        }
        if (i > 0 && data[i - 1] != '\n') {
            buf.write('\r');
            buf.write('\n');
        }
        buf.write('.');
        buf.write('\r');
        buf.write('\n');
        buf.writeTo(out);
    }

    private boolean quit() throws IOException {
        if (folder == null) {
            reply("+OK bye");
            return false;
        }
        // the UPDATE state (RFC 1939 §6)
        List<Long> uids = deleted.stream().map(n -> messages.get(n - 1).uid()).toList();
        boolean removed;
        try {
            folder.expunge(uids);
            removed = true;
        } catch (IOException e) {
            removed = false;
        } finally {
            // released before the answer, as RFC 1939 §6 orders it: a client that reconnects as
            // soon as it reads +OK (poplib does) must not find the maildrop still locked
            folder.unlockExclusive();
            folder = null;
        }
        reply(removed ? "+OK bye, " + uids.size() + " messages deleted" : "-ERR [SYS/TEMP] some deleted messages not removed");
        return false;
    }
}
