package dev.twine.mail.imap;

import dev.twine.core.Connection;
import dev.twine.core.DrainingException;
import dev.twine.core.Handle;
import dev.twine.core.LineReader;
import dev.twine.core.LineTooLongException;
import dev.twine.core.auth.AuthenticationException;
import dev.twine.core.auth.LoginAttempts;
import dev.twine.core.auth.LoginRefusedException;
import dev.twine.core.auth.Principal;
import dev.twine.core.auth.SaslExchange;
import dev.twine.core.auth.UsernamePassword;
import dev.twine.mail.imap.ImapParser.Atom;
import dev.twine.mail.imap.ImapParser.SyntaxException;
import dev.twine.mail.store.MailStore;
import dev.twine.mail.store.Mailbox;
import dev.twine.mail.store.NoSuchMessageException;
import dev.twine.mail.store.StoredMessage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantLock;

/** One IMAP connection: RFC 3501 states, commands and responses. */
final class ImapSession {
    private static final System.Logger LOG = System.getLogger(ImapSession.class.getName());
    private static final List<String> SPECIAL_USE = List.of("Sent", "Drafts", "Trash", "Junk");
    private static final DateTimeFormatter INTERNALDATE =
            DateTimeFormatter.ofPattern("dd-MMM-yyyy HH:mm:ss Z", Locale.ENGLISH);
    private static final DateTimeFormatter APPEND_DATE = new DateTimeFormatterBuilder()
            .parseCaseInsensitive().appendPattern("d-MMM-yyyy HH:mm:ss Z").toFormatter(Locale.ENGLISH);
    private static final DateTimeFormatter SEARCH_DATE = new DateTimeFormatterBuilder()
            .parseCaseInsensitive().appendPattern("d-MMM-yyyy").toFormatter(Locale.ENGLISH);

    private enum State { NOT_AUTHENTICATED, AUTHENTICATED, SELECTED, LOGOUT }

    /** An error answered with {@code tag BAD} (syntax) or {@code tag NO} (refused). */
    private static final class Reply extends Exception {
        final String kind;

        Reply(String kind, String message) {
            super(message, null, false, false);
            this.kind = kind;
        }
    }

    private static Reply bad(String m) {
        return new Reply("BAD", m);
    }

    private static Reply no(String m) {
        return new Reply("NO", m);
    }

    private final ImapServer.Config config;
    private final Connection conn;
    private final LineReader lines;
    private final OutputStream out;
    private final ReentrantLock outLock = new ReentrantLock();
    /** This connection's logins under the portal's policy: delays, disconnect, penalties. */
    private final LoginAttempts attempts;

    private State state = State.NOT_AUTHENTICATED;
    private MailStore.Account account;
    private Mailbox folder;
    private String folderName;
    private boolean readOnly;
    /** UIDs by sequence number - 1 (RFC 3501 §2.3.1.2). */
    private final List<Long> view = new ArrayList<>();
    private final Map<Long, StoredMessage> viewMessages = new HashMap<>();
    private final Set<Long> recent = new HashSet<>();

    ImapSession(ImapServer.Config config, Connection conn) {
        this.config = config;
        this.conn = conn;
        this.lines = LineReader.of(conn, config.maxLine());
        this.out = conn.output();
        this.attempts = config.portal().policy().open(config.serviceName(), conn.remoteAddress());
    }

    void run() throws IOException, InterruptedException {
        untagged("OK [CAPABILITY " + capabilities() + "] Twine IMAP4rev1 ready");
        conn.flush();
        try {
            while (state != State.LOGOUT) {
                byte[] command;
                try {
                    command = readCommand();
                } catch (LineTooLongException e) {
                    untagged("BAD command line too long");
                    conn.flush();
                    continue;
                } catch (LiteralTooLarge e) {
                    if (e.synchronizing) {
                        send(e.tag + " BAD literal too large\r\n");
                        conn.flush();
                        continue;
                    }
                    // RFC 7888 §4: a non-synchronizing literal that is too large may end the session
                    untagged("BYE literal too large");
                    conn.flush();
                    return;
                }
                if (command == null) {
                    return;
                }
                execute(command);
                conn.flush();
            }
        } catch (DrainingException e) {
            untagged("BYE server shutting down");
            conn.flush();
        } catch (SocketTimeoutException e) {
            // before login this is the server's pre-auth deadline, which any byte does not extend
            untagged(state == State.NOT_AUTHENTICATED ? "BYE timed out waiting for login"
                    : "BYE autologout; idle for too long");
            conn.flush();
        } catch (EOFException e) {
            // the client vanished mid-command: nothing to answer
        } finally {
            conn.close();
        }
    }

    // ---- reading commands (RFC 3501 §4.3, RFC 7888) ----

    private static final class LiteralTooLarge extends Exception {
        final String tag;
        final boolean synchronizing;

        LiteralTooLarge(String tag, boolean synchronizing) {
            super(null, null, false, false);
            this.tag = tag;
            this.synchronizing = synchronizing;
        }
    }

    /** The largest literal before login (LOGIN's user name and password), in bytes. */
    static final int PREAUTH_MAX_LITERAL = 8 * 1024;

    private byte[] readCommand() throws IOException, LiteralTooLarge {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        while (true) {
            byte[] line = lines.readLineBytes();
            if (line == null) {
                if (buf.size() > 0) {
                    throw new EOFException("connection closed inside a command");
                }
                return null;
            }
            buf.write(line);
            int n = line.length;
            if (n < 3 || line[n - 1] != '}') {
                return buf.toByteArray();
            }
            int open = n - 2;
            while (open >= 0 && line[open] != '{') {
                open--;
            }
            if (open < 0) {
                return buf.toByteArray();
            }
            boolean plus = line[n - 2] == '+';
            String digits = new String(line, open + 1, n - open - (plus ? 3 : 2), StandardCharsets.US_ASCII);
            if (digits.isEmpty() || digits.length() > 12 || !digits.chars().allMatch(Character::isDigit)) {
                return buf.toByteArray();
            }
            long size = Long.parseLong(digits);
            // before login only credentials come in literals: a few KiB, not the APPEND limit, so a
            // crowd of unauthenticated connections cannot hold the heap
            long maxLiteral = state == State.NOT_AUTHENTICATED ? PREAUTH_MAX_LITERAL : config.maxLiteral();
            if (size > maxLiteral || buf.size() + size > maxLiteral + (long) config.maxLine() * 4) {
                String all = buf.toString(StandardCharsets.UTF_8);
                int sp = all.indexOf(' ');
                throw new LiteralTooLarge(sp > 0 ? all.substring(0, sp) : "*", !plus);
            }
            buf.write('\r');
            buf.write('\n');
            if (!plus) {
                send("+ Ready for literal data\r\n");
                conn.flush();
            }
            byte[] data = conn.input().readNBytes((int) size);
            if (data.length < size) {
                throw new EOFException("connection closed inside a literal");
            }
            buf.write(data);
        }
    }

    // ---- dispatch ----

    private void execute(byte[] command) throws IOException, InterruptedException {
        String tag = "*";
        List<Object> tokens;
        try {
            tokens = ImapParser.tokens(command);
        } catch (SyntaxException e) {
            String s = new String(command, 0, Math.min(command.length, 64), StandardCharsets.UTF_8);
            int sp = s.indexOf(' ');
            tag = sp > 0 && validTag(s.substring(0, sp)) ? s.substring(0, sp) : "*";
            send(tag + " BAD " + e.getMessage() + "\r\n");
            return;
        }
        if (tokens.isEmpty() || !(tokens.get(0) instanceof Atom t) || !validTag(t.value())) {
            untagged("BAD missing or invalid tag");
            return;
        }
        tag = t.value();
        if (tokens.size() < 2 || !(tokens.get(1) instanceof Atom c)) {
            send(tag + " BAD missing command\r\n");
            return;
        }
        String name = c.value().toUpperCase(Locale.ROOT);
        List<Object> args = tokens.subList(2, tokens.size());
        try {
            dispatch(tag, name, args);
        } catch (Reply r) {
            send(tag + " " + r.kind + " " + r.getMessage() + "\r\n");
        } catch (NoSuchMessageException e) {
            send(tag + " NO [NONEXISTENT] " + "no such message or mailbox\r\n");
        } catch (NumberFormatException e) {
            send(tag + " BAD invalid number\r\n");
        } catch (IllegalArgumentException e) {
            // a name the store refused: its message may quote the name or a path, so it stays here
            LOG.log(System.Logger.Level.DEBUG, () -> "IMAP " + conn.peer() + ": " + name + " refused: " + e.getMessage());
            send(tag + " NO [CANNOT] the server cannot do that\r\n");
        } catch (RuntimeException | StackOverflowError e) {
            // a bug here must not end the session (nor the server); a StackOverflowError is caught
            // as a last resort (input nesting is bounded before it can happen): the stack is
            // unwound by the time it reaches here
            internalError(tag, name, e);
        } catch (DrainingException | SocketTimeoutException | EOFException e) {
            throw e;
        } catch (IOException e) {
            if (conn.isClosed()) {
                throw e;
            }
            internalError(tag, name, e);
        }
    }

