package dev.twine.mail.managesieve;

import dev.twine.core.Connection;
import dev.twine.core.DrainingException;
import dev.twine.core.LineReader;
import dev.twine.core.LineTooLongException;
import dev.twine.core.auth.LoginAttempts;
import dev.twine.core.auth.LoginResult;
import dev.twine.core.auth.SaslExchange;
import dev.twine.mail.sieve.SieveException;
import dev.twine.mail.sieve.SieveScript;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/** One ManageSieve connection (RFC 5804): before and after authentication, one command at a time. */
final class ManageSieveSession {
    private static final System.Logger LOG = System.getLogger(ManageSieveSession.class.getName());
    private static final int MAX_LINE = 8192;
    /** The largest literal before login: SASL responses are a few hundred octets. */
    private static final int PREAUTH_LITERAL = 8192;

    /** A syntax error in a command: answered {@code NO} and the session goes on. */
    private static final class Syntax extends Exception {
        private static final long serialVersionUID = 1L;

        Syntax(String message) {
            super(message, null, false, false);
        }
    }

    /** A literal over the limit: its octets were skipped, and the command is answered {@code NO}. */
    private static final class TooLarge extends Exception {
        private static final long serialVersionUID = 1L;

        TooLarge() {
            super(null, null, false, false);
        }
    }

    /** One argument: an atom (a command name) or a string (quoted or literal), or a number. */
    private record Token(String text, boolean string) {}

    private final ManageSieveServer.Config config;
    private final Connection conn;
    private final LineReader lines;
    private final LoginAttempts attempts;
    private String user;
    private boolean hangUp;

    ManageSieveSession(ManageSieveServer.Config config, Connection conn) {
        this.config = config;
        this.conn = conn;
        this.lines = LineReader.of(conn, MAX_LINE);
        this.attempts = config.portal().policy().open(config.serviceName(), conn.remoteAddress());
    }

    void run() throws IOException, InterruptedException {
        capabilities(); // RFC 5804 §1.7: the greeting is the capability response
        conn.flush();
        while (!hangUp) {
            List<Token> command;
            try {
                command = read();
            } catch (LineTooLongException e) {
                send("NO \"Line too long\"\r\n");
                conn.flush();
                continue;
            } catch (Syntax e) {
                send("NO " + quoted(e.getMessage()) + "\r\n");
                conn.flush();
                continue;
            } catch (TooLarge e) {
                send("NO (QUOTA/MAXSIZE) \"Literal too large\"\r\n");
                conn.flush();
                continue;
            }
            if (command == null) {
                return;
            }
            if (command.isEmpty()) {
                continue;
            }
            boolean goOn;
            try {
                goOn = execute(command);
            } catch (DrainingException | SocketTimeoutException | EOFException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                goOn = internalError(e);
            }
            conn.flush();
            if (!goOn) {
                return;
            }
        }
        conn.flush();
    }

    private boolean internalError(Exception e) throws IOException {
        String id = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        LOG.log(System.Logger.Level.ERROR, "ManageSieve " + conn.peer() + " [" + id + "]", e);
        send("NO (TRYLATER) \"Internal error occurred. Refer to server log for more information. [" + id + "]\"\r\n");
        return true;
    }

    // ---- reading ----

