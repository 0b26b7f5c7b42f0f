package dev.twine.ssh;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.module.ResolvedModule;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Collectors;
import javax.lang.model.SourceVersion;
import jdk.jshell.EvalException;
import jdk.jshell.ExpressionSnippet;
import jdk.jshell.JShell;
import jdk.jshell.JShellException;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.VarSnippet;
import jdk.jshell.tool.JavaShellToolBuilder;

/**
 * The {@link Manhole}'s sessions: the JShell tool for a {@code shell}, the JShell API for an
 * {@code exec}, both evaluating in this JVM. Only this class touches {@code jdk.jshell}, which
 * net-ssh requires statically: a process without it can use everything else in the module.
 */
final class ManholeShell implements SshCommandHandler {
    private static final System.Logger LOG = System.getLogger(Manhole.class.getName());

    /** What the session a thread runs for has bound and where its output goes; inherited by the threads it starts. */
    private record Session(Map<String, Object> bindings, PrintStream out, PrintStream err) {}

    private static final InheritableThreadLocal<Session> SESSION = new InheritableThreadLocal<>();
    private static final ReentrantLock INSTALL = new ReentrantLock();

    private static final String IMPORTS = """
            import java.util.*;
            import java.time.*;
            import dev.twine.core.*;
            """;

    private final Map<String, Object> bindings;
    /** The bindings' declarations, then the builder's definitions, as one startup script. */
    private final String startup;

    private ManholeShell(Map<String, Object> bindings, String startup) {
        this.bindings = bindings;
        this.startup = startup;
    }

    static ManholeShell create(Map<String, Object> bindings, List<String> definitions) {
        StringBuilder script = new StringBuilder(IMPORTS);
        for (Map.Entry<String, Object> b : bindings.entrySet()) {
            String name = b.getKey();
            if (!SourceVersion.isIdentifier(name) || SourceVersion.isKeyword(name)) {
                throw new IllegalArgumentException("a manhole binding needs a Java name, not \"" + name + "\"");
            }
            String type = visibleType(b.getValue().getClass());
            script.append(type).append(' ').append(name).append(" = (").append(type)
                    .append(") dev.twine.ssh.Manhole.bound(\"").append(name).append("\");\n");
        }
        definitions.forEach(d -> script.append(d).append('\n'));
        return new ManholeShell(Map.copyOf(new LinkedHashMap<>(bindings)), script.toString());
    }

    static Object bound(String name) {
        Session s = SESSION.get();
        if (s == null) {
            throw new IllegalStateException("not in a manhole session");
        }
        Object value = s.bindings().get(name);
        if (value == null) {
            throw new IllegalStateException("nothing is bound to " + name + " (there are " + s.bindings().keySet() + ")");
        }
        return value;
    }

    @Override
    public int run(SshSession session) throws Exception {
        boolean tty = session.pty().isPresent();
        PrintStream out = stream(session.stdout(), tty);
        PrintStream err = stream(session.stderr(), tty);
        installOutput();
        SESSION.set(new Session(bindings, out, err));
        LOG.log(System.Logger.Level.INFO, "manhole session for {0} from {1}: {2}", session.principal().name(),
                session.remoteAddress(), session.command().map(c -> "exec").orElse(tty ? "shell with a terminal" : "shell"));
        try {
            return session.command().isPresent() ? exec(session.command().get(), out, err) : shell(session);
        } finally {
            SESSION.remove();
            out.flush();
            err.flush();
        }
    }

    /** Evaluates an {@code exec} request's code, printing each expression's value. */
    private int exec(String code, PrintStream out, PrintStream err) {
        try (JShell js = JShell.builder().executionEngine("local").out(out).err(err)
                .compilerOptions(compilerPath().toArray(String[]::new)).build()) {
            classPath().ifPresent(js::addToClasspath);
            if (evaluate(js, startup, null, err) != 0) {
                err.println("manhole: the session's start-up code failed (above)");
                return 1;
            }
            return evaluate(js, code, out, err);
        }
    }

