package dev.twine.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

/** The launcher's log lines are exactly what SimpleFormatter writes with the launcher's format. */
class LogLinesTest {
    private static final String FORMAT = "%1$tFT%1$tT %4$s %3$s: %5$s%6$s%n";

    /** SimpleFormatter's line for {@code r}, as it computes its arguments. */
    private static String simple(LogRecord r, String message) {
        String thrown = "";
        if (r.getThrown() != null) {
            StringWriter sw = new StringWriter();
            PrintWriter pw = new PrintWriter(sw);
            pw.println();
            r.getThrown().printStackTrace(pw);
            pw.close();
            thrown = sw.toString();
        }
        return String.format(FORMAT, ZonedDateTime.ofInstant(r.getInstant(), ZoneId.systemDefault()), "source",
                r.getLoggerName(), r.getLevel().getLocalizedName(), message, thrown);
    }

    private static LogRecord record(Level level, String message, Instant at) {
        LogRecord r = new LogRecord(level, message);
        r.setLoggerName("dev.twine.mail.delivery");
        r.setInstant(at);
        return r;
    }

    @Test
    void writesTheLauncherFormatLineForPlainAndParameterisedMessages() {
        LogLines lines = new LogLines();
        Instant at = Instant.parse("2026-12-01T10:15:30.250Z");
        LogRecord plain = record(Level.INFO, "accepted: service=smtp id=1A2B size=2048", at);
        assertEquals(simple(plain, plain.getMessage()), lines.format(plain));
        LogRecord params = record(Level.WARNING, "queue {0}: {1}", at.plusSeconds(1));
        params.setParameters(new Object[] {"Q1", "421 try later"});
        assertEquals(simple(params, "queue Q1: 421 try later"), lines.format(params));
    }

    @Test
    void appendsTheStackTraceOfARecordsException() {
        LogRecord r = record(Level.SEVERE, "delivery failed", Instant.parse("2026-12-01T23:59:59.999Z"));
        r.setThrown(new IOException("disk full"));
        assertEquals(simple(r, "delivery failed"), new LogLines().format(r));
    }

    @Test
    void formatsEachSecondOfItsOwnAfterTheCachedOne() {
        LogLines lines = new LogLines();
        Instant first = Instant.parse("2026-12-01T10:15:30Z");
        for (Instant t : new Instant[] {first, first.plusMillis(999), first.plusSeconds(1), first.minusSeconds(3600)}) {
            LogRecord r = record(Level.INFO, "m", t);
            assertEquals(simple(r, "m"), lines.format(r));
        }
    }
}
