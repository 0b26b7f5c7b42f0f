package dev.twine.mail.smtp;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The wire syntax of the DSN parameters (RFC 3461 §4) and of REQUIRETLS (RFC 8689 §4): parsing
 * what a client sends, and writing what the relay queue sends on. A bad parameter is an
 * {@link SmtpException} with the reply the session sends.
 */
final class DsnSyntax {
    /** RFC 3461 §4.4: an ENVID is at most 100 characters. */
    private static final int MAX_ENVID = 100;
    /** RFC 3461 §4.2: an ORCPT is at most 500 characters. */
    private static final int MAX_ORCPT = 500;

    private DsnSyntax() {}

    /** The DSN and REQUIRETLS parameters of one {@code MAIL FROM}, gathered one at a time. */
    static final class MailArgs {
        private MailParameters.Ret ret;
        private String envid;
        private boolean requireTls;

        /**
         * Takes {@code RET}, {@code ENVID} or {@code REQUIRETLS} ({@code key} in upper case).
         *
         * @throws SmtpException {@code 501 5.5.4} for a bad or repeated one
         */
        void add(String key, String value) throws SmtpException {
            switch (key) {
                case "RET" -> {
                    if (ret != null || value == null) {
                        throw bad("RET");
                    }
                    ret = switch (value.toUpperCase(Locale.ROOT)) {
                        case "FULL" -> MailParameters.Ret.FULL;
                        case "HDRS" -> MailParameters.Ret.HDRS;
                        default -> throw bad("RET");
                    };
                }
                case "ENVID" -> {
                    if (envid != null || value == null || value.isEmpty() || value.length() > MAX_ENVID) {
                        throw bad("ENVID");
                    }
                    envid = decode(value, "ENVID");
                }
                case "REQUIRETLS" -> {
                    if (requireTls || value != null) {
                        throw bad("REQUIRETLS");
                    }
                    requireTls = true;
                }
                default -> throw new IllegalArgumentException(key);
            }
        }

        MailParameters build() {
            return new MailParameters(Optional.ofNullable(ret), Optional.ofNullable(envid), requireTls);
        }
    }

    /**
     * The parameters of a {@code RCPT TO}: NOTIFY and ORCPT.
     *
     * @throws SmtpException {@code 501 5.5.4} for a bad or repeated one, {@code 555 5.5.4} for
     *     one this server does not know (RFC 5321 §4.1.1.11)
     */
    static RcptParameters rcpt(List<String> params) throws SmtpException {
        Set<RcptParameters.Notify> notify = null;
        String orcpt = null;
        for (String param : params) {
            int eq = param.indexOf('=');
            String key = (eq < 0 ? param : param.substring(0, eq)).toUpperCase(Locale.ROOT);
            String value = eq < 0 ? null : param.substring(eq + 1);
            switch (key) {
                case "NOTIFY" -> {
                    if (notify != null || value == null) {
                        throw bad("NOTIFY");
                    }
                    notify = notify(value);
                }
                case "ORCPT" -> {
                    if (orcpt != null || value == null) {
                        throw bad("ORCPT");
                    }
                    orcpt = orcpt(value);
                }
                default -> throw new SmtpException(Reply.of(555, "5.5.4 Unsupported RCPT parameter " + key));
            }
        }
        return new RcptParameters(notify == null ? Set.of() : notify, Optional.ofNullable(orcpt));
    }

