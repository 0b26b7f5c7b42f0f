package dev.twine.mail.smtp;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** Dates as RFC 5322 §3.3 writes them. */
final class Rfc5322 {
    private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.US);

    private Rfc5322() {}

    static String now() {
        return format(ZonedDateTime.now(ZoneOffset.UTC));
    }

    static String format(ZonedDateTime t) {
        return DATE.format(t);
    }
}
