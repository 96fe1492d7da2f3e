/* launcher/run.h - one session's life: state folder, sidecar, probe,
 * agent, clean-up, summary. Runs engine commands (launcher/exec.h) built
 * by launcher/runtime.h. Called by launcher/main.c once the options are
 * checked. */
#ifndef LAUNCHER_RUN_H
#define LAUNCHER_RUN_H

#include <stddef.h>

#include "launcher/launch-t.h"
#include "policy/policy-t.h"

/* Exit statuses of `sluice run` besides the agent's own. */
#define RUN_EXIT_USAGE 2   /* bad input, engine missing: nothing created */
#define RUN_EXIT_FAILURE 1 /* engine failure or probe refusal after start */

struct run_input {
    struct launch *l;       /* filled by main.c; completed here */
    const struct policy *p; /* checked, borrowed */
    char *const *tiers;     /* --tier, borrowed */
    size_t n_tiers;
    const char *policy_dir; /* for relative domains_files; NULL */
};

/* Prints the commands a run would execute, one per line and shell-quoted,
 * on stdout, with '#' comment lines for the files it would write. Runs
 * nothing. Returns 0, or RUN_EXIT_USAGE. */
int run_dry(struct run_input *in);

/* Runs the session. Returns the agent's exit status, RUN_EXIT_USAGE for
 * problems found before anything was created, RUN_EXIT_FAILURE when the
 * engine failed or the probe refused, or 128 + signal if interrupted.
 * Everything created is removed before it returns (--keep: the sidecar
 * and the network stay). */
int run_session(struct run_input *in);

#endif /* LAUNCHER_RUN_H */
