package dev.twine.core.auth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Base64;
import org.junit.jupiter.api.Test;

class CredentialsTest {

    @Test
    void toStringNeverShowsPasswordOrKeys() {
        String text = new UsernamePassword("alice", "hunter2").toString();
        assertTrue(text.contains("alice"), text);
        assertFalse(text.contains("hunter2"), text);
        assertFalse(new StoredSecret.Plain("hunter2").toString().contains("hunter2"));

        StoredSecret.Scram scram = StoredSecret.Scram.derive("hunter2", new byte[] {1, 2}, 4096);
        String scramText = scram.toString();
        assertFalse(scramText.contains(Base64.getEncoder().encodeToString(scram.storedKey())), scramText);
        assertFalse(scramText.contains(Base64.getEncoder().encodeToString(scram.serverKey())), scramText);
    }

    @Test
    void derivesRfc7677KeysMatchingAnIndependentImplementation() {
        // StoredKey and ServerKey for "pencil" with RFC 7677 §3's salt, computed with Python's
        // hashlib.pbkdf2_hmac and hmac, not with Twine.
        StoredSecret.Scram scram = StoredSecret.Scram.derive(
                "pencil", Base64.getDecoder().decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
        assertEquals("WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=",
                Base64.getEncoder().encodeToString(scram.storedKey()));
        assertEquals("wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
                Base64.getEncoder().encodeToString(scram.serverKey()));
    }

    @Test
    void scramSecretCopiesArraysAndComparesByContent() {
        byte[] salt = {1, 2, 3};
        StoredSecret.Scram a = new StoredSecret.Scram(4096, salt, new byte[32], new byte[32]);
        salt[0] = 9;
        assertArrayEquals(new byte[] {1, 2, 3}, a.salt());
        a.salt()[0] = 9;
        assertArrayEquals(new byte[] {1, 2, 3}, a.salt());
        assertEquals(a, new StoredSecret.Scram(4096, new byte[] {1, 2, 3}, new byte[32], new byte[32]));
        assertEquals(a.hashCode(),
                new StoredSecret.Scram(4096, new byte[] {1, 2, 3}, new byte[32], new byte[32]).hashCode());
        assertNotEquals(a, new StoredSecret.Scram(4097, new byte[] {1, 2, 3}, new byte[32], new byte[32]));
    }

    @Test
    void scramSecretRejectsBadComponents() {
        assertThrows(IllegalArgumentException.class, () -> new StoredSecret.Scram(0, new byte[1], new byte[32], new byte[32]));
        assertThrows(IllegalArgumentException.class, () -> new StoredSecret.Scram(1, new byte[0], new byte[32], new byte[32]));
        assertThrows(IllegalArgumentException.class, () -> new StoredSecret.Scram(1, new byte[1], new byte[31], new byte[32]));
        assertThrows(IllegalArgumentException.class, () -> StoredSecret.Scram.derive("", new byte[1], 4096));
        assertThrows(IllegalArgumentException.class, () -> StoredSecret.Scram.derive("a\u0007", new byte[1], 4096));
    }

    @Test
    void principalRejectsBlankName() {
        assertThrows(IllegalArgumentException.class, () -> new Principal(" ", "PLAIN"));
        assertThrows(NullPointerException.class, () -> new Principal("a", null));
    }
}
