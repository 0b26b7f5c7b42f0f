package dev.twine.mail.smtp;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;

/** Builds delivery status notifications: multipart/report (RFC 6522) with message/delivery-status (RFC 3464). */
final class Dsn {
    record Recipient(String address, String status, String diagnostic, String remoteMta) {}

    private Dsn() {}

    static byte[] build(String reportingMta, String sender, Instant arrived, List<Recipient> failed, byte[] original) {
        String boundary = "twine-dsn-" + UUID.randomUUID();
        StringBuilder sb = new StringBuilder();
        sb.append("From: Mail Delivery System <MAILER-DAEMON@").append(reportingMta).append(">\r\n");
        sb.append("To: <").append(sender).append(">\r\n");
        sb.append("Subject: Undelivered Mail Returned to Sender\r\n");
        sb.append("Date: ").append(Rfc5322.now()).append("\r\n");
        sb.append("Message-ID: <").append(UUID.randomUUID()).append('@').append(reportingMta).append(">\r\n");
        sb.append("Auto-Submitted: auto-replied\r\n"); // RFC 3834 §5
        sb.append("MIME-Version: 1.0\r\n");
        sb.append("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"").append(boundary).append("\"\r\n");
        sb.append("\r\n");
        sb.append("This is a MIME-encapsulated message.\r\n\r\n");
        sb.append("--").append(boundary).append("\r\n");
        sb.append("Content-Type: text/plain; charset=utf-8\r\n\r\n");
        sb.append("This is the mail system at ").append(reportingMta).append(".\r\n\r\n");
        sb.append("Your message could not be delivered to these recipients:\r\n\r\n");
        for (Recipient r : failed) {
            sb.append("<").append(r.address()).append(">: ").append(oneLine(r.diagnostic())).append("\r\n");
        }
        sb.append("\r\n--").append(boundary).append("\r\n");
        sb.append("Content-Type: message/delivery-status\r\n\r\n");
        // RFC 3464 §2.2: per-message fields
        sb.append("Reporting-MTA: dns; ").append(reportingMta).append("\r\n");
        sb.append("Arrival-Date: ").append(Rfc5322.format(arrived.atZone(ZoneOffset.UTC))).append("\r\n");
        for (Recipient r : failed) {
            // RFC 3464 §2.3: per-recipient fields, each group after a blank line
            sb.append("\r\n");
            sb.append("Final-Recipient: rfc822; ").append(r.address()).append("\r\n");
            sb.append("Action: failed\r\n");
            sb.append("Status: ").append(r.status()).append("\r\n");
            if (r.remoteMta() != null) {
                String host = r.remoteMta();
                int colon = host.lastIndexOf(':');
                sb.append("Remote-MTA: dns; ").append(colon > 0 ? host.substring(0, colon) : host).append("\r\n");
            }
            String diag = oneLine(r.diagnostic());
            sb.append("Diagnostic-Code: ").append(diag.matches("^[245]\\d\\d .*") ? "smtp; " : "X-Twine; ").append(diag).append("\r\n");
        }
        sb.append("\r\n--").append(boundary).append("\r\n");
        sb.append("Content-Type: text/rfc822-headers\r\n\r\n");
        sb.append(headerSection(original));
        sb.append("\r\n--").append(boundary).append("--\r\n");
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static String oneLine(String s) {
        return s.replaceAll("[\\r\\n\\t]+", " ");
    }

    private static String headerSection(byte[] message) {
        String m = new String(message, StandardCharsets.UTF_8);
        int end = m.indexOf("\r\n\r\n");
        String headers = end < 0 ? m : m.substring(0, end + 2);
        if (!headers.endsWith("\r\n")) {
            headers += "\r\n";
        }
        return headers;
    }
}