    /**
     * Answers a failure the client cannot help: the exception (which may name files) goes to the
     * log with the peer and a short id, the client gets only the id, as Dovecot does.
     */
    private void internalError(String tag, String command, Throwable e) throws IOException {
        String id = errorId();
        LOG.log(System.Logger.Level.WARNING, "IMAP " + conn.peer() + ": " + command + " failed [" + id + "]", e);
        send(tag + " NO [SERVERBUG] Internal error occurred. Refer to server log for more information. [" + id
                + "]\r\n");
    }

    /** A short random id that ties a reply to its log line. */
    static String errorId() {
        return java.util.HexFormat.of().toHexDigits(java.util.concurrent.ThreadLocalRandom.current().nextInt());
    }

    private static boolean validTag(String t) {
        if (t.isEmpty() || t.equals("*")) {
            return false;
        }
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c == '+' || c == '%' || c == '*' || c == '"' || c == '\\' || c == ']' || c == '[' || c <= 0x20 || c >= 0x7f) {
                return false;
            }
        }
        return true;
    }

    private void dispatch(String tag, String name, List<Object> args) throws IOException, Reply, InterruptedException {
        switch (name) {
            case "CAPABILITY" -> {
                untagged("CAPABILITY " + capabilities());
                ok(tag, "CAPABILITY completed");
            }
            case "NOOP", "CHECK" -> {
                if (state == State.SELECTED) {
                    sync(true);
                }
                ok(tag, name + " completed");
            }
            case "LOGOUT" -> {
                untagged("BYE logging out");
                ok(tag, "LOGOUT completed");
                state = State.LOGOUT;
            }
            case "ID" -> {
                untagged("ID (\"name\" \"Twine\" \"vendor\" \"twine.dev\")");
                ok(tag, "ID completed");
            }
            case "STARTTLS" -> startTls(tag);
            case "LOGIN" -> login(tag, args);
            case "AUTHENTICATE" -> authenticate(tag, args);
            case "ENABLE" -> {
                authenticated();
                // no extension here changes behaviour when enabled (RFC 5161 §3.1)
                untagged("ENABLED");
                ok(tag, "ENABLE completed");
            }
            case "NAMESPACE" -> {
                authenticated();
                untagged("NAMESPACE ((\"\" \".\")) NIL NIL");
                ok(tag, "NAMESPACE completed");
            }
            case "SELECT", "EXAMINE" -> select(tag, args, name.equals("EXAMINE"));
            case "CREATE" -> create(tag, args);
            case "DELETE" -> delete(tag, args);
            case "RENAME" -> rename(tag, args);
            case "SUBSCRIBE", "UNSUBSCRIBE" -> {
                authenticated();
                String box = mailbox(arg(args, 0));
                account.subscribe(box, name.equals("SUBSCRIBE"));
                ok(tag, name + " completed");
            }
            case "LIST", "LSUB" -> list(tag, args, name.equals("LSUB"));
            case "STATUS" -> status(tag, args);
            case "APPEND" -> append(tag, args);
            case "IDLE" -> idle(tag);
            case "CLOSE", "UNSELECT" -> {
                selected();
                if (name.equals("CLOSE") && !readOnly) {
                    expungeDeleted(null, false);
                }
                unselect();
                ok(tag, name + " completed");
            }
            case "EXPUNGE" -> {
                selected();
                writable();
                expungeDeleted(null, true);
                ok(tag, "EXPUNGE completed");
            }
            case "SEARCH" -> search(tag, args, false);
            case "FETCH" -> fetch(tag, args, false);
            case "STORE" -> store(tag, args, false);
            case "COPY" -> copy(tag, args, false, false);
            case "MOVE" -> copy(tag, args, false, true);
            case "UID" -> {
                if (args.isEmpty() || !(args.get(0) instanceof Atom sub)) {
                    throw bad("UID needs a command");
                }
                List<Object> rest = args.subList(1, args.size());
                switch (sub.value().toUpperCase(Locale.ROOT)) {
                    case "FETCH" -> fetch(tag, rest, true);
                    case "SEARCH" -> search(tag, rest, true);
                    case "STORE" -> store(tag, rest, true);
                    case "COPY" -> copy(tag, rest, true, false);
                    case "MOVE" -> copy(tag, rest, true, true);
                    case "EXPUNGE" -> {
                        selected();
                        writable();
                        expungeDeleted(uidSet(atom(arg(rest, 0))), true);
                        ok(tag, "UID EXPUNGE completed");
                    }
                    default -> throw bad("unknown UID command");
                }
            }
            default -> throw bad("unknown command");
        }
    }

    // ---- state helpers ----

    private void authenticated() throws Reply {
        if (state == State.NOT_AUTHENTICATED) {
            throw bad("log in first");
        }
    }

    private void selected() throws Reply {
        if (state != State.SELECTED) {
            throw bad("select a mailbox first");
        }
    }

    private void writable() throws Reply {
        if (readOnly) {
            throw no("[READ-ONLY] mailbox is read-only");
        }
    }

    private boolean loginAllowed() {
        return conn.isSecure() || config.plainLoginAllowed();
    }

    private String capabilities() {
        StringBuilder sb = new StringBuilder("IMAP4rev1 LITERAL+ SASL-IR ID IDLE NAMESPACE UIDPLUS MOVE UNSELECT ENABLE"
                + " SPECIAL-USE CHILDREN");
        if (state == State.NOT_AUTHENTICATED) {
            if (config.tls() != null && !conn.isSecure()) {
                sb.append(" STARTTLS");
            }
            if (loginAllowed()) {
                for (String m : config.portal().saslMechanisms()) {
                    sb.append(" AUTH=").append(m);
                }
            } else {
                sb.append(" LOGINDISABLED");
            }
        }
        return sb.toString();
    }

    // ---- output ----

    private void send(String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
    }

    private void untagged(String s) throws IOException {
        send("* " + s + "\r\n");
    }

    private void ok(String tag, String text) throws IOException {
        send(tag + " OK " + text + "\r\n");
    }

    // ---- not authenticated ----

    private void startTls(String tag) throws IOException, Reply {
        if (config.tls() == null || conn.isSecure()) {
            throw bad("STARTTLS not available");
        }
        if (state != State.NOT_AUTHENTICATED) {
            throw bad("already authenticated");
        }
        ok(tag, "Begin TLS negotiation now");
        // Connection.startTls drops whatever the client pipelined in plaintext (RFC 3501 §6.2.1)
        conn.startTls(config.tls());
    }

    private void login(String tag, List<Object> args) throws IOException, Reply, InterruptedException {
        if (state != State.NOT_AUTHENTICATED) {
            throw bad("already authenticated");
        }
        if (!loginAllowed()) {
            throw no("[PRIVACYREQUIRED] LOGIN is disabled before STARTTLS");
        }
        String u = astring(arg(args, 0));
        String p = astring(arg(args, 1));
        Principal principal;
        try {
            // the policy answers before the password is looked at: while penalised, right or wrong
            // get the same temporary refusal
            attempts.admit(u);
            principal = config.portal().authenticate(new UsernamePassword(u, p));
        } catch (LoginRefusedException e) {
            refused(tag, e);
            return;
        } catch (AuthenticationException | IllegalArgumentException e) {
            failed(tag, u);
            return;
        }
        loggedIn(tag, u, principal);
    }

    /**
     * A login refused by the policy (RFC 5530 UNAVAILABLE: a temporary failure, the same whether
     * or not the credentials were right); closes the session if it has no attempts left.
     */
    private void refused(String tag, LoginRefusedException e) throws IOException {
        send(tag + " NO [UNAVAILABLE] login temporarily refused, try again later\r\n");
        if (!e.mayRetry()) {
            goodbye();
        }
    }

    /** A failed login: the policy's delay, then NO, and BYE when the connection has no tries left. */
    private void failed(String tag, String username) throws IOException, InterruptedException {
        boolean again = attempts.failed(username);
        send(tag + " NO [AUTHENTICATIONFAILED] authentication failed\r\n");
        if (!again) {
            goodbye();
        }
    }

    private void goodbye() throws IOException {
        untagged("BYE too many failed logins");
        state = State.LOGOUT;
    }

    private void authenticate(String tag, List<Object> args) throws IOException, Reply, InterruptedException {
        if (state != State.NOT_AUTHENTICATED) {
            throw bad("already authenticated");
        }
        if (!loginAllowed()) {
            throw no("[PRIVACYREQUIRED] AUTHENTICATE is disabled before STARTTLS");
        }
        String mech = atom(arg(args, 0)).toUpperCase(Locale.ROOT);
        if (!config.portal().saslMechanisms().contains(mech)) {
            throw no("unsupported mechanism");
        }
        try {
            attempts.admit(null);
        } catch (LoginRefusedException e) {
            refused(tag, e);
            return;
        }
        SaslExchange sasl = config.portal().sasl(mech);
        byte[] response = null;
        if (args.size() > 1) {
            // SASL-IR (RFC 4959): "=" is an empty initial response
            String ir = atom(args.get(1));
            response = ir.equals("=") ? new byte[0] : decode64(ir);
        }
        boolean prompted = false;
        Principal principal;
        try {
            while (true) {
                if (response == null) {
                    response = readSaslLine(!prompted);
                }
                byte[] challenge = sasl.evaluate(response);
                response = null;
                if (sasl.isComplete()) {
                    if (challenge.length > 0) {
                        // RFC 3501 §6.2.2: additional data goes in a last continuation
                        send("+ " + Base64.getEncoder().encodeToString(challenge) + "\r\n");
                        conn.flush();
                        readSaslLine(false);
                    }
                    principal = sasl.principal();
                    break;
                }
                send("+ " + Base64.getEncoder().encodeToString(challenge) + "\r\n");
                conn.flush();
                prompted = true;
            }
        } catch (AuthenticationException | IllegalStateException e) {
            String u = sasl.username().orElse(null);
            try {
                attempts.admit(u);
            } catch (LoginRefusedException r) {
                refused(tag, r);
                return;
            }
            failed(tag, u);
            return;
        }
        try {
            attempts.admit(sasl.username().orElse(principal.name()));
        } catch (LoginRefusedException e) {
            refused(tag, e);
            return;
        }
        loggedIn(tag, principal.name(), principal);
    }

    private byte[] readSaslLine(boolean prompt) throws IOException, Reply {
        if (prompt) {
            send("+ \r\n");
            conn.flush();
        }
        String line = lines.readLine();
        if (line == null) {
            throw new EOFException();
        }
        if (line.equals("*")) {
            throw bad("AUTHENTICATE cancelled");
        }
        return decode64(line);
    }

    private static byte[] decode64(String s) throws Reply {
        try {
            return Base64.getDecoder().decode(s.strip());
        } catch (IllegalArgumentException e) {
            throw bad("invalid base64");
        }
    }

    /**
     * The end of a successful login: the realm's account for the principal (a refusal is a failed
     * login, a store that cannot be reached a temporary one), the special-use folders (RFC 6154)
     * made on first login, then OK.
     */
    private void loggedIn(String tag, String username, Principal principal)
            throws IOException, Reply, InterruptedException {
        MailStore.Account a;
        try {
            a = config.realm().avatar(principal);
        } catch (AuthenticationException e) {
            failed(tag, username);
            return;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "IMAP " + conn.peer() + ": no mail store for " + principal.name(), e);
            send(tag + " NO [UNAVAILABLE] mail store unavailable, try again later\r\n");
            return;
        }
        attempts.succeeded(username);
        if (a.mailbox("INBOX").isEmpty()) {
            throw no("[UNAVAILABLE] no inbox");
        }
        for (String special : SPECIAL_USE) {
            if (a.create(special)) {
                a.subscribe(special, true);
            }
        }
        account = a;
        state = State.AUTHENTICATED;
        // out of the server's pre-auth counts and deadline; the autologout applies from here
        conn.markAuthenticated();
        ok(tag, "[CAPABILITY " + capabilities() + "] logged in");
    }

    // ---- mailboxes ----

    /**
     * The longest mailbox name, in UTF-8 bytes: a folder is one directory named {@code .Name}
     * (Maildir++ keeps every hierarchy level in that one name), and file systems allow 255 bytes.
     */
    static final int MAX_MAILBOX_NAME = 200;

    /**
     * A mailbox name from a command, checked before it reaches the store: too long is
     * {@code NO [LIMIT]}, names that no folder can have (control characters, {@code /} or
     * {@code \}, an empty hierarchy level such as {@code a..b} or a leading {@code .}) are
     * {@code NO [CANNOT]} (RFC 5530 §3). A trailing delimiter is dropped (RFC 3501 §6.3.3).
     */
    private String mailbox(Object arg) throws Reply {
        String name = astring(arg);
        while (name.endsWith(".")) {
            name = name.substring(0, name.length() - 1);
        }
        if (name.equalsIgnoreCase("INBOX")) {
            return "INBOX";
        }
        if (name.isEmpty()) {
            throw no("[CANNOT] empty mailbox name");
        }
        if (name.getBytes(StandardCharsets.UTF_8).length > MAX_MAILBOX_NAME) {
            throw no("[LIMIT] mailbox name longer than " + MAX_MAILBOX_NAME + " bytes");
        }
        for (int i = 0; i < name.length(); i++) {
            char ch = name.charAt(i);
            if (ch < 0x20 || ch == 0x7f || ch == '/' || ch == '\\') {
                throw no("[CANNOT] mailbox names cannot contain control characters, / or \\");
            }
        }
        if (name.startsWith(".") || name.contains("..")) {
            throw no("[CANNOT] empty hierarchy level in mailbox name");
        }
        return name;
    }

    /**
     * {@link #mailbox} for a name about to be created (CREATE, RENAME's target): also no LIST
     * wildcards, since a mailbox called {@code %} or {@code *} could never be listed by name
     * alone (RFC 3501 §5.1 advises against them; Dovecot refuses them).
     */
    private String newMailbox(Object arg) throws Reply {
        String name = mailbox(arg);
        if (name.indexOf('%') >= 0 || name.indexOf('*') >= 0) {
            throw no("[CANNOT] mailbox names cannot contain the LIST wildcards % or *");
        }
        return name;
    }

    private void select(String tag, List<Object> args, boolean examine) throws IOException, Reply {
        authenticated();
        String name = mailbox(arg(args, 0));
        unselect();
        folder = existing(name, "[NONEXISTENT]");
        folderName = name;
        readOnly = examine;
        state = State.SELECTED;
        if (!readOnly) {
            recent.addAll(folder.claimRecent());
        }
        List<StoredMessage> all = folder.messages();
        long firstUnseen = 0;
        for (StoredMessage m : all) {
            view.add(m.uid());
            viewMessages.put(m.uid(), m);
            if (readOnly && m.recent()) {
                recent.add(m.uid());
            }
            if (firstUnseen == 0 && !m.has(StoredMessage.SEEN)) {
                firstUnseen = view.size();
            }
        }
        StringBuilder keywords = new StringBuilder();
        for (String k : folder.keywords()) {
            keywords.append(' ').append(k);
        }
        untagged("FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + keywords + ")");
        untagged("OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + keywords
                + " \\*)] flags permanent");
        untagged(view.size() + " EXISTS");
        untagged(recent.size() + " RECENT");
        if (firstUnseen > 0) {
            untagged("OK [UNSEEN " + firstUnseen + "] first unseen");
        }
        untagged("OK [UIDVALIDITY " + folder.uidValidity() + "] UIDs valid");
        untagged("OK [UIDNEXT " + folder.uidNext() + "] predicted next UID");
        ok(tag, (readOnly ? "[READ-ONLY] " : "[READ-WRITE] ") + (examine ? "EXAMINE" : "SELECT") + " completed");
    }

    /** The mailbox called {@code name}, or {@code NO} with {@code code} if there is none. */
    private Mailbox existing(String name, String code) throws IOException, Reply {
        return account.mailbox(name).orElseThrow(() -> no(code + " no such mailbox"));
    }

    private void unselect() {
        if (state == State.SELECTED) {
            state = State.AUTHENTICATED;
        }
        folder = null;
        folderName = null;
        view.clear();
        viewMessages.clear();
        recent.clear();
    }

    private void create(String tag, List<Object> args) throws IOException, Reply {
        authenticated();
        String name = newMailbox(arg(args, 0));
        if (name.equals("INBOX") || !account.create(name)) {
            throw no("[ALREADYEXISTS] mailbox exists");
        }
        // RFC 3501 §6.3.3: create the superior names too, so LIST can show the hierarchy
        for (int dot = name.indexOf('.'); dot > 0; dot = name.indexOf('.', dot + 1)) {
            account.create(name.substring(0, dot));
        }
        ok(tag, "CREATE completed");
    }

    private void delete(String tag, List<Object> args) throws IOException, Reply {
        authenticated();
        String name = mailbox(arg(args, 0));
        if (name.equals("INBOX")) {
            throw no("the inbox cannot be deleted");
        }
        if (name.equals(folderName)) {
            unselect();
        }
        if (!account.delete(name)) {
            throw no("[NONEXISTENT] no such mailbox");
        }
        account.subscribe(name, false);
        ok(tag, "DELETE completed");
    }

    private void rename(String tag, List<Object> args) throws IOException, Reply {
        authenticated();
        String from = mailbox(arg(args, 0));
        String to = newMailbox(arg(args, 1));
        if (from.equals("INBOX") || to.equals("INBOX")) {
            throw no("renaming the inbox is not supported");
        }
        if (from.equals(folderName)) {
            unselect();
        }
        existing(from, "[NONEXISTENT]");
        if (!account.rename(from, to)) {
            throw no("[ALREADYEXISTS] target exists");
        }
        ok(tag, "RENAME completed");
    }

    private void list(String tag, List<Object> args, boolean lsub) throws IOException, Reply {
        authenticated();
        String ref = astring(arg(args, 0));
        String pattern = astring(arg(args, 1));
        String cmd = lsub ? "LSUB" : "LIST";
        if (pattern.isEmpty()) {
            // RFC 3501 §6.3.8: the hierarchy delimiter and root
            untagged(cmd + " (\\Noselect) \".\" \"\"");
            ok(tag, cmd + " completed");
            return;
        }
        String full = ref + pattern;
        List<String> all = account.mailboxes();
        List<String> names = lsub ? account.subscriptions() : all;
        for (String name : names) {
            if (!matches(full, name)) {
                continue;
            }
            List<String> attrs = new ArrayList<>();
            boolean children = all.stream().anyMatch(n -> n.startsWith(name + "."));
            attrs.add(children ? "\\HasChildren" : "\\HasNoChildren");
            if (SPECIAL_USE.contains(name)) {
                attrs.add("\\" + name);
            }
            if (lsub && !all.contains(name)) {
                attrs = List.of("\\Noselect");
            }
            ImapWriter w = new ImapWriter().raw("* " + cmd + " (" + String.join(" ", attrs) + ") \".\" ");
            w.string(name).raw("\r\n");
            out.write(w.toBytes());
        }
        ok(tag, cmd + " completed");
    }

    /** LIST wildcard matching: {@code *} matches anything, {@code %} anything but the delimiter. */
    static boolean matches(String pattern, String name) {
        if (pattern.regionMatches(true, 0, "INBOX", 0, 5) && name.equals("INBOX")) {
            pattern = "INBOX" + pattern.substring(5);
        }
        return matchFrom(pattern, 0, name, 0);
    }

    /**
     * Matches by dynamic programming over the name, one pattern character at a time: time
     * proportional to pattern length times name length and no recursion, so a pattern of
     * thousands of wildcards costs no more than its length (a backtracking matcher takes
     * exponential time and overflows the stack on it).
     */
    private static boolean matchFrom(String p, int i, String n, int j) {
        int len = n.length();
        // at[k]: the pattern so far matches the name's first k characters
        boolean[] at = new boolean[len + 1];
        at[j] = true;
        for (; i < p.length(); i++) {
            char c = p.charAt(i);
            // a run of wildcards is one wildcard (a * in it makes it a *)
            while ((c == '*' || c == '%') && i + 1 < p.length() && (p.charAt(i + 1) == '*' || p.charAt(i + 1) == '%')) {
                char d = p.charAt(++i);
                c = c == '*' || d == '*' ? '*' : '%';
            }
            boolean[] next = new boolean[len + 1];
            if (c == '*') {
                boolean any = false;
                for (int k = 0; k <= len; k++) {
                    any |= at[k];
                    next[k] = any;
                }
            } else if (c == '%') {
                // like *, but the run may not cross the hierarchy delimiter
                boolean any = false;
                for (int k = 0; k <= len; k++) {
                    if (k > 0 && n.charAt(k - 1) == '.') {
                        any = false;
                    }
                    any |= at[k];
                    next[k] = any;
                }
            } else {
                boolean alive = false;
                for (int k = 1; k <= len; k++) {
                    next[k] = at[k - 1] && n.charAt(k - 1) == c;
                    alive |= next[k];
                }
                if (!alive) {
                    // each literal consumes a character, so a long pattern dies within the name's length
                    return false;
                }
            }
            at = next;
        }
        return at[len];
    }

    private void status(String tag, List<Object> args) throws IOException, Reply {
        authenticated();
        String name = mailbox(arg(args, 0));
        List<Object> items = list(arg(args, 1));
        Mailbox f = existing(name, "[NONEXISTENT]");
        List<StoredMessage> all = f.messages();
        StringBuilder sb = new StringBuilder();
        for (Object o : items) {
            String item = atom(o).toUpperCase(Locale.ROOT);
            long v = switch (item) {
                case "MESSAGES" -> all.size();
                case "RECENT" -> all.stream().filter(StoredMessage::recent).count();
                case "UIDNEXT" -> f.uidNext();
                case "UIDVALIDITY" -> f.uidValidity();
                case "UNSEEN" -> all.stream().filter(m -> !m.has(StoredMessage.SEEN)).count();
                default -> throw bad("unknown STATUS item " + item);
            };
            sb.append(sb.isEmpty() ? "" : " ").append(item).append(' ').append(v);
        }
        ImapWriter w = new ImapWriter().raw("* STATUS ").string(name).raw(" (" + sb + ")\r\n");
        out.write(w.toBytes());
        ok(tag, "STATUS completed");
    }

    private void append(String tag, List<Object> args) throws IOException, Reply {
        authenticated();
        String name = mailbox(arg(args, 0));
        int i = 1;
        Set<String> flags = Set.of();
        Instant date = null;
        java.util.Optional<Mailbox> target = account.mailbox(name);
        if (i < args.size() && args.get(i) instanceof List<?> l) {
            if (target.isPresent()) {
                flags = storeFlags(l);
            }
            i++;
        }
        if (i < args.size() && args.get(i) instanceof String d) {
            try {
                date = ZonedDateTime.parse(d.strip(), APPEND_DATE).toInstant();
            } catch (DateTimeParseException e) {
                throw bad("invalid date-time");
            }
            i++;
        }
        if (i >= args.size() || !(args.get(i) instanceof byte[] message)) {
            throw bad("APPEND needs a literal message");
        }
        if (i + 1 != args.size()) {
            throw bad("unexpected arguments after the message");
        }
        if (target.isEmpty()) {
            throw no("[TRYCREATE] no such mailbox");
        }
        // Mailbox.append is durable when it returns: only then do we say OK (RFC 3501 §6.3.11)
        StoredMessage stored = target.get().append(new ByteArrayInputStream(message), flags, date);
        if (state == State.SELECTED) {
            sync(false);
        }
        ok(tag, "[APPENDUID " + target.get().uidValidity() + " " + stored.uid() + "] APPEND completed");
    }

    // ---- selected state: synchronisation ----

    /**
     * Tells the client what changed since it last looked: EXPUNGE for vanished messages (only
     * when {@code expunges}, RFC 3501 §7.4.1 forbids them during FETCH, STORE and SEARCH), FETCH
     * FLAGS for flags other sessions changed, EXISTS and RECENT for new mail (§7.3.1, §7.3.2).
     */
    private void sync(boolean expunges) throws IOException {
        if (!readOnly) {
            recent.addAll(folder.claimRecent());
        }
        List<StoredMessage> now = folder.messages();
        Map<Long, StoredMessage> byUid = new HashMap<>();
        for (StoredMessage m : now) {
            byUid.put(m.uid(), m);
        }
        if (expunges) {
            for (int i = view.size() - 1; i >= 0; i--) {
                long uid = view.get(i);
                if (!byUid.containsKey(uid)) {
                    view.remove(i);
                    viewMessages.remove(uid);
                    recent.remove(uid);
                    untagged((i + 1) + " EXPUNGE");
                }
            }
            for (int i = 0; i < view.size(); i++) {
                long uid = view.get(i);
                StoredMessage was = viewMessages.get(uid);
                StoredMessage is = byUid.get(uid);
                if (is != null && was != null && !was.flags().equals(is.flags())) {
                    viewMessages.put(uid, is);
                    untagged((i + 1) + " FETCH (FLAGS " + flagList(is) + ")");
                }
            }
        }
        long last = view.isEmpty() ? 0 : view.get(view.size() - 1);
        int added = 0;
        for (StoredMessage m : now) {
            if (m.uid() > last) {
                view.add(m.uid());
                viewMessages.put(m.uid(), m);
                if (readOnly && m.recent()) {
                    recent.add(m.uid());
                }
                added++;
            }
        }
        if (added > 0) {
            untagged(view.size() + " EXISTS");
            untagged(recent.size() + " RECENT");
        }
    }

    private void idle(String tag) throws IOException, Reply {
        authenticated();
        // watch first, then look: a delivery between the two is not missed
        Mailbox.Watch watch = state == State.SELECTED ? folder.watch() : null;
        if (watch != null) {
            sync(true);
        }
        send("+ idling\r\n");
        conn.flush();
        Handle<Void> pusher = null;
        if (watch != null) {
            pusher = conn.scope().fork("imap-idle", () -> {
                while (true) {
                    try {
                        watch.awaitChange(config.idleRecheck());
                    } catch (IllegalStateException e) {
                        return; // the watch was closed
                    }
                    // interruptibly: once IDLE ends, the pusher is cancelled while the session holds
                    // this lock, so it can never write after the tagged OK, nor be interrupted while
                    // writing (it writes only with the lock)
                    outLock.lockInterruptibly();
                    try {
                        sync(true);
                        conn.flush();
                    } finally {
                        outLock.unlock();
                    }
                }
            });
        }
        String line;
        try {
            line = lines.readLine();
        } finally {
            if (pusher != null) {
                outLock.lock();
                try {
                    pusher.cancel();
                } finally {
                    outLock.unlock();
                }
                watch.close();
                try {
                    pusher.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.DEBUG, "IMAP IDLE watcher ended", e);
                }
            }
        }
        if (line == null) {
            throw new EOFException("connection closed during IDLE");
        }
        if (!line.strip().equalsIgnoreCase("DONE")) {
            throw bad("expected DONE");
        }
        ok(tag, "IDLE terminated");
    }

    // ---- sequence sets ----

    /** Ranges of a sequence set; {@code *} becomes {@code star}. */
    private static List<long[]> ranges(String set, long star) throws Reply {
        List<long[]> out = new ArrayList<>();
        for (String part : set.split(",", -1)) {
            String[] ends = part.split(":", -1);
            if (ends.length > 2 || part.isEmpty()) {
                throw bad("invalid sequence set");
            }
            long a = number(ends[0], star);
            long b = ends.length == 2 ? number(ends[1], star) : a;
            out.add(new long[] {Math.min(a, b), Math.max(a, b)});
        }
        return out;
    }

    private static long number(String s, long star) throws Reply {
        if (s.equals("*")) {
            return star;
        }
        try {
            long v = Long.parseLong(s);
            if (v <= 0) {
                throw bad("invalid sequence number");
            }
            return v;
        } catch (NumberFormatException e) {
            throw bad("invalid sequence set");
        }
    }

    /** The 1-based sequence numbers a set names, in order. */
    private List<Integer> messages(String set, boolean uid) throws Reply {
        TreeSet<Integer> out = new TreeSet<>();
        if (view.isEmpty()) {
            if (!uid) {
                throw bad("no messages");
            }
            return List.of();
        }
        if (uid) {
            long maxUid = view.get(view.size() - 1);
            for (long[] r : ranges(set, maxUid)) {
                // the view is in ascending UID order: start at the first UID >= r[0]
                int i = java.util.Collections.binarySearch(view, r[0]);
                for (i = i < 0 ? -i - 1 : i; i < view.size() && view.get(i) <= r[1]; i++) {
                    out.add(i + 1);
                }
            }
        } else {
            for (long[] r : ranges(set, view.size())) {
                if (r[1] > view.size()) {
                    throw bad("invalid message sequence number");
                }
                for (long i = r[0]; i <= r[1]; i++) {
                    out.add((int) i);
                }
            }
        }
        return new ArrayList<>(out);
    }

    private Set<Long> uidSet(String set) throws Reply {
        Set<Long> out = new HashSet<>();
        long max = view.isEmpty() ? 0 : view.get(view.size() - 1);
        for (long[] r : ranges(set, Math.max(max, 1))) {
            int i = java.util.Collections.binarySearch(view, r[0]);
            for (i = i < 0 ? -i - 1 : i; i < view.size() && view.get(i) <= r[1]; i++) {
                out.add(view.get(i));
            }
        }
        return out;
    }

    private static String compactSet(List<Long> values) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < values.size(); ) {
            int j = i;
            while (j + 1 < values.size() && values.get(j + 1) == values.get(j) + 1) {
                j++;
            }
            sb.append(sb.isEmpty() ? "" : ",").append(values.get(i));
            if (j > i) {
                sb.append(':').append(values.get(j));
            }
            i = j + 1;
        }
        return sb.toString();
    }

    // ---- flags ----

    /** The system flags in the order FETCH lists them. */
    private static final List<String> SYSTEM_FLAGS = List.of(StoredMessage.SEEN, StoredMessage.ANSWERED,
            StoredMessage.FLAGGED, StoredMessage.DELETED, StoredMessage.DRAFT);

    private String flagList(StoredMessage m) {
        List<String> f = new ArrayList<>();
        for (String system : SYSTEM_FLAGS) {
            if (m.flags().contains(system)) {
                f.add(system);
            }
        }
        if (recent.contains(m.uid())) {
            f.add("\\Recent");
        }
        for (String k : m.flags()) {
            if (!k.startsWith("\\")) {
                f.add(k);
            }
        }
        return "(" + String.join(" ", f) + ")";
    }

    /**
     * IMAP flags from a command as the store takes them: system flags in their canonical
     * spelling, keywords as given; {@code \Recent} is never stored (RFC 3501 §2.3.2).
     */
    private static Set<String> storeFlags(List<?> flags) throws Reply {
        Set<String> out = new LinkedHashSet<>();
        for (Object o : flags) {
            if (!(o instanceof Atom a)) {
                throw bad("flags must be atoms");
            }
            String f = a.value();
            String system = SYSTEM_FLAGS.stream().filter(f::equalsIgnoreCase).findFirst().orElse(null);
            if (system != null) {
                out.add(system);
            } else if (!f.equalsIgnoreCase("\\Recent")) {
                if (f.startsWith("\\") || !validKeyword(f)) {
                    throw bad("invalid flag " + f);
                }
                out.add(f);
            }
        }
        return out;
    }

    private static boolean validKeyword(String k) {
        if (k.isEmpty() || k.length() > 100) {
            return false;
        }
        for (int i = 0; i < k.length(); i++) {
            char c = k.charAt(i);
            if (c <= 0x20 || c >= 0x7f || "(){%*\"\\]".indexOf(c) >= 0) {
                return false;
            }
        }
        return true;
    }

    // ---- FETCH (RFC 3501 §6.4.5) ----

    private record Section(List<Integer> path, String kind, Set<String> fields, String echo) {}

    private record Item(String name, Section section, long offset, long length, boolean peek) {}

    private List<Item> fetchItems(Object spec) throws Reply {
        List<Object> raw = spec instanceof List<?> l ? new ArrayList<>(l) : List.of(spec);
        List<Item> items = new ArrayList<>();
        for (Object o : raw) {
            String s = atom(o);
            String u = s.toUpperCase(Locale.ROOT);
            switch (u) {
                case "ALL" -> add(items, "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE");
                case "FAST" -> add(items, "FLAGS", "INTERNALDATE", "RFC822.SIZE");
                case "FULL" -> add(items, "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY");
                case "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE", "BODY", "UID", "RFC822",
                        "RFC822.HEADER", "RFC822.TEXT" -> add(items, u);
                default -> items.add(bodyItem(u));
            }
        }
        return items;
    }

    private static void add(List<Item> items, String... names) {
        for (String n : names) {
            items.add(new Item(n, null, 0, -1, false));
        }
    }

    private static Item bodyItem(String u) throws Reply {
        boolean peek;
        String rest;
        if (u.startsWith("BODY.PEEK[")) {
            peek = true;
            rest = u.substring(10);
        } else if (u.startsWith("BODY[")) {
            peek = false;
            rest = u.substring(5);
        } else {
            throw bad("unknown FETCH item " + u);
        }
        int close = rest.lastIndexOf(']');
        if (close < 0) {
            throw bad("invalid section");
        }
        String sectionText = rest.substring(0, close);
        String partial = rest.substring(close + 1);
        long offset = 0;
        long length = -1;
        if (!partial.isEmpty()) {
            if (!partial.startsWith("<") || !partial.endsWith(">")) {
                throw bad("invalid partial");
            }
            String[] p = partial.substring(1, partial.length() - 1).split("\\.", -1);
            try {
                offset = Long.parseLong(p[0]);
                if (p.length == 2) {
                    length = Long.parseLong(p[1]);
                    if (length <= 0) {
                        throw bad("invalid partial length");
                    }
                } else {
                    throw bad("invalid partial");
                }
            } catch (NumberFormatException e) {
                throw bad("invalid partial");
            }
        }
        return new Item("BODY", section(sectionText), offset, length, peek);
    }

    private static Section section(String text) throws Reply {
        List<Integer> path = new ArrayList<>();
        int i = 0;
        while (i < text.length() && Character.isDigit(text.charAt(i))) {
            int j = i;
            while (j < text.length() && Character.isDigit(text.charAt(j))) {
                j++;
            }
            int n;
            try {
                n = Integer.parseInt(text.substring(i, j));
            } catch (NumberFormatException e) {
                throw bad("invalid section");
            }
            if (n <= 0) {
                throw bad("invalid section part 0");
            }
            path.add(n);
            i = j;
            if (i < text.length()) {
                if (text.charAt(i) != '.') {
                    throw bad("invalid section");
                }
                i++;
            }
        }
        String spec = text.substring(i).strip();
        Set<String> fields = Set.of();
        String kind;
        if (spec.isEmpty()) {
            kind = "";
        } else if (spec.equals("HEADER") || spec.equals("TEXT")) {
            kind = spec;
        } else if (spec.equals("MIME") && !path.isEmpty()) {
            kind = spec;
        } else if (spec.startsWith("HEADER.FIELDS")) {
            kind = spec.startsWith("HEADER.FIELDS.NOT") ? "HEADER.FIELDS.NOT" : "HEADER.FIELDS";
            String list = spec.substring(kind.length()).strip();
            if (!list.startsWith("(") || !list.endsWith(")")) {
                throw bad("invalid header field list");
            }
            Set<String> f = new LinkedHashSet<>();
            for (String name : list.substring(1, list.length() - 1).split("\\s+")) {
                String n = name.replace("\"", "").strip();
                if (!n.isEmpty()) {
                    f.add(n);
                }
            }
            if (f.isEmpty()) {
                throw bad("empty header field list");
            }
            fields = f;
        } else {
            throw bad("invalid section " + spec);
        }
        return new Section(path, kind, fields, text);
    }

    private void fetch(String tag, List<Object> args, boolean byUid) throws IOException, Reply {
        selected();
        List<Integer> seqs = messages(atom(arg(args, 0)), byUid);
        List<Item> items = fetchItems(arg(args, 1));
        if (byUid && items.stream().noneMatch(it -> it.name().equals("UID"))) {
            items.add(0, new Item("UID", null, 0, -1, false));
        }
        boolean setsSeen = !readOnly && items.stream().anyMatch(it -> (it.name().equals("BODY") && it.section() != null
                && !it.peek()) || it.name().equals("RFC822") || it.name().equals("RFC822.TEXT"));
        boolean wantsFlags = items.stream().anyMatch(it -> it.name().equals("FLAGS"));
        for (int seq : seqs) {
            long uid = view.get(seq - 1);
            StoredMessage m = viewMessages.get(uid);
            Message msg = new Message(m);
            ImapWriter w = new ImapWriter().raw("* " + seq + " FETCH (");
            try {
                if (setsSeen && !m.has(StoredMessage.SEEN)) {
                    Set<String> seen = new LinkedHashSet<>(m.flags());
                    seen.add(StoredMessage.SEEN);
                    var now = folder.setFlags(uid, seen);
                    if (now.isPresent()) {
                        m = now.get();
                        viewMessages.put(uid, m);
                        msg = new Message(m);
                        if (!wantsFlags) {
                            w.raw("FLAGS " + flagList(m) + " ");
                        }
                    }
                }
                boolean first = true;
                for (Item it : items) {
                    if (!first) {
                        w.raw(" ");
                    }
                    first = false;
                    fetchItem(w, it, m, msg);
                }
            } catch (NoSuchMessageException e) {
                continue; // expunged by another session: nothing to say until the next sync
            }
            w.raw(")\r\n");
            out.write(w.toBytes());
        }
        sync(false);
        ok(tag, (byUid ? "UID " : "") + "FETCH completed");
    }

    /** A message's bytes and MIME tree, loaded on first use. */
    private final class Message {
        final StoredMessage meta;
        byte[] data;
        MimeTree tree;

        Message(StoredMessage meta) {
            this.meta = meta;
        }

        byte[] data() throws IOException {
            if (data == null) {
                data = folder.read(meta.uid());
            }
            return data;
        }

        MimeTree tree() throws IOException {
            if (tree == null) {
                tree = MimeTree.parse(data());
            }
            return tree;
        }
    }

    private void fetchItem(ImapWriter w, Item it, StoredMessage m, Message msg) throws IOException {
        switch (it.name()) {
            case "UID" -> w.raw("UID " + m.uid());
            case "FLAGS" -> w.raw("FLAGS " + flagList(m));
            case "INTERNALDATE" -> w.raw("INTERNALDATE \""
                    + INTERNALDATE.format(folder.internalDate(m.uid()).atZone(ZoneOffset.UTC)) + "\"");
            case "RFC822.SIZE" -> w.raw("RFC822.SIZE " + folder.size(m.uid()));
            case "ENVELOPE" -> {
                w.raw("ENVELOPE ");
                msg.tree().envelope(w);
            }
            case "BODYSTRUCTURE" -> {
                w.raw("BODYSTRUCTURE ");
                msg.tree().structure(w, true);
            }
            case "RFC822" -> w.raw("RFC822 ").literal(msg.data());
            case "RFC822.HEADER" -> w.raw("RFC822.HEADER ").literal(msg.tree().headerBytes());
            case "RFC822.TEXT" -> w.raw("RFC822.TEXT ").literal(msg.tree().bodyBytes());
            case "BODY" -> {
                if (it.section() == null) {
                    w.raw("BODY ");
                    msg.tree().structure(w, false);
                    return;
                }
                byte[] bytes = sectionBytes(msg, it.section());
                String origin = "";
                if (it.length() >= 0) {
                    int from = (int) Math.min(it.offset(), bytes.length);
                    int to = (int) Math.min((long) from + it.length(), bytes.length);
                    bytes = java.util.Arrays.copyOfRange(bytes, from, to);
                    origin = "<" + it.offset() + ">";
                }
                w.raw("BODY[" + it.section().echo() + "]" + origin + " ").literal(bytes);
            }
            default -> throw new AssertionError(it.name());
        }
    }

    private static byte[] sectionBytes(Message msg, Section s) throws IOException {
        if (s.path().isEmpty() && s.kind().isEmpty()) {
            return msg.data();
        }
        if (s.path().isEmpty() && (s.kind().equals("HEADER") || s.kind().equals("TEXT"))) {
            // the top-level split needs no MIME parsing
            byte[] d = msg.data();
            int split = MimeTree.headerEnd(d, 0, d.length);
            return s.kind().equals("HEADER") ? java.util.Arrays.copyOfRange(d, 0, split)
                    : java.util.Arrays.copyOfRange(d, split, d.length);
        }
        MimeTree root = msg.tree();
        MimeTree node = root;
        for (int i = 0; i < s.path().size(); i++) {
            int n = s.path().get(i);
            MimeTree container = node.embedded != null && (i > 0 || node != root) ? node.embedded : node;
            if (container.isMultipart()) {
                if (n > container.children.size()) {
                    return new byte[0];
                }
                node = container.children.get(n - 1);
            } else if (n == 1) {
                node = container;
            } else {
                return new byte[0];
            }
        }
        if (s.kind().isEmpty()) {
            return node == root ? root.bodyBytes() : node.bodyBytes();
        }
        if (s.kind().equals("MIME")) {
            return node.headerBytes();
        }
        MimeTree message = s.path().isEmpty() ? root : node.embedded;
        if (message == null) {
            return new byte[0];
        }
        return switch (s.kind()) {
            case "HEADER" -> message.headerBytes();
            case "TEXT" -> message.bodyBytes();
            case "HEADER.FIELDS" -> message.headerFields(upper(s.fields()), false);
            case "HEADER.FIELDS.NOT" -> message.headerFields(upper(s.fields()), true);
            default -> new byte[0];
        };
    }

    private static Set<String> upper(Set<String> names) {
        Set<String> out = new HashSet<>();
        names.forEach(n -> out.add(n.toUpperCase(Locale.ROOT)));
        return out;
    }

    // ---- STORE (RFC 3501 §6.4.6) ----

    private void store(String tag, List<Object> args, boolean byUid) throws IOException, Reply {
        selected();
        writable();
        List<Integer> seqs = messages(atom(arg(args, 0)), byUid);
        String item = atom(arg(args, 1)).toUpperCase(Locale.ROOT);
        boolean silent = item.endsWith(".SILENT");
        if (silent) {
            item = item.substring(0, item.length() - 7);
        }
        int mode = switch (item) {
            case "FLAGS" -> 0;
            case "+FLAGS" -> 1;
            case "-FLAGS" -> -1;
            default -> throw bad("unknown STORE item");
        };
        List<?> flagArgs = args.size() == 3 && args.get(2) instanceof List<?> l ? l : args.subList(2, args.size());
        Set<String> given = storeFlags(flagArgs);
        for (int seq : seqs) {
            long uid = view.get(seq - 1);
            StoredMessage m = viewMessages.get(uid);
            Set<String> target = new LinkedHashSet<>(mode == 0 ? given : m.flags());
            if (mode == 1) {
                target.addAll(given);
            } else if (mode == -1) {
                // flag names compare without regard to case (RFC 3501 §2.3.2)
                target.removeIf(f -> given.stream().anyMatch(f::equalsIgnoreCase));
            }
            var now = folder.setFlags(uid, target);
            if (now.isEmpty()) {
                continue;
            }
            viewMessages.put(uid, now.get());
            if (!silent) {
                untagged(seq + " FETCH (" + (byUid ? "UID " + uid + " " : "") + "FLAGS " + flagList(now.get()) + ")");
            }
        }
        sync(false);
        ok(tag, (byUid ? "UID " : "") + "STORE completed");
    }

    // ---- COPY / MOVE (RFC 3501 §6.4.7, RFC 6851, RFC 4315 COPYUID) ----

    private void copy(String tag, List<Object> args, boolean byUid, boolean move) throws IOException, Reply {
        selected();
        if (move) {
            writable();
        }
        List<Integer> seqs = messages(atom(arg(args, 0)), byUid);
        String name = mailbox(arg(args, 1));
        Mailbox target = existing(name, "[TRYCREATE]");
        List<Long> from = new ArrayList<>();
        List<Long> to = new ArrayList<>();
        for (int seq : seqs) {
            StoredMessage m = viewMessages.get(view.get(seq - 1));
            // the copy keeps flags and internal date (RFC 3501 §6.4.7), durably as APPEND does
            try (InputStream in = folder.open(m.uid())) {
                StoredMessage copied = target.append(in, m.flags(), folder.internalDate(m.uid()));
                from.add(m.uid());
                to.add(copied.uid());
            } catch (NoSuchMessageException e) {
                // expunged meanwhile
            }
        }
        String code = from.isEmpty() ? "" : "[COPYUID " + target.uidValidity() + " " + compactSet(from) + " "
                + compactSet(to) + "] ";
        String verb = (byUid ? "UID " : "") + (move ? "MOVE" : "COPY");
        if (!move) {
            if (name.equals(folderName)) {
                sync(false);
            }
            ok(tag, code + verb + " completed");
            return;
        }
        if (!code.isEmpty()) {
            untagged("OK " + code.strip() + " moved");
        }
        folder.expunge(from);
        sync(true);
        ok(tag, verb + " completed");
    }

    private void expungeDeleted(Set<Long> only, boolean respond) throws IOException {
        List<Long> gone = new ArrayList<>();
        for (long uid : view) {
            StoredMessage m = viewMessages.get(uid);
            if (m != null && m.has(StoredMessage.DELETED) && (only == null || only.contains(uid))) {
                gone.add(uid);
            }
        }
        folder.expunge(gone);
        if (respond) {
            sync(true);
        }
    }

    // ---- SEARCH (RFC 3501 §6.4.4) ----

    private interface Key {
        boolean test(int seq, Message m) throws IOException;
    }

    private void search(String tag, List<Object> args, boolean byUid) throws IOException, Reply {
        selected();
        int[] pos = {0};
        if (!args.isEmpty() && args.get(0) instanceof Atom a && a.value().equalsIgnoreCase("CHARSET")) {
            String cs = astring(arg(args, 1)).toUpperCase(Locale.ROOT);
            if (!cs.equals("UTF-8") && !cs.equals("US-ASCII")) {
                throw no("[BADCHARSET (UTF-8 US-ASCII)] unsupported charset");
            }
            pos[0] = 2;
        }
        if (pos[0] >= args.size()) {
            throw bad("SEARCH needs a key");
        }
        List<Key> keys = new ArrayList<>();
        while (pos[0] < args.size()) {
            keys.add(key(args, pos, 0));
        }
        StringBuilder sb = new StringBuilder("SEARCH");
        for (int i = 0; i < view.size(); i++) {
            StoredMessage m = viewMessages.get(view.get(i));
            Message msg = new Message(m);
            boolean all = true;
            try {
                for (Key k : keys) {
                    if (!k.test(i + 1, msg)) {
                        all = false;
                        break;
                    }
                }
            } catch (NoSuchMessageException e) {
                all = false;
            }
            if (all) {
                sb.append(' ').append(byUid ? m.uid() : i + 1);
            }
        }
        untagged(sb.toString());
        sync(false);
        ok(tag, (byUid ? "UID " : "") + "SEARCH completed");
    }

    /**
     * The deepest nesting of NOT, OR and parentheses a search may have (Dovecot allows about as
     * much): parsing and evaluating keys recurse, so without a bound {@code NOT NOT ... ALL}
     * would overflow the stack.
     */
    static final int MAX_SEARCH_DEPTH = 100;

    private Key key(List<Object> args, int[] pos, int depth) throws Reply {
        if (depth > MAX_SEARCH_DEPTH) {
            throw bad("search keys nested too deeply");
        }
        Object o = arg(args, pos[0]++);
        if (o instanceof List<?> l) {
            List<Object> inner = new ArrayList<>(l);
            int[] p = {0};
            List<Key> all = new ArrayList<>();
            while (p[0] < inner.size()) {
                all.add(key(inner, p, depth + 1));
            }
            return (seq, m) -> {
                for (Key k : all) {
                    if (!k.test(seq, m)) {
                        return false;
                    }
                }
                return true;
            };
        }
        String k = atom(o).toUpperCase(Locale.ROOT);
        if (!k.isEmpty() && (Character.isDigit(k.charAt(0)) || k.charAt(0) == '*')) {
            List<long[]> r = ranges(k, view.size());
            return (seq, m) -> inRanges(r, seq);
        }
        switch (k) {
            case "ALL":
                return (seq, m) -> true;
            case "ANSWERED":
                return flag(StoredMessage.ANSWERED, true);
            case "DELETED":
                return flag(StoredMessage.DELETED, true);
            case "DRAFT":
                return flag(StoredMessage.DRAFT, true);
            case "FLAGGED":
                return flag(StoredMessage.FLAGGED, true);
            case "SEEN":
                return flag(StoredMessage.SEEN, true);
            case "UNANSWERED":
                return flag(StoredMessage.ANSWERED, false);
            case "UNDELETED":
                return flag(StoredMessage.DELETED, false);
            case "UNDRAFT":
                return flag(StoredMessage.DRAFT, false);
            case "UNFLAGGED":
                return flag(StoredMessage.FLAGGED, false);
            case "UNSEEN":
                return flag(StoredMessage.SEEN, false);
            case "RECENT":
                return (seq, m) -> recent.contains(m.meta.uid());
            case "OLD":
                return (seq, m) -> !recent.contains(m.meta.uid());
            case "NEW":
                return (seq, m) -> recent.contains(m.meta.uid()) && !m.meta.has(StoredMessage.SEEN);
            case "KEYWORD", "UNKEYWORD": {
                String kw = astring(arg(args, pos[0]++));
                boolean want = k.equals("KEYWORD");
                return (seq, m) -> m.meta.has(kw) == want;
            }
            case "BCC", "CC", "FROM", "SUBJECT", "TO": {
                String needle = astring(arg(args, pos[0]++)).toLowerCase(Locale.ROOT);
                String field = k;
                return (seq, m) -> headerContains(m, field, needle);
            }
            case "HEADER": {
                String field = astring(arg(args, pos[0]++));
                String needle = astring(arg(args, pos[0]++)).toLowerCase(Locale.ROOT);
                return (seq, m) -> headerContains(m, field, needle);
            }
            case "BODY": {
                String needle = astring(arg(args, pos[0]++)).toLowerCase(Locale.ROOT);
                return (seq, m) -> contains(m.tree().bodyBytes(), needle);
            }
            case "TEXT": {
                String needle = astring(arg(args, pos[0]++)).toLowerCase(Locale.ROOT);
                return (seq, m) -> contains(m.data(), needle);
            }
            case "BEFORE", "ON", "SINCE": {
                LocalDate d = date(arg(args, pos[0]++));
                String op = k;
                return (seq, m) -> compareDate(folder.internalDate(m.meta.uid()).atZone(ZoneOffset.UTC).toLocalDate(), d, op);
            }
            case "SENTBEFORE", "SENTON", "SENTSINCE": {
                LocalDate d = date(arg(args, pos[0]++));
                String op = k.substring(4);
                return (seq, m) -> {
                    LocalDate sent = sentDate(m);
                    return sent != null && compareDate(sent, d, op);
                };
            }
            case "LARGER", "SMALLER": {
                long n;
                try {
                    n = Long.parseLong(atom(arg(args, pos[0]++)));
                } catch (NumberFormatException e) {
                    throw bad("invalid number");
                }
                boolean larger = k.equals("LARGER");
                return (seq, m) -> larger ? folder.size(m.meta.uid()) > n : folder.size(m.meta.uid()) < n;
            }
            case "NOT": {
                Key inner = key(args, pos, depth + 1);
                return (seq, m) -> !inner.test(seq, m);
            }
            case "OR": {
                Key a = key(args, pos, depth + 1);
                Key b = key(args, pos, depth + 1);
                return (seq, m) -> a.test(seq, m) || b.test(seq, m);
            }
            case "UID": {
                String set = atom(arg(args, pos[0]++));
                long max = view.isEmpty() ? 1 : view.get(view.size() - 1);
                List<long[]> r = ranges(set, max);
                return (seq, m) -> inRanges(r, m.meta.uid());
            }
            default:
                throw bad("unknown search key " + k);
        }
    }

    private static boolean inRanges(List<long[]> ranges, long v) {
        for (long[] r : ranges) {
            if (v >= r[0] && v <= r[1]) {
                return true;
            }
        }
        return false;
    }

    private static Key flag(String name, boolean set) {
        return (seq, m) -> m.meta.has(name) == set;
    }

    private static boolean headerContains(Message m, String field, String needle) throws IOException {
        String[] values = m.tree().headers.getHeader(field);
        if (values == null) {
            return false;
        }
        for (String v : values) {
            String decoded;
            try {
                decoded = jakarta.mail.internet.MimeUtility.decodeText(jakarta.mail.internet.MimeUtility.unfold(v));
            } catch (java.io.UnsupportedEncodingException | RuntimeException e) {
                decoded = v;
            }
            if (decoded.toLowerCase(Locale.ROOT).contains(needle)) {
                return true;
            }
        }
        return false;
    }

    private static boolean contains(byte[] haystack, String needle) {
        return new String(haystack, StandardCharsets.UTF_8).toLowerCase(Locale.ROOT).contains(needle);
    }

    private static LocalDate date(Object o) throws Reply {
        try {
            return LocalDate.parse(astring(o), SEARCH_DATE);
        } catch (DateTimeParseException e) {
            throw bad("invalid date");
        }
    }

    private static boolean compareDate(LocalDate value, LocalDate d, String op) {
        return switch (op) {
            case "BEFORE" -> value.isBefore(d);
            case "ON" -> value.equals(d);
            default -> !value.isBefore(d);
        };
    }

    private static LocalDate sentDate(Message m) throws IOException {
        String v = m.tree().header("Date");
        if (v == null) {
            return null;
        }
        try {
            return ZonedDateTime.parse(v.replaceAll("\\s*\\(.*\\)\\s*$", ""), DateTimeFormatter.RFC_1123_DATE_TIME)
                    .toLocalDate();
        } catch (DateTimeParseException e) {
            try {
                java.util.Date d = new jakarta.mail.internet.MailDateFormat().parse(v);
                return d == null ? null : d.toInstant().atZone(ZoneOffset.UTC).toLocalDate();
            } catch (java.text.ParseException | RuntimeException e2) {
                return null;
            }
        }
    }

    // ---- argument helpers ----

    private static Object arg(List<Object> args, int i) throws Reply {
        if (i >= args.size()) {
            throw bad("missing argument");
        }
        return args.get(i);
    }

    private static String astring(Object o) throws Reply {
        if (o instanceof Atom a) {
            return a.value();
        }
        if (o instanceof String s) {
            return s;
        }
        if (o instanceof byte[] b) {
            return new String(b, StandardCharsets.UTF_8);
        }
        throw bad("expected a string");
    }

    private static String atom(Object o) throws Reply {
        if (o instanceof Atom a) {
            return a.value();
        }
        throw bad("expected an atom");
    }

    private static List<Object> list(Object o) throws Reply {
        if (o instanceof List<?> l) {
            return new ArrayList<>(l);
        }
        throw bad("expected a parenthesized list");
    }
}
