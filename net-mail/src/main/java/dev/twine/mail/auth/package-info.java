/**
 * Message authentication for the SMTP server: DKIM signing of outbound mail
 * ({@link dev.twine.mail.auth.DkimSigner}, keys from {@link dev.twine.mail.auth.DkimKeys}) and DKIM
 * verification of inbound mail ({@link dev.twine.mail.auth.DkimVerifier}), SPF
 * ({@link dev.twine.mail.auth.Spf}) and DMARC ({@link dev.twine.mail.auth.Dmarc}) with their
 * policies ({@link dev.twine.mail.auth.MessageAuthentication}), DNS blocklists for client
 * addresses ({@link dev.twine.mail.auth.Dnsbl}), with results named as
 * RFC 8601 names them ({@link dev.twine.mail.auth.AuthResult}). Each piece is a plain object a
 * {@link dev.twine.mail.smtp.MailDelivery} of one's own can call; {@code twine mail} wires them in
 * front of its relay queue and its port 25 delivery.
 */
package dev.twine.mail.auth;
