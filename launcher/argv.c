/* launcher/argv.c - growable string arrays and their shell quoting. */
#include "config.h"
#include "launcher/argv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* First allocation: room for a typical `podman run` line. */
#define ARGV_INITIAL_CAP 32

/* Characters that never need quoting in a POSIX shell word. */
#define ARGV_SHELL_SAFE                                                        \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"           \
    "_@%+=:,./-"

void
argv_init(struct argv *a)
{
    a->v = NULL;
    a->n = 0;
    a->cap = 0;
    a->failed = false;
}

void
argv_fini(struct argv *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    argv_init(a);
}

/* Appends <s>, taking ownership of it (freed on failure). */
static void
argv_take(struct argv *a, char *s)
{
    char **v;
    size_t cap;

    if (s == NULL) {
        a->failed = true;
        return;
    }
    if (a->n + 1 >= a->cap) {
        cap = a->cap == 0 ? ARGV_INITIAL_CAP : a->cap * 2;
        v = realloc(a->v, cap * sizeof(*v));
        if (v == NULL) {
            free(s);
            a->failed = true;
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

void
argv_push(struct argv *a, const char *s)
{
    argv_take(a, strdup(s));
}

void
argv_pushf(struct argv *a, const char *fmt, ...)
{
    va_list ap;
    char *s;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0) {
        a->failed = true;
        return;
    }
    s = malloc((size_t)len + 1);
    if (s != NULL) {
        va_start(ap, fmt);
        vsnprintf(s, (size_t)len + 1, fmt, ap);
        va_end(ap);
    }
    argv_take(a, s);
}

void
argv_append(struct argv *a, const struct argv *b)
{
    for (size_t i = 0; i < b->n; i++)
        argv_push(a, b->v[i]);
    if (b->failed)
        a->failed = true;
}

int
argv_ok(const struct argv *a)
{
    return a->failed ? -1 : 0;
}

bool
argv_contains(const struct argv *a, const char *s)
{
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->v[i], s) == 0)
            return true;
    }
    return false;
}

/* Bytes needed to write <s> as one shell word, without a NUL. */
static size_t
argv_quoted_len(const char *s)
{
    size_t len = strlen(s), n = 2;

    if (len > 0 && strspn(s, ARGV_SHELL_SAFE) == len)
        return len;
    for (const char *p = s; *p != '\0'; p++)
        n += *p == '\'' ? sizeof("'\\''") - 1 : 1;
    return n;
}

static char *
argv_write_quoted(char *out, const char *s)
{
    size_t len = strlen(s);

    if (len > 0 && strspn(s, ARGV_SHELL_SAFE) == len) {
        memcpy(out, s, len);
        return out + len;
    }
    *out++ = '\'';
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '\'') {
            memcpy(out, "'\\''", sizeof("'\\''") - 1);
            out += sizeof("'\\''") - 1;
        } else {
            *out++ = *p;
        }
    }
    *out++ = '\'';
    return out;
}

char *
argv_to_shell(const struct argv *a)
{
    size_t total = 1;
    char *buf, *p;

    for (size_t i = 0; i < a->n; i++)
        total += argv_quoted_len(a->v[i]) + 1;
    buf = malloc(total);
    if (buf == NULL)
        return NULL;
    p = buf;
    for (size_t i = 0; i < a->n; i++) {
        if (i > 0)
            *p++ = ' ';
        p = argv_write_quoted(p, a->v[i]);
    }
    *p = '\0';
    return buf;
}
