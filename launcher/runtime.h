/* launcher/runtime.h - the engine commands of one session, as argv arrays
 * for docker and for podman. Pure: builds arrays from a struct launch and
 * never runs anything (launcher/exec.h does). Everything the launcher asks
 * of an engine is one of these steps, so the unit tests see every command
 * the launcher can run, and --dry-run prints exactly these arrays. */
#ifndef LAUNCHER_RUNTIME_H
#define LAUNCHER_RUNTIME_H

#include <stdbool.h>

#include "launcher/argv.h"
#include "launcher/launch-t.h"

enum runtime_step {
    RUNTIME_ENGINE_CHECK,       /* is the engine installed and running? */
    RUNTIME_IMAGE_EXISTS,       /* the agent image is present locally */
    RUNTIME_PROXY_IMAGE_EXISTS, /* the sidecar (and probe) image */
    RUNTIME_NET_CREATE,         /* the per-session internal network */
    RUNTIME_NET_INSPECT,        /* its host bridge and gateways */
    RUNTIME_EGRESS_INSPECT,     /* the egress network's bridge and gateways */
    RUNTIME_SIDECAR_CREATE,
    RUNTIME_SIDECAR_CONNECT, /* docker: a second network after create */
    RUNTIME_SIDECAR_START,
    RUNTIME_SIDECAR_ADDR,        /* its address on the internal network */
    RUNTIME_SIDECAR_EGRESS_ADDR, /* its address on the egress network */
    RUNTIME_SIDECAR_RUNNING,     /* "true" while it runs */
    RUNTIME_SIDECAR_LOGS,        /* why it stopped */
    RUNTIME_PROBE_RUN,           /* the containment probe, to completion */
    RUNTIME_VOLUME_CREATE,       /* --workspace-copy */
    RUNTIME_AGENT_CREATE,
    RUNTIME_AGENT_COPY,  /* --workspace-copy: DIR/. into the volume */
    RUNTIME_AGENT_START, /* attached; its exit status is the agent's */
    RUNTIME_AGENT_RM,
    RUNTIME_PROBE_RM,
    RUNTIME_SIDECAR_STOP, /* SIGTERM: the proxy finishes its log lines */
    RUNTIME_SIDECAR_RM,
    RUNTIME_VOLUME_RM,
    RUNTIME_NET_RM
};

/* Engine name as typed on the command line ("podman", "docker"). */
const char *runtime_engine_name(enum runtime_engine e);

/* Parses "podman" or "docker". Returns 0, or -1 for anything else. */
int runtime_engine_parse(const char *name, enum runtime_engine *out);

/* True if <step> applies to this launch: e.g. RUNTIME_SIDECAR_CONNECT only
 * on docker, the sidecar steps only without --proxy, the volume steps only
 * with --workspace-copy, RUNTIME_NET_RM only for a network we created and
 * without --keep. */
bool runtime_step_applies(const struct launch *l, enum runtime_step step);

/* Appends the argv of <step> for <l> to <out> (which should be empty),
 * starting with the engine's name. Returns 0, or -1 if the step does not
 * apply or memory ran out (out->failed). */
int runtime_build_argv(const struct launch *l, enum runtime_step step,
                       struct argv *out);

/* The options that decide what the agent's network namespace can reach:
 * network, DNS, IPv6 sysctls, host proxy variables. The probe and the agent
 * both get exactly these, from this one function. */
void runtime_push_net_settings(const struct launch *l, struct argv *out);

#endif /* LAUNCHER_RUNTIME_H */
