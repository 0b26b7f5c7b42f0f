/**
 * The mail store interface the IMAP and POP3 servers speak to only: a
 * {@link dev.twine.mail.store.MailStore} gives each user an account of
 * {@link dev.twine.mail.store.Mailbox}es. {@link dev.twine.mail.maildir.Maildir} and
 * {@link dev.twine.mail.store.MemoryMailStore} implement it; so can a user's own store.
 */
package dev.twine.mail.store;
