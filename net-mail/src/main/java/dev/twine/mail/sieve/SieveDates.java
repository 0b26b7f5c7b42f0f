package dev.twine.mail.sieve;

import java.time.DateTimeException;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The date extension's arithmetic (RFC 5260): a header's date-time read as RFC 5322 §3.3, with
 * the obsolete forms of §4.3 tolerated, and the date parts of RFC 5260 §4.2 formatted.
 */
final class SieveDates {
    private SieveDates() {}

    private static final List<String> MONTHS = List.of("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
            "oct", "nov", "dec");
    /** RFC 5322 §4.3 obs-zone names; the military letters mean nothing reliable and count as -0000. */
    private static final Map<String, Integer> ZONES = Map.ofEntries(Map.entry("ut", 0), Map.entry("gmt", 0),
            Map.entry("edt", -4), Map.entry("est", -5), Map.entry("cdt", -5), Map.entry("cst", -6),
            Map.entry("mdt", -6), Map.entry("mst", -7), Map.entry("pdt", -7), Map.entry("pst", -8));
    /** [day-of-week ","] day month year hour ":" minute [":" second] [zone], comments already removed. */
    private static final Pattern DATE_TIME = Pattern.compile(
            "(?:[a-z]+\\s*,\\s*)?(\\d{1,2})\\s*([a-z]+)\\s*(\\d{2,4})\\s+(\\d{1,2})\\s*:\\s*(\\d{1,2})(?:\\s*:\\s*(\\d{1,2}))?"
                    + "(?:\\s*([+-]\\d{4}|[a-z]+))?\\s*", Pattern.CASE_INSENSITIVE);
    private static final Pattern OFFSET = Pattern.compile("([+-])(\\d{2})(\\d{2})");
    private static final DateTimeFormatter STD11 = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss Z", Locale.ROOT);
    private static final DateTimeFormatter ZONE = DateTimeFormatter.ofPattern("Z", Locale.ROOT);
    private static final DateTimeFormatter ISO8601 = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ssXXX", Locale.ROOT);
    /** The Modified Julian Day of 1970-01-01 (RFC 5260 §4.2 "julian"). */
    private static final long MJD_EPOCH = 40587;

    /**
     * A header's date-time: the text after its last {@code ;} (a Received field's date, RFC 5260
     * §4.1), parsed as RFC 5322 §3.3 with §4.3's obsolete forms (two- and three-digit years,
     * zone names, comments, no seconds). A missing zone counts as {@code +0000}, a second of 60 as 59.
     *
     * @return the date-time in its own zone, or null when the text is no date
     */
    static ZonedDateTime parse(String value) {
        String text = value.substring(value.lastIndexOf(';') + 1).replaceAll("\\([^()]*\\)", " ").strip();
        Matcher m = DATE_TIME.matcher(text);
        if (!m.matches()) {
            return null;
        }
        int month = MONTHS.indexOf(m.group(2).toLowerCase(Locale.ROOT)) + 1;
        int year = Integer.parseInt(m.group(3));
        if (m.group(3).length() == 2) {
            year += year < 50 ? 2000 : 1900; // §4.3
        } else if (m.group(3).length() == 3) {
            year += 1900;
        }
        ZoneOffset zone = m.group(7) == null ? ZoneOffset.UTC : zone(m.group(7));
        if (month == 0 || zone == null) {
            return null;
        }
        try {
            return ZonedDateTime.of(year, month, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(4)),
                    Integer.parseInt(m.group(5)), m.group(6) == null ? 0 : Math.min(59, Integer.parseInt(m.group(6))), 0, zone);
        } catch (DateTimeException e) {
            return null; // 31 Feb, 25:00 and the like: no date (RFC 5260 §4.1: the test is false)
        }
    }

    /**
     * A zone as RFC 5322 writes it: {@code +hhmm}/{@code -hhmm}, or an obsolete name.
     *
     * @return the offset, or null when it is none
     */
    static ZoneOffset zone(String zone) {
        Matcher m = OFFSET.matcher(zone);
        if (m.matches()) {
            int hours = Integer.parseInt(m.group(2));
            int minutes = Integer.parseInt(m.group(3));
            if (hours > 18 || minutes > 59) {
                return null;
            }
            int sign = m.group(1).equals("-") ? -1 : 1;
            return ZoneOffset.ofHoursMinutes(sign * hours, sign * minutes);
        }
        if (!zone.matches("[A-Za-z]+")) {
            return null;
        }
        Integer hours = ZONES.get(zone.toLowerCase(Locale.ROOT));
        return hours != null ? ZoneOffset.ofHours(hours) : zone.length() == 1 ? ZoneOffset.UTC : null;
    }

    /**
     * One date part of RFC 5260 §4.2, in that section's format.
     *
     * @return the part, or null when {@code part} names none
     */
    static String part(ZonedDateTime t, String part) {
        return switch (part.toLowerCase(Locale.ROOT)) {
            case "year" -> String.format(Locale.ROOT, "%04d", t.getYear());
            case "month" -> two(t.getMonthValue());
            case "day" -> two(t.getDayOfMonth());
            case "date" -> String.format(Locale.ROOT, "%04d-%02d-%02d", t.getYear(), t.getMonthValue(), t.getDayOfMonth());
            case "julian" -> Long.toString(t.toLocalDate().toEpochDay() + MJD_EPOCH);
            case "hour" -> two(t.getHour());
            case "minute" -> two(t.getMinute());
            case "second" -> two(t.getSecond());
            case "time" -> String.format(Locale.ROOT, "%02d:%02d:%02d", t.getHour(), t.getMinute(), t.getSecond());
            case "iso8601" -> ISO8601.format(t);
            case "std11" -> STD11.format(t);
            case "zone" -> ZONE.format(t); // "+0000" for zero, as §4.2 asks
            case "weekday" -> Integer.toString(t.getDayOfWeek().getValue() % 7); // 0 is Sunday
            default -> null;
        };
    }

    private static String two(int n) {
        return n < 10 ? "0" + n : Integer.toString(n);
    }
}
