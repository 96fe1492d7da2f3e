/* launcher/buf.h - a growable text buffer for the generated sidecar policy
 * and the session summary. Pure code: no I/O. */
#ifndef LAUNCHER_BUF_H
#define LAUNCHER_BUF_H

#include <stdbool.h>
#include <stddef.h>

/* data is NUL-terminated whenever len > 0. An append that runs out of
 * memory sets <failed> and leaves the text as it was; writers append
 * freely and check once at the end. */
struct buf {
    char *data;
    size_t len, cap;
    bool failed;
};

void buf_init(struct buf *b);
void buf_fini(struct buf *b);
void buf_add(struct buf *b, const char *s, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Hands the text over: returns it (free with free()), or NULL if any
 * append failed; <b> is empty afterwards either way. An empty buffer
 * gives "". */
char *buf_take(struct buf *b);

#endif /* LAUNCHER_BUF_H */
