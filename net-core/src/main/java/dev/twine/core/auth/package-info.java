/**
 * Authentication, after Twisted's "cred": a {@link dev.twine.core.auth.Portal} takes
 * {@link dev.twine.core.auth.Credentials}, asks its {@link dev.twine.core.auth.Checker}s in order
 * and returns an authenticated {@link dev.twine.core.auth.Principal}; it also runs server-side SASL
 * exchanges ({@link dev.twine.core.auth.SaslExchange}: PLAIN and SCRAM-SHA-256). One user database,
 * usually a Dovecot passwd-file ({@link dev.twine.core.auth.UsersFile}), serves SMTP AUTH, POP3,
 * IMAP, SSH and XMPP.
 *
 * <h2>Error handling</h2>
 * Every rejected credential ends in an {@link dev.twine.core.auth.AuthenticationException} whose
 * message is the same whether the user is unknown or the password is wrong, and the built-in checks
 * cost the same work in both cases, so neither the message nor the timing tells an attacker which
 * user names exist. Protocols turn the exception into their own failure reply (SMTP 535, IMAP
 * {@code NO}, XMPP {@code <not-authorized/>}).
 */
package dev.twine.core.auth;
