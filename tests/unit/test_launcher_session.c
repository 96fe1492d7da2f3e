/* tests/unit/test_launcher_session.c - session ids and tokens, the
 * agent's environment (nothing of the host's gets in), --env checks, the
 * state folder and the tokens file (launcher/session.c). */
#include "config.h"
#include "tests/unit/test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/argv.h"
#include "launcher/launch-t.h"
#include "launcher/session.h"

static void
test_launch_init(struct launch *l)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->session, sizeof(l->session), "s-abc");
    l->proxy_port = LAUNCH_PROXY_PORT;
    argv_init(&l->user_env);
    argv_init(&l->probe_targets);
    argv_init(&l->host_addrs);
}

static void
test_launch_fini(struct launch *l)
{
    argv_fini(&l->user_env);
    argv_fini(&l->probe_targets);
    argv_fini(&l->host_addrs);
}

static void
test_token_is_256_bit_hex(void **state)
{
    char a[LAUNCH_TOKEN_HEX], b[LAUNCH_TOKEN_HEX];

    (void)state;
    assert_int_equal(session_token_new(a), 0);
    assert_int_equal(session_token_new(b), 0);
    assert_int_equal(strlen(a), 2 * LAUNCH_TOKEN_BYTES);
    assert_int_equal(LAUNCH_TOKEN_BYTES * 8, 256);
    assert_int_equal(strspn(a, "0123456789abcdef"), strlen(a));
    assert_string_not_equal(a, b);
}

static void
test_session_id_new(void **state)
{
    char a[LAUNCH_SESSION_MAX], b[LAUNCH_SESSION_MAX];

    (void)state;
    assert_int_equal(session_id_new(a), 0);
    assert_int_equal(session_id_new(b), 0);
    assert_int_equal(strncmp(a, "s-", 2), 0);
    assert_int_equal(strlen(a), 2 + 2 * SESSION_ID_RANDOM_BYTES);
    assert_true(session_id_is_valid(a));
    assert_string_not_equal(a, b);
}

static void
test_session_id_is_valid(void **state)
{
    static const struct {
        const char *id;
        bool want;
    } cases[] = {
        { "s-1", true },
        { "team.agent_7", true },
        { "", false },
        { "a b", false },
        { "a:b", false }, /* would break SESSION:TOKEN lines */
        { "a@b", false }, /* would break the proxy URL */
        { "a/b", false },
        { "0123456789012345678901234567890123456789012345678901234567890123",
          true },
        { "01234567890123456789012345678901234567890123456789012345678901234",
          false },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        if (session_id_is_valid(cases[i].id) != cases[i].want)
            fail_msg("case %zu: '%s'", i, cases[i].id);
    }
}

/* The host's proxy variables and anything else of the host's never reach
 * the agent's environment: it is built from the session alone. */
static void
test_env_hygiene(void **state)
{
    static const char *const host[] = {
        "HTTPS_PROXY", "HTTP_PROXY", "https_proxy",
        "http_proxy",  "ALL_PROXY",  "NO_PROXY",
        "no_proxy",    "FTP_PROXY",  "AWS_SECRET_ACCESS_KEY",
    };
    struct launch l;
    struct argv env;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(host); i++)
        setenv(host[i], "http://leak.invalid:9", 1);
    test_launch_init(&l);
    argv_init(&env);
    session_env_build(&l, "10.89.0.2", "TOKEN", &env);
    assert_int_equal(argv_ok(&env), 0);
    for (size_t i = 0; i < env.n; i++) {
        if (strstr(env.v[i], "leak.invalid") != NULL)
            fail_msg("host value in the agent: %s", env.v[i]);
        if (strncmp(env.v[i], "AWS_", 4) == 0)
            fail_msg("host variable in the agent: %s", env.v[i]);
    }
    assert_true(
        argv_contains(&env, "HTTPS_PROXY=http://s-abc:TOKEN@10.89.0.2:3128"));
    assert_true(
        argv_contains(&env, "https_proxy=http://s-abc:TOKEN@10.89.0.2:3128"));
    assert_true(
        argv_contains(&env, "HTTP_PROXY=http://s-abc:TOKEN@10.89.0.2:3128"));
    assert_true(
        argv_contains(&env, "http_proxy=http://s-abc:TOKEN@10.89.0.2:3128"));
    assert_true(argv_contains(&env, "NO_PROXY="));
    assert_true(argv_contains(&env, "no_proxy="));
    assert_true(argv_contains(&env, "SLUICE_SESSION=s-abc"));
    assert_true(argv_contains(&env, "HOME=/home/agent"));
    /* No fetch channel in this policy. */
    for (size_t i = 0; i < env.n; i++)
        assert_int_not_equal(strncmp(env.v[i], "SLUICE_FETCH_PROXY=", 19), 0);
    argv_fini(&env);
    test_launch_fini(&l);
    for (size_t i = 0; i < ARRAY_LEN(host); i++)
        unsetenv(host[i]);
}

