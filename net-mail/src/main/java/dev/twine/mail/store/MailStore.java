package dev.twine.mail.store;

import dev.twine.core.auth.AuthenticationException;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The mail store behind the IMAP and POP3 servers: one {@link Account} per user, each a set of
 * {@link Mailbox}es. The servers speak to mail only through these interfaces, so a user's own
 * store (a database, a ticket system shown as a folder) serves both protocols as the shipped
 * Maildir++ store ({@link dev.twine.mail.maildir.Maildir}) and the in-memory one
 * ({@link MemoryMailStore}) do.
 *
 * <pre>{@code
 * MailStore store = MemoryMailStore.create();
 * store.account("alice").mailbox("INBOX").orElseThrow()
 *         .append(new ByteArrayInputStream(message), Set.of(), null);
 * ImapServer imap = ImapServer.builder().portal(portal).store(store)
 *         .listen("tcp:1143:interface=127.0.0.1").build();
 * imap.start();
 * }</pre>
 *
 * <p>A server asks for the account right after a successful login, on the connection's own
 * virtual thread, and uses it for that connection only: {@code store::account} wrapped as
 * {@code p -> store.account(p.name())} is the servers' default {@link dev.twine.core.auth.Realm}.
 * Several connections of one user use the store at the same time; an implementation makes its
 * mailboxes safe for that, and shows each session the changes of the others (see
 * {@link Mailbox#messages()}).
 *
 * <h2>Mailbox names</h2>
 * Names are Unicode strings whose hierarchy levels are separated by {@code .} (IMAP's hierarchy
 * delimiter here, as in Maildir++); {@code INBOX}, in any case, is the inbox, which every account
 * has. The IMAP server checks names before they reach the store (no control characters, no
 * {@code /} or {@code \}, no empty level).
 *
 * <h2>Error handling</h2>
 * {@link AuthenticationException} from {@link #account} refuses the login (the protocol's failed
 * login); {@link IOException} is the protocol's temporary failure; {@link IllegalArgumentException}
 * from an account's methods means a name the store cannot hold (IMAP {@code NO [CANNOT]}).
 */
@FunctionalInterface
public interface MailStore {

    /**
     * The account of {@code user}, who has just logged in; made on first use if the store makes
     * accounts that way.
     *
     * @param user the principal's name
     * @return the account; never null
     * @throws AuthenticationException if this user has no mail here (the login then fails)
     * @throws IOException if the store cannot be reached now
     */
    Account account(String user) throws AuthenticationException, IOException;

    /**
     * One user's mailboxes. Each method may block on the store; each is called on the thread of
     * the connection that uses the account.
     */
    interface Account {
        /** The user this account belongs to. */
        String user();

        /**
         * The account's storage quota, if it has one (RFC 9208): IMAP refuses an APPEND or COPY
         * that would pass it with {@code NO [OVERQUOTA]} and tells it in GETQUOTA; a delivery can
         * ask it before storing, to answer {@code 452 4.2.2} (or {@code 552 5.2.2}) instead.
         * Default: none. May block while the store measures what the user holds.
         *
         * @throws IOException if the store cannot be read
         */
        default Optional<Quota> quota() throws IOException {
            return Optional.empty();
        }

        /**
         * The names of every mailbox, {@code INBOX} first, the others sorted.
         *
         * @throws IOException if the store cannot be read
         */
        List<String> mailboxes() throws IOException;

        /**
         * The mailbox called {@code name}, if it exists.
         *
         * @throws IOException if the store cannot be read
         * @throws IllegalArgumentException for a name the store cannot hold
         */
        Optional<Mailbox> mailbox(String name) throws IOException;

        /**
         * Creates a mailbox (not its superiors: the IMAP server creates those by name).
         * Durable when it returns.
         *
         * @return false if it already existed
         * @throws IOException if it cannot be created
         * @throws IllegalArgumentException for a name the store cannot hold
         */
        boolean create(String name) throws IOException;

        /**
         * Creates a mailbox with special uses (RFC 6154 §3, IMAP's {@code CREATE name (USE
         * (\Sent))}): each use one of {@code \All}, {@code \Archive}, {@code \Drafts},
         * {@code \Flagged}, {@code \Junk}, {@code \Sent}, {@code \Trash}, in that spelling
         * (the IMAP server checks them). Durable, uses included, when it returns. The default
         * creates the mailbox when {@code uses} is empty and otherwise refuses (IMAP answers
         * {@code NO [USEATTR]}).
         *
         * @return false if it already existed (its uses are then left as they were)
         * @throws IOException if it cannot be created
         * @throws UnsupportedOperationException if this store cannot keep uses
         * @throws IllegalArgumentException for a name the store cannot hold
         */
        default boolean create(String name, Set<String> uses) throws IOException {
            if (uses.isEmpty()) {
                return create(name);
            }
            throw new UnsupportedOperationException("this store keeps no special uses");
        }

        /**
         * The special uses (RFC 6154 §2) of the account's mailboxes that have any, by mailbox
         * name: what IMAP's LIST shows as {@code \Sent}, {@code \Trash} and the like, so that
         * clients file sent mail and deleted mail where the user's other clients do. A name
         * that no longer exists is ignored. May block while the store reads its record.
         *
         * <p>The default gives the conventional names their uses: {@code Sent}, {@code Drafts},
         * {@code Trash}, {@code Junk} and {@code Archive}, where they exist (the IMAP server makes
         * the first four on a user's first login). A store that records uses (the Maildir and
         * memory stores do) adds its record over these.
         *
         * @throws IOException if the store cannot be read
         */
        default Map<String, Set<String>> specialUses() throws IOException {
            Map<String, Set<String>> uses = new LinkedHashMap<>();
            for (String name : mailboxes()) {
                switch (name) {
                    case "Sent", "Drafts", "Trash", "Junk", "Archive" -> uses.put(name, Set.of("\\" + name));
                    default -> {
                        // no conventional use
                    }
                }
            }
            return uses;
        }

        /**
         * Deletes a mailbox and its messages; mailboxes below it stay (RFC 9051 §6.3.4).
         *
         * @return false if it did not exist
         * @throws IOException if it cannot be deleted
         * @throws IllegalArgumentException for the inbox or a name the store cannot hold
         */
        boolean delete(String name) throws IOException;

        /**
         * Renames a mailbox and the mailboxes below it ({@code A} to {@code B} also moves
         * {@code A.x} to {@code B.x}, RFC 9051 §6.3.6).
         *
         * @return false if {@code from} does not exist or {@code to} does
         * @throws IOException if it cannot be renamed
         * @throws IllegalArgumentException for the inbox or a name the store cannot hold
         */
        boolean rename(String from, String to) throws IOException;

        /**
         * The names the user subscribed to (RFC 9051 §6.3.7), which need not exist.
         *
         * @throws IOException if they cannot be read
         */
        List<String> subscriptions() throws IOException;

        /**
         * Adds or removes a subscription; durable when it returns.
         *
         * @throws IOException if it cannot be recorded
         */
        void subscribe(String name, boolean subscribed) throws IOException;
    }
}
