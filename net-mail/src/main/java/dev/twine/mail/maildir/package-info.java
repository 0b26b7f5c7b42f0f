/**
 * The Maildir++ store shared by the SMTP, POP3 and IMAP servers and by other Maildir tools:
 * durable delivery ({@link dev.twine.mail.maildir.Maildir#deliver}), folders and subscriptions,
 * and {@link dev.twine.mail.maildir.MailFolder} for UIDs, flags in file names and change watches.
 */
package dev.twine.mail.maildir;
