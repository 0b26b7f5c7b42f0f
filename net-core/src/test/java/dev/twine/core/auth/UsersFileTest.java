package dev.twine.core.auth;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
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
    void writesDovecotLayoutThatAnIndependentDerivationVerifies() throws Exception {
        Path file = dir.resolve("users.txt");
        UsersFile.addUser(file, "alice", "correct horse".toCharArray());
        String content = read(file);
        assertTrue(content.startsWith("alice:{SCRAM-SHA-256}") && content.endsWith("\n"), content);
        Matcher m = SCRAM_ENTRY.matcher(content.substring("alice:".length(), content.length() - 1));
        assertTrue(m.matches(), content);

        // What Dovecot does to verify a password (RFC 5802 §3), with the JDK's PBKDF2.
        byte[] salt = Base64.getDecoder().decode(m.group(1));
        byte[] salted = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
                .generateSecret(new PBEKeySpec("correct horse".toCharArray(), salt, 4096, 256)).getEncoded();
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(salted, "HmacSHA256"));
        byte[] storedKey = java.security.MessageDigest.getInstance("SHA-256").digest(mac.doFinal("Client Key".getBytes(UTF_8)));
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
        Matcher a = SCRAM_ENTRY.matcher(lines.get(0).substring(2));
        Matcher b = SCRAM_ENTRY.matcher(lines.get(1).substring(2));
        assertTrue(a.matches() && b.matches());
        assertTrue(!a.group(1).equals(b.group(1)), "two users got the same salt");
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
        assertTrue(afterAdd.substring(header.length()).matches("carol:\\{SCRAM-SHA-256}[^:\r\n]+\r\n"),
                "the new line ends like the file's first line (CRLF): " + afterAdd);

        UsersFile.changePassword(file, "alice", "new-pass".toCharArray());
        String afterChange = read(file);
        String[] lines = afterChange.split("\n", -1);
        assertTrue(lines[3].matches("alice:\\{SCRAM-SHA-256}[^:]+"
                + Pattern.quote(":1000:1000:Alice A.:/home/alice::userdb_mail=maildir:~/Mail quota_rule=*:storage=1G")),
                lines[3]);
        assertEquals(afterAdd.replace(afterAdd.split("\n")[3], lines[3]), afterChange,
                "only alice's password field changed");

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
    void changePasswordOfUserWithoutPasswordFieldAddsIt() throws Exception {
        Path file = write("nopass\n");
        UsersFile.changePassword(file, "nopass", "pw".toCharArray());
        assertTrue(read(file).matches("nopass:\\{SCRAM-SHA-256}[^:\n]+\n"), read(file));
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
