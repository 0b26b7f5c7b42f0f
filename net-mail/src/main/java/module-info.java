/**
 * Twine's mail module: an ESMTP server and client, POP3 and IMAP servers over a mail store interface
 * ({@code dev.twine.mail.store}) whose shipped implementation is a Maildir++
 * store that other tools (Dovecot, mutt, Python's {@code mailbox}) can share.
 */
module dev.twine.mail {
    requires transitive dev.twine.core;
    // transitive: SmtpClient.send takes a jakarta.mail MimeMessage (the message type Java mail code
    // already has), and DnsMxResolver.over takes a net-dns Resolver
    requires transitive jakarta.mail;
    requires transitive dev.twine.dns;
    // MTA-STS policies are fetched over HTTPS with the JDK's client (RFC 8461 §3.3)
    requires java.net.http;

    exports dev.twine.mail.maildir;
    exports dev.twine.mail.sieve;
    exports dev.twine.mail.managesieve;
    exports dev.twine.mail.store;
    exports dev.twine.mail.imap;
    exports dev.twine.mail.pop3;
    exports dev.twine.mail.smtp;
    exports dev.twine.mail.auth;

    provides dev.twine.core.spi.ServicePlugin with dev.twine.mail.internal.MailPlugin;
}
