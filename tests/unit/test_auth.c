/* tests/unit/test_auth.c - the tokens file ("SESSION:TOKEN" lines) and
 * the check of a Proxy-Authorization value against it (proxy/auth.c). */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/test.h"

#include "proxy/auth.h"

#define TEST_AUTH_ERR_MAX 512
#define TEST_AUTH_B64_MAX 2048

/* Writes <text> (<len> bytes) to a new temporary file; returns its path
 * (free() it and unlink() it). */
static char *
test_auth_write(const char *text, size_t len)
{
    char *path = strdup("/tmp/sluice-test-auth-XXXXXX");
    int fd;

    assert_non_null(path);
    fd = mkstemp(path);
    assert_true(fd != -1);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
    return path;
}

/* Loads <text> as a tokens file: the table, or NULL with <err> filled.
 * <path_out>, if not NULL, receives the path used (freed by the caller). */
static struct auth_tokens *
test_auth_load(const char *text, char *err, char **path_out)
{
    char *path = test_auth_write(text, strlen(text));
    struct auth_tokens *t;

    err[0] = '\0';
    t = auth_tokens_load(path, err, TEST_AUTH_ERR_MAX);
    unlink(path);
    if (path_out != NULL)
        *path_out = path;
    else
        free(path);
    return t;
}

/* Standard base64 with padding (RFC 4648 section 4). */
static void
test_auth_b64(const char *in, size_t len, char *out)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;

    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;

        if (i + 1 < len)
            v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < len)
            v |= (unsigned char)in[i + 2];
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = i + 1 < len ? abc[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? abc[v & 63] : '=';
    }
    out[o] = '\0';
}

/* auth_check() on a header value given as a C string. */
static bool
test_auth_check_value(const struct auth_tokens *t, const char *value,
                      char session[AUTH_ID_MAX])
{
    struct slice v = { value, strlen(value) };

    return auth_check(t, v, session);
}

/* auth_check() on "Basic base64(<cred>)". */
static bool
test_auth_check_cred(const struct auth_tokens *t, const char *scheme,
                     const char *cred, char session[AUTH_ID_MAX])
{
    char b64[TEST_AUTH_B64_MAX], value[TEST_AUTH_B64_MAX + 32];

    assert_true(strlen(cred) * 4 / 3 + 4 < sizeof(b64));
    test_auth_b64(cred, strlen(cred), b64);
    snprintf(value, sizeof(value), "%s %s", scheme, b64);
    return test_auth_check_value(t, value, session);
}

/* ---- tokens file ------------------------------------------------------ */

static void
test_auth_tokens_load_comments_blank_and_crlf(void **state)
{
    static const char text[] = "# sluice tokens\n"
                               "\n"
                               "s-alpha:tok-alpha\n"
                               "   \t\n"
                               "  # an indented comment\n"
                               "s-beta:tok-beta\r\n"
                               "\r\n"
                               "  s-gamma:tok-gamma \t\r\n"
                               "s-delta:tok:with:colons\n"
                               "s-last:tok-last"; /* no final newline */
    char err[TEST_AUTH_ERR_MAX], sess[AUTH_ID_MAX];
    struct auth_tokens *t;

    (void)state;
    t = test_auth_load(text, err, NULL);
    if (t == NULL)
        fail_msg("load failed: %s", err);
    assert_true(auth_has_session(t, "s-alpha"));
    assert_true(auth_has_session(t, "s-beta"));
    assert_true(auth_has_session(t, "s-gamma"));
    assert_true(auth_has_session(t, "s-delta"));
    assert_true(auth_has_session(t, "s-last"));
    /* comments are not sessions */
    assert_false(auth_has_session(t, "# sluice tokens"));
    assert_false(auth_has_session(t, "# an indented comment"));
    assert_false(auth_has_session(t, "s-omega"));
    /* the CR and surrounding blanks are not part of the token */
    assert_true(test_auth_check_cred(t, "Basic", "s-beta:tok-beta", sess));
    assert_false(test_auth_check_cred(t, "Basic", "s-beta:tok-beta\r", sess));
    assert_true(test_auth_check_cred(t, "Basic", "s-gamma:tok-gamma", sess));
    assert_string_equal(sess, "s-gamma");
    /* the id ends at the first colon: the token may hold colons */
    assert_true(
        test_auth_check_cred(t, "Basic", "s-delta:tok:with:colons", sess));
    assert_string_equal(sess, "s-delta");
    assert_false(test_auth_check_cred(t, "Basic", "s-delta:tok", sess));
    assert_true(test_auth_check_cred(t, "Basic", "s-last:tok-last", sess));
    auth_tokens_free(t);
}

