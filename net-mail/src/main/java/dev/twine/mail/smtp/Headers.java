package dev.twine.mail.smtp;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/** The field names in a message's header section (RFC 5322 §2.2), for "is it there" checks. */
final class Headers {
    private final Set<String> names;

    private Headers(Set<String> names) {
        this.names = names;
    }

    /** The field names of the message in {@code message[from, to)}. */
    static Headers scan(byte[] message, int from, int to) {
        Set<String> names = new HashSet<>();
        int pos = from;
        while (pos < to) {
            int eol = pos;
            while (eol < to && message[eol] != '\n') {
                eol++;
            }
            int end = eol > pos && message[eol - 1] == '\r' ? eol - 1 : eol;
            if (end == pos) {
                break; // the empty line ends the header section
            }
            if (message[pos] != ' ' && message[pos] != '\t') {
                for (int i = pos; i < end; i++) {
                    if (message[i] == ':') {
                        names.add(new String(message, pos, i - pos, StandardCharsets.US_ASCII).strip().toLowerCase(Locale.ROOT));
                        break;
                    }
                }
            }
            pos = eol + 1;
        }
        return new Headers(names);
    }

    boolean has(String lowerCaseName) {
        return names.contains(lowerCaseName);
    }
}
