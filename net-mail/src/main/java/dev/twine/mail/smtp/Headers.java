package dev.twine.mail.smtp;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The fields in a message's header section (RFC 5322 §2.2): which names are there, and the
 * unfolded value of each.
 */
final class Headers {
    private final Map<String, List<String>> fields;

    private Headers(Map<String, List<String>> fields) {
        this.fields = fields;
    }

    /** The header fields of the message in {@code message[from, to)}. */
    static Headers scan(byte[] message, int from, int to) {
        List<String> names = new ArrayList<>();
        List<StringBuilder> values = new ArrayList<>();
        StringBuilder value = null;
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
            if (message[pos] == ' ' || message[pos] == '\t') {
                // RFC 5322 §2.2.3: unfolding removes the CRLF in front of the white space
                if (value != null) {
                    value.append(new String(message, pos, end - pos, StandardCharsets.UTF_8));
                }
            } else {
                value = null;
                for (int i = pos; i < end; i++) {
                    if (message[i] == ':') {
                        names.add(new String(message, pos, i - pos, StandardCharsets.US_ASCII).strip().toLowerCase(Locale.ROOT));
                        value = new StringBuilder(new String(message, i + 1, end - i - 1, StandardCharsets.UTF_8));
                        values.add(value);
                        break;
                    }
                }
            }
            pos = eol + 1;
        }
        Map<String, List<String>> fields = new HashMap<>();
        for (int i = 0; i < names.size(); i++) {
            fields.computeIfAbsent(names.get(i), k -> new ArrayList<>()).add(values.get(i).toString());
        }
        return new Headers(fields);
    }

    boolean has(String lowerCaseName) {
        return fields.containsKey(lowerCaseName);
    }

    /** The unfolded values of every field named {@code lowerCaseName}, in order; empty if none. */
    List<String> values(String lowerCaseName) {
        return fields.getOrDefault(lowerCaseName, List.of());
    }
}