    /**
     * Evaluates {@code code} snippet by snippet; prints expression values to {@code out} (when
     * not null). Returns 0, or 1 at the first snippet rejected or throwing, reported on {@code err}.
     */
    private static int evaluate(JShell js, String code, PrintStream out, PrintStream err) {
        SourceCodeAnalysis analysis = js.sourceCodeAnalysis();
        String rest = code;
        while (!rest.isBlank()) {
            SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(rest);
            if (info.completeness() == SourceCodeAnalysis.Completeness.EMPTY) {
                break;
            }
            String source;
            if (info.completeness().isComplete()) {
                source = info.source();
                rest = info.remaining();
            } else {
                source = rest; // incomplete: eval says what is missing
                rest = "";
            }
            for (SnippetEvent e : js.eval(source)) {
                if (e.causeSnippet() != null) {
                    continue; // a dependent snippet updated, not what was typed
                }
                if (e.exception() != null) {
                    report(e.exception(), err);
                    return 1;
                }
                if (e.status() == Snippet.Status.REJECTED) {
                    js.diagnostics(e.snippet()).forEach(d -> err.println("error: " + d.getMessage(Locale.ROOT)
                            + "\n    " + e.snippet().source().strip()));
                    if (js.diagnostics(e.snippet()).findAny().isEmpty()) {
                        err.println("error: not accepted: " + e.snippet().source().strip());
                    }
                    return 1;
                }
                if (out != null && e.value() != null && isExpression(e.snippet())) {
                    out.println(e.value());
                }
            }
        }
        return 0;
    }

    private static boolean isExpression(Snippet s) {
        return s instanceof ExpressionSnippet
                || (s instanceof VarSnippet && s.subKind() == Snippet.SubKind.TEMP_VAR_EXPRESSION_SUBKIND);
    }

    private static void report(JShellException e, PrintStream err) {
        String kind = e instanceof EvalException ee ? ee.getExceptionClassName() : e.getClass().getSimpleName();
        err.println("exception " + kind + (e.getMessage() != null ? ": " + e.getMessage() : ""));
        for (StackTraceElement frame : e.getStackTrace()) {
            err.println("    at " + frame);
        }
    }

    /** Runs the JShell tool: its commands, and with a terminal its line editing. */
    private int shell(SshSession session) throws Exception {
        Path script = Files.createTempFile("twine-manhole-", ".jsh"); // owner-only, as createTempFile makes it
        try {
            Files.writeString(script, startup);
            List<String> args = new ArrayList<>(List.of("--execution", "local", "--startup", "DEFAULT",
                    "--startup", script.toString()));
            args.addAll(compilerPath());
            classPath().ifPresent(cp -> args.addAll(List.of("--class-path", cp)));
            PrintStream cmdOut = new PrintStream(session.stdout(), true, StandardCharsets.UTF_8);
            PrintStream cmdErr = session.pty().isPresent() ? cmdOut : new PrintStream(session.stderr(), true, StandardCharsets.UTF_8);
            Map<String, String> env = new HashMap<>(session.env());
            JavaShellToolBuilder tool = JavaShellToolBuilder.builder()
                    .in(session.stdin(), null)
                    .out(cmdOut)
                    .err(cmdErr)
                    .persistence(new HashMap<>()) // nothing written to the operator's Java preferences
                    .env(env)
                    .interactiveTerminal(session.pty().isPresent());
            Optional<Pty> size = session.pty().filter(p -> p.columns() > 0 && p.rows() > 0);
            if (size.isPresent()) {
                windowSize(tool, size.get());
            }
            return tool.start(args.toArray(String[]::new));
        } finally {
            Files.deleteIfExists(script);
        }
    }

    /**
     * Gives the tool the terminal's size: {@code JavaShellToolBuilder.windowSize} is there from
     * JDK 22 (under 21 the tool takes 80x24). Later window changes are not passed on: the tool
     * reads the size once.
     */
    private static void windowSize(JavaShellToolBuilder tool, Pty pty) {
        try {
            JavaShellToolBuilder.class.getMethod("windowSize", int.class, int.class).invoke(tool, pty.columns(), pty.rows());
        } catch (ReflectiveOperationException e) {
            LOG.log(System.Logger.Level.DEBUG, "no JavaShellToolBuilder.windowSize in this JDK: 80x24");
        }
    }

