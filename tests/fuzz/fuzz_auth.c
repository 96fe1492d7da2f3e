/* tests/fuzz/fuzz_auth.c - libFuzzer target for the Proxy-Authorization
 * check (auth_check() in proxy/auth.c) against a small fixed tokens table.
 *
 * The table is written once to a temporary file, loaded with
 * auth_tokens_load() and the file removed. Each input is used twice:
 *   - as the field value itself, read where it lies (ASan sees overreads):
 *     a match must name a session of the table whose "id:token" is what
 *     the value's base64 decodes to;
 *   - as a raw credential, base64-encoded here behind "Basic ": it must
 *     match exactly when it is one of the table's "id:token" lines, and the
 *     session must then be its id.
 * A failed property prints what broke and aborts. */
#include "config.h"
#include "proxy/auth.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The longest credential the table holds: "edge:" and a token making it
 * 1023 bytes, the most whose base64 (1364 bytes) auth_check() decodes. */
#define FUZZ_AUTH_EDGE_LEN 1023
#define FUZZ_AUTH_B64_MAX 4096

struct fuzz_auth_entry {
    char id[AUTH_ID_MAX];
    char cred[FUZZ_AUTH_EDGE_LEN + 1]; /* "id:token" */
};

static struct fuzz_auth_entry fuzz_auth_entries[6];
static size_t fuzz_auth_n;
static struct auth_tokens *fuzz_auth_tokens;

static void
fuzz_auth_require(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_auth: property failed: %s\n", what);
        abort();
    }
}

static size_t
fuzz_auth_b64(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;

    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;

        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = digits[v >> 18 & 63];
        out[o++] = digits[v >> 12 & 63];
        out[o++] = i + 1 < len ? digits[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? digits[v & 63] : '=';
    }
    return o;
}

static void
fuzz_auth_add(const char *id, const char *token)
{
    struct fuzz_auth_entry *e = &fuzz_auth_entries[fuzz_auth_n++];
    size_t il = strlen(id), tl = strlen(token);

    fuzz_auth_require(il < sizeof(e->id) && il + 1 + tl < sizeof(e->cred),
                      "table entry too long");
    memcpy(e->id, id, il + 1);
    memcpy(e->cred, id, il);
    e->cred[il] = ':';
    memcpy(e->cred + il + 1, token, tl + 1);
}

static void
fuzz_auth_init(void)
{
    char path[] = "/tmp/sluice-fuzz-auth-XXXXXX";
    char err[256], edge[FUZZ_AUTH_EDGE_LEN];
    FILE *f;
    int fd;

    fuzz_auth_add("alice", "s3cret");
    fuzz_auth_add("bob", "hunter2:with:colons");
    fuzz_auth_add("session-3", "tok");
    fuzz_auth_add("x", "y");
    fuzz_auth_add("Basic", "Basic");
    memset(edge, 'e', sizeof(edge));
    edge[FUZZ_AUTH_EDGE_LEN - sizeof("edge:") + 1] = '\0';
    fuzz_auth_add("edge", edge);

    fd = mkstemp(path);
    fuzz_auth_require(fd != -1, "mkstemp");
    f = fdopen(fd, "w");
    fuzz_auth_require(f != NULL, "fdopen");
    fputs("# fuzz_auth tokens\n\n", f);
    for (size_t i = 0; i < fuzz_auth_n; i++)
        fprintf(f, "%s%s\r\n", i % 2 ? "  " : "", fuzz_auth_entries[i].cred);
    fuzz_auth_require(fclose(f) == 0, "writing the tokens file");
    fuzz_auth_tokens = auth_tokens_load(path, err, sizeof(err));
    unlink(path);
    if (fuzz_auth_tokens == NULL) {
        fprintf(stderr, "fuzz_auth: %s\n", err);
        abort();
    }
    for (size_t i = 0; i < fuzz_auth_n; i++)
        fuzz_auth_require(
            auth_has_session(fuzz_auth_tokens, fuzz_auth_entries[i].id),
            "table session missing");
    fuzz_auth_require(!auth_has_session(fuzz_auth_tokens, "nobody"),
                      "unknown session present");
}