    /** RFC 3461 §4.1: {@code NEVER}, or a comma list of SUCCESS, FAILURE and DELAY. */
    private static Set<RcptParameters.Notify> notify(String value) throws SmtpException {
        Set<RcptParameters.Notify> set = EnumSet.noneOf(RcptParameters.Notify.class);
        for (String word : value.split(",", -1)) {
            RcptParameters.Notify n;
            try {
                n = RcptParameters.Notify.valueOf(word.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw bad("NOTIFY");
            }
            if (!set.add(n)) {
                throw bad("NOTIFY");
            }
        }
        if (set.contains(RcptParameters.Notify.NEVER) && set.size() > 1) {
            throw bad("NOTIFY"); // NEVER goes alone
        }
        return set;
    }

    /** RFC 3461 §4.2: {@code addr-type ";" xtext}, given back decoded. */
    private static String orcpt(String value) throws SmtpException {
        int semi = value.indexOf(';');
        if (value.length() > MAX_ORCPT || semi <= 0 || semi == value.length() - 1) {
            throw bad("ORCPT");
        }
        String type = value.substring(0, semi);
        for (int i = 0; i < type.length(); i++) {
            char c = type.charAt(i);
            // an atom (RFC 5322 §3.2.3 atext)
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || "!#$%&'*+-/=?^_`{|}~".indexOf(c) >= 0)) {
                throw bad("ORCPT");
            }
        }
        return type + ";" + decode(value.substring(semi + 1), "ORCPT");
    }

    /** Decodes xtext (RFC 3461 §4): printable ASCII but {@code +} and {@code =}, and {@code +XX}. */
    static String decode(String xtext, String param) throws SmtpException {
        StringBuilder sb = new StringBuilder(xtext.length());
        List<Byte> pending = new ArrayList<>();
        for (int i = 0; i < xtext.length(); i++) {
            char c = xtext.charAt(i);
            if (c == '+') {
                if (i + 2 >= xtext.length()) {
                    throw bad(param);
                }
                int hi = Character.digit(xtext.charAt(i + 1), 16);
                int lo = Character.digit(xtext.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    throw bad(param);
                }
                pending.add((byte) (hi << 4 | lo));
                i += 2;
                continue;
            }
            if (c < '!' || c > '~' || c == '=') {
                throw bad(param);
            }
            flush(pending, sb);
            sb.append(c);
        }
        flush(pending, sb);
        return sb.toString();
    }

    /** Hex-escaped octets are read as UTF-8, as RFC 6533 has them for addresses. */
    private static void flush(List<Byte> pending, StringBuilder sb) {
        if (pending.isEmpty()) {
            return;
        }
        byte[] b = new byte[pending.size()];
        for (int i = 0; i < b.length; i++) {
            b[i] = pending.get(i);
        }
        sb.append(new String(b, java.nio.charset.StandardCharsets.UTF_8));
        pending.clear();
    }

    /** Encodes {@code text} as xtext: {@code +}, {@code =}, space, controls and non-ASCII as {@code +XX}. */
    static String encode(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        for (byte b : text.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c < '!' || c > '~' || c == '+' || c == '=') {
                sb.append('+').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            } else {
                sb.append((char) c);
            }
        }
        return sb.toString();
    }

    /** The MAIL FROM parameters to send on to a hop that offers DSN (and REQUIRETLS). */
    static List<String> mailArguments(MailParameters p, boolean dsn, boolean requireTls) {
        List<String> args = new ArrayList<>();
        if (dsn) {
            p.ret().ifPresent(r -> args.add("RET=" + r));
            p.envelopeId().ifPresent(id -> args.add("ENVID=" + encode(id)));
        }
        if (requireTls && p.requireTls()) {
            args.add("REQUIRETLS");
        }
        return args;
    }

    /** The RCPT TO parameters to send on to a hop that offers DSN. */
    static List<String> rcptArguments(RcptParameters p) {
        List<String> args = new ArrayList<>();
        if (!p.notifyOn().isEmpty()) {
            args.add("NOTIFY=" + String.join(",", p.notifyOn().stream().sorted().map(Enum::name).toList()));
        }
        p.originalRecipient().ifPresent(o -> {
            int semi = o.indexOf(';');
            args.add("ORCPT=" + o.substring(0, semi) + ";" + encode(o.substring(semi + 1)));
        });
        return args;
    }

    private static SmtpException bad(String param) {
        return new SmtpException(Reply.of(501, "5.5.4 Bad " + param + " parameter"));
    }
}
