package dev.twine.core.auth;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UsersFileTest {

    /** Dovecot's layout, as {@code doveadm pw -s SCRAM-SHA-256} prints it. */
    private static final Pattern SCRAM_ENTRY = Pattern.compile(
            "\\{SCRAM-SHA-256}4096,([A-Za-z0-9+/]{22}==),([A-Za-z0-9+/]{43}=),([A-Za-z0-9+/]{43}=)");
    private static final Pattern SCRAM_SHA1_KEYS = Pattern.compile(
            "4096,([A-Za-z0-9+/]{22}==),([A-Za-z0-9+/]{27}=),([A-Za-z0-9+/]{27}=)");
    /** A line as Twine writes it: name, SCRAM-SHA-256 field, five empty fields, SHA-1 keys. */
    private static final Pattern NEW_LINE = Pattern.compile("([^:]+):(\\{SCRAM-SHA-256}[^:]+)::::::scram_sha1=([^: ]+)\n");
    /** What {@code doveadm pw -s SCRAM-SHA-1 -p secret} printed (Dovecot 2.3.19). */
    private static final String DOVEADM_SHA1 =
            "{SCRAM-SHA-1}4096,Jm2L+nAxxfRyF0CwCM2wXw==,Y84NNflKIohzGS40HmUepL4iyCA=,zR0Ze9ENyK3ML8QVX9TU/9qI11k=";

    /** RFC 7677 §3's user, with keys computed by Python's hashlib (see CredentialsTest). */
    private static final String DOVECOT_SCRAM_LINE = "user:{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,"
            + "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";

    @TempDir
    Path dir;

    private Path write(String content) throws IOException {
        Path file = dir.resolve("users.txt");
        Files.writeString(file, content, UTF_8);
        return file;
    }

    private static String read(Path file) throws IOException {
        return Files.readString(file, UTF_8);
    }

    private List<String> directoryListing() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static Portal portal(UserStore users) {
        return Portal.builder().users(users).build();
    }

    @Test
    void loadsPlainScramAndSchemelessEntries() throws Exception {
        Path file = write("# users\n\nalice:{PLAIN}secret\nbob:bare\n" + DOVECOT_SCRAM_LINE + "\n"
                + "carol:{plain}lower:1000:1000::/home/carol::\n");
        UsersFile users = UsersFile.load(file);
        assertEquals(Optional.of(new StoredSecret.Plain("secret")), users.find("alice"));
        assertEquals(Optional.of(new StoredSecret.Plain("bare")), users.find("bob"));
        assertEquals(Optional.of(new StoredSecret.Plain("lower")), users.find("carol"));
        assertEquals(Optional.empty(), users.find("# users"));
        assertEquals(Optional.empty(), users.find("Alice"), "names are case-sensitive");

        Portal portal = portal(users);
        assertEquals("user", portal.authenticate(new UsernamePassword("user", "pencil")).name());
        assertEquals("alice", portal.authenticate(new UsernamePassword("alice", "secret")).name());
    }

    @Test
    void dovecotScramEntryServesRfc7677Exchange() throws Exception {
        UsersFile users = UsersFile.load(write(DOVECOT_SCRAM_LINE + "\n"));
        Portal portal = Portal.builder().users(users).serverNonces(() -> "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0").build();
        SaslExchange exchange = portal.sasl("SCRAM-SHA-256");
        exchange.evaluate("n,,n=user,r=rOprNGfwEbeRWgbNEkqO".getBytes(UTF_8));
        byte[] serverFinal = exchange.evaluate(("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                + "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=").getBytes(UTF_8));
        assertEquals("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", new String(serverFinal, UTF_8));
    }

    @Test
    void addedUserCompletesScramExchange() throws Exception {
        Path file = dir.resolve("users.txt");
        UsersFile.addUser(file, "alice", "correct horse".toCharArray());
        Portal portal = portal(UsersFile.load(file));

        ScramClient client = new ScramClient("alice", "correct horse", "fyko+d2lbbFgONRv9qkxdawL");
        SaslExchange exchange = portal.sasl("SCRAM-SHA-256");
        byte[] serverFirst = exchange.evaluate(client.clientFirst());
        byte[] serverFinal = exchange.evaluate(client.clientFinal(serverFirst));
        assertEquals(client.expectedServerFinal(), new String(serverFinal, UTF_8));
        assertEquals(new Principal("alice", "SCRAM-SHA-256"), exchange.principal());

        SaslExchange wrong = portal.sasl("SCRAM-SHA-256");
        ScramClient wrongClient = new ScramClient("alice", "battery staple", "nonce");
        byte[] wrongFirst = wrong.evaluate(wrongClient.clientFirst());
        assertThrows(AuthenticationException.class, () -> wrong.evaluate(wrongClient.clientFinal(wrongFirst)));
    }

    @Test
    void doveadmScramSha1ServesScramSha1AndPlainButNotScramSha256() throws Exception {
        UsersFile users = UsersFile.load(write("old:" + DOVEADM_SHA1 + "\n"));
        assertEquals("SCRAM-SHA-1", ((StoredSecret.Scram) users.find("old").orElseThrow()).mechanism());
        Portal portal = portal(users);
        assertEquals("old", portal.authenticate(new UsernamePassword("old", "secret")).name());
        assertEquals("SCRAM-SHA-1", scram(portal, ScramClient.sha1("old", "secret", "n1"), "SCRAM-SHA-1").mechanism());
        assertThrows(AuthenticationException.class,
                () -> scram(portal, new ScramClient("old", "secret", "n2"), "SCRAM-SHA-256"));
    }

    @Test
    void sha1KeysInTheExtraFieldsServeScramSha1BesideTheSha256Field() throws Exception {
        // the doveadm SHA-1 keys of "secret", after a SCRAM-SHA-256 field and other extra fields
        UsersFile users = UsersFile.load(write(DOVECOT_SCRAM_LINE + ":1000:1000:::/bin/sh:quota_rule=*:storage=1G "
                + "scram_sha1=" + DOVEADM_SHA1.substring("{SCRAM-SHA-1}".length()) + "\n"));
        assertEquals(2, users.secrets("user").size());
        assertEquals("SCRAM-SHA-256", ((StoredSecret.Scram) users.find("user").orElseThrow()).mechanism());
        Portal portal = portal(users);
        assertEquals("user", scram(portal, ScramClient.sha1("user", "secret", "n1"), "SCRAM-SHA-1").name());
        assertEquals("user", scram(portal, new ScramClient("user", "pencil", "n2"), "SCRAM-SHA-256").name());
        assertThrows(AuthenticationException.class,
                () -> scram(portal, ScramClient.sha1("user", "pencil", "n3"), "SCRAM-SHA-1"));
    }

    @Test
    void writtenUsersLogInWithBothScramMechanismsAndPlain() throws Exception {
        Path file = dir.resolve("users.txt");
        UsersFile.addUser(file, "alice", "correct horse".toCharArray());
        Portal portal = portal(UsersFile.load(file));
        assertEquals("SCRAM-SHA-1", scram(portal, ScramClient.sha1("alice", "correct horse", "a"), "SCRAM-SHA-1").mechanism());
        assertEquals("SCRAM-SHA-256", scram(portal, new ScramClient("alice", "correct horse", "b"), "SCRAM-SHA-256").mechanism());
        assertEquals("alice", portal.authenticate(new UsernamePassword("alice", "correct horse")).name());
        assertThrows(AuthenticationException.class,
                () -> scram(portal, ScramClient.sha1("alice", "wrong", "c"), "SCRAM-SHA-1"));
    }

    @Test
    void badSha1KeysNameTheLine() throws Exception {
        Path file = write("# x\nuser:{PLAIN}a::::::scram_sha1=4096,c2FsdA==,AAAA,AAAA\n");
        UsersFileException e = assertThrows(UsersFileException.class, () -> UsersFile.load(file));
        assertEquals(2, e.line());
        assertTrue(e.getMessage().contains("SCRAM-SHA-1") && e.getMessage().contains("20 bytes"), e.getMessage());
    }

    /** Runs a whole SCRAM exchange and returns the principal, or throws on failure. */
    private static Principal scram(Portal portal, ScramClient client, String mechanism) throws Exception {
        SaslExchange exchange = portal.sasl(mechanism);
        byte[] serverFirst = exchange.evaluate(client.clientFirst());
        byte[] serverFinal = exchange.evaluate(client.clientFinal(serverFirst));
        assertEquals(client.expectedServerFinal(), new String(serverFinal, UTF_8));
        return exchange.principal();
    }

    @Test
    void writesDovecotLayoutThatAnIndependentDerivationVerifies() throws Exception {
        Path file = dir.resolve("users.txt");
        UsersFile.addUser(file, "alice", "correct horse".toCharArray());
        String content = read(file);
        Matcher line = NEW_LINE.matcher(content);
        assertTrue(line.matches(), content);
        assertEquals("alice", line.group(1));
        Matcher sha256 = SCRAM_ENTRY.matcher(line.group(2));
        Matcher sha1 = SCRAM_SHA1_KEYS.matcher(line.group(3));
        assertTrue(sha256.matches() && sha1.matches(), content);
        assertNotEquals(sha256.group(1), sha1.group(1), "each hash gets its own salt");
        // What Dovecot does to verify a password (RFC 5802 §3), with the JDK's PBKDF2.
        verifyIndependently("SHA256", 256, "correct horse", sha256);
        verifyIndependently("SHA1", 160, "correct horse", sha1);
    }

    private static void verifyIndependently(String hash, int bits, String password, Matcher m) throws Exception {
        byte[] salt = Base64.getDecoder().decode(m.group(1));
        byte[] salted = SecretKeyFactory.getInstance("PBKDF2WithHmac" + hash)
                .generateSecret(new PBEKeySpec(password.toCharArray(), salt, 4096, bits)).getEncoded();
        Mac mac = Mac.getInstance("Hmac" + hash);
        mac.init(new SecretKeySpec(salted, "Hmac" + hash));
        String digest = hash.equals("SHA1") ? "SHA-1" : "SHA-256";
        byte[] storedKey = java.security.MessageDigest.getInstance(digest).digest(mac.doFinal("Client Key".getBytes(UTF_8)));
        byte[] serverKey = mac.doFinal("Server Key".getBytes(UTF_8));
        assertArrayEquals(storedKey, Base64.getDecoder().decode(m.group(2)));
        assertArrayEquals(serverKey, Base64.getDecoder().decode(m.group(3)));
    }

    @Test
    void newSaltsAreRandom() throws Exception {
        Path file = dir.resolve("users.txt");
        UsersFile.addUser(file, "a", "same".toCharArray());
        UsersFile.addUser(file, "b", "same".toCharArray());
        List<String> lines = Files.readAllLines(file);
        Matcher a = NEW_LINE.matcher(lines.get(0) + "\n");
        Matcher b = NEW_LINE.matcher(lines.get(1) + "\n");
        assertTrue(a.matches() && b.matches());
        assertNotEquals(a.group(2).split(",")[1], b.group(2).split(",")[1], "two users got the same salt");
        assertNotEquals(a.group(3).split(",")[1], b.group(3).split(",")[1], "two users got the same SHA-1 salt");
    }

    @Test
    void rewritesKeepCommentsExtraFieldsAndLineEndingsByteForByte() throws Exception {
        String header = "# Twine users\r\n"
                + "\n"
                + "   \n"
                + "alice:{PLAIN}old:1000:1000:Alice A.:/home/alice::userdb_mail=maildir:~/Mail quota_rule=*:storage=1G\n"
                + "# between\n"
                + "bob:{PLAIN}bob-pass:::::\n";
        Path file = write(header);

        UsersFile.addUser(file, "carol", "carol-pass".toCharArray());
        String afterAdd = read(file);
        assertTrue(afterAdd.startsWith(header), afterAdd);
        assertTrue(afterAdd.substring(header.length()).matches("carol:\\{SCRAM-SHA-256}[^:\r\n]+::::::scram_sha1=[^:\r\n ]+\r\n"),
                "the new line ends like the file's first line (CRLF): " + afterAdd);

        UsersFile.changePassword(file, "alice", "new-pass".toCharArray());
        String afterChange = read(file);
        String[] lines = afterChange.split("\n", -1);
        assertTrue(lines[3].matches("alice:\\{SCRAM-SHA-256}[^:]+"
                + Pattern.quote(":1000:1000:Alice A.:/home/alice::userdb_mail=maildir:~/Mail quota_rule=*:storage=1G")
                + " scram_sha1=[^: ]+"),
                lines[3]);
        assertEquals(afterAdd.replace(afterAdd.split("\n")[3], lines[3]), afterChange,
                "only alice's password field and SHA-1 keys changed");
        String firstKeys = lines[3].substring(lines[3].indexOf("scram_sha1="));
        UsersFile.changePassword(file, "alice", "new-pass".toCharArray());
        String again = read(file).split("\n", -1)[3];
        assertEquals(1, again.split("scram_sha1=", -1).length - 1, "the SHA-1 keys are replaced, not added: " + again);
        assertNotEquals(firstKeys, again.substring(again.indexOf("scram_sha1=")));
        afterChange = read(file);

        UsersFile.removeUser(file, "bob");
        assertEquals(afterChange.replace("bob:{PLAIN}bob-pass:::::\n", ""), read(file));

        UsersFile users = UsersFile.load(file);
        Portal portal = portal(users);
        assertEquals("alice", portal.authenticate(new UsernamePassword("alice", "new-pass")).name());
        assertThrows(AuthenticationException.class, () -> portal.authenticate(new UsernamePassword("alice", "old")));
        assertEquals("carol", portal.authenticate(new UsernamePassword("carol", "carol-pass")).name());
        assertEquals(Optional.empty(), users.find("bob"));
    }

    @Test
    void addTerminatesAnUnterminatedLastLine() throws Exception {
        Path file = write("alice:{PLAIN}a");
        UsersFile.addUser(file, "bob", "b".toCharArray());
        List<String> lines = Files.readAllLines(file);
        assertEquals("alice:{PLAIN}a", lines.get(0));
        assertTrue(lines.get(1).startsWith("bob:{SCRAM-SHA-256}"));
    }

    @Test
    void addCompletesALastLineThatEndsInABareCr() throws Exception {
        // Like Dovecot, the reader drops a CR at the end of an unterminated last line; terminating
        // that line with the file's CRLF would give "carol\r\r\n", whose name then ends in a CR.
        Path file = write("alice:{PLAIN}a\r\ncarol\r");
        UsersFile.addUser(file, "bob", "b".toCharArray());
        assertTrue(read(file).startsWith("alice:{PLAIN}a\r\ncarol\r\nbob:{SCRAM-SHA-256}"), read(file));
        UsersFile users = UsersFile.load(file);
        assertEquals(Optional.of(new StoredSecret.Plain("a")), users.find("alice"));
        assertTrue(users.find("bob").isPresent());
    }

    @Test
    void changePasswordOfUserWithoutPasswordFieldAddsIt() throws Exception {
        Path file = write("nopass\n");
        UsersFile.changePassword(file, "nopass", "pw".toCharArray());
        assertTrue(NEW_LINE.matcher(read(file)).matches(), read(file));
    }

    @Test
    void writesLeaveNoTemporaryFiles() throws Exception {
        Path file = dir.resolve("users.txt");
        UsersFile.addUser(file, "alice", "a".toCharArray());
        UsersFile.addUser(file, "bob", "b".toCharArray());
        UsersFile.changePassword(file, "alice", "c".toCharArray());
        UsersFile.removeUser(file, "bob");
        assertEquals(List.of("users.txt"), directoryListing());

        String before = read(file);
        assertThrows(IllegalArgumentException.class, () -> UsersFile.addUser(file, "alice", "x".toCharArray()));
        assertThrows(IllegalArgumentException.class, () -> UsersFile.removeUser(file, "bob"));
        assertEquals(List.of("users.txt"), directoryListing(), "a refused change leaves nothing behind");
        assertEquals(before, read(file));
    }

    @Test
    void createsNewFileOwnerReadableOnly() throws Exception {
        assumeTrue(dir.getFileSystem().supportedFileAttributeViews().contains("posix"));
        Path file = dir.resolve("users.txt");
        UsersFile.addUser(file, "alice", "a".toCharArray());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    }

    @Test
    void rewriteKeepsExistingPermissions() throws Exception {
        assumeTrue(dir.getFileSystem().supportedFileAttributeViews().contains("posix"));
        Path file = write("alice:{PLAIN}a\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
        UsersFile.addUser(file, "bob", "b".toCharArray());
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    }

    @Test
    void rewriteThroughSymbolicLinkReplacesTheTarget() throws Exception {
        Path real = write("alice:{PLAIN}a\n");
        Path link = dir.resolve("link.txt");
        try {
            Files.createSymbolicLink(link, real.getFileName());
        } catch (UnsupportedOperationException | IOException e) {
            assumeTrue(false, "symbolic links not available: " + e);
        }
        UsersFile.addUser(link, "bob", "b".toCharArray());
        assertTrue(Files.isSymbolicLink(link));
        assertTrue(read(real).contains("\nbob:{SCRAM-SHA-256}"));
    }

    @Test
    void refusesChangesThatDoNotApply() throws Exception {
        Path file = write("alice:{PLAIN}a\n");
        assertEquals("user alice already exists in " + file, assertThrows(IllegalArgumentException.class,
                () -> UsersFile.addUser(file, "alice", "x".toCharArray())).getMessage());
        assertEquals("no user bob in " + file, assertThrows(IllegalArgumentException.class,
                () -> UsersFile.changePassword(file, "bob", "x".toCharArray())).getMessage());
        assertEquals("no user bob in " + file, assertThrows(IllegalArgumentException.class,
                () -> UsersFile.removeUser(file, "bob")).getMessage());
        Path missing = dir.resolve("missing.txt");
        assertThrows(NoSuchFileException.class, () -> UsersFile.changePassword(missing, "a", "x".toCharArray()));
        assertThrows(NoSuchFileException.class, () -> UsersFile.removeUser(missing, "a"));
    }

    @Test
    void addRefusesAUserWhoseLineHasOnlyTheName() throws Exception {
        // A line with a name and no ':' is a user without a password (Dovecot's passwd-file reads
        // it so), not a line to skip: adding that name again is refused and nothing is written.
        for (String content : new String[] {"bob", "bob\n", "bob\r\n", "alice:{PLAIN}a\nbob"}) {
            Path file = write(content);
            assertEquals("user bob already exists in " + file, assertThrows(IllegalArgumentException.class,
                    () -> UsersFile.addUser(file, "bob", "b".toCharArray())).getMessage(), content);
            assertEquals(content, read(file));
        }
    }

    @Test
    void rejectsUnusableNamesAndPasswords() {
        Path file = dir.resolve("users.txt");
        for (String name : new String[] {"", "a:b", "a b", "a\tb", "a\nb", "#root", "a/b", "a\\b", "..", "a\u0000"}) {
            assertThrows(IllegalArgumentException.class, () -> UsersFile.addUser(file, name, "pw".toCharArray()),
                    "name " + name);
        }
        assertThrows(IllegalArgumentException.class, () -> UsersFile.addUser(file, "alice", new char[0]));
        assertThrows(IllegalArgumentException.class, () -> UsersFile.addUser(file, "alice", "a\u0007".toCharArray()));
        assertTrue(Files.notExists(file), "nothing was written");
    }

    @Test
    void reportsUnsupportedSchemeWithFileAndLine() throws Exception {
        Path file = write("# users\nalice:{PLAIN}a\nbob:{SHA512-CRYPT}$6$abc$def\n");
        UsersFileException e = assertThrows(UsersFileException.class, () -> UsersFile.load(file));
        assertEquals(file + ":3: unsupported password scheme {SHA512-CRYPT}", e.getMessage());
        assertEquals(file, e.path());
        assertEquals(3, e.line());
    }

    @Test
    void refusesGarbageLinesWithTheLine() throws Exception {
        Path file = write("alice:{PLAIN}a\nthis is not a user line\n");
        UsersFileException e = assertThrows(UsersFileException.class, () -> UsersFile.load(file));
        assertEquals(2, e.line());
        assertTrue(e.getMessage().startsWith(file + ":2: not a user line (user name must not contain"), e.getMessage());
    }

    @Test
    void reportsDuplicateUserWithLine() throws Exception {
        Path file = write("alice:{PLAIN}a\nbob:{PLAIN}b\nalice:{PLAIN}c\n");
        UsersFileException e = assertThrows(UsersFileException.class, () -> UsersFile.load(file));
        assertEquals(3, e.line());
        assertEquals(file + ":3: duplicate user alice (first on line 1)", e.getMessage());
    }

    @Test
    void reportsOtherInvalidLinesWithLine() throws Exception {
        String[] bad = {
            "alice:$6$rounds=5000$salt$hash", // bare crypt(3) hash
            "alice:{SCRAM-SHA-256}4096,c2FsdA==,AAAA", // three fields
            "alice:{SCRAM-SHA-256}100,W22ZaJ0SNY7soEsUEjb6gQ==,"
                    + "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
            "alice:{SCRAM-SHA-256}4096,!!,"
                    + "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
            "alice:{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,AAAA,AAAA", // short keys
            "alice:{SCRAM-SHA-1}4096,a,b,c",
        };
        for (String line : bad) {
            Path file = write("# header\n" + line + "\n");
            UsersFileException e = assertThrows(UsersFileException.class, () -> UsersFile.load(file), line);
            assertEquals(2, e.line(), line);
            assertTrue(e.getMessage().startsWith(file + ":2: "), e.getMessage());
        }
        Path file = dir.resolve("users.txt");
        Files.write(file, new byte[] {'a', ':', (byte) 0xFF, '\n'});
        assertEquals(1, assertThrows(UsersFileException.class, () -> UsersFile.load(file)).line());
    }

    @Test
    void refusesToRewriteInvalidFile() throws Exception {
        Path file = write("alice:{SHA512-CRYPT}x\n");
        UsersFileException e = assertThrows(UsersFileException.class,
                () -> UsersFile.addUser(file, "bob", "b".toCharArray()));
        assertEquals(1, e.line());
        assertEquals("alice:{SHA512-CRYPT}x\n", read(file));
        assertEquals(List.of("users.txt"), directoryListing());
    }

    @Test
    void seesUserAddedAfterLoadWithoutRestart() throws Exception {
        Path file = write("alice:{PLAIN}a\n");
        UsersFile users = UsersFile.load(file);
        Portal portal = portal(users);
        assertThrows(AuthenticationException.class, () -> portal.authenticate(new UsernamePassword("bob", "b")));

        UsersFile.addUser(file, "bob", "b".toCharArray());
        assertEquals("bob", portal.authenticate(new UsernamePassword("bob", "b")).name());

        UsersFile.removeUser(file, "bob");
        assertThrows(AuthenticationException.class, () -> portal.authenticate(new UsernamePassword("bob", "b")));
    }

    @Test
    void reloadsInPlaceEditWhenModificationTimeChanges() throws Exception {
        Path file = write("alice:{PLAIN}aaaa\n");
        UsersFile users = UsersFile.load(file);
        FileTime loaded = Files.getLastModifiedTime(file);
        assertEquals(Optional.of(new StoredSecret.Plain("aaaa")), users.find("alice"));

        // Same size, same inode: only the modification time tells the versions apart.
        Files.writeString(file, "alice:{PLAIN}bbbb\n");
        Files.setLastModifiedTime(file, loaded);
        assertEquals(Optional.of(new StoredSecret.Plain("aaaa")), users.find("alice"),
                "an unchanged stamp means no re-read (one stat per lookup, not one read)");
        Files.setLastModifiedTime(file, FileTime.fromMillis(loaded.toMillis() + 10_000));
        assertEquals(Optional.of(new StoredSecret.Plain("bbbb")), users.find("alice"));
    }

    @Test
    void keepsPreviousVersionWhenChangedFileIsInvalid() throws Exception {
        Path file = write("alice:{PLAIN}a\n");
        UsersFile users = UsersFile.load(file);
        Files.writeString(file, "alice:{PLAIN}a\nbob:{MD5-CRYPT}x\n");
        assertEquals(Optional.of(new StoredSecret.Plain("a")), users.find("alice"));
        assertEquals(Optional.empty(), users.find("bob"));
        assertEquals(2, assertThrows(UsersFileException.class, users::reload).line());

        Files.writeString(file, "alice:{PLAIN}a\nbob:{PLAIN}fixed\n");
        assertEquals(Optional.of(new StoredSecret.Plain("fixed")), users.find("bob"));

        Files.delete(file);
        assertEquals(Optional.of(new StoredSecret.Plain("fixed")), users.find("bob"),
                "a vanished file leaves the last good version in use");
        assertInstanceOf(NoSuchFileException.class, assertThrows(IOException.class, users::reload));
    }

    @Test
    void servesConcurrentLookupsAcrossReload() throws Exception {
        Path file = write("alice:{PLAIN}a\n");
        UsersFile users = UsersFile.load(file);
        UsersFile.addUser(file, "bob", "b".toCharArray());
        List<Future<Optional<StoredSecret>>> lookups = new ArrayList<>();
        try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 200; i++) {
                lookups.add(executor.submit(() -> users.find("bob")));
            }
            for (Future<Optional<StoredSecret>> lookup : lookups) {
                assertInstanceOf(StoredSecret.Scram.class, lookup.get().orElseThrow());
            }
        }
    }
}