static void
test_auth_tokens_load_empty_file(void **state)
{
    char err[TEST_AUTH_ERR_MAX], sess[AUTH_ID_MAX];
    struct auth_tokens *t;

    (void)state;
    t = test_auth_load("# nobody yet\n\n", err, NULL);
    if (t == NULL)
        fail_msg("an empty tokens file was refused: %s", err);
    assert_false(auth_has_session(t, "s-alpha"));
    assert_false(test_auth_check_cred(t, "Basic", "s-alpha:x", sess));
    auth_tokens_free(t);
}

static void
test_auth_tokens_load_bad_lines_name_the_line(void **state)
{
    char long_id[AUTH_ID_MAX + 16];
    static char long_line[sizeof(long_id) + 16];
    static const struct {
        const char *text;
        unsigned line;
    } cases[] = {
        { "no-colon-here\n", 1 },
        { "s-ok:tok\n\n# comment\n:tok-without-id\n", 4 },
        { "s-ok:tok\nid-without-token:\n", 2 },
        { "s-ok:tok\r\nid-without-token:\r\n", 2 },
        { "s-ok:tok\nid-without-token: \t\n", 2 },
        { "\n\n\njust words\n", 4 },
        { long_line, 2 }, /* an id of AUTH_ID_MAX bytes */
    };
    char err[TEST_AUTH_ERR_MAX], want[TEST_AUTH_ERR_MAX];

    (void)state;
    memset(long_id, 'a', AUTH_ID_MAX);
    long_id[AUTH_ID_MAX] = '\0';
    snprintf(long_line, sizeof(long_line), "s-ok:tok\n%s:tok\n", long_id);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *path = NULL;
        struct auth_tokens *t = test_auth_load(cases[i].text, err, &path);

        snprintf(want, sizeof(want), "%s:%u: ", path, cases[i].line);
        if (t != NULL)
            fail_msg("case %zu: bad tokens file accepted", i);
        if (strncmp(err, want, strlen(want)) != 0)
            fail_msg("case %zu: error %s does not start with %s", i, err, want);
        if (strstr(err, "SESSION:TOKEN") == NULL)
            fail_msg("case %zu: error %s does not say what is wanted", i, err);
        free(path);
    }
}

static void
test_auth_tokens_load_longest_id(void **state)
{
    char id[AUTH_ID_MAX], line[AUTH_ID_MAX + 16], cred[AUTH_ID_MAX + 16];
    char err[TEST_AUTH_ERR_MAX], sess[AUTH_ID_MAX];
    struct auth_tokens *t;

    (void)state;
    memset(id, 'b', AUTH_ID_MAX - 1);
    id[AUTH_ID_MAX - 1] = '\0';
    snprintf(line, sizeof(line), "%s:tok\n", id);
    t = test_auth_load(line, err, NULL);
    if (t == NULL)
        fail_msg("an id of %d bytes was refused: %s", AUTH_ID_MAX - 1, err);
    snprintf(cred, sizeof(cred), "%s:tok", id);
    assert_true(test_auth_check_cred(t, "Basic", cred, sess));
    assert_string_equal(sess, id);
    auth_tokens_free(t);
}

static void
test_auth_tokens_load_missing_file(void **state)
{
    static const char path[] = "/nonexistent/sluice/tokens";
    char err[TEST_AUTH_ERR_MAX] = "";

    (void)state;
    assert_null(auth_tokens_load(path, err, sizeof(err)));
    if (strstr(err, path) == NULL)
        fail_msg("error does not name the file: %s", err);
    if (strstr(err, "No such file") == NULL)
        fail_msg("error does not say why: %s", err);
}

static void
test_auth_tokens_free_null(void **state)
{
    (void)state;
    auth_tokens_free(NULL);
}

/* ---- auth_check --------------------------------------------------------- */

static struct auth_tokens *test_auth_table;

