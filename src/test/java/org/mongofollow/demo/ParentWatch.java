package org.mongofollow.demo;

/**
 * Ends this JVM when the process that started it ends: a demo or benchmark script that is killed (even
 * with SIGKILL, which it cannot trap) must not leave its Java helpers running.
 */
public final class ParentWatch {

    private ParentWatch() {}

    public static void exitWithParent(String name) {
        ProcessHandle parent = ProcessHandle.current().parent().orElse(null);
        if (parent == null) {
            return;
        }
        Thread watcher = new Thread(() -> {
            while (true) {
                if (parent.isAlive() == false) {
                    System.err.println(name + ": the process that started it ended, stopping");
                    Runtime.getRuntime().halt(3);
                }
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "parent-watcher");
        watcher.setDaemon(true);
        watcher.start();
    }
}
