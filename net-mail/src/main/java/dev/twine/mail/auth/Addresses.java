package dev.twine.mail.auth;

import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;
import java.util.List;
import java.util.Locale;

/** The author domain of a message (RFC 7489 §3.1: the domain of the one {@code From:} address). */
final class Addresses {
    private Addresses() {}

    /**
     * The domain of the message's {@code From:} address in lower case, or null when there is not
     * exactly one From field holding exactly one address with a domain.
     */
    static String fromDomain(MessageText message) {
        List<MessageText.Field> from = message.fields("from");
        if (from.size() != 1) {
            return null;
        }
        try {
            InternetAddress[] a = InternetAddress.parseHeader(from.get(0).value(), true);
            if (a.length != 1) {
                return null;
            }
            return domainOf(a[0].getAddress());
        } catch (AddressException e) {
            return null;
        }
    }

    /** The part after the last {@code @}, lower case, without a trailing dot; null if none. */
    static String domainOf(String address) {
        if (address == null) {
            return null;
        }
        int at = address.lastIndexOf('@');
        if (at < 0 || at == address.length() - 1) {
            return null;
        }
        String d = address.substring(at + 1).toLowerCase(Locale.ROOT);
        return d.endsWith(".") ? d.substring(0, d.length() - 1) : d;
    }
}