static void
test_env_fetch_and_user(void **state)
{
    static const char *const want[] = {
        "HTTP_PROXY=http://s-abc:T@[fd00::2]:3128",
        "HTTPS_PROXY=http://s-abc:T@[fd00::2]:3128",
        "http_proxy=http://s-abc:T@[fd00::2]:3128",
        "https_proxy=http://s-abc:T@[fd00::2]:3128",
        "ALL_PROXY=http://s-abc:T@[fd00::2]:3128",
        "all_proxy=http://s-abc:T@[fd00::2]:3128",
        "FTP_PROXY=http://s-abc:T@[fd00::2]:3128",
        "ftp_proxy=http://s-abc:T@[fd00::2]:3128",
        "NO_PROXY=",
        "no_proxy=",
        "SLUICE_FETCH_PROXY=http://s-abc:T@[fd00::2]:3129",
        "SLUICE_SESSION=s-abc",
        "HOME=/home/agent",
        "EDITOR=vi",
        "GREETING=a b'c",
    };
    struct launch l;
    struct argv env;

    (void)state;
    test_launch_init(&l);
    l.fetch_port = LAUNCH_FETCH_PORT;
    argv_push(&l.user_env, "EDITOR=vi");
    argv_push(&l.user_env, "GREETING=a b'c");
    argv_init(&env);
    session_env_build(&l, "[fd00::2]", "T", &env);
    assert_int_equal(env.n, ARRAY_LEN(want));
    for (size_t i = 0; i < ARRAY_LEN(want); i++)
        assert_string_equal(env.v[i], want[i]);
    argv_fini(&env);
    test_launch_fini(&l);
}

static void
test_env_check(void **state)
{
    static const struct {
        const char *kv;
        bool ok;
    } cases[] = {
        { "EDITOR=vi", true },
        { "EMPTY=", true },
        { "_X1=a=b", true },
        { "HOME", false }, /* bare: the engine would copy the host's */
        { "=v", false },
        { "1X=v", false },
        { "A-B=v", false },
        { "X=a\nb", false },        /* one line per variable in the file */
        { "HTTPS_PROXY=x", false }, /* sluice's own */
        { "https_proxy=x", false },
        { "No_Proxy=x", false },
        { "ALL_PROXY=x", false },
        { "SLUICE_SESSION=x", false },
        { "HTTPS_PROXY_EXTRA=x", true },
    };
    char err[256];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int rc = session_env_check(cases[i].kv, err, sizeof(err));

        if ((rc == 0) != cases[i].ok)
            fail_msg("case %zu: '%s': rc %d", i, cases[i].kv, rc);
        if (rc == -1 && strncmp(err, "--env ", 6) != 0)
            fail_msg("case %zu: message '%s'", i, err);
    }
}

