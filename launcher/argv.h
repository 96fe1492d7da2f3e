/* launcher/argv.h - growable NULL-terminated string arrays: the argv of
 * every engine command, the lines of the agent's environment file, and
 * their shell-quoted rendering for --dry-run.
 * Pure code: no I/O. Used by every launcher/ file and by the unit tests,
 * which compare these arrays element by element. */
#ifndef LAUNCHER_ARGV_H
#define LAUNCHER_ARGV_H

#include <stdbool.h>
#include <stddef.h>

/* v[n] is always NULL, so v can go straight to execvp(). A push that runs
 * out of memory sets <failed> and leaves the array as it was; builders push
 * freely and check argv_ok() once at the end. */
struct argv {
    char **v;
    size_t n, cap;
    bool failed;
};

/* Sets <a> to an empty array (no allocation until the first push). */
void argv_init(struct argv *a);

/* Frees every string and the array; <a> is empty again afterwards. */
void argv_fini(struct argv *a);

/* Appends a copy of <s>. */
void argv_push(struct argv *a, const char *s);

/* Appends a copy of the formatted string. */
void argv_pushf(struct argv *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends copies of every string of <b>. */
void argv_append(struct argv *a, const struct argv *b);

/* Returns 0, or -1 if any push since argv_init() failed. */
int argv_ok(const struct argv *a);

/* True if <a> holds <s> as one of its strings. */
bool argv_contains(const struct argv *a, const char *s);

/* Returns a new string with <a> written as one shell command line: words
 * made only of [A-Za-z0-9_@%+=:,./-] as they are, others in single quotes
 * (a ' inside becomes '\''). Free with free(). NULL if out of memory. */
char *argv_to_shell(const struct argv *a);

#endif /* LAUNCHER_ARGV_H */
