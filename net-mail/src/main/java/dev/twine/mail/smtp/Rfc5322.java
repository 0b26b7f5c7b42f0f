package dev.twine.mail.smtp;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** Dates as RFC 5322 §3.3 writes them. */
final class Rfc5322 {
    private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.US);

    /** The text for one second, so a busy server formats each second once, not once per message. */
    private record Stamp(long second, String text) {}

    private static volatile Stamp last = new Stamp(Long.MIN_VALUE, "");

    private Rfc5322() {}

    static String now() {
        long second = Instant.now().getEpochSecond();
        Stamp s = last;
        if (s.second() != second) {
            s = new Stamp(second, format(ZonedDateTime.ofInstant(Instant.ofEpochSecond(second), ZoneOffset.UTC)));
            last = s;
        }
        return s.text();
    }

    static String format(ZonedDateTime t) {
        return DATE.format(t);
    }
}
