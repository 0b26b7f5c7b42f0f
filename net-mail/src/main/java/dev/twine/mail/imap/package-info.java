/**
 * An IMAP4rev1 server (RFC 3501) over a {@link dev.twine.mail.store.MailStore}:
 * {@link dev.twine.mail.imap.ImapServer} is built from a {@link dev.twine.core.auth.Portal}, a
 * store or realm, and optional TLS. Everything else in the package is internal.
 */
package dev.twine.mail.imap;
