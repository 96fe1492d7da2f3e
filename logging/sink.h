/* logging/sink.h - where finished JSONL lines go: a file (append) or
 * stdout. Whole lines only, each write(2) carrying one or more complete
 * lines, so lines from several writers never interleave. Lines may be
 * appended and flushed together once per loop pass (one syscall for many
 * requests); a failed or short write marks the sink failed (the proxy then
 * refuses new requests: SPEC section 5, fail closed) and keeps the unwritten
 * lines for the next attempt, until a write succeeds. */
#ifndef LOGGING_SINK_H
#define LOGGING_SINK_H

#include <stdbool.h>
#include <stddef.h>

struct sink;

/* Opens <path> for appending (created 0640), or stdout for "-". Returns a
 * new sink; free with sink_free(). NULL with <err> filled on failure. */
struct sink *sink_open(const char *path, char *err, size_t errlen);

/* Flushes what is queued, frees <s> and closes its file (never stdout).
 * NULL is a no-op. */
void sink_free(struct sink *s);

/* Queues <len> bytes (one complete line) and flushes at once. Returns 0,
 * or -1 if the line could not be written whole (it stays queued). */
int sink_write(struct sink *s, const char *line, size_t len);

/* Unwritten lines kept while the sink fails; past this, lines are lost
 * (and counted as failures). Refusing new requests keeps it from filling. */
#define SINK_PENDING_MAX (4 * 1024 * 1024)

/* Queues one complete line for the next sink_flush(). Returns 0, or -1 if
 * the queue is full (the line is lost and the sink marked failed). */
int sink_append(struct sink *s, const char *line, size_t len);

/* Writes every queued line with one write(2). Returns 0, or -1 (failed
 * flag set; a partly written batch is cut back and kept for the next
 * flush). No-op returning 0 when nothing is queued. */
int sink_flush(struct sink *s);

/* True if lines are queued. */
bool sink_has_pending(const struct sink *s);

/* Free space below which a file sink reports no room: the lines of
 * requests already in flight must still fit when new ones are refused. */
#define SINK_RESERVE_BYTES (16 * 1024)

/* False when <s> is a file on a file system with less than
 * SINK_RESERVE_BYTES free, or a device or pipe that refuses a write of
 * zero bytes; true when it cannot tell. */
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
