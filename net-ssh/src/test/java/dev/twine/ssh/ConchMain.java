package dev.twine.ssh;

import dev.twine.ssh.internal.ConchCommand;

import java.util.List;

/** {@code twine conch} as its own process, for tests that need a real terminal (tmux). */
public final class ConchMain {
    private ConchMain() {
    }

    public static void main(String[] args) throws Exception {
        int status = new ConchCommand().run(List.of(args), System.in, System.out, System.err);
        System.out.flush();
        System.exit(status);
    }
}
