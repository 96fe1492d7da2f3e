/* proxy/auth.c - tokens file and Basic credentials. */
#include "config.h"
#include "proxy/auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

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
        OPENSSL_cleanse(t->entries[i].token, t->entries[i].token_len);
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
        if (auth_add(t, line, (size_t)(colon - line), colon + 1,
                     strlen(colon + 1)) == -1)
            goto fail_oom;
    }
    OPENSSL_cleanse(text, n);
    free(text);
    return t;

fail_oom:
    snprintf(err, errlen, "%s: out of memory", path);
fail:
    if (f != NULL)
        fclose(f);
    if (text != NULL) {
        OPENSSL_cleanse(text, (size_t)st.st_size);
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
    n = EVP_DecodeBlock(cred, (const unsigned char *)b64, (int)b64len);
    if (n < 0)
        return false;
    /* EVP_DecodeBlock counts the padding as zero bytes: take them off. */
    if (b64[b64len - 1] == '=')
        n--;
    if (b64[b64len - 2] == '=')
        n--;
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
            ok = CRYPTO_memcmp(colon + 1, e->token, toklen) == 0;
        else
            (void)CRYPTO_memcmp(e->token, e->token, e->token_len);
        if (ok) {
            memcpy(session, cred, idlen);
            session[idlen] = '\0';
        }
        break;
    }
out:
    OPENSSL_cleanse(cred, sizeof(cred));
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
