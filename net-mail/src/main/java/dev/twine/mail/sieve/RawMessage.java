package dev.twine.mail.sieve;

import jakarta.mail.MessagingException;
import jakarta.mail.Multipart;
import jakarta.mail.Part;
import jakarta.mail.Session;
import jakarta.mail.internet.InternetHeaders;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeUtility;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UnsupportedEncodingException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/** {@link SieveMessage#of}: a message's bytes, its header parsed once, its body only when a test asks. */
final class RawMessage implements SieveMessage {
    private static final Session SESSION = Session.getInstance(new Properties());
    /** The body test looks at this much text at most, so a huge message cannot make it slow. */
    private static final int MAX_BODY_TEXT = 1 << 20;

    private final String envelopeFrom;
    private final String envelopeTo;
    private final byte[] message;
    private final InternetHeaders headers;
    private String body;

    RawMessage(String envelopeFrom, String envelopeTo, byte[] message) {
        this.envelopeFrom = envelopeFrom;
        this.envelopeTo = envelopeTo;
        this.message = message;
        InternetHeaders h;
        try {
            h = new InternetHeaders(new ByteArrayInputStream(message));
        } catch (MessagingException e) {
            h = new InternetHeaders(); // no readable header: every header test sees nothing
        }
        this.headers = h;
    }

    @Override
    public String envelopeFrom() {
        return envelopeFrom;
    }

    @Override
    public String envelopeTo() {
        return envelopeTo;
    }

    @Override
    public List<String> header(String name) {
        String[] values = headers.getHeader(name);
        if (values == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>(values.length);
        for (String v : values) {
            String unfolded = MimeUtility.unfold(v).strip();
            try {
                out.add(MimeUtility.decodeText(unfolded)); // RFC 5228 §2.7.2: encoded words decoded
            } catch (UnsupportedEncodingException e) {
                out.add(unfolded);
            }
        }
        return out;
    }

    @Override
    public long size() {
        return message.length;
    }

    @Override
    public String bodyText() {
        if (body == null) {
            StringBuilder sb = new StringBuilder();
            try {
                text(new MimeMessage(SESSION, new ByteArrayInputStream(message)), sb);
            } catch (MessagingException | IOException | RuntimeException e) {
                // a body that cannot be parsed has no text for the body test (RFC 5173 §5)
            }
            body = sb.length() > MAX_BODY_TEXT ? sb.substring(0, MAX_BODY_TEXT) : sb.toString();
        }
        return body;
    }

    /** RFC 5173 {@code :text}: the decoded text parts, in order; other parts left out. */
    private static void text(Part part, StringBuilder sb) throws MessagingException, IOException {
        if (sb.length() > MAX_BODY_TEXT) {
            return;
        }
        if (part.isMimeType("multipart/*") && part.getContent() instanceof Multipart mp) {
            for (int i = 0; i < mp.getCount(); i++) {
                text(mp.getBodyPart(i), sb);
            }
        } else if (part.isMimeType("text/*") && part.getContent() instanceof String s) {
            sb.append(s);
        }
    }
}
