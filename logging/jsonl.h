/* logging/jsonl.h - building one JSON object per line (SPEC section 5).
 * A growable buffer plus writers for keys and values with correct string
 * escaping. No I/O: logging/sink.c writes the finished line. */
#ifndef LOGGING_JSONL_H
#define LOGGING_JSONL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lines are capped; a string value that would push a line past this is
 * cut at a character boundary and ends with "..." inside its quotes, so one
 * hostile path cannot blow up memory and the line stays valid JSON. Raw
 * JSON too big to fit is written as null. */
#define JSONL_LINE_MAX (64 * 1024)

struct jsonl {
    char *buf;
    size_t len, cap;
    bool need_comma;
    bool oom; /* an allocation failed, or a non-string member would
               * pass JSONL_LINE_MAX: the line is incomplete */
};

void jsonl_init(struct jsonl *j);
void jsonl_fini(struct jsonl *j);

/* Starts a new line: resets the buffer and writes "{". */
void jsonl_begin(struct jsonl *j);

/* Writes ,"key":value. <key> is a trusted literal, written unescaped. A
 * NULL string (jsonl_str, jsonl_strn) is written as null. */
void jsonl_str(struct jsonl *j, const char *key, const char *s);
void jsonl_strn(struct jsonl *j, const char *key, const char *s, size_t n);
void jsonl_int(struct jsonl *j, const char *key, int64_t v);
void jsonl_uint(struct jsonl *j, const char *key, uint64_t v);
void jsonl_bool(struct jsonl *j, const char *key, bool v);
void jsonl_null(struct jsonl *j, const char *key);
/* <raw> must already be valid JSON (an array built by the caller). */
void jsonl_raw(struct jsonl *j, const char *key, const char *raw);

/* Ends the object with "}\n". Returns 0, or -1 if the line is incomplete
 * (j->oom). The line is j->buf, j->len bytes. */
int jsonl_end(struct jsonl *j);

/* Appends the JSON string literal for <s> (n bytes, quotes included) to
 * <j>. Escapes '"', '\\' and every byte < 0x20 and 0x7f; passes valid UTF-8
 * through except U+2028/U+2029 (escaped, they end lines in JavaScript);
 * replaces each byte of an invalid UTF-8 sequence with \ufffd. */
void jsonl_quote(struct jsonl *j, const char *s, size_t n);

/* Writes an RFC 3339 UTC timestamp with milliseconds
 * ("2026-11-22T11:30:00.123Z") for <ms_since_epoch> into <out>. */
#define JSONL_TS_MAX 32
void jsonl_timestamp(int64_t ms_since_epoch, char out[JSONL_TS_MAX]);

#endif /* LOGGING_JSONL_H */
