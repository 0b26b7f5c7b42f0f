package dev.twine.mail.sieve;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** A message for Sieve tests, from its raw text: headers unfolded, the body as text. */
record TestMessage(String envelopeFrom, String envelopeTo, String raw) implements SieveMessage {

    @Override
    public List<String> header(String name) {
        List<String> out = new ArrayList<>();
        String head = raw.split("\r\n\r\n", 2)[0].replaceAll("\r\n[ \t]+", " ");
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).strip().toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT))) {
                out.add(line.substring(colon + 1).strip());
            }
        }
        return out;
    }

    @Override
    public long size() {
        return raw.getBytes(StandardCharsets.UTF_8).length;
    }

    @Override
    public String bodyText() {
        String[] parts = raw.split("\r\n\r\n", 2);
        return parts.length > 1 ? parts[1] : "";
    }
}
