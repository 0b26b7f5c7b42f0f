package dev.twine.core.auth;

import java.text.Normalizer;

/**
 * SASLprep (RFC 4013), the stringprep (RFC 3454) profile for user names and passwords.
 *
 * <p>What is done, in RFC 4013 order: §2.1 mapping (non-ASCII spaces, table C.1.2, become U+0020;
 * "commonly mapped to nothing" characters, table B.1, are removed); §2.2 normalization form KC;
 * §2.3 the prohibited-output tables C.1.2 to C.9; §2.4 the bidirectional rule of RFC 3454 §6;
 * §2.5 unassigned code points are refused in stored strings only. Deviation: the Unicode
 * version is the JDK's, not Unicode 3.2, both for NFKC and for the bidi categories (which come
 * from {@link Character#getDirectionality(int)} rather than tables D.1 and D.2) and for what
 * counts as unassigned. For ASCII strings, and for almost all others, the result is the same.
 */
final class SaslPrep {

    private SaslPrep() {
    }

    /**
     * Prepares a string.
     *
     * @param input the string as given
     * @param stored true for a string about to be stored (RFC 4013 §2.5: unassigned code points
     *     prohibited), false for a query (unassigned allowed)
     * @return the prepared string, possibly empty
     * @throws IllegalArgumentException if the string contains a prohibited character or breaks
     *     the bidi rule; the message does not quote the string, which may be a password
     */
    static String prepare(CharSequence input, boolean stored) {
        // Fast path: printable ASCII is unchanged by mapping and NFKC and passes every check.
        if (isPrintableAscii(input)) {
            return input.toString();
        }
        StringBuilder mapped = new StringBuilder(input.length());
        for (int i = 0; i < input.length(); ) {
            int cp = Character.codePointAt(input, i);
            i += Character.charCount(cp);
            // RFC 4013 §2.1
            if (mappedToNothing(cp)) {
                continue;
            }
            mapped.appendCodePoint(nonAsciiSpace(cp) ? ' ' : cp);
        }
        // RFC 4013 §2.2
        String normalized = Normalizer.normalize(mapped, Normalizer.Form.NFKC);

        boolean hasRandAL = false;
        boolean hasL = false;
        for (int i = 0; i < normalized.length(); ) {
            int cp = normalized.codePointAt(i);
            i += Character.charCount(cp);
            // RFC 4013 §2.3
            if (prohibited(cp)) {
                throw new IllegalArgumentException(
                        "contains a character that SASLprep prohibits (RFC 4013 §2.3)");
            }
            // RFC 4013 §2.5
            if (stored && Character.getType(cp) == Character.UNASSIGNED) {
                throw new IllegalArgumentException(
                        "contains an unassigned code point (RFC 4013 §2.5)");
            }
            hasRandAL |= isRandAL(cp);
            hasL |= Character.getDirectionality(cp) == Character.DIRECTIONALITY_LEFT_TO_RIGHT;
        }
        // RFC 4013 §2.4, RFC 3454 §6
        if (hasRandAL) {
            if (hasL
                    || !isRandAL(normalized.codePointAt(0))
                    || !isRandAL(normalized.codePointBefore(normalized.length()))) {
                throw new IllegalArgumentException(
                        "breaks the bidirectional rule of RFC 3454 §6 (RFC 4013 §2.4)");
            }
        }
        return normalized;
    }

    private static boolean isPrintableAscii(CharSequence s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7E) {
                return false;
            }
        }
        return true;
    }

    private static boolean isRandAL(int cp) {
        byte d = Character.getDirectionality(cp);
        return d == Character.DIRECTIONALITY_RIGHT_TO_LEFT
                || d == Character.DIRECTIONALITY_RIGHT_TO_LEFT_ARABIC;
    }

    /** RFC 3454 table B.1. */
    private static boolean mappedToNothing(int cp) {
        return cp == 0x00AD || cp == 0x034F || cp == 0x1806
                || (cp >= 0x180B && cp <= 0x180D)
                || (cp >= 0x200B && cp <= 0x200D)
                || cp == 0x2060
                || (cp >= 0xFE00 && cp <= 0xFE0F)
                || cp == 0xFEFF;
    }

    /** RFC 3454 table C.1.2. */
    private static boolean nonAsciiSpace(int cp) {
        return cp == 0x00A0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200B)
                || cp == 0x202F || cp == 0x205F || cp == 0x3000;
    }

    /** RFC 3454 tables C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8 and C.9. */
    private static boolean prohibited(int cp) {
        return nonAsciiSpace(cp)
                // C.2.1 ASCII control characters
                || cp <= 0x1F || cp == 0x7F
                // C.2.2 non-ASCII control characters
                || (cp >= 0x80 && cp <= 0x9F)
                || cp == 0x06DD || cp == 0x070F || cp == 0x180E
                || cp == 0x200C || cp == 0x200D || cp == 0x2028 || cp == 0x2029
                || (cp >= 0x2060 && cp <= 0x2063)
                || (cp >= 0x206A && cp <= 0x206F)
                || cp == 0xFEFF
                || (cp >= 0xFFF9 && cp <= 0xFFFC)
                || (cp >= 0x1D173 && cp <= 0x1D17A)
                // C.3 private use
                || (cp >= 0xE000 && cp <= 0xF8FF)
                || (cp >= 0xF0000 && cp <= 0xFFFFD)
                || (cp >= 0x100000 && cp <= 0x10FFFD)
                // C.4 non-character code points
                || (cp >= 0xFDD0 && cp <= 0xFDEF)
                || (cp & 0xFFFE) == 0xFFFE
                // C.5 surrogate codes (a lone surrogate in a Java string)
                || (cp >= 0xD800 && cp <= 0xDFFF)
                // C.6 inappropriate for plain text
                || (cp >= 0xFFF9 && cp <= 0xFFFD)
                // C.7 inappropriate for canonical representation
                || (cp >= 0x2FF0 && cp <= 0x2FFB)
                // C.8 change display properties or deprecated
                || cp == 0x0340 || cp == 0x0341 || cp == 0x200E || cp == 0x200F
                || (cp >= 0x202A && cp <= 0x202E)
                // C.9 tagging characters
                || cp == 0xE0001
                || (cp >= 0xE0020 && cp <= 0xE007F);
    }
}
