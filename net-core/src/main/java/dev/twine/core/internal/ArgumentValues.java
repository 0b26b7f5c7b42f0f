package dev.twine.core.internal;

import dev.twine.core.Endpoint;
import dev.twine.core.Tls;
import dev.twine.core.auth.UsersFile;
import dev.twine.core.auth.UsersFileException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Locale;

/**
 * The typed values of command-line options ({@code ServicePlugin.Arguments}): one grammar and one
 * wording of each error for every subcommand. Every error is an {@link IllegalArgumentException}
 * whose message starts with the option's name.
 */
public final class ArgumentValues {
    private ArgumentValues() {}

    /** A whole number of at least {@code min}. */
    public static int integer(String option, String value, int min) {
        String v = value.strip();
        try {
            int n = Integer.parseInt(v);
            if (n >= min) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(option + ": '" + value + "' is not a whole number of " + min + " or more");
    }

    /** A size in bytes: {@code 1048576}, {@code 512k}, {@code 25m}, {@code 1g} (powers of 1024). */
    public static long byteSize(String option, String value) {
        String v = value.strip().toLowerCase(Locale.ROOT);
        long mult = switch (v.isEmpty() ? ' ' : v.charAt(v.length() - 1)) {
            case 'k' -> 1024L;
            case 'm' -> 1024L * 1024;
            case 'g' -> 1024L * 1024 * 1024;
            default -> 1;
        };
        String digits = mult > 1 ? v.substring(0, v.length() - 1) : v;
        try {
            long n = Long.parseLong(digits);
            if (n >= 0 && n <= Long.MAX_VALUE / mult) {
                return n * mult;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(option + ": '" + value + "' is not a size (examples: 1048576, 512k, 25m, 1g)");
    }

    /** {@code HOST:PORT} or {@code [IPV6]:PORT}, in the client endpoint grammar; not resolved. */
    public static InetSocketAddress hostPort(String option, String value) {
        Endpoint e;
        try {
            e = Endpoint.parseClient("tcp:" + value.strip());
        } catch (IllegalArgumentException bad) {
            throw new IllegalArgumentException(option + ": '" + value + "' is not HOST:PORT (" + bad.getMessage() + ")");
        }
        if (!(e instanceof Endpoint.Tcp tcp) || tcp.host().isEmpty() || tcp.port() == 0) {
            throw new IllegalArgumentException(option + ": '" + value + "' is not HOST:PORT");
        }
        return InetSocketAddress.createUnresolved(tcp.host(), tcp.port());
    }

    /** A users file, loaded; its errors name the option, the file and the line. */
    public static UsersFile usersFile(String option, Path file) {
        try {
            return UsersFile.load(file);
        } catch (UsersFileException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(option + ": no such file: " + file, e);
        } catch (AccessDeniedException e) {
            throw new IllegalArgumentException(option + ": cannot read " + file + ": permission denied", e);
        } catch (IOException e) {
            throw new IllegalArgumentException(option + ": cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * A directory a server writes into: made (with its parents, 0700 where it is new) if
     * missing, then checked to be a directory this process can write; errors name the option.
     */
    public static Path writableDirectory(String option, Path dir) {
        Path abs = dir.toAbsolutePath();
        try {
            if (!Files.exists(abs)) {
                Files.createDirectories(abs, privateDirectory(abs));
            }
        } catch (FileAlreadyExistsException e) {
            throw new IllegalArgumentException(option + ": not a directory: " + abs, e);
        } catch (AccessDeniedException e) {
            throw new IllegalArgumentException(option + ": cannot create " + abs + ": permission denied", e);
        } catch (IOException e) {
            throw new IllegalArgumentException(option + ": cannot create " + abs + ": " + reason(e), e);
        }
        if (!Files.isDirectory(abs)) {
            throw new IllegalArgumentException(option + ": not a directory: " + abs);
        }
        if (!Files.isWritable(abs) || !Files.isExecutable(abs)) {
            throw new IllegalArgumentException(option + ": cannot write in " + abs + ": permission denied");
        }
        return abs;
    }

    /** 0700 for directories made on a POSIX file system, nothing elsewhere. */
    private static FileAttribute<?>[] privateDirectory(Path dir) {
        Path parent = dir.getParent();
        boolean posix = parent != null && parent.getFileSystem().supportedFileAttributeViews().contains("posix");
        return posix ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"))}
                : new FileAttribute<?>[0];
    }

    /** A file that must exist and be readable; errors name the option, worded as for the users file. */
    public static Path readableFile(String option, Path file) {
        if (!Files.exists(file)) {
            throw new IllegalArgumentException(option + ": no such file: " + file);
        }
        if (Files.isDirectory(file)) {
            throw new IllegalArgumentException(option + ": " + file + " is a directory, not a file");
        }
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException(option + ": cannot read " + file + ": permission denied");
        }
        return file;
    }

    /** What went wrong, without the path the JDK repeats in some messages. */
    private static String reason(IOException e) {
        if (e instanceof java.nio.file.FileSystemException f) {
            if (f.getReason() != null) {
                return f.getReason();
            }
            // the JDK's message is only the path here, which the caller names already
            return e instanceof NoSuchFileException ? "no such file or directory" : "file system error";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /** A server TLS pair, loaded; its errors name both options. */
    public static Tls serverTls(String certOption, Path cert, String keyOption, Path key) {
        try {
            return Tls.server(cert, key);
        } catch (IOException e) {
            throw new IllegalArgumentException(certOption + "/" + keyOption + ": " + e.getMessage(), e);
        }
    }
}
