package dev.twine.xmpp.internal;

import dev.twine.core.ConnectionHandler;
import dev.twine.core.DurableFiles;
import dev.twine.xmpp.DomainHandler;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.InboundStanza;
import dev.twine.xmpp.Jid;
import dev.twine.xmpp.StanzaError;
import dev.twine.xmpp.StanzaException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HTTP File Upload, XEP-0363, as a {@link DomainHandler} for its own domain
 * ({@code upload.example.org}): a local user asks for a slot (§4) and gets a PUT URL and a GET URL
 * with the same unguessable path, {@code BASE/ID/NAME}, where ID is 128 random bits; the PUT must
 * also carry {@code Authorization: Bearer TOKEN}, TOKEN an HMAC-SHA256, under a secret drawn at
 * start, of the slot's id, size, type and expiry, so the GET URL a user shares cannot be used to
 * upload. {@link UploadHttp} serves the URLs.
 *
 * <p>Slots live in memory until used or expired (five minutes); stored files are kept under
 * {@code DATA/upload/} as {@code ID} (the bytes) and {@code ID.meta} (owner, name, type, size,
 * time), each written durably, and are deleted once older than the retention period. What one
 * user may hold (stored plus slots granted) and what the store holds in all are bounded, and so is
 * how many slots one user gets per period.
 *
 * <p>Thread-safety: one lock guards the slots, the index and the counters; it is held while a
 * file's metadata is deleted, never while a body is read or sent.
 */
