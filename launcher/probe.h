/* launcher/probe.h - the containment probe: the directives that tell the
 * embedded script (container/probe.sh) what to check, and the reading of
 * its verdict. Pure code: building and parsing only; launcher/run.c runs
 * the probe container through launcher/runtime.h. */
#ifndef LAUNCHER_PROBE_H
#define LAUNCHER_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "launcher/argv.h"
#include "launcher/launch-t.h"

/* The script the probe container runs with busybox sh. */
extern const char *const probe_script;

/* TCP ports tried on every address that must be unreachable: one refusal
 * or acceptance on any of them proves a path. */
#define PROBE_BLOCK_PORTS "22,53,80,443,3128,3129,8080"

/* Appends the directives for <l>: the proxy port(s) must be reachable;
 * the sidecar's egress-side address and every l->host_addrs entry must
 * not be; none of those nor the sidecar nor docker's 127.0.0.11 may
 * answer DNS; then l->probe_targets. */
void probe_push_directives(const struct launch *l, struct argv *out);

/* Resolves --probe-target <text> ("HOST:PORT", "[v6]:PORT") on the host
 * and appends one "block|probe target TEXT|ADDR|PORT" directive per
 * address to <out>. Returns 0, or -1 with a one-line reason in <err>. */
int probe_target_add(const char *text, struct argv *out, char *err,
                     size_t errlen);

/* The probe's verdict, read from its output. */
struct probe_report {
    unsigned passed;
    bool done;            /* the script ran to its end */
    struct argv failures; /* the text of each FAIL line */
};

/* Reads the script's output <text>. The probe holds only if
 * probe_report_holds() says so afterwards. */
void probe_report_parse(const char *text, struct probe_report *r);
bool probe_report_holds(const struct probe_report *r);
void probe_report_fini(struct probe_report *r);

#endif /* LAUNCHER_PROBE_H */
