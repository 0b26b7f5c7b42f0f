package dev.twine.dns.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.twine.dns.internal.Zone;
import dev.twine.dns.internal.ZoneFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;
import org.xbill.DNS.Record;

/**
 * Zone files (RFC 1035 §5 master files, parsed by dnsjava behind {@link Zone}) from arbitrary
 * bytes (issue 16). If the file is not a zone, then the only escape is {@link ZoneFileException};
 * if it is, then writing its records back out in master-file form loads to the same records.
 * {@code $INCLUDE} is left out of the input: it names other files, which the operator chooses.
 */
class ZoneFileFuzzTest {
    private static final Path DIR = tempDir();

    @FuzzTest(maxDuration = "10m")
    void loadsOrRefusesAndWritesBackTheSameRecords(byte[] input) throws IOException {
        String text = new String(input, java.nio.charset.StandardCharsets.ISO_8859_1);
        if (text.toUpperCase(java.util.Locale.ROOT).contains("$INCLUDE")) {
            return;
        }
        Path file = DIR.resolve("fuzz.zone");
        Files.write(file, input);
        Zone zone;
        try {
            zone = Zone.load(file);
        } catch (ZoneFileException refused) {
            return;
        }
        Path again = DIR.resolve("again.zone");
        Files.writeString(again, zone.records().stream().map(Record::toString).collect(Collectors.joining("\n", "", "\n")));
        try {
            assertEquals(zone.records(), Zone.load(again).records());
        } catch (ZoneFileException e) {
            fail("the zone's own records do not load again: " + e.getMessage());
        }
    }

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("twine-zone-fuzz");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
