package dev.twine.core.auth;

import java.io.IOException;
import java.util.Objects;

/**
 * What an authenticated user gets from one protocol: Twisted's cred realm. The {@link Portal}
 * answers "who is this?"; a realm answers "then what do they see?" — which mailbox store, which
 * SFTP file system, which shell. Each protocol server takes a realm for its own avatar type, so
 * an application decides what each user gets in one place:
 *
 * <pre>{@code
 * final class Tenants {
 *     MailStore.Account mail(Principal p) throws IOException { return store.account(p.name()); }
 *     Path files(Principal p) throws IOException { return zips.forUser(p.name()).getPath("/"); }
 * }
 * Tenants tenants = new Tenants();
 * ImapServer.builder().portal(portal).realm(tenants::mail) ...
 * SshServer.builder().portal(portal).sftp(tenants::files) ...
 * }</pre>
 *
 * <p>The server calls {@link #avatar} on the connection's own virtual thread. Where the avatar
 * is the whole session (IMAP and POP3's mail account) that is right after a successful login,
 * before the client is told: a realm that refuses the user (the user may log in to SSH but has no
 * mailbox, say) throws {@link AuthenticationException}, the protocol answers as for a failed
 * login, and it counts as one in the {@link AuthPolicy}. Where a login can ask for several things
 * (SSH: a shell, a command, SFTP), the realm is asked when the client asks for one, and a refusal
 * refuses that request only. An {@link IOException} (the backing store is unavailable) becomes
 * the protocol's temporary failure.
 *
 * <h2>Error handling</h2>
 * Any other exception escapes to the connection, which is closed and the failure logged.
 *
 * @param <A> the avatar type: what the protocol hands each logged-in user
 */
@FunctionalInterface
public interface Realm<A> {

    /**
     * The avatar of an authenticated user.
     *
     * @param principal who logged in, as the {@link Portal} returned it
     * @return what that user gets in this protocol; never null
     * @throws AuthenticationException if this user may not use this protocol
     * @throws IOException if the avatar cannot be made now (a store that is unavailable)
     * @throws InterruptedException if interrupted while making it
     */
    A avatar(Principal principal) throws AuthenticationException, IOException, InterruptedException;

    /**
     * A realm that gives every user the same avatar (a shared store that looks the user up itself,
     * or a test double).
     *
     * @param <A> the avatar type
     * @param avatar what every user gets
     * @return the realm
     * @throws NullPointerException if {@code avatar} is null
     */
    static <A> Realm<A> shared(A avatar) {
        Objects.requireNonNull(avatar, "avatar");
        return principal -> avatar;
    }
}
