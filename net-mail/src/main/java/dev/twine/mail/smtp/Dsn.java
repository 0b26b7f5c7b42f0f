package dev.twine.mail.smtp;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Builds delivery status notifications: multipart/report (RFC 6522) with message/delivery-status
 * (RFC 3464), for failures (bounces), delays and successes (RFC 3461 §6).
 */
final class Dsn {
    /** RFC 3464 §2.3.3: what happened to a recipient; one action per notification here. */
    enum Action {
        FAILED("failed", "Undelivered Mail Returned to Sender", "Your message could not be delivered to these recipients:"),
        DELAYED("delayed", "Delayed Mail (still being retried)",
                "Your message has not been delivered to these recipients yet; delivery is still being tried:"),
        DELIVERED("delivered", "Successful Mail Delivery Report", "Your message was delivered to these recipients:"),
        /** Passed on to a next hop that sends no notifications of its own (RFC 3461 §6.2.1). */
        RELAYED("relayed", "Successful Mail Delivery Report",
                "Your message was passed on to a mail system that does not report delivery, for these recipients:");

        final String field;
        final String subject;
        final String intro;

        Action(String field, String subject, String intro) {
            this.field = field;
            this.subject = subject;
            this.intro = intro;
        }
    }

    /**
     * One recipient's report.
     *
     * @param originalRecipient the ORCPT given for it, {@code type;address}
     * @param diagnostic the reply or reason, or null (a delivery)
     * @param remoteMta {@code host:port} of the hop that answered, or null
     */
    record Recipient(String address, Optional<String> originalRecipient, String status, String diagnostic,
            String remoteMta) {}

    private Dsn() {}

    /**
     * The notification to {@code sender} about {@code recipients}, all with {@code action}. A
     * failure returns the whole message with {@code RET=FULL} and its header section otherwise;
     * delays and successes return only the header section (RFC 3461 §4.3 gives RET to failures).
     */
    static byte[] build(String reportingMta, String sender, Instant arrived, MailParameters parameters, Action action,
            List<Recipient> recipients, byte[] original) {
        String boundary = "twine-dsn-" + UUID.randomUUID();
        StringBuilder sb = new StringBuilder();
        sb.append("From: Mail Delivery System <MAILER-DAEMON@").append(reportingMta).append(">\r\n");
        sb.append("To: <").append(sender).append(">\r\n");
        sb.append("Subject: ").append(action.subject).append("\r\n");
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
        sb.append(action.intro).append("\r\n\r\n");
        for (Recipient r : recipients) {
            sb.append("<").append(r.address()).append(">");
            if (r.diagnostic() != null) {
                sb.append(": ").append(oneLine(r.diagnostic()));
            }
            sb.append("\r\n");
        }
        sb.append("\r\n--").append(boundary).append("\r\n");
        sb.append("Content-Type: message/delivery-status\r\n\r\n");
        // RFC 3464 §2.2: per-message fields
        parameters.envelopeId().ifPresent(id -> sb.append("Original-Envelope-Id: ").append(oneLine(id)).append("\r\n"));
        sb.append("Reporting-MTA: dns; ").append(reportingMta).append("\r\n");
        sb.append("Arrival-Date: ").append(Rfc5322.format(arrived.atZone(ZoneOffset.UTC))).append("\r\n");
        for (Recipient r : recipients) {
            // RFC 3464 §2.3: per-recipient fields, each group after a blank line
            sb.append("\r\n");
            r.originalRecipient().ifPresent(o -> {
                int semi = o.indexOf(';');
                sb.append("Original-Recipient: ").append(o, 0, semi).append("; ").append(oneLine(o.substring(semi + 1)))
                        .append("\r\n");
            });
            sb.append("Final-Recipient: rfc822; ").append(r.address()).append("\r\n");
            sb.append("Action: ").append(action.field).append("\r\n");
            sb.append("Status: ").append(r.status()).append("\r\n");
            if (r.remoteMta() != null) {
                String host = r.remoteMta();
                int colon = host.lastIndexOf(':');
                sb.append("Remote-MTA: dns; ").append(colon > 0 ? host.substring(0, colon) : host).append("\r\n");
            }
            if (r.diagnostic() != null) {
                String diag = oneLine(r.diagnostic());
                sb.append("Diagnostic-Code: ").append(diag.matches("^[245]\\d\\d .*") ? "smtp; " : "X-Twine; ").append(diag)
                        .append("\r\n");
            }
        }
        sb.append("\r\n--").append(boundary).append("\r\n");
        byte[] head;
        byte[] tail = ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8);
        if (action == Action.FAILED && parameters.ret().orElse(MailParameters.Ret.HDRS) == MailParameters.Ret.FULL) {
            // RFC 3462 (RFC 6522) §3: the returned message, whole
            sb.append("Content-Type: message/rfc822\r\n\r\n");
            head = sb.toString().getBytes(StandardCharsets.UTF_8);
            byte[] body = original.length == 0 || original[original.length - 1] == '\n' ? original
                    : SmtpSession.concat(original, new byte[] {'\r', '\n'});
            return SmtpSession.concat(SmtpSession.concat(head, body), tail);
        }
        sb.append("Content-Type: text/rfc822-headers\r\n\r\n");
        sb.append(headerSection(original));
        head = sb.toString().getBytes(StandardCharsets.UTF_8);
        return SmtpSession.concat(head, tail);
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