/* The entry whose credential is exactly in[0..len), or NULL. */
static const struct fuzz_auth_entry *
fuzz_auth_lookup(const unsigned char *in, size_t len)
{
    for (size_t i = 0; i < fuzz_auth_n; i++) {
        const char *c = fuzz_auth_entries[i].cred;

        if (strlen(c) == len && memcmp(c, in, len) == 0)
            return &fuzz_auth_entries[i];
    }
    return NULL;
}

static bool
fuzz_auth_check(const char *value, size_t len, char session[AUTH_ID_MAX])
{
    struct slice s = { value, len };

    memset(session, 0x55, AUTH_ID_MAX);
    return auth_check(fuzz_auth_tokens, s, session);
}

/* Decodes base64 <in> (padded, any unused low bits) into <out>; returns
 * the length, or -1. Independent of proxy/auth.c, and more lenient. */
static long
fuzz_auth_unb64(const char *in, size_t len, unsigned char *out)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;

    if (len % 4 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t v = 0;
        int pad = 0;

        for (size_t k = 0; k < 4; k++) {
            const char *d =
                in[i + k] != '\0' ? strchr(digits, in[i + k]) : NULL;

            if (in[i + k] == '=' && i + 4 == len && k >= 2) {
                pad++;
                v <<= 6;
                continue;
            }
            if (d == NULL || pad > 0)
                return -1;
            v = v << 6 | (uint32_t)(d - digits);
        }
        out[o++] = (unsigned char)(v >> 16);
        if (pad < 2)
            out[o++] = (unsigned char)(v >> 8);
        if (pad < 1)
            out[o++] = (unsigned char)v;
    }
    return (long)o;
}

/* A match from arbitrary value bytes: the value must be "Basic", spaces
 * and base64 of an entry's credential. */
static void
fuzz_auth_value(const char *value, size_t len)
{
    unsigned char cred[FUZZ_AUTH_B64_MAX];
    char session[AUTH_ID_MAX];
    const struct fuzz_auth_entry *e;
    size_t skip = 6;
    long n;

    if (!fuzz_auth_check(value, len, session))
        return;
    fuzz_auth_require(len > skip && strncasecmp(value, "basic ", skip) == 0,
                      "match without the Basic scheme");
    while (skip < len && value[skip] == ' ')
        skip++;
    fuzz_auth_require(len - skip <= FUZZ_AUTH_B64_MAX, "long value matched");
    n = fuzz_auth_unb64(value + skip, len - skip, cred);
    fuzz_auth_require(n >= 0, "match of a value that is not base64");
    e = fuzz_auth_lookup(cred, (size_t)n);
    fuzz_auth_require(e != NULL, "match of a credential not in the table");
    fuzz_auth_require(strcmp(session, e->id) == 0, "wrong session");
}

static void
fuzz_auth_credential(const unsigned char *cred, size_t len)
{
    static const char *const schemes[] = { "Basic ", "basic  ", "BASIC " };
    char value[FUZZ_AUTH_B64_MAX + 16], session[AUTH_ID_MAX];
    const struct fuzz_auth_entry *e = fuzz_auth_lookup(cred, len);
    size_t n;

    if (len > (FUZZ_AUTH_B64_MAX / 4) * 3)
        return;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t sl = strlen(schemes[i]);
        bool ok;

        memcpy(value, schemes[i], sl);
        n = sl + fuzz_auth_b64(cred, len, value + sl);
        ok = fuzz_auth_check(value, n, session);
        if (e == NULL) {
            fuzz_auth_require(!ok, "a credential not in the table matched");
            continue;
        }
        fuzz_auth_require(ok, "a credential of the table did not match");
        fuzz_auth_require(strcmp(session, e->id) == 0, "wrong session");
        /* one byte less, or one more, never matches */
        fuzz_auth_require(!fuzz_auth_check(value, n - 1, session),
                          "truncated value matched");
        value[n] = '=';
        fuzz_auth_require(!fuzz_auth_check(value, n + 1, session),
                          "padded value matched");
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_auth_tokens == NULL)
        fuzz_auth_init();
    fuzz_auth_value((const char *)data, size);
    fuzz_auth_credential(data, size);
    if (size == 0)
        for (size_t i = 0; i < fuzz_auth_n; i++)
            fuzz_auth_credential(
                (const unsigned char *)fuzz_auth_entries[i].cred,
                strlen(fuzz_auth_entries[i].cred));
    return 0;
}
