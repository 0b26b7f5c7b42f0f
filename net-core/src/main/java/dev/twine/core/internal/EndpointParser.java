package dev.twine.core.internal;

import dev.twine.core.AddressBlock;
import dev.twine.core.Endpoint;
import dev.twine.core.Endpoint.Proxied;
import dev.twine.core.ProxyProtocol;
import dev.twine.core.Endpoint.Tcp;
import dev.twine.core.Endpoint.Tls;
import dev.twine.core.Endpoint.Udp;
import dev.twine.core.Endpoint.Unix;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/** The endpoint grammar documented on {@link Endpoint}. */
public final class EndpointParser {
    private EndpointParser() {}


    public static Endpoint parse(String spec, boolean server) {
        Objects.requireNonNull(spec, "spec");
        // a unix path is everything after the type: it is not split, so brackets and a
        // trailing backslash in a file name are not syntax errors
        int colon = spec.indexOf(':');
        if (colon > 0 && spec.substring(0, colon).equalsIgnoreCase("unix")) {
            String path = unescape(spec.substring(colon + 1));
            if (path.isEmpty()) {
                throw bad(spec, "unix endpoint needs a path, as in unix:/run/twine.sock");
            }
            return new Unix(Path.of(path));
        }
        List<String> parts = split(spec);
        String kind = parts.get(0).toLowerCase(Locale.ROOT);
        List<String> positional = new ArrayList<>();
        Map<String, String> options = new LinkedHashMap<>();
        for (String part : parts.subList(1, parts.size())) {
            int eq = part.indexOf('=');
            if (eq > 0 && !part.startsWith("[")) {
                String key = part.substring(0, eq).toLowerCase(Locale.ROOT);
                if (options.put(key, part.substring(eq + 1)) != null) {
                    throw bad(spec, "option '" + key + "' is given twice");
                }
            } else if (!options.isEmpty()) {
                throw bad(spec, "'" + part + "' comes after options; write options last as key=value");
            } else {
                positional.add(part);
            }
        }
        if (kind.equals("systemd")) {
            return systemd(spec, server, positional, options);
        }
        String usage = switch (kind) {
            case "tcp" -> server ? "tcp:PORT[:interface=ADDR][:backlog=N][:proxy=v1|v2|any[:proxy-from=CIDR,...]]" : "tcp:HOST:PORT";
            case "tls" -> server ? "tls:PORT[:cert=FILE:key=FILE][:interface=ADDR]" : "tls:HOST:PORT[:trust=FILE]";
            case "udp" -> server ? "udp:PORT[:interface=ADDR][:receivers=N]" : "udp:HOST:PORT";
            default -> throw bad(spec, "unknown endpoint type '" + parts.get(0) + "'; expected tcp, tls, udp, unix or systemd");
        };
        Set<String> allowed = switch (kind) {
            case "tcp" -> server ? Set.of("interface", "backlog", "proxy", "proxy-from") : Set.of();
            case "tls" -> server ? Set.of("interface", "backlog", "cert", "key", "proxy", "proxy-from") : Set.of("trust");
            default -> server ? Set.of("interface", "receivers") : Set.of();
        };
        for (String key : options.keySet()) {
            if (!allowed.contains(key)) {
                throw bad(spec, "unknown option '" + key + "' for " + kind
                        + (allowed.isEmpty() ? " (it takes none here)" : "; known: " + String.join(", ", allowed.stream().sorted().toList()))
                        + "; usage: " + usage);
            }
        }
        String host;
        int port;
        if (server) {
            if (positional.size() != 1) {
                throw bad(spec, "expected " + usage);
            }
            port = port(spec, positional.get(0));
            if ("".equals(options.get("interface"))) {
                // an empty value must not silently mean "all interfaces"
                throw bad(spec, "interface is empty; leave the option out to listen on all interfaces");
            }
            host = host(spec, options.getOrDefault("interface", ""));
        } else {
            if (positional.size() != 2) {
                throw bad(spec, "expected " + usage);
            }
            host = host(spec, positional.get(0));
            if (host.isEmpty()) {
                throw bad(spec, "host is empty");
            }
            port = port(spec, positional.get(1));
            if (port == 0) {
                throw bad(spec, "port 0 cannot be connected to");
            }
        }
        int backlog = options.containsKey("backlog") ? number(spec, "backlog", options.get("backlog"), 1, 65535) : Endpoint.DEFAULT_BACKLOG;
        Endpoint endpoint = switch (kind) {
            case "tcp" -> new Tcp(host, port, backlog);
            case "udp" -> new Udp(host, port, options.containsKey("receivers")
                    ? number(spec, "receivers", options.get("receivers"), 1, Udp.MAX_RECEIVERS) : Udp.DEFAULT_RECEIVERS);
            default -> {
                if (server) {
                    if (!options.containsKey("cert") && !options.containsKey("key")) {
                        // the server's own TLS configuration (Server.Builder.tls) serves it
                        yield new Tls(host, port, backlog, null, null, null);
                    }
                    Path cert = path(spec, "cert", options.get("cert"));
                    Path key = path(spec, "key", options.get("key"));
                    yield new Tls(host, port, backlog, cert, key, null);
                }
                String trust = options.get("trust");
                yield new Tls(host, port, backlog, null, null, trust == null ? null : path(spec, "trust", trust));
            }
        };
        return options.containsKey("proxy") || options.containsKey("proxy-from") ? proxied(spec, endpoint, options) : endpoint;
    }

