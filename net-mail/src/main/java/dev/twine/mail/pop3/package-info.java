/**
 * A POP3 server (RFC 1939, RFC 2449, RFC 2595, RFC 5034) over the inboxes of a
 * {@link dev.twine.mail.store.MailStore}: {@link dev.twine.mail.pop3.Pop3Server}.
 */
package dev.twine.mail.pop3;