    /**
     * The modules of this process's module path, for the compiler to see what the running code
     * sees; snippets load them from the application class loader, so they are the same classes.
     */
    private static List<String> compilerPath() {
        String modulePath = System.getProperty("jdk.module.path");
        if (modulePath == null || modulePath.isBlank()) {
            return List.of();
        }
        String modules = ModuleLayer.boot().configuration().modules().stream()
                .filter(m -> m.reference().location().map(u -> u.getScheme().equals("file")).orElse(false))
                .map(ResolvedModule::name)
                .sorted()
                .collect(Collectors.joining(","));
        return modules.isEmpty() ? List.of() : List.of("--module-path", modulePath, "--add-modules", modules);
    }

    private static Optional<String> classPath() {
        String cp = System.getProperty("java.class.path");
        return cp == null || cp.isBlank() ? Optional.empty() : Optional.of(cp);
    }

    /**
     * The most useful type of {@code c} that code in the unnamed module can name (public, with
     * public enclosing classes, in a package its module exports to everyone): the nearest such
     * concrete class, else the nearest such interface (so {@code List.of(..)} is a {@code List},
     * not an {@code AbstractCollection}; marker interfaces without methods do not count), else the nearest such abstract class, else Object.
     */
    static String visibleType(Class<?> c) {
        Class<?> abstractOne = null;
        ArrayDeque<Class<?>> interfaces = new ArrayDeque<>();
        for (Class<?> k = c; k != null && k != Object.class; k = k.getSuperclass()) {
            if (visible(k)) {
                if (!Modifier.isAbstract(k.getModifiers())) {
                    return k.getCanonicalName();
                }
                abstractOne = abstractOne == null ? k : abstractOne;
            }
            interfaces.addAll(List.of(k.getInterfaces()));
        }
        while (!interfaces.isEmpty()) {
            Class<?> i = interfaces.poll();
            if (visible(i) && i.getMethods().length > 0) { // not a marker such as Serializable
                return i.getCanonicalName();
            }
            interfaces.addAll(List.of(i.getInterfaces()));
        }
        return abstractOne != null ? abstractOne.getCanonicalName() : "Object";
    }

    private static boolean visible(Class<?> k) {
        if (k.isArray() || k.getCanonicalName() == null || !k.getModule().isExported(k.getPackageName())) {
            return false;
        }
        for (Class<?> e = k; e != null; e = e.getEnclosingClass()) {
            if (!Modifier.isPublic(e.getModifiers())) {
                return false;
            }
        }
        return true;
    }

    /** A session's stream; with a terminal, line ends become CR LF as a terminal driver's would. */
    private static PrintStream stream(OutputStream raw, boolean tty) {
        return new PrintStream(tty ? new CrLf(raw) : raw, true, StandardCharsets.UTF_8);
    }

    /**
     * Makes {@code System.out} and {@code System.err} write to the session the writing thread runs
     * for, and where they wrote before for every other thread. Done again if something replaced
     * them since.
     */
    private static void installOutput() {
        INSTALL.lock();
        try {
            if (!(System.out instanceof PerSession)) {
                System.setOut(new PerSession(System.out, false));
            }
            if (!(System.err instanceof PerSession)) {
                System.setErr(new PerSession(System.err, true));
            }
        } finally {
            INSTALL.unlock();
        }
    }

    /** {@code System.out} or {@code System.err}, routed by the writing thread's session. */
    private static final class PerSession extends PrintStream {
        PerSession(PrintStream before, boolean err) {
            super(new OutputStream() {
                private OutputStream target() {
                    Session s = SESSION.get();
                    return s == null ? before : err ? s.err() : s.out();
                }

                @Override
                public void write(int b) throws IOException {
                    target().write(b);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    target().write(b, off, len);
                }

                @Override
                public void flush() throws IOException {
                    target().flush();
                }
            }, true, before.charset());
        }
    }

    /** LF to CR LF, leaving a CR LF alone. */
    private static final class CrLf extends FilterOutputStream {
        private int last;

        CrLf(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            if (b == '\n' && last != '\r') {
                out.write('\r');
            }
            out.write(b);
            last = b;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            int start = off;
            for (int i = off; i < off + len; i++) {
                if (b[i] == '\n' && (i == off ? last : b[i - 1]) != '\r') {
                    out.write(b, start, i - start);
                    out.write('\r');
                    start = i;
                }
            }
            out.write(b, start, off + len - start);
            if (len > 0) {
                last = b[off + len - 1];
            }
        }
    }
}
