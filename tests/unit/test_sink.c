/* tests/unit/test_sink.c - log sinks: append, permissions, failure on a
 * full device, recovery after reopen, and stdout left open. Works in a
 * private temporary directory. */
#include "config.h"
#include "tests/unit/test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logging/sink.h"

#define TEST_PATH_MAX 512
#define TEST_ERR_MAX 256

struct test_dir {
    char dir[TEST_PATH_MAX];
    char log[TEST_PATH_MAX + 32];
    char aux[TEST_PATH_MAX + 32];
};

static int
test_setup(void **state)
{
    struct test_dir *t = calloc(1, sizeof(*t));
    const char *tmp = getenv("TMPDIR");

    if (t == NULL)
        return -1;
    snprintf(t->dir, sizeof(t->dir), "%s/test_sink.XXXXXX",
             tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(t->dir) == NULL) {
        free(t);
        return -1;
    }
    snprintf(t->log, sizeof(t->log), "%s/access.log", t->dir);
    snprintf(t->aux, sizeof(t->aux), "%s/aux", t->dir);
    *state = t;
    return 0;
}

static int
test_teardown(void **state)
{
    struct test_dir *t = *state;
    char path[TEST_PATH_MAX + 64];

    unlink(t->log);
    unlink(t->aux);
    snprintf(path, sizeof(path), "%s.1", t->log);
    unlink(path);
    snprintf(path, sizeof(path), "%s/good", t->dir);
    unlink(path);
    rmdir(t->dir);
    free(t);
    return 0;
}

/* Reads the whole of <path> into <buf> (NUL-terminated). Returns the
 * length, or -1. */
static long
test_slurp(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    size_t len = 0;
    ssize_t n;

    if (fd == -1)
        return -1;
    while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    return (long)len;
}

static void
test_sink_write_appends(void **state)
{
    static const char l1[] = "{\"n\":1}\n", l2[] = "{\"n\":2}\n";
    struct test_dir *t = *state;
    char err[TEST_ERR_MAX], buf[256];
    struct sink *s;
    struct stat st;
    mode_t old;
    int flags;

    /* Existing content is kept: the sink appends. */
    assert_int_equal(test_slurp(t->log, buf, sizeof(buf)), -1);
    old = umask(022);
    s = sink_open(t->log, err, sizeof(err));
    umask(old);
    assert_non_null(s);
    assert_string_equal(sink_path(s), t->log);
    assert_int_equal(sink_write(s, l1, sizeof(l1) - 1), 0);
    assert_false(sink_is_failed(s));
    sink_free(s);

    s = sink_open(t->log, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(sink_write(s, l2, sizeof(l2) - 1), 0);
    assert_int_equal(sink_write(s, "", 0), 0);
    assert_int_equal(sink_failures(s), 0);
    assert_int_equal(test_slurp(t->log, buf, sizeof(buf)),
                     sizeof(l1) - 1 + sizeof(l2) - 1);
    assert_string_equal(buf, "{\"n\":1}\n{\"n\":2}\n");
    sink_free(s);

    assert_int_equal(stat(t->log, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);

    /* Close-on-exec: a container runtime started by the launcher must not
     * inherit the log. */
    s = sink_open(t->log, err, sizeof(err));
    assert_non_null(s);
    for (int fd = 3; fd < 64; fd++) {
        struct stat fst;

        if (fstat(fd, &fst) == 0 && fst.st_ino == st.st_ino &&
            fst.st_dev == st.st_dev) {
            flags = fcntl(fd, F_GETFD);
            assert_true(flags != -1 && (flags & FD_CLOEXEC));
        }
    }
    sink_free(s);
}

static void
test_sink_open_error(void **state)
{
    struct test_dir *t = *state;
    char err[TEST_ERR_MAX] = "", path[TEST_PATH_MAX + 64];

    snprintf(path, sizeof(path), "%s/no/such/dir", t->dir);
    assert_null(sink_open(path, err, sizeof(err)));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, strerror(ENOENT)));
}

static void
test_sink_full_device_fails(void **state)
{
    char err[TEST_ERR_MAX];
    struct sink *s;

    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    s = sink_open("/dev/full", err, sizeof(err));
    assert_non_null(s);
    assert_false(sink_is_failed(s));
    assert_int_equal(sink_write(s, "{}\n", 3), -1);
    assert_true(sink_is_failed(s));
    assert_int_equal(sink_write(s, "{}\n", 3), -1);
    assert_true(sink_is_failed(s));
    assert_int_equal(sink_failures(s), 2);
    sink_free(s);
}

/* A file size limit lets the first write(2) through in part and fails the
 * rest: the sink reports the line as not written. */
