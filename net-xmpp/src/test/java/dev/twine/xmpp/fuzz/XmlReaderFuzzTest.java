package dev.twine.xmpp.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.internal.StreamErrorException;
import dev.twine.xmpp.internal.XmlLimits;
import dev.twine.xmpp.internal.XmlReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The XMPP XML reader (RFC 6120 §4: a stream header, then top-level elements) on arbitrary bytes
 * after a valid stream header (issue 16). If a peer sends anything, then the reader yields
 * elements until the stream closes, or throws {@link StreamErrorException} (answered with a stream
 * error) or an {@link IOException} for the end of input, nothing else; each element it yields is
 * within the limits, and serialized again ({@link Element#toXml()}) reads back to the same XML.
 */
class XmlReaderFuzzTest {
    private static final String HEADER = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
            + " to='example.test' version='1.0'>";
    private static final XmlLimits LIMITS = new XmlLimits(16 * 1024, 16, 16);

    @FuzzTest(maxDuration = "10m")
    void elementsReadBackTheSame(byte[] input) throws Exception {
        List<Element> elements = new ArrayList<>();
        try {
            read(new SequenceInputStream(new ByteArrayInputStream(HEADER.getBytes(StandardCharsets.UTF_8)),
                    new ByteArrayInputStream(input)), elements);
        } catch (StreamErrorException | IOException refused) {
            // the protocol's own answers; what was read before still counts
        }
        for (Element e : elements) {
            assertTrue(depth(e) <= LIMITS.maxDepth(), "deeper than the limit");
            String xml = e.toXml();
            List<Element> back = new ArrayList<>();
            read(new ByteArrayInputStream((HEADER + xml + "</stream:stream>").getBytes(StandardCharsets.UTF_8)), back);
            assertEquals(1, back.size(), xml);
            assertEquals(xml, back.get(0).toXml());
        }
    }

    private static void read(java.io.InputStream in, List<Element> into) throws Exception {
        XmlReader reader = new XmlReader(in, LIMITS);
        assertNotNull(reader.readHeader());
        for (Element e; (e = reader.next()) != null; ) {
            into.add(e);
        }
    }

    private static int depth(Element e) {
        int d = 0;
        for (Element c : e.children()) {
            d = Math.max(d, depth(c));
        }
        return d + 1;
    }
}