static int
test_auth_setup(void **state)
{
    /* Ids and tokens of every length mod 3, so that the base64 of
     * "id:token" ends with no, one and two '=' of padding. */
    static const char text[] = "s-a:tok-a\n"     /* 9 bytes: no pad */
                               "s-bb:tok-bb\n"   /* 11: one '=' */
                               "s-ccc:tok-ccc\n" /* 13: two '=' */
                               "s-dd:secret:colon\n"
                               "s-u\xc3\xa9:t\xc3\xb8k\n";
    char err[TEST_AUTH_ERR_MAX];

    (void)state;
    test_auth_table = test_auth_load(text, err, NULL);
    if (test_auth_table == NULL) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    return 0;
}

static int
test_auth_teardown(void **state)
{
    (void)state;
    auth_tokens_free(test_auth_table);
    test_auth_table = NULL;
    return 0;
}

static void
test_auth_check_valid_with_each_padding(void **state)
{
    static const struct {
        const char *cred, *session;
        int pad;
    } cases[] = {
        { "s-a:tok-a", "s-a", 0 },
        { "s-bb:tok-bb", "s-bb", 1 },
        { "s-ccc:tok-ccc", "s-ccc", 2 },
        { "s-dd:secret:colon", "s-dd", 1 },
        { "s-u\xc3\xa9:t\xc3\xb8k", "s-u\xc3\xa9", 2 },
    };
    char b64[TEST_AUTH_B64_MAX], sess[AUTH_ID_MAX];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        size_t len = strlen(cases[i].cred);
        int pad;

        test_auth_b64(cases[i].cred, len, b64);
        pad = (int)(strlen(b64) - strcspn(b64, "="));
        if (pad != cases[i].pad)
            fail_msg("case %zu: table error: %s has %d '='", i, b64, pad);
        memset(sess, 'X', sizeof(sess));
        if (!test_auth_check_cred(test_auth_table, "Basic", cases[i].cred,
                                  sess))
            fail_msg("case %zu: %s refused (Basic %s)", i, cases[i].cred, b64);
        if (strcmp(sess, cases[i].session) != 0)
            fail_msg("case %zu: session %.*s, want %s", i, AUTH_ID_MAX - 1,
                     sess, cases[i].session);
    }
}

static void
test_auth_check_scheme_is_case_insensitive(void **state)
{
    static const char *const schemes[] = { "Basic", "basic", "BASIC", "bAsIc" };
    char sess[AUTH_ID_MAX];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(schemes); i++) {
        if (!test_auth_check_cred(test_auth_table, schemes[i], "s-a:tok-a",
                                  sess))
            fail_msg("scheme %s refused", schemes[i]);
        assert_string_equal(sess, "s-a");
    }
    /* more than one space before the credentials (RFC 9110 1*SP) */
    assert_true(
        test_auth_check_value(test_auth_table, "Basic   cy1hOnRvay1h", sess));
    assert_string_equal(sess, "s-a");
}

