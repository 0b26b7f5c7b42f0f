package dev.twine.ssh;

import dev.twine.core.Binding;
import dev.twine.core.Service;
import dev.twine.core.spi.ServicePlugin;
import dev.twine.ssh.internal.SshPlugin;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

/**
 * Runs {@code twine ssh} from this module's classes, for {@code ci/bench-ssh} when the launcher's
 * module path ({@code samples/target/lib}) has not been built with net-ssh yet. Takes the same
 * {@code --option value} arguments as the launcher, prints the same {@code listening} lines, and
 * stops on SIGTERM (shutdown hook).
 */
public final class BenchServerMain {

    private BenchServerMain() {
    }

    public static void main(String[] argv) throws Exception {
        SshPlugin plugin = new SshPlugin();
        Map<String, String> values = new HashMap<>();
        for (ServicePlugin.Option o : plugin.options()) {
            if (o.defaultValue() != null) {
                values.put(o.name(), o.defaultValue());
            }
        }
        for (int i = 0; i < argv.length; i++) {
            values.put(argv[i], argv[++i]);
        }
        Service service = plugin.create(new ServicePlugin.Arguments() {
            @Override
            public List<String> values(String option) {
                return values.containsKey(option) ? List.of(values.get(option)) : List.of();
            }

            @Override
            public Optional<String> value(String option) {
                return Optional.ofNullable(values.get(option));
            }

            @Override
            public boolean flag(String option) {
                return false;
            }
        });
        service.start();
        for (Binding b : service.bindings()) {
            System.out.println(b.listeningLine());
        }
        System.out.flush();
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                service.shutdown(Duration.ofSeconds(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            done.countDown();
        }));
        service.awaitTermination();
        done.await();
    }
}
