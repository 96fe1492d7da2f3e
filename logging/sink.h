/* logging/sink.h - where finished JSONL lines go: a file (append) or
 * stdout. Each line is written with one write(2) so lines from several
 * writers never interleave; a failed or short write marks the sink failed
 * (the proxy then refuses new requests: SPEC section 5, fail closed) until
 * a later write succeeds. */
#ifndef LOGGING_SINK_H
#define LOGGING_SINK_H

#include <stdbool.h>
#include <stddef.h>

struct sink;

/* Opens <path> for appending (created 0640), or stdout for "-". Returns a
 * new sink; free with sink_free(). NULL with <err> filled on failure. */
struct sink *sink_open(const char *path, char *err, size_t errlen);

/* Frees <s> and closes its file (never stdout). NULL is a no-op. */
void sink_free(struct sink *s);

/* Writes <len> bytes (one complete line). Returns 0, or -1 if the line
 * could not be written whole; a short write is completed if possible and
 * otherwise counts as a failure. Updates the failed flag either way. */
int sink_write(struct sink *s, const char *line, size_t len);

/* Free space below which a file sink reports no room: the lines of
 * requests already in flight must still fit when new ones are refused. */
#define SINK_RESERVE_BYTES (16 * 1024)

/* False when <s> is a file on a file system with less than
 * SINK_RESERVE_BYTES free; true for stdout and when it cannot tell. */
bool sink_has_room(const struct sink *s);

/* True while the last write failed. */
bool sink_is_failed(const struct sink *s);

/* Number of failed writes since open. */
unsigned long sink_failures(const struct sink *s);

/* Reopens the file by path (after rotation, SIGUSR1). Returns 0, or -1
 * and keeps the old descriptor. No-op for stdout. */
int sink_reopen(struct sink *s);

/* The path given to sink_open(). */
const char *sink_path(const struct sink *s);

#endif /* LOGGING_SINK_H */
