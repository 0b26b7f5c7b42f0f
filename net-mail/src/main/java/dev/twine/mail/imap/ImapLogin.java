package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapArgs.arg;
import static dev.twine.mail.imap.ImapArgs.astring;
import static dev.twine.mail.imap.ImapArgs.atom;
import static dev.twine.mail.imap.ImapArgs.bad;
import static dev.twine.mail.imap.ImapArgs.no;

import dev.twine.core.auth.AuthenticationException;
import dev.twine.core.auth.LoginRefusedException;
import dev.twine.core.auth.LoginResult;
import dev.twine.core.auth.Principal;
import dev.twine.core.auth.SaslExchange;
import dev.twine.core.auth.UsernamePassword;
import dev.twine.mail.imap.ImapArgs.Reply;
import dev.twine.mail.imap.ImapParser.Arg;
import dev.twine.mail.imap.ImapSession.State;
import dev.twine.mail.store.MailStore;
import java.io.EOFException;
import java.io.IOException;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The not-authenticated state of one {@link ImapSession} (RFC 9051 §6.2): STARTTLS, LOGIN and
 * AUTHENTICATE with SASL-IR, through the portal's login policy, then the realm's account.
 */
final class ImapLogin {
    private static final System.Logger LOG = System.getLogger(ImapSession.class.getName());
    /** Made and subscribed on a user's first login; their names give them their uses (RFC 6154, {@code MailStore.Account.specialUses}). */
    private static final List<String> SPECIAL_USE = List.of("Sent", "Drafts", "Trash", "Junk");

    private final ImapSession s;

    ImapLogin(ImapSession s) {
        this.s = s;
    }

    void startTls(String tag) throws IOException, Reply {
        if (s.config.tls() == null || s.conn.isSecure()) {
            throw bad("STARTTLS not available");
        }
        if (s.state != State.NOT_AUTHENTICATED) {
            throw bad("already authenticated");
        }
        s.ok(tag, "Begin TLS negotiation now");
        // Connection.startTls drops whatever the client pipelined in plaintext (RFC 3501 §6.2.1)
        s.conn.startTls(s.config.tls());
    }

    void login(String tag, List<Arg> args) throws IOException, Reply, InterruptedException {
        if (s.state != State.NOT_AUTHENTICATED) {
            throw bad("already authenticated");
        }
        if (!s.loginAllowed()) {
            throw no("[PRIVACYREQUIRED] LOGIN is disabled before STARTTLS");
        }
        String u = astring(arg(args, 0));
        String p = astring(arg(args, 1));
        UsernamePassword credentials;
        try {
            credentials = new UsernamePassword(u, p);
        } catch (IllegalArgumentException e) {
            failed(tag, s.attempts.failed(u));
            return;
        }
        // the policy answers before the password is looked at: while penalised, right or wrong
        // get the same temporary refusal
        answer(tag, s.attempts.authenticate(s.config.portal(), credentials));
    }

    /** Turns how a login went into IMAP's replies (RFC 3501 §6.2.2, §6.2.3; RFC 5530 codes). */
    private void answer(String tag, LoginResult result) throws IOException, Reply, InterruptedException {
        switch (result) {
            case LoginResult.LoggedIn in -> loggedIn(tag, in.principal());
            case LoginResult.Failed f -> failed(tag, f.mayRetry());
            case LoginResult.Refused r -> refused(tag, r.reason());
            case LoginResult.Abandoned a -> {
                // the profile has answered the cancel or the bad base64
            }
        }
    }

    /**
     * A login refused by the policy (RFC 5530 UNAVAILABLE: a temporary failure, the same whether
     * or not the credentials were right); closes the session if it has no attempts left.
     */
    private void refused(String tag, LoginRefusedException e) throws IOException {
        s.send(tag + " NO [UNAVAILABLE] login temporarily refused, try again later\r\n");
        if (!e.mayRetry()) {
            goodbye();
        }
    }

    /** A failed login, already counted and delayed by the policy: NO, and BYE when no tries are left. */
    private void failed(String tag, boolean mayRetry) throws IOException {
        s.send(tag + " NO [AUTHENTICATIONFAILED] authentication failed\r\n");
        if (!mayRetry) {
            goodbye();
        }
    }

    private void goodbye() throws IOException {
        s.untagged("BYE too many failed logins");
        s.state = State.LOGOUT;
    }

    /** AUTHENTICATE (RFC 3501 §6.2.2) with SASL-IR (RFC 4959), through the core SASL driver. */
    void authenticate(String tag, List<Arg> args) throws IOException, Reply, InterruptedException {
        if (s.state != State.NOT_AUTHENTICATED) {
            throw bad("already authenticated");
        }
        if (!s.loginAllowed()) {
            throw no("[PRIVACYREQUIRED] AUTHENTICATE is disabled before STARTTLS");
        }
        String mech = atom(arg(args, 0)).toUpperCase(Locale.ROOT);
        if (!s.config.portal().saslMechanisms().contains(mech)) {
            throw no("unsupported mechanism");
        }
        Optional<byte[]> initial = Optional.empty();
        if (args.size() > 1) {
            // SASL-IR (RFC 4959): "=" is an empty initial response
            String ir = atom(args.get(1));
            try {
                initial = Optional.of(ir.equals("=") ? new byte[0] : Base64.getDecoder().decode(ir));
            } catch (IllegalArgumentException e) {
                throw bad("invalid base64");
            }
        }
        SaslExchange.Profile imap = challenge -> {
            // RFC 3501 §6.2.2: a continuation carries each challenge, "*" cancels
            s.send("+ " + Base64.getEncoder().encodeToString(challenge) + "\r\n");
            s.conn.flush();
            String line = s.lines.readLine();
            if (line == null) {
                throw new EOFException();
            }
            if (line.equals("*")) {
                s.send(tag + " BAD AUTHENTICATE cancelled\r\n");
                return Optional.empty();
            }
            try {
                return Optional.of(Base64.getDecoder().decode(line.strip()));
            } catch (IllegalArgumentException e) {
                s.send(tag + " BAD invalid base64\r\n");
                return Optional.empty();
            }
        };
        answer(tag, s.config.portal().sasl(mech).run(initial, imap, s.attempts));
    }

    /**
     * The end of a successful login: the realm's account for the principal (a refusal is a failed
     * login, counted by the policy; a store that cannot be reached a temporary failure), the
     * special-use folders (RFC 6154) made on first login, then OK.
     */
    private void loggedIn(String tag, Principal principal) throws IOException, Reply, InterruptedException {
        MailStore.Account a;
        try {
            a = s.config.realm().avatar(principal);
        } catch (AuthenticationException e) {
            failed(tag, s.attempts.failed(principal.name()));
            return;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "IMAP " + s.conn.peer() + ": no mail store for " + principal.name(), e);
            s.send(tag + " NO [UNAVAILABLE] mail store unavailable, try again later\r\n");
            return;
        }
        if (a.mailbox("INBOX").isEmpty()) {
            throw no("[UNAVAILABLE] no inbox");
        }
        for (String special : SPECIAL_USE) {
            if (a.create(special)) {
                a.subscribe(special, true);
            }
        }
        s.account = a;
        s.state = State.AUTHENTICATED;
        // out of the server's pre-auth counts and deadline; the autologout applies from here
        s.conn.markAuthenticated();
        s.ok(tag, "[CAPABILITY " + s.capabilities() + "] logged in");
    }
}
