package dev.twine.mail.sieve;

import dev.twine.mail.sieve.SieveParser.Arg;
import dev.twine.mail.sieve.SieveParser.Node;
import dev.twine.mail.sieve.SieveParser.Strings;
import dev.twine.mail.sieve.SieveParser.Tag;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A Sieve mail filter (RFC 5228), checked when it is parsed and run once per delivered message.
 *
 * <pre>{@code
 * SieveScript script = SieveScript.parse("""
 *         require ["fileinto", "imap4flags"];
 *         if header :contains "list-id" "<dev.lists.example.org>" { fileinto "Lists/dev"; stop; }
 *         if address :is :domain "from" "bank.example" { addflag "\\\\Flagged"; }
 *         """);
 * List<SieveAction> actions = script.evaluate(message);   // [FileInto[Lists/dev, []]] or [Keep[...]]
 * }</pre>
 *
 * <h2>What is understood</h2>
 * The base language (§3-5: {@code require}, {@code if}/{@code elsif}/{@code else}, {@code stop},
 * {@code keep}, {@code discard}, {@code redirect}; the tests {@code address}, {@code allof},
 * {@code anyof}, {@code exists}, {@code false}, {@code header}, {@code not}, {@code size},
 * {@code true}; the comparators {@code i;ascii-casemap} and {@code i;octet}; {@code :is},
 * {@code :contains}, {@code :matches}) and the extensions {@code fileinto}, {@code envelope},
 * {@code reject} and {@code ereject} (RFC 5429), {@code copy} (RFC 3894), {@code imap4flags} (RFC
 * 5232), {@code body} (RFC 5173, {@code :text}), {@code variables} (RFC 5229: {@code set} with its
 * modifiers, {@code string}, {@code ${name}} and the match variables {@code ${0}}-{@code ${9}}),
 * {@code regex} (draft-ietf-sieve-regex, {@code :regex} with Java's syntax), {@code
 * subaddress} (RFC 5233, {@code :user}/{@code :detail} split at the first {@code +}, as the
 * server's own plus-addressing), {@code mailbox} (RFC 5490: {@code fileinto :create}) and
 * {@code vacation} (RFC 5230: {@code :days}, {@code :subject}, {@code :from}, {@code :addresses},
 * {@code :mime}, {@code :handle}; whether a reply is due is the deliverer's to decide) and {@code date}
 * (RFC 5260: the tests {@code date} and {@code currentdate} with {@code :zone} and {@code
 * :originalzone} and every date part of §4.2; the first field of the name is read as an RFC 5322
 * date-time, obsolete forms tolerated, and one that is no date makes the test false; "now" and the
 * local zone come from the clock given to {@link #evaluate(SieveMessage, Clock)}). A script that
 * requires anything else is refused at {@link #parse}, as §3.2 asks.
 *
 * <h2>Error handling</h2>
 * {@link #parse} throws {@link SieveException} naming the line. {@link #evaluate} throws it for
 * what only shows at run time (a {@code reject} together with a {@code keep}, too many actions);
 * the deliverer then files the message into INBOX, as RFC 5228 §2.10.6 says, so that a faulty
 * script never loses mail. Thread-safe: a parsed script is immutable.
 */
public final class SieveScript {
    /** The extensions {@code require} accepts. */
    public static final Set<String> EXTENSIONS = Set.of("fileinto", "envelope", "reject", "ereject", "copy",
            "imap4flags", "body", "variables", "regex", "subaddress", "mailbox", "vacation", "date", "comparator-i;octet",
            "comparator-i;ascii-casemap");
    /** Actions one run may take before it is stopped as a loop or an attack (§2.10.4 allows a limit). */
    public static final int MAX_ACTIONS = 64;
    /** A variable's value is cut to this many characters (RFC 5229 §3 allows a limit). */
    static final int MAX_VARIABLE = 4096;

    private final List<Node> commands;
    private final Set<String> required;

    private SieveScript(List<Node> commands, Set<String> required) {
        this.commands = commands;
        this.required = required;
    }

    /**
     * Parses and checks a script: its syntax, that each command and test exists and has the
     * arguments it takes, and that each extension used is required and supported.
     *
     * @param script the script's text
     * @return the script
     * @throws SieveException naming the line of the first problem
     */
    public static SieveScript parse(String script) throws SieveException {
        List<Node> commands = SieveParser.parse(Objects.requireNonNull(script, "script"));
        Set<String> required = new LinkedHashSet<>();
        boolean others = false;
        for (Node c : commands) {
            if (c.name().equals("require")) {
                if (others) {
                    throw new SieveException(c.line(), "require must come before every other command (RFC 5228 §3.2)");
                }
                Args a = Args.of(c, Set.of(), Set.of());
                a.count(1);
                for (String ext : a.strings(0)) {
                    String e = ext.toLowerCase(Locale.ROOT);
                    if (!EXTENSIONS.contains(e)) {
                        throw new SieveException(c.line(), "unsupported extension \"" + ext + "\"");
                    }
                    required.add(e);
                }
            } else {
                others = true;
            }
        }
        SieveScript s = new SieveScript(List.copyOf(commands), Set.copyOf(required));
        s.check(commands);
        return s;
    }

    /**
     * Runs the script on one message, with the system clock and zone for {@code currentdate} and
     * the local zone of {@code date} (RFC 5260): {@link #evaluate(SieveMessage, Clock)} with
     * {@link Clock#systemDefaultZone()}.
     *
     * @param message the message and its envelope
     * @return the actions to carry out, in order, never empty (the implicit keep when nothing
     *     else was decided; {@link SieveAction.Discard} when the script discarded it)
     * @throws SieveException for a run-time error; the deliverer should then keep the message
     */
    public List<SieveAction> evaluate(SieveMessage message) throws SieveException {
        return evaluate(message, Clock.systemDefaultZone());
    }

    /**
     * Runs the script on one message at the time {@code clock} tells. The clock's instant is
     * {@code currentdate}'s "now" and its zone the local zone that {@code date} and {@code
     * currentdate} use without {@code :zone} or {@code :originalzone} (RFC 5260 §4.1, §5); it is
     * read only when the script asks, so a fixed clock makes a run repeatable.
     *
     * @param message the message and its envelope
     * @param clock the clock and local zone
     * @return the actions to carry out, in order, never empty (as {@link #evaluate(SieveMessage)})
     * @throws SieveException for a run-time error; the deliverer should then keep the message
     */
    public List<SieveAction> evaluate(SieveMessage message, Clock clock) throws SieveException {
        Run run = new Run(Objects.requireNonNull(message, "message"), Objects.requireNonNull(clock, "clock"));
        run.block(commands);
        return run.finish();
    }

    // ---------------------------------------------------------------- checking

    private void check(List<Node> block) throws SieveException {
        Node previous = null;
        for (Node c : block) {
            checkCommand(c, previous);
            previous = c;
        }
    }

    private void need(Node n, String extension) throws SieveException {
        if (!required.contains(extension)) {
            throw new SieveException(n.line(), n.name() + " needs require \"" + extension + "\"");
        }
    }

    private void checkCommand(Node c, Node previous) throws SieveException {
        boolean block = c.block() != null;
        switch (c.name()) {
            case "require" -> noBlock(c);
            case "if", "elsif" -> {
                if (c.name().equals("elsif") && !isIfOrElsif(previous)) {
                    throw new SieveException(c.line(), "elsif without if");
                }
                if (!block || c.tests().size() != 1 || !c.args().isEmpty()) {
                    throw new SieveException(c.line(), c.name() + " takes one test and a block");
                }
                checkTest(c.tests().get(0));
                check(c.block());
            }
            case "else" -> {
                if (!isIfOrElsif(previous)) {
                    throw new SieveException(c.line(), "else without if");
                }
                if (!block || !c.tests().isEmpty() || !c.args().isEmpty()) {
                    throw new SieveException(c.line(), "else takes a block only");
                }
                check(c.block());
            }
            case "stop", "discard" -> Args.of(noBlock(c), Set.of(), Set.of()).count(0);
            case "keep" -> {
                Args a = Args.of(noBlock(c), Set.of("flags"), Set.of("flags"));
                a.count(0);
                if (a.has("flags")) {
                    need(c, "imap4flags");
                }
            }
            case "fileinto" -> {
                need(c, "fileinto");
                Args a = Args.of(noBlock(c), Set.of("copy", "flags", "create"), Set.of("flags"));
                a.count(1);
                a.string(0);
                extensions(c, a);
                if (a.has("create")) {
                    need(c, "mailbox"); // RFC 5490 §3.2
                }
            }
            case "vacation" -> {
                need(c, "vacation");
                Args a = Args.of(noBlock(c), VACATION_TAGS, VACATION_VALUES);
                a.count(1);
                a.string(0);
                for (int i = 0; i < c.args().size(); i++) {
                    boolean valued = c.args().get(i) instanceof Tag t && VACATION_VALUES.contains(t.name());
                    boolean days = valued && ((Tag) c.args().get(i)).name().equals("days");
                    if (valued && days != (c.args().get(i + 1) instanceof SieveParser.Number)) {
                        throw new SieveException(c.line(), "vacation: :days takes a number, :"
                                + ((Tag) c.args().get(i)).name() + " " + (days ? "not a string" : "a string"));
                    }
                }
            }
            case "redirect" -> {
                Args a = Args.of(noBlock(c), Set.of("copy"), Set.of());
                a.count(1);
                a.string(0);
                extensions(c, a);
            }
            case "reject", "ereject" -> {
                need(c, c.name());
                Args a = Args.of(noBlock(c), Set.of(), Set.of());
                a.count(1);
                a.string(0);
            }
            case "setflag", "addflag", "removeflag" -> {
                need(c, "imap4flags");
                Args a = Args.of(noBlock(c), Set.of(), Set.of());
                if (a.positional() == 2) {
                    need(c, "variables");
                    a.string(0);
                } else {
                    a.count(1);
                }
            }
            case "set" -> {
                need(c, "variables");
                Args a = Args.of(noBlock(c), Set.of("lower", "upper", "lowerfirst", "upperfirst", "quotewildcard", "length"), Set.of());
                a.count(2);
                if (!a.string(0).matches("[A-Za-z_][A-Za-z0-9_]*")) {
                    throw new SieveException(c.line(), "set: \"" + a.string(0) + "\" is not a variable name");
                }
                a.string(1);
            }
            default -> throw new SieveException(c.line(), "unknown command " + c.name());
        }
    }

    private static boolean isIfOrElsif(Node n) {
        return n != null && (n.name().equals("if") || n.name().equals("elsif"));
    }

    private static Node noBlock(Node c) throws SieveException {
        if (c.block() != null || !c.tests().isEmpty()) {
            throw new SieveException(c.line(), c.name() + " takes no block or test");
        }
        return c;
    }

    private void extensions(Node c, Args a) throws SieveException {
        if (a.has("copy")) {
            need(c, "copy");
        }
        if (a.has("flags")) {
            need(c, "imap4flags");
        }
    }

    /** RFC 5230 §4: vacation's tags, and those of them followed by a value. */
    private static final Set<String> VACATION_TAGS = Set.of("days", "subject", "from", "addresses", "mime", "handle");
    private static final Set<String> VACATION_VALUES = Set.of("days", "subject", "from", "addresses", "handle");
    /** The tags any action takes, and those of them followed by a value. */
    private static final Set<String> ACTION_TAGS = Set.of("copy", "flags", "create", "lower", "upper", "lowerfirst",
            "upperfirst", "quotewildcard", "length", "days", "subject", "from", "addresses", "mime", "handle");
    private static final Set<String> ACTION_VALUES = Set.of("flags", "days", "subject", "from", "addresses", "handle");
    /** RFC 5230 §4.1: the period when the script gives none (the least is 1, the most taken 365). */
    static final int VACATION_DEFAULT_DAYS = 7;

    private static final Set<String> MATCH = Set.of("is", "contains", "matches", "regex");
    private static final Set<String> PARTS = Set.of("all", "localpart", "domain", "user", "detail");

    private void checkTest(Node t) throws SieveException {
        if (t.block() != null) {
            throw new SieveException(t.line(), "a test has no block");
        }
        switch (t.name()) {
            case "true", "false" -> {
                Args.of(t, Set.of(), Set.of()).count(0);
                noTests(t);
            }
            case "not" -> {
                if (t.tests().size() != 1 || !t.args().isEmpty()) {
                    throw new SieveException(t.line(), "not takes one test");
                }
                checkTest(t.tests().get(0));
            }
            case "allof", "anyof" -> {
                if (t.tests().isEmpty() || !t.args().isEmpty()) {
                    throw new SieveException(t.line(), t.name() + " takes a list of tests");
                }
                for (Node inner : t.tests()) {
                    checkTest(inner);
                }
            }
            case "exists" -> {
                Args.of(t, Set.of(), Set.of()).count(1);
                noTests(t);
            }
            case "size" -> {
                Args a = Args.of(t, Set.of("over", "under"), Set.of());
                a.count(1);
                if (a.has("over") == a.has("under")) {
                    throw new SieveException(t.line(), "size takes :over or :under");
                }
                a.number(0);
                noTests(t);
            }
            case "header", "address", "envelope", "string", "body", "hasflag", "date", "currentdate" -> {
                switch (t.name()) {
                    case "date", "currentdate" -> need(t, "date");
                    case "envelope" -> need(t, "envelope");
                    case "string" -> need(t, "variables");
                    case "body" -> need(t, "body");
                    case "hasflag" -> need(t, "imap4flags");
                    default -> { }
                }
                Set<String> tags = new LinkedHashSet<>(MATCH);
                tags.add("comparator");
                if (t.name().equals("address") || t.name().equals("envelope")) {
                    tags.addAll(PARTS);
                }
                if (t.name().equals("body")) {
                    tags.add("text");
                }
                if (t.name().equals("date") || t.name().equals("currentdate")) {
                    tags.add("zone"); // RFC 5260 §4.1, §5
                }
                if (t.name().equals("date")) {
                    tags.add("originalzone");
                }
                Args a = Args.of(t, tags, Set.of("comparator", "zone"));
                noTests(t);
                if (t.name().equals("hasflag")) {
                    if (a.positional() == 2) {
                        need(t, "variables");
                    } else {
                        a.count(1);
                    }
                } else {
                    a.count(switch (t.name()) {
                        case "body" -> 1;
                        case "date" -> 3;
                        default -> 2;
                    });
                }
                if (a.has("zone") && a.has("originalzone")) {
                    throw new SieveException(t.line(), "date: :zone or :originalzone, not both (RFC 5260 §4.1)");
                }
                if (t.name().equals("date") || t.name().equals("currentdate")) {
                    a.string(0); // the header name and the date part are strings, not lists (§4, §5)
                    a.string(a.positional() - 2);
                }
                for (int i = 0; i < a.positional(); i++) {
                    a.strings(i);
                }
                long matches = MATCH.stream().filter(a::has).count();
                long parts = PARTS.stream().filter(a::has).count();
                if (matches > 1 || parts > 1) {
                    throw new SieveException(t.line(), t.name() + ": one match type and one address part at most");
                }
                if (a.has("regex")) {
                    need(t, "regex");
                    for (String key : a.strings(a.positional() - 1)) {
                        if (!key.contains("${")) { // with variables, checked when run
                            try {
                                Pattern.compile(key);
                            } catch (PatternSyntaxException e) {
                                throw new SieveException(t.line(), "bad regular expression \"" + key + "\"");
                            }
                        }
                    }
                }
                if (a.has("user") || a.has("detail")) {
                    need(t, "subaddress");
                }
                if (a.has("comparator")) {
                    String cmp = a.value("comparator");
                    if (!cmp.equals("i;ascii-casemap") && !cmp.equals("i;octet")) {
                        throw new SieveException(t.line(), "unsupported comparator \"" + cmp + "\"");
                    }
                }
                if (t.name().equals("envelope")) {
                    for (String part : a.strings(0)) {
                        if (!part.equalsIgnoreCase("from") && !part.equalsIgnoreCase("to")) {
                            throw new SieveException(t.line(), "envelope part \"" + part + "\" is not from or to");
                        }
                    }
                }
            }
            default -> throw new SieveException(t.line(), "unknown test " + t.name());
        }
    }

    private static void noTests(Node t) throws SieveException {
        if (!t.tests().isEmpty()) {
            throw new SieveException(t.line(), t.name() + " takes no test");
        }
    }

    /** A node's arguments: its tags (some with a string after them) and the positional rest. */
    private record Args(Node node, Map<String, String> tags, List<Arg> rest) {
        static Args of(Node n, Set<String> allowed, Set<String> withValue) throws SieveException {
            Map<String, String> tags = new HashMap<>();
            List<Arg> rest = new ArrayList<>();
            List<Arg> args = n.args();
            for (int i = 0; i < args.size(); i++) {
                Arg arg = args.get(i);
                if (arg instanceof Tag tag) {
                    if (!rest.isEmpty()) {
                        throw new SieveException(tag.line(), "tag :" + tag.name() + " after a positional argument");
                    }
                    if (!allowed.contains(tag.name())) {
                        throw new SieveException(tag.line(), n.name() + " takes no :" + tag.name());
                    }
                    if (tags.containsKey(tag.name())) {
                        throw new SieveException(tag.line(), ":" + tag.name() + " twice");
                    }
                    String value = "";
                    if (withValue.contains(tag.name())) {
                        if (i + 1 < args.size() && args.get(i + 1) instanceof SieveParser.Number number) {
                            value = Long.toString(number.value()); // vacation's :days
                        } else if (i + 1 >= args.size() || !(args.get(i + 1) instanceof Strings s)) {
                            throw new SieveException(tag.line(), ":" + tag.name() + " needs a string");
                        } else {
                            value = String.join(" ", s.values()); // a list's items: space-separated
                        }
                        i++;
                    }
                    tags.put(tag.name(), value);
                } else {
                    rest.add(arg);
                }
            }
            return new Args(n, tags, rest);
        }

        boolean has(String tag) {
            return tags.containsKey(tag);
        }

        String value(String tag) {
            return tags.get(tag);
        }

        int positional() {
            return rest.size();
        }

        void count(int n) throws SieveException {
            if (rest.size() != n) {
                throw new SieveException(node.line(), node.name() + " takes " + n + " argument" + (n == 1 ? "" : "s")
                        + ", not " + rest.size());
            }
        }

        List<String> strings(int i) throws SieveException {
            if (!(rest.get(i) instanceof Strings s)) {
                throw new SieveException(rest.get(i).line(), node.name() + ": argument " + (i + 1) + " is a string or a list");
            }
            return s.values();
        }

        String string(int i) throws SieveException {
            if (!(rest.get(i) instanceof Strings s) || s.isList()) {
                throw new SieveException(rest.get(i).line(), node.name() + ": argument " + (i + 1) + " is a string");
            }
            return s.values().get(0);
        }

        long number(int i) throws SieveException {
            if (!(rest.get(i) instanceof SieveParser.Number n)) {
                throw new SieveException(rest.get(i).line(), node.name() + ": argument " + (i + 1) + " is a number");
            }
            return n.value();
        }
    }

    // ---------------------------------------------------------------- running

    /** One evaluation: the actions so far, the implicit keep, the flags and the variables. */
    private final class Run {
        private final SieveMessage message;
        private final Clock clock;
        private final List<SieveAction> actions = new ArrayList<>();
        private final Set<String> mailboxes = new LinkedHashSet<>();
        private final Map<String, String> variables = new HashMap<>();
        private final List<String> matched = new ArrayList<>();
        private Set<String> flags = new LinkedHashSet<>();
        private boolean implicitKeep = true;
        private boolean kept;
        private boolean stopped;
        private boolean rejected;
        /** The line of the command being run, for run-time errors. */
        private int line;

        Run(SieveMessage message, Clock clock) {
            this.message = message;
            this.clock = clock;
        }

        void block(List<Node> block) throws SieveException {
            boolean previousTaken = false;
            for (Node c : block) {
                if (stopped) {
                    return;
                }
                switch (c.name()) {
                    case "require" -> { }
                    case "if" -> {
                        previousTaken = test(c.tests().get(0));
                        if (previousTaken) {
                            block(c.block());
                        }
                    }
                    case "elsif" -> {
                        if (!previousTaken) {
                            previousTaken = test(c.tests().get(0));
                            if (previousTaken) {
                                block(c.block());
                            }
                        }
                    }
                    case "else" -> {
                        if (!previousTaken) {
                            block(c.block());
                        }
                    }
                    default -> action(c);
                }
            }
        }

        private void action(Node c) throws SieveException {
            line = c.line();
            Args a = Args.of(c, ACTION_TAGS, ACTION_VALUES);
            switch (c.name()) {
                case "stop" -> stopped = true;
                case "keep" -> {
                    keep(a.has("flags") ? flagSet(expand(a.value("flags"))) : flags);
                    implicitKeep = false;
                }
                case "discard" -> implicitKeep = false;
                case "fileinto" -> {
                    String mailbox = expand(a.string(0));
                    Set<String> f = a.has("flags") ? flagSet(expand(a.value("flags"))) : flags;
                    if (mailbox.equalsIgnoreCase("INBOX")) {
                        keep(f);
                    } else if (mailboxes.add(mailbox)) {
                        add(new SieveAction.FileInto(mailbox, f, a.has("create")));
                    }
                    implicitKeep &= a.has("copy");
                }
                case "redirect" -> {
                    String address = expand(a.string(0)).strip();
                    if (address.startsWith("<") && address.endsWith(">")) {
                        address = address.substring(1, address.length() - 1);
                    }
                    if (!address.matches("[^@\\s<>]+@[^@\\s<>]+")) {
                        throw new SieveException(c.line(), "redirect: \"" + address + "\" is not an address");
                    }
                    add(new SieveAction.Redirect(address));
                    implicitKeep &= a.has("copy");
                }
                case "reject", "ereject" -> {
                    if (kept || actions.stream().anyMatch(x -> x instanceof SieveAction.FileInto)) {
                        throw new SieveException(c.line(), c.name() + " cannot follow keep or fileinto (RFC 5429 §2.1)");
                    }
                    if (actions.stream().anyMatch(x -> x instanceof SieveAction.Vacation)) {
                        throw new SieveException(c.line(), c.name() + " cannot follow vacation (RFC 5230 §4.7)");
                    }
                    add(new SieveAction.Reject(expand(a.string(0)), c.name().equals("ereject")));
                    rejected = true;
                    implicitKeep = false;
                }
                case "setflag", "addflag", "removeflag" -> flagCommand(c.name(), a);
                case "set" -> set(a);
                case "vacation" -> vacation(a);
                default -> throw new SieveException(c.line(), "unknown command " + c.name());
            }
        }

        /** RFC 5230 §4: one auto-reply at most (§4.7), not with a reject; the implicit keep stays. */
        private void vacation(Args a) throws SieveException {
            if (rejected) {
                throw new SieveException(line, "vacation cannot follow reject (RFC 5230 §4.7)");
            }
            if (actions.stream().anyMatch(x -> x instanceof SieveAction.Vacation)) {
                throw new SieveException(line, "a second vacation (RFC 5230 §4.7)");
            }
            long days = a.has("days") ? Long.parseLong(a.value("days")) : VACATION_DEFAULT_DAYS;
            String reason = expand(a.string(0));
            String subject = a.has("subject") ? expand(a.value("subject")) : "";
            String from = a.has("from") ? expand(a.value("from")) : "";
            Set<String> addresses = new LinkedHashSet<>();
            if (a.has("addresses")) {
                for (String s : expand(a.value("addresses")).split("\\s+")) {
                    if (!s.isEmpty()) {
                        addresses.add(s);
                    }
                }
            }
            // §4.2: without :handle, replies differ when what they say differs; made as Pigeonhole
            // makes it, so the two tell the same vacations apart
            // (from the arguments as written, before variables are expanded)
            String handle = a.has("handle") ? expand(a.value("handle"))
                    : a.string(0) + (a.has("subject") ? a.value("subject") : "<default-subject>")
                            + (a.has("from") ? a.value("from") : "<default-from>") + (a.has("mime") ? "<MIME>" : "<NO-MIME>");
            add(new SieveAction.Vacation(reason, subject, from, addresses, a.has("mime"), handle,
                    java.time.Duration.ofDays(Math.max(1, Math.min(days, 365)))));
        }

        private void keep(Set<String> f) throws SieveException {
            if (rejected) {
                throw new SieveException(line, "keep after reject (RFC 5429 §2.1)");
            }
            if (!kept) {
                add(new SieveAction.Keep(f));
                kept = true;
            }
        }

        private void add(SieveAction action) throws SieveException {
            if (action instanceof SieveAction.FileInto && rejected) {
                throw new SieveException(line, "fileinto after reject (RFC 5429 §2.1)");
            }
            if (actions.size() >= MAX_ACTIONS) {
                throw new SieveException(line, "more than " + MAX_ACTIONS + " actions");
            }
            actions.add(action);
        }

        List<SieveAction> finish() throws SieveException {
            if (implicitKeep) {
                keep(flags);
            }
            if (actions.isEmpty()) {
                return List.of(new SieveAction.Discard());
            }
            return List.copyOf(actions);
        }

        private void flagCommand(String name, Args a) throws SieveException {
            boolean named = a.positional() == 2;
            String variable = named ? a.string(0).toLowerCase(Locale.ROOT) : null;
            Set<String> given = new LinkedHashSet<>();
            for (String s : a.strings(named ? 1 : 0)) {
                given.addAll(flagSet(expand(s)));
            }
            Set<String> current = name.equals("setflag") ? new LinkedHashSet<>()
                    : named ? flagSet(variables.getOrDefault(variable, "")) : new LinkedHashSet<>(flags);
            if (name.equals("removeflag")) {
                current.removeIf(f -> given.stream().anyMatch(g -> g.equalsIgnoreCase(f)));
            } else {
                given.forEach(f -> addFlag(current, f));
            }
            if (named) {
                variables.put(variable, String.join(" ", current));
            } else {
                flags = current;
            }
        }

        private static void addFlag(Set<String> set, String flag) {
            if (set.stream().noneMatch(f -> f.equalsIgnoreCase(flag))) {
                set.add(flag);
            }
        }

        /** A space-separated flag list, duplicates (ignoring case) dropped (RFC 5232 §3). */
        private static Set<String> flagSet(String list) {
            Set<String> out = new LinkedHashSet<>();
            for (String f : list.trim().split("\\s+")) {
                if (!f.isEmpty()) {
                    addFlag(out, f);
                }
            }
            return out;
        }

        private void set(Args a) throws SieveException {
            String value = expand(a.string(1));
            if (a.has("quotewildcard")) {
                value = value.replaceAll("([*?\\\\])", "\\\\$1");
            }
            if (a.has("lowerfirst") && !value.isEmpty()) {
                value = value.substring(0, 1).toLowerCase(Locale.ROOT) + value.substring(1);
            }
            if (a.has("upperfirst") && !value.isEmpty()) {
                value = value.substring(0, 1).toUpperCase(Locale.ROOT) + value.substring(1);
            }
            if (a.has("lower")) {
                value = value.toLowerCase(Locale.ROOT);
            }
            if (a.has("upper")) {
                value = value.toUpperCase(Locale.ROOT);
            }
            if (a.has("length")) {
                value = Integer.toString(value.length());
            }
            variables.put(a.string(0).toLowerCase(Locale.ROOT), cut(value));
        }

        private static String cut(String s) {
            return s.length() > MAX_VARIABLE ? s.substring(0, MAX_VARIABLE) : s;
        }

        /** {@code ${name}} and {@code ${N}} replaced when "variables" is required (RFC 5229 §3). */
        private String expand(String s) {
            if (!required.contains("variables") || !s.contains("${")) {
                return s;
            }
            StringBuilder out = new StringBuilder();
            int i = 0;
            while (i < s.length()) {
                int start = s.indexOf("${", i);
                int end = start < 0 ? -1 : s.indexOf('}', start + 2);
                if (start < 0 || end < 0) {
                    out.append(s, i, s.length());
                    break;
                }
                String name = s.substring(start + 2, end).toLowerCase(Locale.ROOT);
                out.append(s, i, start);
                if (name.matches("[0-9]+")) {
                    int n = Integer.parseInt(name.length() > 3 ? "999" : name);
                    out.append(n < matched.size() ? matched.get(n) : "");
                } else if (name.matches("[a-z_][a-z0-9_]*(\\.[a-z_][a-z0-9_]*)*")) {
                    out.append(variables.getOrDefault(name, ""));
                } else {
                    out.append(s, start, end + 1); // not a variable reference: left as written
                }
                i = end + 1;
            }
            return cut(out.toString());
        }

        // ------------------------------------------------------------ tests

        private boolean test(Node t) throws SieveException {
            switch (t.name()) {
                case "true":
                    return true;
                case "false":
                    return false;
                case "not":
                    return !test(t.tests().get(0));
                case "allof":
                    for (Node inner : t.tests()) {
                        if (!test(inner)) {
                            return false;
                        }
                    }
                    return true;
                case "anyof":
                    for (Node inner : t.tests()) {
                        if (test(inner)) {
                            return true;
                        }
                    }
                    return false;
                default:
                    break;
            }
            Set<String> tags = new LinkedHashSet<>(MATCH);
            tags.addAll(PARTS);
            tags.addAll(List.of("comparator", "text", "over", "under", "zone", "originalzone"));
            Args a = Args.of(t, tags, Set.of("comparator", "zone"));
            return switch (t.name()) {
                case "exists" -> {
                    for (String h : a.strings(0)) {
                        if (message.header(expand(h)).isEmpty()) {
                            yield false;
                        }
                    }
                    yield true;
                }
                case "size" -> a.has("over") ? message.size() > a.number(0) : message.size() < a.number(0);
                case "header" -> {
                    List<String> values = new ArrayList<>();
                    for (String h : a.strings(0)) {
                        values.addAll(message.header(expand(h)));
                    }
                    yield matches(a, values, a.strings(1));
                }
                case "address" -> {
                    List<String> values = new ArrayList<>();
                    for (String h : a.strings(0)) {
                        for (String v : message.header(expand(h))) {
                            for (String address : Addresses.parse(v)) {
                                values.add(part(a, address));
                            }
                        }
                    }
                    yield matches(a, values, a.strings(1));
                }
                case "envelope" -> {
                    List<String> values = new ArrayList<>();
                    for (String p : a.strings(0)) {
                        String address = p.equalsIgnoreCase("from") ? message.envelopeFrom() : message.envelopeTo();
                        values.add(address.isEmpty() ? "" : part(a, address));
                    }
                    yield matches(a, values, a.strings(1));
                }
                case "body" -> matches(a, List.of(message.bodyText()), a.strings(0));
                case "string" -> {
                    List<String> values = new ArrayList<>();
                    for (String s : a.strings(0)) {
                        values.add(expand(s));
                    }
                    yield matches(a, values, a.strings(1));
                }
                case "hasflag" -> {
                    Set<String> have;
                    if (a.positional() == 2) {
                        have = new LinkedHashSet<>();
                        for (String v : a.strings(0)) {
                            have.addAll(flagSet(variables.getOrDefault(v.toLowerCase(Locale.ROOT), "")));
                        }
                    } else {
                        have = flags;
                    }
                    yield matches(a, List.copyOf(have), a.strings(a.positional() - 1));
                }
                case "date" -> {
                    List<String> values = message.header(expand(a.string(0)));
                    // the first field only, as Pigeonhole reads it (RFC 5260 §4.1 leaves it open without "index")
                    yield !values.isEmpty() && date(a, SieveDates.parse(values.get(0)), 1);
                }
                case "currentdate" -> date(a, ZonedDateTime.now(clock), 0);
                default -> throw new SieveException(t.line(), "unknown test " + t.name());
            };
        }

        /**
         * RFC 5260 §4.1, §5: {@code when} in the zone asked for (its own for {@code :originalzone},
         * the clock's without either), its date part matched against the keys. No date, a zone that
         * is no {@code +hhmm}/{@code -hhmm} and a part §4.2 does not name make the test false.
         */
        private boolean date(Args a, ZonedDateTime when, int part) throws SieveException {
            if (when == null) {
                return false;
            }
            if (a.has("zone")) {
                String zone = expand(a.value("zone"));
                ZoneOffset offset = zone.matches("[+-][0-9]{4}") ? SieveDates.zone(zone) : null;
                if (offset == null) {
                    return false;
                }
                when = when.withZoneSameInstant(offset);
            } else if (!a.has("originalzone")) {
                when = when.withZoneSameInstant(clock.getZone());
            }
            String value = SieveDates.part(when, expand(a.string(part)));
            return value != null && matches(a, List.of(value), a.strings(part + 1));
        }

        /** The address part of §2.7.4 and RFC 5233; a part that does not exist is the empty string. */
        private String part(Args a, String address) {
            int at = address.lastIndexOf('@');
            String local = at < 0 ? address : address.substring(0, at);
            String domain = at < 0 ? "" : address.substring(at + 1);
            int plus = local.indexOf('+');
            if (a.has("localpart")) {
                return local;
            }
            if (a.has("domain")) {
                return domain;
            }
            if (a.has("user")) {
                return plus < 0 ? local : local.substring(0, plus);
            }
            if (a.has("detail")) {
                return plus < 0 ? null : local.substring(plus + 1);
            }
            return address;
        }

        /** Whether any value matches any key (§2.7.1), setting the match variables on a :matches or :regex hit. */
        private boolean matches(Args a, List<String> values, List<String> rawKeys) throws SieveException {
            boolean octet = "i;octet".equals(a.value("comparator"));
            List<String> keys = new ArrayList<>();
            for (String k : rawKeys) {
                keys.add(expand(k));
            }
            for (String value : values) {
                if (value == null) {
                    continue; // :detail of an address without one matches nothing
                }
                for (String key : keys) {
                    if (a.has("contains")) {
                        if (fold(value, octet).contains(fold(key, octet))) {
                            return true;
                        }
                    } else if (a.has("matches")) {
                        List<String> groups = Wildcards.match(fold(key, octet), fold(value, octet), value);
                        if (groups != null) {
                            remember(groups);
                            return true;
                        }
                    } else if (a.has("regex")) {
                        java.util.regex.Matcher m;
                        try {
                            m = Pattern.compile(key, octet ? 0 : Pattern.CASE_INSENSITIVE).matcher(new Budgeted(value));
                        } catch (PatternSyntaxException e) {
                            throw new SieveException(a.node().line(), "bad regular expression \"" + key + "\"");
                        }
                        if (Budgeted.find(m)) {
                            List<String> groups = new ArrayList<>();
                            for (int g = 0; g <= Math.min(m.groupCount(), 9); g++) {
                                groups.add(m.group(g) == null ? "" : m.group(g));
                            }
                            remember(groups);
                            return true;
                        }
                    } else if (fold(value, octet).equals(fold(key, octet))) {
                        return true;
                    }
                }
            }
            return false;
        }

        private void remember(List<String> groups) {
            if (required.contains("variables")) {
                matched.clear();
                groups.forEach(g -> matched.add(cut(g)));
            }
        }

        private static String fold(String s, boolean octet) {
            if (octet) {
                return s;
            }
            StringBuilder b = new StringBuilder(s.length());
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                b.append(c >= 'A' && c <= 'Z' ? (char) (c + 32) : c); // i;ascii-casemap folds ASCII only
            }
            return b.toString();
        }
    }

    /** The addresses in a header value: {@code "Name" <a@b>, c@d, group: e@f;} (RFC 5322 §3.4), loosely. */
    static final class Addresses {
        private Addresses() {}

        static List<String> parse(String value) {
            List<String> out = new ArrayList<>();
            StringBuilder token = new StringBuilder();
            boolean quoted = false;
            int comment = 0;
            String angle = null;
            for (int i = 0; i <= value.length(); i++) {
                char c = i < value.length() ? value.charAt(i) : ',';
                if (quoted) {
                    if (c == '\\' && i + 1 < value.length()) {
                        i++;
                    } else if (c == '"') {
                        quoted = false;
                    }
                    continue;
                }
                if (comment > 0) {
                    comment += c == '(' ? 1 : c == ')' ? -1 : 0;
                    continue;
                }
                switch (c) {
                    case '"' -> quoted = true;
                    case '(' -> comment = 1;
                    case '<' -> {
                        int end = value.indexOf('>', i);
                        angle = (end < 0 ? value.substring(i + 1) : value.substring(i + 1, end)).strip();
                        i = end < 0 ? value.length() : end;
                    }
                    case ':' -> token.setLength(0); // a group's display name
                    case ',', ';' -> {
                        String address = angle != null ? angle : token.toString().strip();
                        if (!address.isEmpty()) {
                            out.add(address);
                        }
                        token.setLength(0);
                        angle = null;
                    }
                    default -> token.append(c);
                }
            }
            return out;
        }
    }

    /**
     * The text a {@code :regex} key is matched against, counting the characters the matcher reads.
     * Java's engine backtracks: a user's pattern such as {@code (.*,){12}X} on a header a sender
     * made of many commas takes time growing as a power of its length (15 s for thirty commas on
     * JDK 25), and the message's delivery would never finish. So one match may read
     * {@value #BASE} characters plus {@value #PER_CHAR} per character of the text (linear
     * patterns read a few per character), after which it is no match, as an exhausted
     * {@code :matches} is.
     */
    static final class Budgeted implements CharSequence {
        static final long BASE = 1_000_000;
        static final long PER_CHAR = 64;

        /** Thrown inside the matcher when the budget is spent; never escapes {@link #find}. */
        private static final class Spent extends RuntimeException {
            Spent() {
                super(null, null, false, false);
            }
        }

        private final String text;
        private long left;

        Budgeted(String text) {
            this.text = text;
            this.left = BASE + PER_CHAR * text.length();
        }

        /** {@code m.find()} on a matcher over a {@link Budgeted} text: false once the budget is spent. */
        static boolean find(java.util.regex.Matcher m) {
            try {
                return m.find();
            } catch (Spent e) {
                return false;
            }
        }

        @Override
        public char charAt(int index) {
            if (--left < 0) {
                throw new Spent();
            }
            return text.charAt(index);
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return text.substring(start, end);
        }

        @Override
        public String toString() {
            return text;
        }
    }

    /** {@code :matches} (§2.7.1): {@code *} any run, {@code ?} one character, {@code \\} quoting. */
    static final class Wildcards {
        private Wildcards() {}

        /**
         * Matches folded text against a folded pattern; returns the match variables (the whole value,
         * then one per wildcard, from {@code original}) or null.
         */
        static List<String> match(String pattern, String text, String original) {
            List<String> groups = new ArrayList<>();
            groups.add(original);
            List<int[]> spans = new ArrayList<>();
            if (!match(pattern, 0, text, 0, spans, new int[] {BUDGET})) {
                return null;
            }
            for (int[] s : spans) {
                groups.add(original.substring(s[0], s[1]));
            }
            return groups;
        }

        /** Steps one match may take: a pattern such as {@code *a*a*a*b} backtracks, and a message must not make it run long. */
        private static final int BUDGET = 200_000;

        private static boolean match(String p, int pi, String t, int ti, List<int[]> spans, int[] budget) {
            if (--budget[0] < 0) {
                return false; // out of steps: no match rather than unbounded work
            }
            while (pi < p.length()) {
                char c = p.charAt(pi);
                if (c == '*') {
                    for (int end = t.length(); end >= ti && budget[0] > 0; end--) { // greedy, as RFC 5229 §3.2 asks
                        budget[0]--;
                        int size = spans.size();
                        spans.add(new int[] {ti, end});
                        if (match(p, pi + 1, t, end, spans, budget)) {
                            return true;
                        }
                        while (spans.size() > size) {
                            spans.remove(spans.size() - 1);
                        }
                    }
                    return false;
                }
                if (ti >= t.length()) {
                    return false;
                }
                if (c == '?') {
                    spans.add(new int[] {ti, ti + 1});
                    pi++;
                    ti++;
                    continue;
                }
                if (c == '\\' && pi + 1 < p.length()) {
                    pi++;
                    c = p.charAt(pi);
                }
                if (c != t.charAt(ti)) {
                    return false;
                }
                pi++;
                ti++;
            }
            return ti == t.length();
        }
    }

    /**
     * The extensions the script requires.
     *
     * @return the extension names, lower case
     */
    public Set<String> required() {
        return required;
    }

    @Override
    public String toString() {
        return "SieveScript[" + commands.size() + " commands, requires " + required + "]";
    }
}