static void
test_state_dir(void **state)
{
    char out[LAUNCH_PATH_MAX];

    (void)state;
    setenv("XDG_STATE_HOME", "/x/state", 1);
    setenv("HOME", "/home/u", 1);
    assert_int_equal(session_state_dir("s-1", out, sizeof(out)), 0);
    assert_string_equal(out, "/x/state/sluice/s-1");
    setenv("XDG_STATE_HOME", "relative", 1); /* invalid per XDG */
    assert_int_equal(session_state_dir("s-1", out, sizeof(out)), 0);
    assert_string_equal(out, "/home/u/.local/state/sluice/s-1");
    unsetenv("XDG_STATE_HOME");
    unsetenv("HOME");
    assert_int_equal(session_state_dir("s-1", out, sizeof(out)), -1);
    assert_int_equal(session_state_dir("s-1", out, 8), -1);
}

static void
test_files(void **state)
{
    char dir[] = "/tmp/sluice-test-session.XXXXXX";
    char sub[LAUNCH_PATH_MAX], tokens[LAUNCH_PATH_MAX + 16], buf[512];
    struct stat st;
    FILE *f;
    size_t n;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof(sub), "%s/a/b/s-1", dir);
    assert_int_equal(session_mkdir_new(sub), 0);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    /* A session's folder is never reused. */
    assert_int_equal(session_mkdir_new(sub), -1);

    snprintf(tokens, sizeof(tokens), "%s/tokens", sub);
    assert_int_equal(session_write_file(tokens, "x:1\n", 4, 0640), 0);
    assert_int_equal(session_write_file(tokens, "y", 1, 0600), -1);
    assert_int_equal(session_tokens_add(tokens, "s-1", "aaaa"), 0);
    assert_int_equal(session_tokens_add(tokens, "s-10", "bbbb"), 0);
    assert_int_equal(session_tokens_remove(tokens, "s-1"), 0);
    f = fopen(tokens, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Only s-1's line went: s-10 shares its prefix but is not s-1. */
    assert_string_equal(buf, "x:1\ns-10:bbbb\n");
    assert_int_equal(stat(tokens, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(session_tokens_remove(tokens, "nobody"), 0);
    unlink(tokens);
    assert_int_equal(session_tokens_remove(tokens, "s-1"), 0);
    assert_int_equal(session_tokens_add(tokens, "s-2", "cccc"), 0);
    assert_int_equal(stat(tokens, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    unlink(tokens);
    rmdir(sub);
    snprintf(sub, sizeof(sub), "%s/a/b", dir);
    rmdir(sub);
    snprintf(sub, sizeof(sub), "%s/a", dir);
    rmdir(sub);
    rmdir(dir);
}

/* An add that waited for the lock while a remover replaced the file must
 * land in the file the path names now, not in the replaced one. */
static void
test_tokens_add_after_replace(void **state)
{
    char dir[] = "/tmp/sluice-tok-XXXXXX", path[128], tmp[160], buf[256];
    int fd, status;
    pid_t pid;
    FILE *f;
    size_t n;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/tokens", dir);
    snprintf(tmp, sizeof(tmp), "%s/new", dir);
    assert_int_equal(session_write_file(path, "a:1\n", 4, 0600), 0);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd != -1);
    assert_int_equal(flock(fd, LOCK_EX), 0); /* a remover at work */
    pid = fork();
    assert_true(pid != -1);
    if (pid == 0) {
        close(fd); /* the lock is the remover's, not ours */
        _exit(session_tokens_add(path, "b", "2") == 0 ? 0 : 1);
    }
    usleep(100 * 1000); /* the child now waits for the lock */
    assert_int_equal(session_write_file(tmp, "a:1\n", 4, 0600), 0);
    assert_int_equal(rename(tmp, path), 0);
    close(fd); /* the remover is done */
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_string_equal(buf, "a:1\nb:2\n");
    unlink(path);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_is_256_bit_hex),
        cmocka_unit_test(test_session_id_new),
        cmocka_unit_test(test_session_id_is_valid),
        cmocka_unit_test(test_env_hygiene),
        cmocka_unit_test(test_env_fetch_and_user),
        cmocka_unit_test(test_env_check),
        cmocka_unit_test(test_state_dir),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_tokens_add_after_replace),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
