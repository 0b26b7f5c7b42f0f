package dev.twine.core.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class SaslPrepTest {

    @Test
    void matchesRfc4013Examples() {
        // RFC 4013 §3, examples 1 to 5.
        assertEquals("IX", SaslPrep.prepare("I\u00ADX", false));
        assertEquals("user", SaslPrep.prepare("user", false));
        assertEquals("USER", SaslPrep.prepare("USER", false));
        assertEquals("a", SaslPrep.prepare("\u00AA", false));
        assertEquals("IX", SaslPrep.prepare("\u2168", false));
    }

    @Test
    void rejectsRfc4013ErrorExamples() {
        // RFC 4013 §3, examples 6 (prohibited character) and 7 (bidirectional check).
        assertThrows(IllegalArgumentException.class, () -> SaslPrep.prepare("\u0007", false));
        assertThrows(IllegalArgumentException.class, () -> SaslPrep.prepare("\u0627\u0031", false));
    }

    @Test
    void mapsNonAsciiSpacesToSpaceAndRemovesMappedToNothing() {
        assertEquals("a b c d", SaslPrep.prepare("a\u00A0b\u3000c\u2003d", false));
        assertEquals("ab", SaslPrep.prepare("a\u200Bb\uFEFF", false));
    }

    @Test
    void acceptsRightToLeftStringThatStartsAndEndsRightToLeft() {
        assertEquals("\u0627\u0031\u0628", SaslPrep.prepare("\u0627\u0031\u0628", false));
    }

    @Test
    void rejectsMixedDirectionsAndProhibitedCharacters() {
        assertThrows(IllegalArgumentException.class, () -> SaslPrep.prepare("\u0627a\u0628", false));
        assertThrows(IllegalArgumentException.class, () -> SaslPrep.prepare("a\uE000", false)); // private use
        assertThrows(IllegalArgumentException.class, () -> SaslPrep.prepare("a\uD800", false)); // lone surrogate
        assertThrows(IllegalArgumentException.class, () -> SaslPrep.prepare("a\u202Eb", false)); // bidi override
        assertThrows(IllegalArgumentException.class, () -> SaslPrep.prepare("a\u007F", false)); // DEL
    }

    @Test
    void refusesUnassignedCodePointsOnlyInStoredStrings() {
        String unassigned = "a\u0378"; // unassigned in every Unicode version so far
        assertEquals(unassigned, SaslPrep.prepare(unassigned, false));
        assertThrows(IllegalArgumentException.class, () -> SaslPrep.prepare(unassigned, true));
    }

    @Test
    void errorMessageDoesNotQuoteTheInput() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SaslPrep.prepare("hunter2\u0007", false));
        assertEquals(-1, e.getMessage().indexOf("hunter2"));
    }
}