public final class Upload implements DomainHandler {
    static final String NS = "urn:xmpp:http:upload:0";
    private static final String DATA = "jabber:x:data";
    private static final String CLIENT = Hub.CLIENT_NS;
    /** How long a slot may wait for its PUT (XEP-0363 §4 leaves it to the service). */
    static final Duration SLOT_LIFETIME = Duration.ofMinutes(5);
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_-]{22}");
    private static final Pattern TYPE = Pattern.compile("[A-Za-z0-9!#$&^_.+-]{1,64}/[A-Za-z0-9!#$&^_.+-]{1,64}"
            + "(\\s*;\\s*[A-Za-z0-9!#$&^_.+-]{1,64}=(\"[^\"\\\\\\p{Cntrl}]{0,64}\"|[A-Za-z0-9!#$&^_.+-]{1,64}))*");
    private static final System.Logger LOG = System.getLogger(Upload.class.getName());

    /**
     * What the service accepts.
     *
     * @param maxFileBytes the largest file (advertised as {@code max-file-size})
     * @param quotaBytes what one user may hold: stored files plus slots granted and not used
     * @param totalBytes what the store holds in all, slots included
     * @param slots slots one user gets per {@code per}
     * @param per the period of {@code slots}
     * @param retention how long a stored file is served before it is deleted
     */
    public record Limits(long maxFileBytes, long quotaBytes, long totalBytes, int slots, Duration per, Duration retention) {
        /** Checks that each is positive. */
        public Limits {
            if (maxFileBytes < 1 || quotaBytes < 1 || totalBytes < 1 || slots < 1 || !per.isPositive() || !retention.isPositive()) {
                throw new IllegalArgumentException("file upload limits must be positive");
            }
        }

        /** 100 MiB per file, 1 GiB per user, 10 GiB in all, 30 slots a minute, kept a week. */
        public static Limits defaults() {
            return new Limits(100L << 20, 1L << 30, 10L << 30, 30, Duration.ofMinutes(1), Duration.ofDays(7));
        }
    }

    /** A slot granted and not yet used; {@code busy} while its PUT is being read. */
    static final class Slot {
        final String id;
        final String owner;
        final String name;
        final long size;
        final String type;
        final Instant expires;
        final String token;
        boolean busy;

        Slot(String id, String owner, String name, long size, String type, Instant expires, String token) {
            this.id = id;
            this.owner = owner;
            this.name = name;
            this.size = size;
            this.type = type;
            this.expires = expires;
            this.token = token;
        }
    }

    /** A file stored: {@code type} is what GET sends as {@code Content-Type}. */
    record Stored(String id, String owner, String name, long size, String type, Instant created) {}

    private final String domain;
    private final String localDomain;
    private final Path dir;
    private final Clock clock;
    private final Limits limits;
    private final Supplier<String> baseUrl;
    private final SecureRandom random = new SecureRandom();
    private final byte[] secret = new byte[32];
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, Slot> slots = new HashMap<>();
    private final Map<String, Stored> files = new HashMap<>();
    private final Map<String, Long> held = new HashMap<>(); // per user: stored + granted
    private final Map<String, ArrayDeque<Instant>> granted = new HashMap<>(); // per user: recent slots
    private long total;
    private Instant nextSweep = Instant.MIN;

    /**
     * The service, reading what {@code dir} holds (and deleting what a crash left half-written).
     *
     * @param domain the service's domain
     * @param localDomain the server's domain: only its users get slots
     * @param dir where files are kept
     * @param clock for slot expiry, retention and the slot rate
     * @param limits what is accepted
     * @param baseUrl the public base URL ({@code https://host:port}, maybe with a path), asked for at each slot
     * @throws IOException if {@code dir} cannot be created or read
     */
    public Upload(String domain, String localDomain, Path dir, Clock clock, Limits limits, Supplier<String> baseUrl) throws IOException {
        this.domain = domain;
        this.localDomain = localDomain;
        this.dir = dir;
        this.clock = clock;
        this.limits = limits;
        this.baseUrl = baseUrl;
        random.nextBytes(secret);
        Files.createDirectories(dir);
        load();
    }

    /** The handler for the HTTP side (one request per connection). */
    public ConnectionHandler httpHandler() {
        return new UploadHttp(this)::serve;
    }

    Clock clock() {
        return clock;
    }

    String basePath() {
        String path = java.net.URI.create(base()).getRawPath();
        return path == null ? "" : path;
    }

    private String base() {
        String b = baseUrl.get();
        return b.endsWith("/") ? b.substring(0, b.length() - 1) : b;
    }

    // ---------------------------------------------------------------- XMPP side

    @Override
    public List<Element> handle(InboundStanza stanza) throws StanzaException, IOException {
        Element iq = stanza.stanza();
        Jid to = Jid.parse(iq.attributeOrEmpty("to"));
        if (!iq.name().equals("iq") || !iq.attributeOrEmpty("type").equals("get") || !to.local().isEmpty()
                || !to.resource().isEmpty() || iq.children().isEmpty()) {
            return List.of(); // an IQ set or an IQ to anything but the domain: service-unavailable
        }
        Element q = iq.children().get(0);
        if (q.is("query", ServerIqs.DISCO_INFO) && q.attribute("node").isEmpty()) {
            return List.of(result(info()));
        } else if (q.is("query", ServerIqs.DISCO_ITEMS) && q.attribute("node").isEmpty()) {
            return List.of(result(Element.of("query", ServerIqs.DISCO_ITEMS)));
        } else if (q.is("request", NS)) {
            return List.of(result(slot(stanza.from(), q)));
        }
        return List.of();
    }

    /** §3: the identity, the feature and the largest file size as an XEP-0128 extended form. */
    private Element info() {
        Element form = Element.of("x", DATA).withAttribute("type", "result")
                .withChild(Element.of("field", DATA).withAttribute("var", "FORM_TYPE").withAttribute("type", "hidden")
                        .withChild(Element.of("value", DATA).withText(NS)))
                .withChild(Element.of("field", DATA).withAttribute("var", "max-file-size")
                        .withChild(Element.of("value", DATA).withText(Long.toString(limits.maxFileBytes()))));
        return Element.of("query", ServerIqs.DISCO_INFO).withChildren(List.of(
                Element.of("identity", ServerIqs.DISCO_INFO).withAttribute("category", "store").withAttribute("type", "file")
                        .withAttribute("name", "HTTP File Upload"),
                feature(ServerIqs.DISCO_INFO), feature(NS), form));
    }

    /** §4: a slot, or the refusal of §4.1 (too large), of the quota or rate, or of a stranger. */
    private Element slot(Jid from, Element request) throws StanzaException {
        if (from.local().isEmpty() || !from.domain().equals(localDomain)) {
            throw new StanzaException(StanzaError.NOT_ALLOWED, "only users of " + localDomain + " may upload files");
        }
        String name = sanitise(request.attributeOrEmpty("filename"));
        long size;
        try {
            size = Long.parseLong(request.attributeOrEmpty("size"));
        } catch (NumberFormatException e) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "the request needs a size in bytes");
        }
        if (size < 1) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "the request needs a positive size");
        }
        String type = request.attributeOrEmpty("content-type");
        if (!type.isEmpty() && !TYPE.matcher(type).matches()) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "content-type is not a media type");
        }
        if (size > limits.maxFileBytes()) {
            throw new StanzaException(StanzaError.NOT_ACCEPTABLE, Element.of("file-too-large", NS)
                    .withChild(Element.of("max-file-size", NS).withText(Long.toString(limits.maxFileBytes()))),
                    "the largest file accepted is " + limits.maxFileBytes() + " bytes");
        }
        String owner = from.bare().toString();
        Instant now = clock.instant();
        String id;
        String token;
        Instant expires = now.plus(SLOT_LIFETIME);
        lock.lock();
        try {
            sweep(now);
            ArrayDeque<Instant> recent = granted.computeIfAbsent(owner, k -> new ArrayDeque<>());
            while (!recent.isEmpty() && !recent.peekFirst().plus(limits.per()).isAfter(now)) {
                recent.removeFirst();
            }
            if (recent.size() >= limits.slots()) {
                Instant retry = recent.peekFirst().plus(limits.per()).truncatedTo(ChronoUnit.SECONDS).plusSeconds(1);
                throw new StanzaException(StanzaError.RESOURCE_CONSTRAINT,
                        Element.of("retry", NS).withAttribute("stamp", retry.toString()),
                        "at most " + limits.slots() + " uploads per " + limits.per().toSeconds() + " seconds");
            }
            if (held.getOrDefault(owner, 0L) + size > limits.quotaBytes()) {
                throw new StanzaException(StanzaError.RESOURCE_CONSTRAINT, "your upload quota of " + limits.quotaBytes()
                        + " bytes is used up until older files expire");
            }
            if (total + size > limits.totalBytes()) {
                throw new StanzaException(StanzaError.RESOURCE_CONSTRAINT, "the upload store is full");
            }
            do {
                id = randomId();
            } while (slots.containsKey(id) || files.containsKey(id));
            token = token(id, size, type, expires);
            slots.put(id, new Slot(id, owner, name, size, type, expires, token));
            recent.addLast(now);
            held.merge(owner, size, Long::sum);
            total += size;
        } finally {
            lock.unlock();
        }
        String url = base() + "/" + id + "/" + UploadHttp.encode(name);
        return Element.of("slot", NS)
                .withChild(Element.of("put", NS).withAttribute("url", url)
                        .withChild(Element.of("header", NS).withAttribute("name", "Authorization").withText("Bearer " + token)))
                .withChild(Element.of("get", NS).withAttribute("url", url));
    }

    /**
     * A file name that is safe in a URL path segment and a {@code Content-Disposition}: the last
     * path component, without control characters, at most 200 characters; "file" if nothing is left.
     */
    static String sanitise(String filename) {
        String s = filename;
        int slash = Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\'));
        s = s.substring(slash + 1).replaceAll("[\\p{Cntrl}\\p{Zl}\\p{Zp}\"]", "").strip();
        if (s.codePointCount(0, s.length()) > 200) {
            s = s.substring(0, s.offsetByCodePoints(0, 200));
        }
        return s.isEmpty() || s.equals(".") || s.equals("..") ? "file" : s;
    }

    private String randomId() {
        byte[] b = new byte[16];
        random.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private String token(String id, long size, String type, Instant expires) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            byte[] h = mac.doFinal((id + "\n" + size + "\n" + type + "\n" + expires.toEpochMilli()).getBytes(StandardCharsets.UTF_8));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(h);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    private static Element result(Element payload) {
        return Element.of("iq", CLIENT).withAttribute("type", "result").withChild(payload);
    }

    private static Element feature(String var) {
        return Element.of("feature", ServerIqs.DISCO_INFO).withAttribute("var", var);
    }

    // ---------------------------------------------------------------- HTTP side's view

    /** Why a PUT is refused, as an HTTP status. */
    static final class Refusal extends Exception {
        final int status;

        Refusal(int status, String reason) {
            super(reason, null, false, false);
            this.status = status;
        }
    }

    /**
     * Takes the slot at {@code id} for one PUT, checking its name, token and size.
     *
     * @throws Refusal 403 for no such slot, an expired one or a wrong token; 409 for a slot used or
     *     being used; 413 for a body larger than the slot, 400 for a smaller one
     */
    Slot claim(String id, String name, String authorization, long length) throws Refusal {
        Instant now = clock.instant();
        lock.lock();
        try {
            sweep(now);
            Slot s = slots.get(id);
            if (s == null || !s.name.equals(name)) {
                Stored f = files.get(id);
                if (f != null && f.name().equals(name)) {
                    throw new Refusal(409, "this slot was used already");
                }
                throw new Refusal(403, "no such upload slot, or it expired");
            }
            if (!s.expires.isAfter(now)) {
                throw new Refusal(403, "the upload slot expired");
            }
            byte[] want = ("Bearer " + s.token).getBytes(StandardCharsets.US_ASCII);
            if (authorization == null || !MessageDigest.isEqual(want, authorization.getBytes(StandardCharsets.US_ASCII))) {
                throw new Refusal(403, "the Authorization header of the slot is missing or wrong");
            }
            if (s.busy) {
                throw new Refusal(409, "this slot is being uploaded to");
            }
            if (length > s.size) {
                throw new Refusal(413, "the slot is for " + s.size + " bytes");
            }
            if (length != s.size) {
                throw new Refusal(400, "Content-Length must be the slot's size, " + s.size);
            }
            s.busy = true;
            return s;
        } finally {
            lock.unlock();
        }
    }

    /** Gives a slot back after a failed PUT (it may be tried again until it expires). */
    void release(Slot s) {
        lock.lock();
        try {
            s.busy = false;
        } finally {
            lock.unlock();
        }
    }

    /** Where a file's bytes are kept. */
    Path content(String id) {
        return dir.resolve(id);
    }

    /**
     * Records a PUT's file, whose bytes are on disk already: writes its metadata durably, and
     * from then on it is served.
     *
     * @throws IOException if the metadata cannot be written (the bytes are deleted and the slot released)
     */
    void stored(Slot s, String type) throws IOException {
        Stored f = new Stored(s.id, s.owner, s.name, s.size, type, clock.instant());
        try {
            DurableFiles.replace(dir.resolve(s.id + ".meta"), meta(f));
        } catch (IOException e) {
            Files.deleteIfExists(content(s.id));
            release(s);
            throw e;
        }
        lock.lock();
        try {
            slots.remove(s.id);
            files.put(s.id, f);
        } finally {
            lock.unlock();
        }
    }

    /** The stored file at {@code id} named {@code name}, if it is there and not past retention. */
    Stored find(String id, String name) {
        lock.lock();
        try {
            sweep(clock.instant());
            Stored f = files.get(id);
            return f != null && f.name().equals(name) && !expired(f, clock.instant()) ? f : null;
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- the store

    private boolean expired(Stored f, Instant now) {
        return !f.created().plus(limits.retention()).isAfter(now);
    }

    /** At most once a minute: drops expired slots, deletes expired files and forgets idle rate counters. */
    private void sweep(Instant now) {
        if (now.isBefore(nextSweep)) {
            return;
        }
        nextSweep = now.plusSeconds(60);
        for (var it = slots.values().iterator(); it.hasNext(); ) {
            Slot s = it.next();
            if (!s.busy && !s.expires.isAfter(now)) {
                it.remove();
                forget(s.owner, s.size);
            }
        }
        for (var it = files.values().iterator(); it.hasNext(); ) {
            Stored f = it.next();
            if (expired(f, now)) {
                try {
                    Files.deleteIfExists(dir.resolve(f.id() + ".meta")); // first: a file without metadata is deleted at start
                    Files.deleteIfExists(content(f.id()));
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.WARNING, "cannot delete expired upload " + f.id() + ": " + e.getMessage());
                    continue;
                }
                it.remove();
                forget(f.owner(), f.size());
            }
        }
        granted.values().removeIf(d -> d.isEmpty() || !d.peekLast().plus(limits.per()).isAfter(now));
    }

    private void forget(String owner, long size) {
        held.computeIfPresent(owner, (k, v) -> v - size == 0 ? null : v - size);
        total -= size;
    }

    private static byte[] meta(Stored f) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String line : List.of("owner=" + UploadHttp.encode(f.owner()), "name=" + UploadHttp.encode(f.name()),
                "type=" + UploadHttp.encode(f.type()), "size=" + f.size(), "created=" + f.created().toEpochMilli())) {
            out.writeBytes((line + "\n").getBytes(StandardCharsets.US_ASCII));
        }
        return out.toByteArray();
    }

    /** Reads the index back; a file without metadata, metadata without its file, or a temporary file left by a crash is deleted. */
    private void load() throws IOException {
        List<Path> all;
        try (Stream<Path> list = Files.list(dir)) {
            all = list.toList();
        }
        List<Path> stray = new ArrayList<>();
        for (Path p : all) {
            String n = p.getFileName().toString();
            if (n.endsWith(".meta") && ID.matcher(n.substring(0, n.length() - 5)).matches()) {
                String id = n.substring(0, n.length() - 5);
                Stored f = parse(id, p);
                if (f == null) {
                    stray.add(p);
                    stray.add(content(id));
                } else {
                    files.put(id, f);
                    held.merge(f.owner(), f.size(), Long::sum);
                    total += f.size();
                }
            } else if (!ID.matcher(n).matches() || !Files.exists(dir.resolve(n + ".meta"))) {
                stray.add(p);
            }
        }
        for (Path p : stray) {
            Files.deleteIfExists(p);
        }
    }

    private Stored parse(String id, Path meta) throws IOException {
        Map<String, String> m = new HashMap<>();
        for (String line : Files.readAllLines(meta, StandardCharsets.US_ASCII)) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                m.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        try {
            Stored f = new Stored(id, UploadHttp.decode(m.get("owner")), UploadHttp.decode(m.get("name")),
                    Long.parseLong(m.get("size")), UploadHttp.decode(m.get("type")), Instant.ofEpochMilli(Long.parseLong(m.get("created"))));
            return Files.size(content(id)) == f.size() ? f : null;
        } catch (RuntimeException | NoSuchFileException e) {
            return null;
        }
    }
}
