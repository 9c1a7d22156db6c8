/*
 * powercut_shim.c: an LD_PRELOAD library that records what each fsync made durable,
 * so a test can simulate a power cut after SIGKILL (tests/crash/powercut.py).
 *
 * Interposes fsync() and fdatasync() (Python's os.fsync and SQLite both call them).
 * For a regular file whose path starts with $POWERCUT_DIR it appends one line
 *     <inode> <size at the call>\n
 * to $POWERCUT_LOG after the real call succeeded: every byte below that size is on
 * disk. For SQLite's files (path containing ".sqlite3"), which are rewritten in place,
 * it also copies the whole file to $POWERCUT_SHADOW/<inode> (the durable image).
 * Directory fsyncs pass through unrecorded: the model treats names (create, rename,
 * unlink) as durable at once and only file contents as volatile.
 * $POWERCUT_DELAY_US (optional) delays each fsync of a non-SQLite file under
 * $POWERCUT_DIR by that many microseconds, widening the window in which a write is
 * in the page cache but not yet durable (so a test can cut inside it reliably).
 * Build: cc -shared -fPIC -O2 -o powercut_shim.so powercut_shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

static void copy_file(int fd, const char *dst) {
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", dst);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) return;
    char buf[65536];
    off_t pos = 0;
    ssize_t n;
    while ((n = pread(fd, buf, sizeof buf, pos)) > 0) {
        if (write(out, buf, (size_t)n) != n) break;
        pos += n;
    }
    close(out);
    rename(tmp, dst);
}

static void record(int fd, const struct stat *before) {
    const char *dir = getenv("POWERCUT_DIR");
    const char *logpath = getenv("POWERCUT_LOG");
    if (!dir || !logpath || !S_ISREG(before->st_mode)) return;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0) return;
    path[n] = 0;
    if (strncmp(path, dir, strlen(dir)) != 0) return;
    if (strstr(path, ".sqlite3")) {
        const char *shadow = getenv("POWERCUT_SHADOW");
        if (shadow) {
            char dst[PATH_MAX];
            snprintf(dst, sizeof dst, "%s/%lu", shadow, (unsigned long)before->st_ino);
            copy_file(fd, dst);
        }
    }
    int log = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log < 0) return;
    char line[128];
    int len = snprintf(line, sizeof line, "%lu %lld\n", (unsigned long)before->st_ino,
                       (long long)before->st_size);
    if (write(log, line, (size_t)len) < 0) { /* nothing to do */ }
    close(log);
}

static void maybe_delay(int fd) {
    const char *delay = getenv("POWERCUT_DELAY_US");
    const char *dir = getenv("POWERCUT_DIR");
    if (!delay || !dir) return;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0) return;
    path[n] = 0;
    if (strncmp(path, dir, strlen(dir)) == 0 && !strstr(path, ".sqlite3")) usleep((useconds_t)atol(delay));
}

static int wrapped(int (*real)(int), int fd) {
    struct stat st;
    int have = fstat(fd, &st) == 0;
    maybe_delay(fd);
    int rc = real(fd);
    if (rc == 0 && have) record(fd, &st);
    return rc;
}

int fsync(int fd) {
    if (!real_fsync) real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    return wrapped(real_fsync, fd);
}

int fdatasync(int fd) {
    if (!real_fdatasync) real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return wrapped(real_fdatasync, fd);
}