    private static Endpoint systemd(String spec, boolean server, List<String> positional, Map<String, String> options) {
        if (!server) {
            throw bad(spec, "systemd endpoints are sockets passed to a server; they cannot be connected to");
        }
        if (!positional.isEmpty() || options.size() != 1 || !(options.containsKey("index") || options.containsKey("name"))) {
            throw bad(spec, "expected systemd:index=N or systemd:name=NAME (the socket unit's FileDescriptorName)");
        }
        if (options.containsKey("name")) {
            String name = options.get("name");
            if (name.isEmpty() || name.contains(":")) {
                throw bad(spec, "name must be a FileDescriptorName: not empty, no ':'");
            }
            return new Endpoint.Systemd(name, -1);
        }
        return new Endpoint.Systemd(null, number(spec, "index", options.get("index"), 0, 1000));
    }

    private static Endpoint proxied(String spec, Endpoint listener, Map<String, String> options) {
        String version = options.get("proxy");
        if (version == null) {
            throw bad(spec, "proxy-from needs proxy=v1, v2 or any");
        }
        ProxyProtocol.Builder b = ProxyProtocol.builder();
        b.version(switch (version.toLowerCase(Locale.ROOT)) {
            case "v1", "1" -> ProxyProtocol.Version.V1;
            case "v2", "2" -> ProxyProtocol.Version.V2;
            case "any" -> ProxyProtocol.Version.ANY;
            default -> throw bad(spec, "proxy '" + version + "' is not v1, v2 or any");
        });
        String from = options.get("proxy-from");
        if (from != null) {
            for (String cidr : from.split(",")) {
                try {
                    b.trust(AddressBlock.parse(cidr));
                } catch (IllegalArgumentException e) {
                    throw bad(spec, "proxy-from: " + e.getMessage());
                }
            }
        }
        return new Proxied(listener, b.build());
    }

    private static Path path(String spec, String key, String value) {
        if (value == null || value.isEmpty()) {
            throw bad(spec, "tls needs " + key + "=FILE");
        }
        return Path.of(value);
    }

    private static String host(String spec, String value) {
        String h = value;
        if (h.startsWith("[")) {
            if (!h.endsWith("]")) {
                throw bad(spec, "unclosed '[' in address '" + value + "'");
            }
            h = h.substring(1, h.length() - 1);
        }
        for (int i = 0; i < h.length(); i++) {
            char c = h.charAt(i);
            if (Character.isWhitespace(c) || Character.isISOControl(c) || c == '/') {
                throw bad(spec, "address '" + value + "' contains '" + c + "'");
            }
        }
        return h;
    }

    private static int port(String spec, String value) {
        return number(spec, "port", value, 0, 65535);
    }

    private static int number(String spec, String what, String value, int min, int max) {
        int n;
        try {
            n = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw bad(spec, what + " '" + value + "' is not a number");
        }
        if (n < min || n > max) {
            throw bad(spec, what + " " + n + " is out of range " + min + "-" + max);
        }
        return n;
    }

    /** Splits on colons that are neither escaped nor inside brackets, unescaping as it goes. */
    private static List<String> split(String spec) {
        if (spec.isBlank()) {
            throw bad(spec, "endpoint is empty; expected e.g. tcp:7000");
        }
        List<String> parts = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        int depth = 0;
        for (int i = 0; i < spec.length(); i++) {
            char c = spec.charAt(i);
            if (c == '\\') {
                if (i + 1 == spec.length()) {
                    throw bad(spec, "trailing backslash");
                }
                cur.append(spec.charAt(++i));
            } else if (c == '[') {
                depth++;
                cur.append(c);
            } else if (c == ']') {
                depth--;
                cur.append(c);
            } else if (c == ':' && depth == 0) {
                parts.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        if (depth != 0) {
            throw bad(spec, "unbalanced brackets");
        }
        parts.add(cur.toString());
        if (parts.size() == 1) {
            throw bad(spec, "missing ':' after the type; expected e.g. tcp:7000 or tcp:example.org:25");
        }
        return parts;
    }

    private static String unescape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                c = s.charAt(++i);
            }
            b.append(c);
        }
        return b.toString();
    }

    private static IllegalArgumentException bad(String spec, String why) {
        return new IllegalArgumentException("bad endpoint '" + spec + "': " + why);
    }
}
