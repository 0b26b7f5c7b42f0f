/**
 * An IMAP4rev1 server (RFC 3501) over the Maildir++ store of {@link dev.twine.mail.maildir}:
 * {@link dev.twine.mail.imap.ImapServer} builds a {@link dev.twine.core.Server} from a store, a
 * {@link dev.twine.core.auth.Portal} and optional TLS. Everything else in the package is internal.
 */
package dev.twine.mail.imap;
