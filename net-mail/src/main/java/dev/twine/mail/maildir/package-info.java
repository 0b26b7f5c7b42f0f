/**
 * The Maildir++ store shared by the SMTP, POP3 and IMAP servers and by other Maildir tools:
 * durable delivery ({@link dev.twine.mail.maildir.Maildir#deliver}), and
 * {@link dev.twine.mail.maildir.Maildir} as the {@link dev.twine.mail.store.MailStore} of the IMAP
 * and POP3 servers (UIDs in {@code twine-uidlist}, flags in file names, keywords in
 * {@code dovecot-keywords}, changes watched with inotify).
 */
package dev.twine.mail.maildir;