static void
test_sink_short_write_fails(void **state)
{
    static const char line[] = "{\"path\":\"0123456789abcdef\"}\n";
    struct test_dir *t = *state;
    char err[TEST_ERR_MAX];
    struct rlimit old, lim;
    struct sink *s;
    void (*old_handler)(int);
    int rc;

    s = sink_open(t->log, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 10;
    old_handler = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rc = sink_write(s, line, sizeof(line) - 1);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(rc, -1);
    assert_true(sink_is_failed(s));
    assert_int_equal(sink_failures(s), 1);
    assert_int_equal(sink_write(s, "\n", 1), 0);
    assert_false(sink_is_failed(s));
    sink_free(s);
    /* The torn part was cut back and the whole line kept: the file holds
     * the complete line, then the next one, and nothing torn. */
    {
        char buf[128];

        assert_int_equal(test_slurp(t->log, buf, sizeof(buf)),
                         (int)sizeof(line));
        assert_memory_equal(buf, line, sizeof(line) - 1);
        assert_int_equal(buf[sizeof(line) - 1], '\n');
    }
}

/* The log path is a symlink to /dev/full (a full disk); an operator swaps
 * it for a real file and sends SIGUSR1: writes work again and the failed
 * flag clears by itself. */
static void
test_sink_recovers_after_reopen(void **state)
{
    struct test_dir *t = *state;
    char err[TEST_ERR_MAX], good[TEST_PATH_MAX + 64], buf[64];
    struct sink *s;

    if (access("/dev/full", W_OK) != 0)
        skip();
    assert_int_equal(symlink("/dev/full", t->log), 0);
    s = sink_open(t->log, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(sink_write(s, "{\"a\":1}\n", 8), -1);
    assert_true(sink_is_failed(s));

    /* Swap atomically: new symlink, then rename over the old one. */
    snprintf(good, sizeof(good), "%s/good", t->dir);
    assert_int_equal(symlink(good, t->aux), 0);
    assert_int_equal(rename(t->aux, t->log), 0);
    /* Still the old descriptor until reopen. */
    assert_int_equal(sink_write(s, "{\"a\":2}\n", 8), -1);
    /* reopen first tries the old file once more (it fails again). */
    assert_int_equal(sink_reopen(s), 0);
    assert_true(sink_is_failed(s)); /* only a write clears it */
    assert_int_equal(sink_write(s, "{\"a\":3}\n", 8), 0);
    assert_false(sink_is_failed(s));
    assert_int_equal(sink_failures(s), 3);
    /* No line is lost: the two that failed were kept and go first. */
    assert_int_equal(test_slurp(good, buf, sizeof(buf)), 24);
    assert_string_equal(buf, "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
    sink_free(s);
    unlink(good);
}

/* Rotation: rename the file away, reopen, and the next line goes into a
 * new file at the old path. A reopen that fails keeps the old file. */
static void
test_sink_reopen_after_rename(void **state)
{
    struct test_dir *t = *state;
    char err[TEST_ERR_MAX], rotated[TEST_PATH_MAX + 64], buf[64];
    struct sink *s;

    snprintf(rotated, sizeof(rotated), "%s.1", t->log);
    s = sink_open(t->log, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(sink_write(s, "{\"a\":1}\n", 8), 0);
    assert_int_equal(rename(t->log, rotated), 0);
    assert_int_equal(sink_write(s, "{\"a\":2}\n", 8), 0);
    assert_int_equal(sink_reopen(s), 0);
    assert_int_equal(sink_write(s, "{\"a\":3}\n", 8), 0);
    assert_int_equal(test_slurp(rotated, buf, sizeof(buf)), 16);
    assert_string_equal(buf, "{\"a\":1}\n{\"a\":2}\n");
    assert_int_equal(test_slurp(t->log, buf, sizeof(buf)), 8);
    assert_string_equal(buf, "{\"a\":3}\n");

    /* A directory now sits at the path: reopen fails and the sink keeps
     * writing to the file it has. */
    assert_int_equal(unlink(t->log), 0);
    assert_int_equal(mkdir(t->log, 0700), 0);
    assert_int_equal(sink_reopen(s), -1);
    assert_int_equal(sink_write(s, "{\"a\":4}\n", 8), 0);
    assert_false(sink_is_failed(s));
    assert_int_equal(rmdir(t->log), 0);
    sink_free(s);
}

/* "-" writes to fd 1 and never closes it. */
static void
test_sink_stdout_not_closed(void **state)
{
    struct test_dir *t = *state;
    char err[TEST_ERR_MAX], buf[64];
    struct sink *s;
    int saved, fd;

    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    assert_true(saved != -1);
    fd = open(t->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd != -1);
    assert_true(dup2(fd, STDOUT_FILENO) != -1);
    close(fd);

    s = sink_open("-", err, sizeof(err));
    assert_non_null(s);
    assert_string_equal(sink_path(s), "-");
    assert_int_equal(sink_write(s, "{\"o\":1}\n", 8), 0);
    assert_int_equal(sink_reopen(s), 0); /* no-op */
    assert_int_equal(sink_write(s, "{\"o\":2}\n", 8), 0);
    sink_free(s);
    sink_free(NULL);
    fd = fcntl(STDOUT_FILENO, F_GETFD);

    assert_true(dup2(saved, STDOUT_FILENO) != -1);
    close(saved);
    assert_true(fd != -1);
    assert_int_equal(test_slurp(t->log, buf, sizeof(buf)), 16);
    assert_string_equal(buf, "{\"o\":1}\n{\"o\":2}\n");
}

/* No room: a device that refuses every write (/dev/full) is seen before
 * any line is lost, while /dev/null and a regular file have room. */
static void
test_sink_has_room_probes_devices(void **state)
{
    struct test_dir *t = *state;
    char err[TEST_ERR_MAX];
    struct sink *s;

    s = sink_open(t->log, err, sizeof(err));
    assert_non_null(s);
    assert_true(sink_has_room(s));
    sink_free(s);
    if (access("/dev/null", W_OK) == 0) {
        s = sink_open("/dev/null", err, sizeof(err));
        assert_non_null(s);
        assert_true(sink_has_room(s));
        sink_free(s);
    }
    if (access("/dev/full", W_OK) == 0) {
        s = sink_open("/dev/full", err, sizeof(err));
        assert_non_null(s);
        assert_false(sink_has_room(s));
        assert_false(sink_is_failed(s)); /* nothing was written yet */
        sink_free(s);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sink_has_room_probes_devices,
                                        test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_sink_write_appends, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_sink_open_error, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_sink_full_device_fails, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_sink_short_write_fails, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_sink_recovers_after_reopen,
                                        test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_sink_reopen_after_rename,
                                        test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_sink_stdout_not_closed, test_setup,
                                        test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
