/* proxy/auth.c - tokens file and Basic credentials. */
#include "config.h"
#include "proxy/auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Compares two equal-length secrets in time that depends only on <n>. */
static bool
auth_equal_ct(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char diff = 0;

    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(x[i] ^ y[i]);
    return diff == 0;
}

/* The value of base64 digit <ch> (RFC 4648 section 4), or -1. */
static int
auth_b64_digit(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* Decodes padded base64 <in> (len a multiple of 4) into <out>. Returns the
 * decoded length, or -1 if <in> is not canonical base64. */
static long
auth_b64_decode(const char *in, size_t len, unsigned char *out)
{
    size_t o = 0;

    if (len == 0 || len % 4 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;

        for (int k = 0; k < 4; k++) {
            if (in[i + k] == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad > 0)
                return -1; /* data after padding */
            v[k] = auth_b64_digit(in[i + k]);
            if (v[k] < 0)
                return -1;
        }
        out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
        if (pad < 2)
            out[o++] = (unsigned char)(v[1] << 4 | v[2] >> 2);
        if (pad < 1)
            out[o++] = (unsigned char)(v[2] << 6 | v[3]);
    }
    return (long)o;
}

/* Longest Basic credential we decode: id, ':', a token. */
#define AUTH_CRED_MAX 1024

struct auth_entry {
    char *id;
    char *token;
    size_t token_len;
};

struct auth_tokens {
    struct auth_entry *entries;
    size_t n;
};

void
auth_tokens_free(struct auth_tokens *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->entries[i].id);
        /* Tokens are secrets: do not leave them in freed memory. */
        explicit_bzero(t->entries[i].token, t->entries[i].token_len);
        free(t->entries[i].token);
    }
    free(t->entries);
    free(t);
}

static int
auth_add(struct auth_tokens *t, const char *id, size_t idlen, const char *token,
         size_t toklen)
{
    struct auth_entry *e;

    e = realloc(t->entries, (t->n + 1) * sizeof(*e));
    if (e == NULL)
        return -1;
    t->entries = e;
    e = &t->entries[t->n];
    e->id = strndup(id, idlen);
    e->token = strndup(token, toklen);
    e->token_len = toklen;
    if (e->id == NULL || e->token == NULL) {
        free(e->id);
        free(e->token);
        return -1;
    }
    t->n++;
    return 0;
}

struct auth_tokens *
auth_tokens_load(const char *path, char *err, size_t errlen)
{
    struct auth_tokens *t;
    struct stat st;
    char *text = NULL, *line, *next;
    unsigned lineno = 0;
    FILE *f;
    size_t n;

    f = fopen(path, "re");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) == -1 || st.st_size > AUTH_FILE_MAX_BYTES) {
        snprintf(err, errlen, "%s: larger than %d bytes", path,
                 AUTH_FILE_MAX_BYTES);
        fclose(f);
        return NULL;
    }
    t = calloc(1, sizeof(*t));
    text = malloc((size_t)st.st_size + 1);
    if (t == NULL || text == NULL)
        goto fail_oom;
    n = fread(text, 1, (size_t)st.st_size, f);
    text[n] = '\0';
    fclose(f);
    f = NULL;
    for (line = text; line != NULL && *line != '\0'; line = next) {
        char *colon, *end;

        lineno++;
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        end = line + strlen(line);
        while (end > line &&
               (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line == '\0' || *line == '#')
            continue;
        colon = strchr(line, ':');
        if (colon == NULL || colon == line || colon[1] == '\0' ||
            colon - line >= AUTH_ID_MAX) {
            snprintf(err, errlen, "%s:%u: want SESSION:TOKEN", path, lineno);
            goto fail;
        }
        /* A credential longer than auth_check decodes could never match:
         * say so now rather than refuse the session forever. */
        if ((size_t)(end - line) > AUTH_CRED_MAX) {
            snprintf(err, errlen, "%s:%u: SESSION:TOKEN longer than %d bytes",
                     path, lineno, AUTH_CRED_MAX);
            goto fail;
        }
        if (auth_add(t, line, (size_t)(colon - line), colon + 1,
                     strlen(colon + 1)) == -1)
            goto fail_oom;
    }
    explicit_bzero(text, n);
    free(text);
    return t;

fail_oom:
    snprintf(err, errlen, "%s: out of memory", path);
fail:
    if (f != NULL)
        fclose(f);
    if (text != NULL) {
        explicit_bzero(text, (size_t)st.st_size);
        free(text);
    }
    auth_tokens_free(t);
    return NULL;
}

bool
auth_check(const struct auth_tokens *t, struct slice value,
           char session[AUTH_ID_MAX])
{
    static const char basic[] = "basic ";
    unsigned char cred[AUTH_CRED_MAX + 3];
    const char *b64;
    size_t b64len, idlen;
    int n;
    const unsigned char *colon;
    bool ok = false;

    if (t == NULL || value.len <= sizeof(basic) - 1 ||
        strncasecmp(value.p, basic, sizeof(basic) - 1) != 0)
        return false;
    b64 = value.p + sizeof(basic) - 1;
    b64len = value.len - (sizeof(basic) - 1);
    while (b64len > 0 && *b64 == ' ') {
        b64++;
        b64len--;
    }
    if (b64len == 0 || b64len % 4 != 0 || b64len / 4 * 3 > AUTH_CRED_MAX)
        return false;
    n = (int)auth_b64_decode(b64, b64len, cred);
    if (n < 0)
        return false;
    colon = memchr(cred, ':', (size_t)n);
    if (colon == NULL)
        goto out;
    idlen = (size_t)(colon - cred);
    if (idlen == 0 || idlen >= AUTH_ID_MAX)
        goto out;
    for (size_t i = 0; i < t->n; i++) {
        const struct auth_entry *e = &t->entries[i];
        size_t toklen = (size_t)n - idlen - 1;

        if (strlen(e->id) != idlen || memcmp(e->id, cred, idlen) != 0)
            continue;
        /* Same-length comparison in constant time; a length mismatch
         * still pays for one comparison. */
        if (toklen == e->token_len)
            ok = auth_equal_ct(colon + 1, e->token, toklen);
        else
            (void)auth_equal_ct(e->token, e->token, e->token_len);
        if (ok) {
            memcpy(session, cred, idlen);
            session[idlen] = '\0';
        }
        break;
    }
out:
    explicit_bzero(cred, sizeof(cred));
    return ok;
}

bool
auth_has_session(const struct auth_tokens *t, const char *id)
{
    if (t == NULL)
        return false;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->entries[i].id, id) == 0)
            return true;
    return false;
}