    /**
     * One command: its line, with each literal's octets (RFC 5804 §4, {@code {N+}} and
     * {@code {N}} alike, as neither waits for the server) read where it stands.
     *
     * @return the tokens, or null at end of stream
     */
    private List<Token> read() throws IOException, Syntax, TooLarge {
        byte[] line = lines.readLineBytes();
        if (line == null) {
            return null;
        }
        List<Token> tokens = new ArrayList<>();
        boolean tooLarge = false;
        while (true) {
            String s = new String(line, StandardCharsets.UTF_8);
            int i = 0;
            Integer literal = null;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == ' ') {
                    i++;
                } else if (c == '"') {
                    StringBuilder sb = new StringBuilder();
                    i++;
                    while (true) {
                        if (i >= s.length()) {
                            throw new Syntax("Unterminated string");
                        }
                        char d = s.charAt(i++);
                        if (d == '"') {
                            break;
                        }
                        if (d == '\\') {
                            if (i >= s.length() || (s.charAt(i) != '"' && s.charAt(i) != '\\')) {
                                throw new Syntax("Bad escape in a string");
                            }
                            d = s.charAt(i++);
                        }
                        sb.append(d);
                    }
                    tokens.add(new Token(sb.toString(), true));
                } else if (c == '{') {
                    int end = s.indexOf('}', i);
                    if (end != s.length() - 1) {
                        throw new Syntax("A literal ends its line");
                    }
                    String n = s.substring(i + 1, s.endsWith("+}") ? end - 1 : end);
                    if (n.isEmpty() || n.length() > 10 || !n.chars().allMatch(Character::isDigit)) {
                        throw new Syntax("Bad literal length");
                    }
                    long size = Long.parseLong(n);
                    if (size > (user == null ? PREAUTH_LITERAL : config.scripts().maxSize())) {
                        if (size > 64L << 20) {
                            // too much to read through: the stream cannot be kept in step
                            send("BYE \"Literal too large\"\r\n");
                            conn.flush();
                            throw new EOFException("literal of " + size + " octets");
                        }
                        conn.input().skipNBytes(size);
                        tooLarge = true;
                        literal = -1;
                    } else {
                        literal = (int) size;
                    }
                    i = s.length();
                } else {
                    int start = i;
                    while (i < s.length() && s.charAt(i) != ' ' && s.charAt(i) != '"' && s.charAt(i) != '{') {
                        i++;
                    }
                    String atom = s.substring(start, i);
                    if (!atom.chars().allMatch(ch -> Character.isLetterOrDigit(ch) || ch == '-')) {
                        throw new Syntax("Bad token");
                    }
                    tokens.add(new Token(atom, false));
                }
            }
            if (literal == null) {
                break;
            }
            if (literal >= 0) {
                byte[] data = conn.input().readNBytes(literal);
                if (data.length < literal) {
                    throw new EOFException("connection closed inside a literal");
                }
                tokens.add(new Token(utf8(data), true));
            }
            line = lines.readLineBytes();
            if (line == null) {
                throw new EOFException("connection closed after a literal");
            }
        }
        if (tooLarge) {
            throw new TooLarge();
        }
        return tokens;
    }

    /** A literal's text; not UTF-8 is kept as U+FFFD, which no script or name accepts. */
    private static String utf8(byte[] data) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(data)).toString();
        } catch (CharacterCodingException e) {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    // ---- commands ----

    private boolean execute(List<Token> command) throws IOException, InterruptedException {
        Token verb = command.get(0);
        List<Token> args = command.subList(1, command.size());
        if (verb.string()) {
            send("NO \"A command starts with its name\"\r\n");
            return true;
        }
        String name = verb.text().toUpperCase(Locale.ROOT);
        switch (name) {
            case "LOGOUT" -> {
                send("OK \"Logout completed.\"\r\n");
                return false;
            }
            case "CAPABILITY" -> {
                if (args(args, 0)) {
                    capabilities();
                }
                return true;
            }
            case "NOOP" -> {
                // RFC 5804 §2.13: an optional tag, echoed
                if (args.size() > 1 || (args.size() == 1 && !args.get(0).string())) {
                    send("NO \"NOOP takes an optional string\"\r\n");
                } else if (args.isEmpty()) {
                    send("OK \"NOOP completed.\"\r\n");
                } else {
                    send("OK (TAG " + quoted(args.get(0).text()) + ") \"Done\"\r\n");
                }
                return true;
            }
            case "STARTTLS" -> {
                startTls(args);
                return true;
            }
            case "AUTHENTICATE" -> {
                authenticate(args);
                return !hangUp;
            }
            default -> {
                if (user == null) {
                    send("NO \"Authenticate first\"\r\n");
                    return true;
                }
            }
        }
        switch (name) {
            case "HAVESPACE" -> {
                if (args.size() == 2 && args.get(0).string() && !args.get(1).string()
                        && args.get(1).text().matches("[0-9]{1,10}")) {
                    Optional<String> no = space(args.get(0).text(), Long.parseLong(args.get(1).text()));
                    send(no.orElse("OK") + "\r\n");
                } else {
                    send("NO \"HAVESPACE takes a name and a number\"\r\n");
                }
            }
            case "PUTSCRIPT" -> {
                if (strings(args, 2)) {
                    putScript(args.get(0).text(), args.get(1).text());
                }
            }
            case "CHECKSCRIPT" -> {
                if (strings(args, 1)) {
                    try {
                        SieveScript.parse(args.get(0).text());
                        send("OK\r\n");
                    } catch (SieveException e) {
                        send("NO " + quoted(e.getMessage()) + "\r\n");
                    }
                }
            }
            case "LISTSCRIPTS" -> {
                if (args(args, 0)) {
                    Optional<String> active = config.scripts().active(user);
                    for (String script : config.scripts().names(user)) {
                        send(quoted(script) + (active.filter(script::equals).isPresent() ? " ACTIVE" : "") + "\r\n");
                    }
                    send("OK \"Listscripts completed.\"\r\n");
                }
            }
            case "SETACTIVE" -> {
                if (strings(args, 1)) {
                    try {
                        config.scripts().activate(user, args.get(0).text());
                        send("OK\r\n");
                    } catch (NoSuchFileException | IllegalArgumentException e) {
                        send("NO (NONEXISTENT) \"There is no script by that name\"\r\n");
                    }
                }
            }
            case "GETSCRIPT" -> {
                if (strings(args, 1)) {
                    try {
                        byte[] text = config.scripts().read(user, args.get(0).text()).getBytes(StandardCharsets.UTF_8);
                        send("{" + text.length + "}\r\n");
                        conn.output().write(text);
                        send("\r\nOK \"Getscript completed.\"\r\n");
                    } catch (NoSuchFileException | IllegalArgumentException e) {
                        send("NO (NONEXISTENT) \"There is no script by that name\"\r\n");
                    }
                }
            }
            case "DELETESCRIPT" -> {
                if (strings(args, 1)) {
                    try {
                        config.scripts().delete(user, args.get(0).text());
                        send("OK\r\n");
                    } catch (NoSuchFileException | IllegalArgumentException e) {
                        send("NO (NONEXISTENT) \"There is no script by that name\"\r\n");
                    } catch (IllegalStateException e) {
                        send("NO (ACTIVE) \"The active script cannot be deleted\"\r\n");
                    }
                }
            }
            case "RENAMESCRIPT" -> {
                if (strings(args, 2)) {
                    renameScript(args.get(0).text(), args.get(1).text());
                }
            }
            default -> send("NO \"Unknown command\"\r\n");
        }
        return true;
    }

    private boolean args(List<Token> args, int n) throws IOException {
        if (args.size() != n) {
            send("NO \"Wrong number of arguments\"\r\n");
            return false;
        }
        return true;
    }

    private boolean strings(List<Token> args, int n) throws IOException {
        if (!args(args, n)) {
            return false;
        }
        if (!args.stream().allMatch(Token::string)) {
            send("NO \"Arguments are strings\"\r\n");
            return false;
        }
        return true;
    }

    /** RFC 5804 §1.7: the capability lines, then OK. */
    private void capabilities() throws IOException {
        send("\"IMPLEMENTATION\" \"Twine\"\r\n");
        boolean canLogin = user == null && (conn.isSecure() || config.plainLoginAllowed());
        send("\"SASL\" " + quoted(canLogin ? String.join(" ", config.portal().saslMechanisms()) : "") + "\r\n");
        send("\"SIEVE\" " + quoted(String.join(" ", ManageSieveServer.extensions())) + "\r\n");
        if (config.tls() != null && !conn.isSecure() && user == null) {
            send("\"STARTTLS\"\r\n");
        }
        send("\"MAXREDIRECTS\" \"" + ManageSieveServer.MAX_REDIRECTS + "\"\r\n");
        if (user != null) {
            send("\"OWNER\" " + quoted(user) + "\r\n");
        }
        send("\"VERSION\" \"1.0\"\r\n");
        send("OK \"Twine ManageSieve ready.\"\r\n");
    }

    /** RFC 5804 §2.2: TLS, then the capabilities again, unasked. */
    private void startTls(List<Token> args) throws IOException {
        if (!args(args, 0)) {
            return;
        }
        if (config.tls() == null || conn.isSecure() || user != null) {
            send("NO \"STARTTLS is not available\"\r\n");
            return;
        }
        send("OK \"Begin TLS negotiation now.\"\r\n");
        conn.flush();
        conn.startTls(config.tls()); // plaintext pipelined behind STARTTLS is discarded
        capabilities();
    }

    /** RFC 5804 §2.1: SASL through the portal and its login policy. */
    private void authenticate(List<Token> args) throws IOException, InterruptedException {
        if (user != null) {
            send("NO \"Already authenticated\"\r\n");
            return;
        }
        if (args.isEmpty() || args.size() > 2 || !args.stream().allMatch(Token::string)) {
            send("NO \"AUTHENTICATE takes a mechanism and an optional initial response\"\r\n");
            return;
        }
        if (!conn.isSecure() && !config.plainLoginAllowed()) {
            send("NO (ENCRYPT-NEEDED) \"Use STARTTLS first\"\r\n");
            return;
        }
        String mech = args.get(0).text().toUpperCase(Locale.ROOT);
        if (!config.portal().saslMechanisms().contains(mech)) {
            send("NO \"Unsupported mechanism\"\r\n");
            return;
        }
        Optional<byte[]> initial = Optional.empty();
        if (args.size() == 2) {
            byte[] ir = decode(args.get(1).text());
            if (ir == null) {
                send("NO \"Invalid base64\"\r\n");
                return;
            }
            initial = Optional.of(ir);
        }
        SaslExchange.Profile profile = new SaslExchange.Profile() {
            @Override
            public Optional<byte[]> challenge(byte[] challenge) throws IOException {
                send(quoted(Base64.getEncoder().encodeToString(challenge)) + "\r\n");
                conn.flush();
                List<Token> response;
                try {
                    response = read();
                } catch (Syntax | TooLarge e) {
                    send("NO \"Bad SASL response\"\r\n");
                    return Optional.empty();
                }
                if (response == null) {
                    throw new EOFException();
                }
                if (response.size() != 1 || !response.get(0).string()) {
                    send("NO \"Bad SASL response\"\r\n");
                    return Optional.empty();
                }
                if (response.get(0).text().equals("*")) {
                    send("NO \"Authentication cancelled.\"\r\n");
                    return Optional.empty();
                }
                byte[] decoded = decode(response.get(0).text());
                if (decoded == null) {
                    send("NO \"Invalid base64\"\r\n");
                }
                return Optional.ofNullable(decoded);
            }

            @Override
            public boolean successCarriesData() {
                return true; // RFC 5804 §2.1: OK (SASL "...")
            }
        };
        switch (config.portal().sasl(mech).run(initial, profile, attempts)) {
            case LoginResult.LoggedIn in -> {
                try {
                    config.scripts().names(in.principal().name()); // a name the store cannot hold fails here
                } catch (IllegalArgumentException e) {
                    failed(attempts.failed(in.principal().name()));
                    return;
                }
                user = in.principal().name();
                conn.markAuthenticated(); // out of the pre-login counts and deadline
                if (in.additionalData().length > 0) {
                    send("OK (SASL " + quoted(Base64.getEncoder().encodeToString(in.additionalData())) + ") \"Logged in.\"\r\n");
                } else {
                    send("OK \"Logged in.\"\r\n");
                }
            }
            case LoginResult.Failed f -> failed(f.mayRetry());
            case LoginResult.Refused r -> {
                send("NO (TRYLATER) \"Login temporarily refused, try again later\"\r\n");
                hangUp = !r.reason().mayRetry();
            }
            case LoginResult.Abandoned a -> {
                // the profile answered already
            }
        }
    }

    private void failed(boolean mayRetry) throws IOException {
        if (mayRetry) {
            send("NO \"Authentication failed.\"\r\n");
        } else {
            send("BYE \"Too many failed authentications.\"\r\n");
            hangUp = true;
        }
    }

    private static byte[] decode(String s) {
        try {
            return Base64.getDecoder().decode(s.strip());
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** RFC 5804 §2.3: why {@code size} more octets as {@code name} do not fit, or empty if they do. */
    private Optional<String> space(String name, long size) throws IOException {
        try {
            dev.twine.mail.sieve.SieveScripts.checkName(name);
        } catch (IllegalArgumentException e) {
            return Optional.of("NO " + quoted("Bad script name: " + e.getMessage()));
        }
        if (size > config.scripts().maxSize()) {
            return Optional.of("NO (QUOTA/MAXSIZE) \"A script is at most " + config.scripts().maxSize() + " octets\"");
        }
        List<String> names = config.scripts().names(user);
        long existing = 0;
        if (names.contains(name)) {
            existing = config.scripts().read(user, name).getBytes(StandardCharsets.UTF_8).length;
        } else if (names.size() >= config.maxScripts()) {
            return Optional.of("NO (QUOTA/MAXSCRIPTS) \"At most " + config.maxScripts() + " scripts\"");
        }
        if (config.scripts().used(user) - existing + size > config.maxStorage()) {
            return Optional.of("NO (QUOTA/MAXSTORAGE) \"Scripts take at most " + config.maxStorage() + " octets\"");
        }
        return Optional.empty();
    }

    private void putScript(String name, String text) throws IOException {
        Optional<String> no = space(name, text.getBytes(StandardCharsets.UTF_8).length);
        if (no.isPresent()) {
            send(no.get() + "\r\n");
            return;
        }
        try {
            config.scripts().put(user, name, text);
            send("OK \"Putscript completed.\"\r\n");
        } catch (SieveException e) {
            send("NO " + quoted(e.getMessage()) + "\r\n"); // RFC 5804 §2.6: the errors, line numbered
        }
    }

    private void renameScript(String from, String to) throws IOException {
        try {
            dev.twine.mail.sieve.SieveScripts.checkName(to);
            config.scripts().rename(user, from, to);
            send("OK\r\n");
        } catch (NoSuchFileException e) {
            send("NO (NONEXISTENT) \"There is no script by that name\"\r\n");
        } catch (FileAlreadyExistsException e) {
            send("NO (ALREADYEXISTS) \"A script by that name exists\"\r\n");
        } catch (IllegalArgumentException e) {
            send("NO " + quoted("Bad script name: " + e.getMessage()) + "\r\n");
        }
    }

    // ---- writing ----

    /** A string as RFC 5804 §4 writes it: quoted when it can be, else a literal. */
    static String quoted(String s) {
        if (s.length() > 1024 || s.indexOf('\r') >= 0 || s.indexOf('\n') >= 0 || s.indexOf('\0') >= 0) {
            return "{" + s.getBytes(StandardCharsets.UTF_8).length + "}\r\n" + s;
        }
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private void send(String s) throws IOException {
        conn.output().write(s.getBytes(StandardCharsets.UTF_8));
    }
}
