/* launcher/buf.c - growable text buffer. */
#include "config.h"
#include "launcher/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_INITIAL_CAP 256

void
buf_init(struct buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = false;
}

void
buf_fini(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

/* Makes room for <extra> more bytes plus the NUL. */
static int
buf_reserve(struct buf *b, size_t extra)
{
    size_t cap = b->cap == 0 ? BUF_INITIAL_CAP : b->cap;
    char *data;

    if (b->failed)
        return -1;
    if (extra > (size_t)-1 / 2 - b->len) {
        b->failed = true;
        return -1;
    }
    while (cap < b->len + extra + 1)
        cap *= 2;
    if (cap == b->cap)
        return 0;
    data = realloc(b->data, cap);
    if (data == NULL) {
        b->failed = true;
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

void
buf_add(struct buf *b, const char *s, size_t len)
{
    if (buf_reserve(b, len) == -1)
        return;
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0) {
        b->failed = true;
        return;
    }
    if (buf_reserve(b, (size_t)len) == -1)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)len + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)len;
}

char *
buf_take(struct buf *b)
{
    char *s;

    if (b->failed) {
        buf_fini(b);
        return NULL;
    }
    s = b->data != NULL ? b->data : strdup("");
    buf_init(b);
    return s;
}
