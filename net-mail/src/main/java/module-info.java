/**
 * Twine's mail module: an ESMTP server and client, POP3 and IMAP servers, all over one Maildir++
 * store that other tools (Dovecot, mutt, Python's {@code mailbox}) can share.
 */
module dev.twine.mail {
    requires dev.twine.core;
    requires jakarta.mail;

    exports dev.twine.mail.maildir;
}