static void
test_auth_check_refusals(void **state)
{
    static const struct {
        const char *scheme, *cred; /* base64-encoded here */
        const char *why;
    } creds[] = {
        { "Basic", "s-a:tok-b", "wrong token" },
        { "Basic", "s-a:tok-", "token prefix" },
        { "Basic", "s-a:tok-aa", "token with more" },
        { "Basic", "s-a:TOK-A", "tokens are case-sensitive" },
        { "Basic", "s-a:", "empty token" },
        { "Basic", "S-A:tok-a", "ids are case-sensitive" },
        { "Basic", "s-bb:tok-a", "another session's token" },
        { "Basic", "s-nobody:tok-a", "unknown id" },
        { "Basic", ":tok-a", "empty id" },
        { "Basic", "s-atok-a", "missing colon" },
        { "Basic", "", "empty credentials" },
        { "Bearer", "s-a:tok-a", "wrong scheme" },
        { "Digest", "s-a:tok-a", "wrong scheme" },
        { "Basi", "s-a:tok-a", "truncated scheme" },
        { "Basicx", "s-a:tok-a", "longer scheme" },
        { "Basic", "s-dd:secret", "token cut at its colon" },
    };
    static const struct {
        const char *value, *why;
    } raw[] = {
        { "", "empty value" },
        { "Basic", "scheme alone" },
        { "Basic ", "scheme and space" },
        { "Basic    ", "scheme and spaces" },
        { "Basic !!!!", "not base64" },
        { "Basic cy1hOnRvay1h!", "trailing junk" },
        { "Basic cy1hOnRvay1", "bad length (unpadded tail)" },
        { "Basic cy1hOnRvay1hCg==", "trailing newline in the credentials" },
        { "Basic cy1hOnRvay1hDQ==", "trailing CR in the credentials" },
        { "Basic cy1h OnRvay1h", "space inside the base64" },
        { "Basic cy1hOnRvay1h====", "extra padding" },
        { "Basic =y1hOnRvay1h", "padding at the start" },
        { "Basic ====", "padding only" },
        { "Basic\tcy1hOnRvay1h", "tab instead of space" },
        { "Basiccy1hOnRvay1h", "no space" },
        { "cy1hOnRvay1h", "no scheme" },
        { "s-a:tok-a", "not encoded" },
    };
    char sess[AUTH_ID_MAX], b64[TEST_AUTH_B64_MAX];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(creds); i++) {
        memcpy(sess, "untouched", sizeof("untouched"));
        if (test_auth_check_cred(test_auth_table, creds[i].scheme,
                                 creds[i].cred, sess)) {
            test_auth_b64(creds[i].cred, strlen(creds[i].cred), b64);
            fail_msg("cred %zu (%s): %s %s accepted as %s", i, creds[i].why,
                     creds[i].scheme, b64, sess);
        }
        if (strcmp(sess, "untouched") != 0)
            fail_msg("cred %zu (%s): a refusal wrote the session", i,
                     creds[i].why);
    }
    for (size_t i = 0; i < ARRAY_LEN(raw); i++) {
        memcpy(sess, "untouched", sizeof("untouched"));
        if (test_auth_check_value(test_auth_table, raw[i].value, sess))
            fail_msg("value %zu (%s): \"%s\" accepted as %s", i, raw[i].why,
                     raw[i].value, sess);
        if (strcmp(sess, "untouched") != 0)
            fail_msg("value %zu (%s): a refusal wrote the session", i,
                     raw[i].why);
    }
}

static void
test_auth_check_long_credentials(void **state)
{
    char cred[1400], sess[AUTH_ID_MAX];

    (void)state;
    /* An id longer than any session id can be. */
    memset(cred, 'i', AUTH_ID_MAX + 8);
    snprintf(cred + AUTH_ID_MAX + 8, sizeof(cred) - AUTH_ID_MAX - 8, ":tok-a");
    assert_false(test_auth_check_cred(test_auth_table, "Basic", cred, sess));
    /* A token far longer than the decode buffer: refused, not overrun. */
    memcpy(cred, "s-a:", 4);
    memset(cred + 4, 't', sizeof(cred) - 5);
    cred[sizeof(cred) - 1] = '\0';
    assert_false(test_auth_check_cred(test_auth_table, "Basic", cred, sess));
}

static void
test_auth_check_null_table(void **state)
{
    char sess[AUTH_ID_MAX];

    (void)state;
    assert_false(test_auth_check_value(NULL, "Basic cy1hOnRvay1h", sess));
    assert_false(auth_has_session(NULL, "s-a"));
}

int
main(void)
{
    const struct CMUnitTest file_tests[] = {
        cmocka_unit_test(test_auth_tokens_load_comments_blank_and_crlf),
        cmocka_unit_test(test_auth_tokens_load_empty_file),
        cmocka_unit_test(test_auth_tokens_load_bad_lines_name_the_line),
        cmocka_unit_test(test_auth_tokens_load_longest_id),
        cmocka_unit_test(test_auth_tokens_load_missing_file),
        cmocka_unit_test(test_auth_tokens_free_null),
    };
    const struct CMUnitTest check_tests[] = {
        cmocka_unit_test(test_auth_check_valid_with_each_padding),
        cmocka_unit_test(test_auth_check_scheme_is_case_insensitive),
        cmocka_unit_test(test_auth_check_refusals),
        cmocka_unit_test(test_auth_check_long_credentials),
        cmocka_unit_test(test_auth_check_null_table),
    };
    int failed;

    failed = cmocka_run_group_tests_name("tokens file", file_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("auth_check", check_tests,
                                          test_auth_setup, test_auth_teardown);
    return failed;
}
