package dev.twine.samples;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/**
 * The launcher's log line, {@code 2026-12-01T10:15:30 INFO logger: message}, then the stack trace
 * of an exception if the record has one: what {@code SimpleFormatter} writes with the format
 * {@code %1$tFT%1$tT %4$s %3$s: %5$s%6$s%n}, made without its two costs that a mail server pays
 * on every accepted message. {@code SimpleFormatter} asks every record for its source class, which
 * walks the logging thread's stack to find it although the format never prints it, and formats
 * the time through {@code String.format}; here the time is formatted once a second.
 */
final class LogLines extends Formatter {
    /** The time text for one second of the local clock. */
    private record Stamp(long second, ZoneId zone, String text) {}

    private volatile Stamp last = new Stamp(Long.MIN_VALUE, null, "");

    @Override
    public String format(LogRecord record) {
        StringBuilder sb = new StringBuilder(160);
        sb.append(time(record.getInstant())).append(' ').append(record.getLevel().getLocalizedName()).append(' ')
                .append(record.getLoggerName()).append(": ").append(formatMessage(record));
        if (record.getThrown() != null) {
            StringWriter trace = new StringWriter();
            PrintWriter pw = new PrintWriter(trace);
            pw.println();
            record.getThrown().printStackTrace(pw);
            pw.close();
            sb.append(trace);
        }
        return sb.append(System.lineSeparator()).toString();
    }

    /** {@code yyyy-MM-ddTHH:mm:ss} in the default time zone, as {@code %1$tFT%1$tT} writes it. */
    private String time(Instant t) {
        long second = t.getEpochSecond();
        ZoneId zone = ZoneId.systemDefault();
        Stamp s = last;
        if (s.second() != second || !zone.equals(s.zone())) {
            LocalDateTime local = LocalDateTime.ofInstant(Instant.ofEpochSecond(second), zone);
            s = new Stamp(second, zone, String.format("%tFT%<tT", local));
            last = s;
        }
        return s.text();
    }
}
