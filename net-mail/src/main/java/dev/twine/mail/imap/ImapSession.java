package dev.twine.mail.imap;

import static dev.twine.mail.imap.FetchItems.fetchItems;
import static dev.twine.mail.imap.FetchItems.sectionBytes;
import static dev.twine.mail.imap.ImapArgs.arg;
import static dev.twine.mail.imap.ImapArgs.astring;
import static dev.twine.mail.imap.ImapArgs.atom;
import static dev.twine.mail.imap.ImapArgs.bad;
import static dev.twine.mail.imap.ImapArgs.no;
import static dev.twine.mail.imap.ImapArgs.parenthesized;
import static dev.twine.mail.imap.MailboxNames.mailbox;
import static dev.twine.mail.imap.MailboxNames.newMailbox;

import dev.twine.core.Connection;
import dev.twine.core.DrainingException;
import dev.twine.core.LineReader;
import dev.twine.core.LineTooLongException;
import dev.twine.core.auth.LoginAttempts;
import dev.twine.mail.imap.FetchItems.Item;
import dev.twine.mail.imap.ImapArgs.Reply;
import dev.twine.mail.imap.ImapParser.Arg;
import dev.twine.mail.imap.ImapParser.Atom;
import dev.twine.mail.imap.ImapParser.Group;
import dev.twine.mail.imap.ImapParser.Literal;
import dev.twine.mail.imap.ImapParser.Quoted;
import dev.twine.mail.imap.ImapParser.SyntaxException;
import dev.twine.mail.store.MailStore;
import dev.twine.mail.store.Mailbox;
import dev.twine.mail.store.NoSuchMessageException;
import dev.twine.mail.store.Quota;
import dev.twine.mail.store.StoredMessage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One IMAP connection: RFC 3501 states, command reading, dispatch, the mailbox commands, FETCH,
 * SEARCH and the selected mailbox's view. Authentication is in {@link ImapLogin}, IDLE in
 * {@link ImapIdle}, STORE/COPY/MOVE/EXPUNGE in {@link MessageUpdates}; they share this session's
 * state, which only the connection's own thread touches (IDLE's pusher writes under
 * {@link #outLock}).
 */
final class ImapSession {
    private static final System.Logger LOG = System.getLogger(ImapSession.class.getName());
    private static final DateTimeFormatter INTERNALDATE =
            DateTimeFormatter.ofPattern("dd-MMM-yyyy HH:mm:ss Z", Locale.ENGLISH);
    private static final DateTimeFormatter APPEND_DATE = new DateTimeFormatterBuilder()
            .parseCaseInsensitive().appendPattern("d-MMM-yyyy HH:mm:ss Z").toFormatter(Locale.ENGLISH);

    enum State { NOT_AUTHENTICATED, AUTHENTICATED, SELECTED, LOGOUT }


    final ImapServer.Config config;
    final Connection conn;
    final LineReader lines;
    final OutputStream out;
    final ReentrantLock outLock = new ReentrantLock();
    /** This connection's logins under the portal's policy: delays, disconnect, penalties. */
    final LoginAttempts attempts;

    State state = State.NOT_AUTHENTICATED;
    MailStore.Account account;
    Mailbox folder;
    String folderName;
    boolean readOnly;
    /** UIDs by sequence number - 1 (RFC 3501 §2.3.1.2). */
    final List<Long> view = new ArrayList<>();
    final Map<Long, StoredMessage> viewMessages = new HashMap<>();
    final Set<Long> recent = new HashSet<>();
    /**
     * A CONDSTORE-enabling command was seen (RFC 7162 §3.1): FETCH responses carry MODSEQ and
     * SELECT tells HIGHESTMODSEQ.
     */
    boolean condstore;
    /** ENABLE QRESYNC (RFC 7162 §3.2.3): expunges are told as VANISHED, FETCH responses carry UID. */
    boolean qresync;
    /**
     * ENABLE UTF8=ACCEPT (RFC 6855 §3): mailbox names in UTF-8 rather than modified UTF-7, UTF-8
     * in quoted strings, no SEARCH charset, APPEND's {@code UTF8 (...)}.
     */
    boolean utf8;
    /**
     * ENABLE IMAP4rev2 (RFC 9051): no RECENT responses nor {@code \Recent}, SEARCH answered with
     * ESEARCH, SELECT tells the mailbox's LIST and {@code [CLOSED]}, mailbox names in UTF-8.
     */
    boolean rev2;
    /**
     * The UIDs the last {@code SEARCH RETURN (SAVE ...)} found, {@code $} in later commands
     * (SEARCHRES, RFC 5182 §2); emptied when the mailbox is closed. A message expunged since is
     * gone from the view, so it is not named by {@code $} either.
     */
    final Set<Long> saved = new java.util.TreeSet<>();

    private final ImapLogin login = new ImapLogin(this);
    private final ImapIdle idle = new ImapIdle(this);
    private final MessageUpdates updates = new MessageUpdates(this);
    private final ImapList mailboxList = new ImapList(this);
    private final ImapSort sorting = new ImapSort(this);
    private final ImapThread threading = new ImapThread(this);

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
        List<Arg> tokens;
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
        List<Arg> args = tokens.subList(2, tokens.size());
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

    private void dispatch(String tag, String name, List<Arg> args) throws IOException, Reply, InterruptedException {
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
            case "STARTTLS" -> login.startTls(tag);
            case "COMPRESS" -> ImapCompress.compress(this, tag, args);
            case "LOGIN" -> login.login(tag, args);
            case "AUTHENTICATE" -> login.authenticate(tag, args);
            case "ENABLE" -> {
                authenticated();
                untagged("ENABLED" + enable(args));
                ok(tag, "ENABLE completed");
            }
            case "NAMESPACE" -> {
                authenticated();
                untagged("NAMESPACE ((\"\" \".\")) NIL NIL");
                ok(tag, "NAMESPACE completed");
            }
            case "SELECT", "EXAMINE" -> select(tag, args, name.equals("EXAMINE"));
            case "CREATE" -> mailboxList.create(tag, args);
            case "DELETE" -> delete(tag, args);
            case "RENAME" -> rename(tag, args);
            case "SUBSCRIBE", "UNSUBSCRIBE" -> {
                authenticated();
                String box = mailbox(arg(args, 0), utf8Names());
                account.subscribe(box, name.equals("SUBSCRIBE"));
                ok(tag, name + " completed");
            }
            case "LIST", "LSUB" -> mailboxList.list(tag, args, name.equals("LSUB"));
            case "STATUS" -> mailboxList.status(tag, args);
            case "GETQUOTAROOT", "GETQUOTA", "SETQUOTA" -> quota(tag, name, args);
            case "APPEND" -> append(tag, args);
            case "IDLE" -> idle.idle(tag);
            case "CLOSE", "UNSELECT" -> {
                selected();
                if (name.equals("CLOSE") && !readOnly) {
                    updates.expungeDeleted(null, false);
                }
                unselect();
                ok(tag, name + " completed");
            }
            case "EXPUNGE" -> {
                selected();
                writable();
                updates.expungeDeleted(null, true);
                ok(tag, highestModSeqCode() + "EXPUNGE completed");
            }
            case "SEARCH" -> search(tag, args, false);
            case "SORT" -> sorting.sort(tag, args, false);
            case "THREAD" -> threading.thread(tag, args, false);
            case "FETCH" -> fetch(tag, args, false);
            case "STORE" -> updates.store(tag, args, false);
            case "COPY" -> updates.copy(tag, args, false, false);
            case "MOVE" -> updates.copy(tag, args, false, true);
            case "UID" -> {
                if (args.isEmpty() || !(args.get(0) instanceof Atom sub)) {
                    throw bad("UID needs a command");
                }
                List<Arg> rest = args.subList(1, args.size());
                switch (sub.value().toUpperCase(Locale.ROOT)) {
                    case "FETCH" -> fetch(tag, rest, true);
                    case "SEARCH" -> search(tag, rest, true);
                    case "SORT" -> sorting.sort(tag, rest, true);
                    case "THREAD" -> threading.thread(tag, rest, true);
                    case "STORE" -> updates.store(tag, rest, true);
                    case "COPY" -> updates.copy(tag, rest, true, false);
                    case "MOVE" -> updates.copy(tag, rest, true, true);
                    case "EXPUNGE" -> {
                        selected();
                        writable();
                        String set = atom(arg(rest, 0));
                        updates.expungeDeleted(set.equals("$") ? savedUids() : SequenceSets.uidSet(view, set), true);
                        ok(tag, highestModSeqCode() + "UID EXPUNGE completed");
                    }
                    default -> throw bad("unknown UID command");
                }
            }
            default -> throw bad("unknown command");
        }
    }

    /** ENABLE (RFC 5161): the extensions it turned on, each after a space; others are ignored. */
    private String enable(List<Arg> args) throws Reply {
        StringBuilder enabled = new StringBuilder();
        for (Arg a : args) {
            switch (atom(a).toUpperCase(Locale.ROOT)) {
                case "CONDSTORE" -> {
                    condstore = true;
                    enabled.append(" CONDSTORE");
                }
                case "QRESYNC" -> {
                    // QRESYNC implies CONDSTORE (RFC 7162 §3.2.3)
                    condstore = true;
                    qresync = true;
                    enabled.append(" QRESYNC");
                }
                case "UTF8=ACCEPT" -> {
                    utf8 = true;
                    enabled.append(" UTF8=ACCEPT");
                }
                case "IMAP4REV2" -> {
                    rev2 = true;
                    enabled.append(" IMAP4rev2");
                }
                default -> {
                    // an extension we do not have is not enabled (RFC 5161 §3.1)
                }
            }
        }
        return enabled.toString();
    }

    /** Under CONDSTORE, EXPUNGE's OK tells the mailbox's new HIGHESTMODSEQ (RFC 7162 §3.2.10). */
    private String highestModSeqCode() throws IOException {
        return condstore ? "[HIGHESTMODSEQ " + folder.highestModSeq() + "] " : "";
    }

    // ---- state helpers ----

    void authenticated() throws Reply {
        if (state == State.NOT_AUTHENTICATED) {
            throw bad("log in first");
        }
    }

    void selected() throws Reply {
        if (state != State.SELECTED) {
            throw bad("select a mailbox first");
        }
    }

    void writable() throws Reply {
        if (readOnly) {
            throw no("[READ-ONLY] mailbox is read-only");
        }
    }

    boolean loginAllowed() {
        return conn.isSecure() || config.plainLoginAllowed();
    }

    String capabilities() {
        StringBuilder sb = new StringBuilder("IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID IDLE NAMESPACE UIDPLUS MOVE UNSELECT ENABLE"
                + " SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS CHILDREN CONDSTORE QRESYNC ESEARCH BINARY"
                + " QUOTA QUOTA=RES-STORAGE STATUS=SIZE APPENDLIMIT=" + config.maxLiteral()
                + " SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES UTF8=ACCEPT COMPRESS=DEFLATE SEARCHRES");
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

    void send(String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
    }

    void untagged(String s) throws IOException {
        send("* " + s + "\r\n");
    }

    void ok(String tag, String text) throws IOException {
        send(tag + " OK " + text + "\r\n");
    }

    /** A response builder whose quoted strings hold UTF-8 once UTF8=ACCEPT is enabled (RFC 6855 §3). */
    ImapWriter writer() {
        return new ImapWriter().utf8(utf8Names());
    }

    /** Whether mailbox names and quoted strings are UTF-8: UTF8=ACCEPT (RFC 6855) or IMAP4rev2 (RFC 9051 §5.1). */
    boolean utf8Names() {
        return utf8 || rev2;
    }

    /**
     * A stored mailbox name (modified UTF-7, RFC 3501 §5.1.3) as this client reads it: in UTF-8
     * once UTF8=ACCEPT is enabled (RFC 6855 §3), else as stored.
     */
    String wireName(String name) {
        return utf8Names() ? ModifiedUtf7.decode(name) : name;
    }


    // ---- mailboxes ----

    private void select(String tag, List<Arg> args, boolean examine) throws IOException, Reply {
        authenticated();
        String name = mailbox(arg(args, 0), utf8Names());
        Resync.Request resync = null;
        if (args.size() > 1) {
            // RFC 7162 §3.1.8 (CONDSTORE), §3.2.5 (QRESYNC): select parameters
            List<Arg> params = parenthesized(args.get(1));
            for (int i = 0; i < params.size(); i++) {
                String p = atom(params.get(i)).toUpperCase(Locale.ROOT);
                if (p.equals("CONDSTORE")) {
                    condstore = true;
                } else if (p.equals("QRESYNC") && qresync && i + 1 < params.size()) {
                    resync = Resync.request(parenthesized(params.get(++i)));
                } else {
                    throw bad("unknown SELECT parameter " + p);
                }
            }
        }
        if (state == State.SELECTED && (qresync || rev2)) {
            untagged("OK [CLOSED] previous mailbox closed"); // RFC 7162 §3.2.11, RFC 9051 §6.3.2
        }
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
        if (rev2) {
            // RFC 9051 §6.3.2: the mailbox's LIST instead of RECENT and UNSEEN, which rev2 dropped
            mailboxList.listLine(name);
        } else {
            untagged(recent.size() + " RECENT");
            if (firstUnseen > 0) {
                untagged("OK [UNSEEN " + firstUnseen + "] first unseen");
            }
        }
        untagged("OK [UIDVALIDITY " + folder.uidValidity() + "] UIDs valid");
        untagged("OK [UIDNEXT " + folder.uidNext() + "] predicted next UID");
        if (condstore) {
            untagged("OK [HIGHESTMODSEQ " + folder.highestModSeq() + "] highest");
        }
        if (resync != null && resync.uidValidity() == folder.uidValidity()) {
            Resync.tell(this, resync);
        }
        ok(tag, (readOnly ? "[READ-ONLY] " : "[READ-WRITE] ") + (examine ? "EXAMINE" : "SELECT") + " completed");
    }

    /** The mailbox called {@code name}, or {@code NO} with {@code code} if there is none. */
    Mailbox existing(String name, String code) throws IOException, Reply {
        return account.mailbox(name).orElseThrow(() -> no(code + " no such mailbox"));
    }

    void unselect() {
        if (state == State.SELECTED) {
            state = State.AUTHENTICATED;
        }
        folder = null;
        folderName = null;
        view.clear();
        viewMessages.clear();
        recent.clear();
        saved.clear();
    }

    private void delete(String tag, List<Arg> args) throws IOException, Reply {
        authenticated();
        String name = mailbox(arg(args, 0), utf8Names());
        if (name.equals("INBOX")) {
            throw no("the inbox cannot be deleted");
        }
        if (rev2 && ImapList.hasChildren(account.mailboxes(), name)) {
            // RFC 9051 §6.3.5: a server that keeps the inferior names SHOULD refuse with HASCHILDREN
            throw no("[HASCHILDREN] delete the mailboxes below it first");
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

    private void rename(String tag, List<Arg> args) throws IOException, Reply {
        authenticated();
        String from = mailbox(arg(args, 0), utf8Names());
        String to = newMailbox(arg(args, 1), utf8Names());
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

    /**
     * QUOTA (RFC 9208 §4): one quota root, {@code ""}, over all the user's mailboxes, with the
     * STORAGE resource in KiB; SETQUOTA is refused (no QUOTASET: the limit is the server's).
     */
    private void quota(String tag, String command, List<Arg> args) throws IOException, Reply {
        authenticated();
        Optional<Quota> q = account.quota();
        switch (command) {
            case "GETQUOTAROOT" -> {
                String name = mailbox(arg(args, 0), utf8Names());
                existing(name, "[NONEXISTENT]");
                ImapWriter w = writer().raw("* QUOTAROOT ").string(wireName(name)).raw(q.isPresent() ? " \"\"\r\n" : "\r\n");
                out.write(w.toBytes());
                if (q.isPresent()) {
                    untagged(quotaResponse(q.get()));
                }
            }
            case "GETQUOTA" -> {
                if (!astring(arg(args, 0)).isEmpty() || q.isEmpty()) {
                    throw no("[NONEXISTENT] no such quota root");
                }
                untagged(quotaResponse(q.get()));
            }
            default -> throw no("[CANNOT] quotas are set by the server");
        }
        ok(tag, command + " completed");
    }

    private static String quotaResponse(Quota q) {
        // RFC 9208 §5.1: STORAGE counts units of 1024 octets
        return "QUOTA \"\" (STORAGE " + (q.used() + 1023) / 1024 + " " + q.limit() / 1024 + ")";
    }

    /** {@code NO [OVERQUOTA]} (RFC 9208 §4.3.1 of RFC 5530's code) if {@code bytes} more do not fit. */
    void checkQuota(long bytes) throws IOException, Reply {
        Optional<Quota> q = account.quota();
        if (q.isPresent() && !q.get().allows(bytes)) {
            throw no("[OVERQUOTA] quota exceeded");
        }
    }

    private void append(String tag, List<Arg> args) throws IOException, Reply {
        authenticated();
        String name = mailbox(arg(args, 0), utf8Names());
        int i = 1;
        Set<String> flags = Set.of();
        Instant date = null;
        java.util.Optional<Mailbox> target = account.mailbox(name);
        if (i < args.size() && args.get(i) instanceof Group l) {
            if (target.isPresent()) {
                flags = storeFlags(l.items());
            }
            i++;
        }
        if (i < args.size() && args.get(i) instanceof Quoted(String d)) {
            try {
                date = ZonedDateTime.parse(d.strip(), APPEND_DATE).toInstant();
            } catch (DateTimeParseException e) {
                throw bad("invalid date-time");
            }
            i++;
        }
        Arg data = i < args.size() ? args.get(i) : null;
        if (data instanceof Atom u && u.value().equalsIgnoreCase("UTF8")) {
            // RFC 6855 §4: UTF8 (literal8), a message with UTF-8 headers, once UTF8=ACCEPT is enabled
            if (!utf8 || i + 1 >= args.size() || !(args.get(i + 1) instanceof Group g) || g.items().size() != 1
                    || !(g.items().get(0) instanceof Literal l8) || !l8.binary()) {
                throw bad(utf8 ? "UTF8 takes a literal8 in parentheses" : "UTF8 needs ENABLE UTF8=ACCEPT");
            }
            data = l8;
            i++;
        }
        if (!(data instanceof Literal(byte[] message, boolean binary))) {
            throw bad("APPEND needs a literal message");
        }
        if (i + 1 != args.size()) {
            throw bad("unexpected arguments after the message");
        }
        if (target.isEmpty()) {
            throw no("[TRYCREATE] no such mailbox");
        }
        checkQuota(message.length);
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
    void sync(boolean expunges) throws IOException {
        if (!readOnly) {
            recent.addAll(folder.claimRecent());
        }
        List<StoredMessage> now = folder.messages();
        Map<Long, StoredMessage> byUid = new HashMap<>();
        for (StoredMessage m : now) {
            byUid.put(m.uid(), m);
        }
        if (expunges) {
            List<Long> vanished = new ArrayList<>();
            for (int i = view.size() - 1; i >= 0; i--) {
                long uid = view.get(i);
                if (!byUid.containsKey(uid)) {
                    view.remove(i);
                    viewMessages.remove(uid);
                    recent.remove(uid);
                    if (qresync) {
                        vanished.add(0, uid);
                    } else {
                        untagged((i + 1) + " EXPUNGE");
                    }
                }
            }
            if (!vanished.isEmpty()) {
                untagged("VANISHED " + SequenceSets.compactSet(vanished)); // RFC 7162 §3.2.10
            }
            for (int i = 0; i < view.size(); i++) {
                long uid = view.get(i);
                StoredMessage was = viewMessages.get(uid);
                StoredMessage is = byUid.get(uid);
                if (is != null && was != null && !was.flags().equals(is.flags())) {
                    viewMessages.put(uid, is);
                    untagged(flagsResponse(i + 1, is, false));
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
            if (!rev2) {
                untagged(recent.size() + " RECENT");
            }
        }
    }


    /**
     * An untagged FETCH telling a message's flags: with UID when asked or under QRESYNC
     * (RFC 7162 §3.2.4), with MODSEQ under CONDSTORE (§3.1.4); {@code flags} false leaves the
     * flags out (a STORE .SILENT under CONDSTORE still tells the new MODSEQ, §3.1.3).
     */
    String flagsResponse(int seq, StoredMessage m, boolean withUid) {
        StringBuilder sb = new StringBuilder().append(seq).append(" FETCH (");
        if (withUid || qresync) {
            sb.append("UID ").append(m.uid()).append(' ');
        }
        sb.append("FLAGS ").append(flagList(m));
        if (condstore) {
            sb.append(" MODSEQ (").append(m.modSeq()).append(')');
        }
        return sb.append(')').toString();
    }

    // ---- flags ----

    /** The system flags in the order FETCH lists them. */
    static final List<String> SYSTEM_FLAGS = List.of(StoredMessage.SEEN, StoredMessage.ANSWERED,
            StoredMessage.FLAGGED, StoredMessage.DELETED, StoredMessage.DRAFT);

    String flagList(StoredMessage m) {
        List<String> f = new ArrayList<>();
        for (String system : SYSTEM_FLAGS) {
            if (m.flags().contains(system)) {
                f.add(system);
            }
        }
        if (recent.contains(m.uid()) && !rev2) { // RFC 9051 has no \Recent
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
    static Set<String> storeFlags(List<Arg> flags) throws Reply {
        Set<String> out = new LinkedHashSet<>();
        for (Arg o : flags) {
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

    private void fetch(String tag, List<Arg> args, boolean byUid) throws IOException, Reply {
        selected();
        List<Integer> seqs = messages(atom(arg(args, 0)), byUid);
        List<Item> items = fetchItems(arg(args, 1));
        if (byUid && items.stream().noneMatch(it -> it.name().equals("UID"))) {
            items.add(0, new Item("UID", null, 0, -1, false));
        }
        // RFC 7162 §3.1.4.1: FETCH modifiers CHANGEDSINCE and (QRESYNC, §3.2.6) VANISHED
        long changedSince = -1;
        boolean vanished = false;
        if (args.size() > 2) {
            List<Arg> mods = parenthesized(args.get(2));
            for (int i = 0; i < mods.size(); i++) {
                String mod = atom(mods.get(i)).toUpperCase(Locale.ROOT);
                if (mod.equals("CHANGEDSINCE")) {
                    changedSince = Resync.modSeq(arg(mods, ++i), true);
                } else if (mod.equals("VANISHED") && byUid && qresync) {
                    vanished = true;
                } else {
                    throw bad("unknown FETCH modifier " + mod);
                }
            }
            if (vanished && changedSince < 0) {
                throw bad("VANISHED needs CHANGEDSINCE");
            }
        }
        boolean wantsModSeq = items.stream().anyMatch(it -> it.name().equals("MODSEQ"));
        if (changedSince >= 0 || wantsModSeq) {
            condstore = true; // RFC 7162 §3.1: a CONDSTORE-enabling command
        }
        if (condstore && !wantsModSeq && (changedSince >= 0 || items.stream().anyMatch(it -> it.name().equals("FLAGS")))) {
            FetchItems.add(items, "MODSEQ");
        }
        if (vanished) {
            Resync.vanished(this, atom(arg(args, 0)));
        }
        boolean setsSeen = !readOnly && items.stream().anyMatch(it -> ((it.name().equals("BODY") || it.name().equals("BINARY"))
                && it.section() != null && !it.peek()) || it.name().equals("RFC822") || it.name().equals("RFC822.TEXT"));
        boolean wantsFlags = items.stream().anyMatch(it -> it.name().equals("FLAGS"));
        for (int seq : seqs) {
            long uid = view.get(seq - 1);
            StoredMessage m = viewMessages.get(uid);
            if (m.modSeq() <= changedSince) {
                continue;
            }
            LoadedMessage msg = new LoadedMessage(folder, m);
            ImapWriter w = writer().raw("* " + seq + " FETCH (");
            try {
                if (setsSeen && !m.has(StoredMessage.SEEN)) {
                    Set<String> seen = new LinkedHashSet<>(m.flags());
                    seen.add(StoredMessage.SEEN);
                    var now = folder.setFlags(uid, seen);
                    if (now.isPresent()) {
                        m = now.get();
                        viewMessages.put(uid, m);
                        msg = new LoadedMessage(folder, m);
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

    private void fetchItem(ImapWriter w, Item it, StoredMessage m, LoadedMessage msg) throws IOException, Reply {
        switch (it.name()) {
            case "UID" -> w.raw("UID " + m.uid());
            case "FLAGS" -> w.raw("FLAGS " + flagList(m));
            case "MODSEQ" -> w.raw("MODSEQ (" + m.modSeq() + ")");
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
                byte[] bytes = partial(sectionBytes(msg, it.section()), it);
                w.raw("BODY[" + it.section().echo() + "]" + origin(it) + " ").literal(bytes);
            }
            case "BINARY" -> { // RFC 3516 §4.2
                byte[] bytes = partial(FetchItems.binaryBytes(msg, it.section()), it);
                w.raw("BINARY[" + it.section().echo() + "]" + origin(it) + " ").binary(bytes);
            }
            case "BINARY.SIZE" -> w.raw("BINARY.SIZE[" + it.section().echo() + "] "
                    + FetchItems.binaryBytes(msg, it.section()).length);
            default -> throw new AssertionError(it.name());
        }
    }


    /** The {@code <offset.length>} of a BODY or BINARY item (RFC 3501 §6.4.5), or all of it. */
    private static byte[] partial(byte[] bytes, Item it) {
        if (it.length() < 0) {
            return bytes;
        }
        int from = (int) Math.min(it.offset(), bytes.length);
        int to = (int) Math.min((long) from + it.length(), bytes.length);
        return java.util.Arrays.copyOfRange(bytes, from, to);
    }

    private static String origin(Item it) {
        return it.length() < 0 ? "" : "<" + it.offset() + ">";
    }

    // ---- SEARCH (RFC 3501 §6.4.4) ----

    private void search(String tag, List<Arg> args, boolean byUid) throws IOException, Reply {
        selected();
        Set<String> returns = returnOptions(args, "SEARCH");
        int[] pos = {returns == null ? 0 : 2};
        if (returns == null && rev2) {
            returns = Set.of("ALL"); // RFC 9051 §6.4.4: no RETURN means RETURN (ALL), in ESEARCH
        }
        if (pos[0] < args.size() && args.get(pos[0]) instanceof Atom a && a.value().equalsIgnoreCase("CHARSET")) {
            if (utf8) {
                // RFC 6855 §3 (erratum 4029): the strings are UTF-8 already, a label conflicts
                throw bad("no CHARSET once UTF8=ACCEPT is enabled");
            }
            checkCharset(arg(args, pos[0] + 1), false);
            pos[0] += 2;
        }
        boolean save = returns != null && returns.contains("SAVE");
        if (save) {
            saved.clear(); // RFC 5182 §2.1: a SEARCH that fails leaves $ empty
        }
        SearchKeys parser = new SearchKeys(this);
        List<Long> found = new ArrayList<>();
        List<Long> foundUids = new ArrayList<>();
        long highest = 0;
        for (int seq : matching(parser, args, pos[0])) {
            StoredMessage m = viewMessages.get(view.get(seq - 1));
            found.add(byUid ? m.uid() : seq);
            foundUids.add(m.uid());
            highest = Math.max(highest, m.modSeq());
        }
        if (save) {
            // RFC 5182 §2.4: with MIN or MAX (and not ALL or COUNT) only those are saved
            boolean edges = (returns.contains("MIN") || returns.contains("MAX"))
                    && !returns.contains("ALL") && !returns.contains("COUNT");
            if (edges && !foundUids.isEmpty()) {
                if (returns.contains("MIN")) {
                    saved.add(foundUids.get(0));
                }
                if (returns.contains("MAX")) {
                    saved.add(foundUids.get(foundUids.size() - 1));
                }
            } else if (!edges) {
                saved.addAll(foundUids);
            }
        }
        StringBuilder sb = new StringBuilder();
        if (returns == null) {
            sb.append("SEARCH");
            found.forEach(n -> sb.append(' ').append(n));
            if (parser.modSeq && highest > 0) {
                sb.append(" (MODSEQ ").append(highest).append(')');
            }
        } else if (!returns.equals(Set.of("SAVE"))) { // RFC 5182 §2.4: SAVE alone answers nothing
            sb.append(esearch(tag, byUid, returns, found));
            if (parser.modSeq && highest > 0) {
                sb.append(" MODSEQ ").append(highest); // RFC 7162 §3.1.5 with ESEARCH
            }
        }
        if (!sb.isEmpty()) {
            untagged(sb.toString());
        }
        sync(false);
        ok(tag, (byUid ? "UID " : "") + "SEARCH completed");
    }

    /**
     * The ESEARCH return options (RFC 4731 §3.1) if {@code args} start with {@code RETURN (...)},
     * an empty list meaning ALL; null without them.
     */
    static Set<String> returnOptions(List<Arg> args, String command) throws Reply {
        // SAVE (RFC 5182 §2.4) only for SEARCH: a sorted result saved is another extension
        List<String> known = command.equals("SEARCH") ? List.of("MIN", "MAX", "COUNT", "ALL", "SAVE")
                : List.of("MIN", "MAX", "COUNT", "ALL");
        if (args.isEmpty() || !(args.get(0) instanceof Atom a) || !a.value().equalsIgnoreCase("RETURN")) {
            return null;
        }
        Set<String> returns = new HashSet<>();
        for (Arg o : parenthesized(arg(args, 1))) {
            String opt = atom(o).toUpperCase(Locale.ROOT);
            if (!known.contains(opt)) {
                throw bad("unknown " + command + " return option " + opt);
            }
            returns.add(opt);
        }
        if (returns.isEmpty()) {
            returns.add("ALL");
        }
        return returns;
    }

    /**
     * The sequence numbers, ascending, a command's set names: {@code $} the saved search result
     * (RFC 5182 §2.1, the same messages in a UID command or not), else the sequence set.
     */
    List<Integer> messages(String set, boolean byUid) throws Reply {
        if (!set.equals("$")) {
            return SequenceSets.messages(view, set, byUid);
        }
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < view.size(); i++) {
            if (saved.contains(view.get(i))) {
                out.add(i + 1);
            }
        }
        return out;
    }

    /** The saved UIDs still in the view. */
    Set<Long> savedUids() {
        Set<Long> out = new HashSet<>(saved);
        out.retainAll(viewMessages.keySet());
        return out;
    }

    /**
     * Checks a SEARCH, SORT or THREAD charset: UTF-8 and US-ASCII are known, others {@code NO
     * [BADCHARSET]} (RFC 3501 §6.4.4); with {@code utf8} (UTF8=ACCEPT enabled) anything but UTF-8
     * is {@code BAD} (RFC 6855 §3, erratum 4029).
     */
    static void checkCharset(Arg charset, boolean utf8) throws Reply {
        String cs = astring(charset).toUpperCase(Locale.ROOT);
        if (utf8 && !cs.equals("UTF-8")) {
            throw bad("only UTF-8 once UTF8=ACCEPT is enabled");
        }
        if (!cs.equals("UTF-8") && !cs.equals("US-ASCII")) {
            throw no("[BADCHARSET (UTF-8 US-ASCII)] unsupported charset");
        }
    }

    /**
     * The sequence numbers, ascending, of the selected messages matching every search key from
     * {@code args[from]} on (RFC 3501 §6.4.4); a message expunged meanwhile matches nothing.
     * A MODSEQ key makes the session CONDSTORE-aware (RFC 7162 §3.1).
     */
    List<Integer> matching(SearchKeys parser, List<Arg> args, int from) throws IOException, Reply {
        if (from >= args.size()) {
            throw bad("SEARCH needs a key");
        }
        int[] pos = {from};
        List<SearchKeys.Key> keys = new ArrayList<>();
        while (pos[0] < args.size()) {
            keys.add(parser.key(args, pos, 0));
        }
        List<Integer> found = new ArrayList<>();
        for (int i = 0; i < view.size(); i++) {
            LoadedMessage msg = new LoadedMessage(folder, viewMessages.get(view.get(i)));
            boolean all = true;
            try {
                for (SearchKeys.Key k : keys) {
                    if (!k.test(i + 1, msg)) {
                        all = false;
                        break;
                    }
                }
            } catch (NoSuchMessageException e) {
                all = false;
            }
            if (all) {
                found.add(i + 1);
            }
        }
        if (parser.modSeq) {
            condstore = true;
        }
        return found;
    }

    /**
     * An ESEARCH response (RFC 4731 §3.1) without its {@code * }: {@code found} in the order the
     * command gives them (ascending for SEARCH, sorted for SORT, RFC 5267 §3.2), MIN the first
     * and MAX the last of them, ALL as a sequence set in that order.
     */
    static String esearch(String tag, boolean byUid, Set<String> returns, List<Long> found) {
        ImapWriter w = new ImapWriter().raw("ESEARCH (TAG ").string(tag).raw(")" + (byUid ? " UID" : ""));
        StringBuilder sb = new StringBuilder(new String(w.toBytes(), StandardCharsets.UTF_8));
        if (!found.isEmpty() && returns.contains("MIN")) {
            sb.append(" MIN ").append(found.get(0));
        }
        if (!found.isEmpty() && returns.contains("MAX")) {
            sb.append(" MAX ").append(found.get(found.size() - 1));
        }
        if (returns.contains("COUNT")) {
            sb.append(" COUNT ").append(found.size());
        }
        if (!found.isEmpty() && returns.contains("ALL")) {
            sb.append(" ALL ").append(SequenceSets.compactSet(found));
        }
        return sb.toString();
    }
}
