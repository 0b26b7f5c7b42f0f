package dev.twine.core;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** Third-party programs the net-core tests run: missing ones fail the test under CI=true and skip it elsewhere. */
public final class TestPeers {
    private TestPeers() {
    }

    /**
     * Requires a program, given as an absolute path or a name looked up on the PATH.
     *
     * @param debianPackage what CI installs it from (see ci/peers/core.txt)
     */
    public static void require(String program, String debianPackage) {
        if (found(program)) {
            return;
        }
        String msg = program + " not found: CI must install the Debian package '" + debianPackage + "' (ci/peers/core.txt)";
        if ("true".equals(System.getenv("CI"))) {
            fail(msg);
        }
        Assumptions.abort(msg + "; skipping outside CI");
    }

    private static boolean found(String program) {
        if (program.contains("/")) {
            return Files.isExecutable(Path.of(program));
        }
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, program))) {
                return true;
            }
        }
        return false;
    }
}
