/* launcher/exec.h - running engine commands: argv arrays through fork and
 * execvp, never a shell. Also the launcher's signal handling: SIGINT,
 * SIGTERM and SIGHUP only set a flag, so every step can stop cleanly and
 * the clean-up always runs. Called by launcher/run.c. */
#ifndef LAUNCHER_EXEC_H
#define LAUNCHER_EXEC_H

#include <stdbool.h>
#include <stddef.h>

/* Output kept from one command; the rest is read and dropped. */
#define EXEC_CAPTURE_MAX (1024 * 1024)

struct exec_result {
    int status; /* exit code, or 128 + signal */
    char *out;  /* stdout, NUL-terminated (never NULL after success) */
    size_t out_len;
    char *err; /* stderr, NUL-terminated */
    size_t err_len;
};

/* Installs the flag-setting handlers for SIGINT, SIGTERM and SIGHUP (and
 * ignores SIGPIPE). Returns 0 or -1. */
int exec_signals_install(void);

/* The signal that asked us to stop, or 0. */
int exec_interrupted(void);

/* True if <name> is an executable file in one of $PATH's directories. */
bool exec_in_path(const char *name);

/* Runs argv[0] (searched in $PATH) with stdin from /dev/null, capturing
 * stdout and stderr. The child gets a process group of its own, so a
 * Ctrl-C at the terminal reaches us, not it. If <interruptible> and we are
 * asked to stop, the child gets SIGTERM and we wait for it. Returns 0 with
 * <r> filled (release with exec_result_fini()), or -1 if the command could
 * not be started (r->status 127: not found) with <r> still safe to fini. */
int exec_capture(char *const argv[], bool interruptible, struct exec_result *r);
void exec_result_fini(struct exec_result *r);

/* Runs argv[0] attached to our stdin, stdout and stderr and returns its
 * exit status (128 + signal if it was killed), or -1 if it could not be
 * started. It stays in our process group so that it can own the terminal;
 * a stop signal sent to us alone is passed on to it. */
int exec_attached(char *const argv[]);

#endif /* LAUNCHER_EXEC_H */
