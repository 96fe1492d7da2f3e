/* launcher/launch-t.h - everything one `sluice run` has decided: engine,
 * names, resource limits, paths on the host, and what was learned from
 * the engine once the network and sidecar exist.
 * Filled by launcher/main.c (options) and launcher/run.c (engine answers);
 * read by launcher/runtime.c, which turns it into engine argv arrays, and
 * by the unit tests, which fill one by hand. */
#ifndef LAUNCHER_LAUNCH_T_H
#define LAUNCHER_LAUNCH_T_H

#include <stdbool.h>
#include <stdint.h>

#include "launcher/argv.h"

enum runtime_engine { RUNTIME_PODMAN = 0, RUNTIME_DOCKER };

/* Session ids follow the policy's name rule: 1 to 64 of [A-Za-z0-9_.-]. */
#define LAUNCH_SESSION_MAX 65
/* 256-bit token, as lower-case hex, plus NUL. */
#define LAUNCH_TOKEN_BYTES 32
#define LAUNCH_TOKEN_HEX (2 * LAUNCH_TOKEN_BYTES + 1)
/* Container, network and volume names: "sluice-" + session + "-proxy". */
#define LAUNCH_NAME_MAX 96
/* An address as the probe and the proxy URL need it: "[v6%zone]" fits. */
#define LAUNCH_ADDR_MAX 80
#define LAUNCH_PATH_MAX 4096
#define LAUNCH_CPUS_MAX 16

/* Ports the sidecar listens on inside its container (SPEC section 8). */
#define LAUNCH_PROXY_PORT 3128
#define LAUNCH_FETCH_PORT 3129

/* Where things live inside the containers. */
#define LAUNCH_AGENT_USER "1000:1000"
#define LAUNCH_AGENT_HOME "/home/agent"
#define LAUNCH_WORKSPACE "/workspace"
#define LAUNCH_SIDECAR_CONFIG "/etc/sluice"
#define LAUNCH_SIDECAR_RUN "/run/sluice"
#define LAUNCH_SIDECAR_BIN "/usr/bin/sluice"
#define LAUNCH_PROBE_BIN "/bin/busybox"

/* Labels on everything a session creates, so `podman ps --filter
 * label=sluice.session=ID` finds it all. */
#define LAUNCH_LABEL_SESSION "sluice.session"
#define LAUNCH_LABEL_ROLE "sluice.role"

struct launch {
    enum runtime_engine engine;
    bool dry_run;
    bool keep;
    bool tty;      /* stdin is a terminal: the agent gets -t */
    bool rootless; /* podman run by a non-root user: keep-id mappings */

    char session[LAUNCH_SESSION_MAX];
    char token[LAUNCH_TOKEN_HEX];

    /* Engine object names. <net> is ours to create and remove unless
     * own_network is false (--network NET). */
    char net[LAUNCH_NAME_MAX];
    bool own_network;
    char sidecar[LAUNCH_NAME_MAX];
    char probe[LAUNCH_NAME_MAX];
    char agent[LAUNCH_NAME_MAX];
    char volume[LAUNCH_NAME_MAX]; /* --workspace-copy only */
    const char *egress_network;   /* borrowed */

    const char *image; /* borrowed from argv */
    char *const *cmd;  /* borrowed from argv; n_cmd may be 0 */
    int n_cmd;
    const char *proxy_image; /* borrowed */

    char workspace[LAUNCH_PATH_MAX]; /* absolute; "" = none */
    bool workspace_copy;

    char cpus[LAUNCH_CPUS_MAX]; /* as given, validated: "2", "0.5" */
    uint64_t memory_bytes;
    unsigned long pids;
    uint64_t tmp_bytes;  /* tmpfs /tmp: a share of memory_bytes */
    uint64_t home_bytes; /* tmpfs home: a smaller share */

    /* External gateway (--proxy HOST:PORT): no sidecar is started. */
    bool external_proxy;
    char proxy_host[LAUNCH_ADDR_MAX]; /* IP address; "[v6]" bracketed */
    unsigned proxy_port;
    unsigned fetch_port; /* 0: the policy has no fetch channel */

    /* Host paths; see docs/launcher.md for the layout. */
    char state_dir[LAUNCH_PATH_MAX];
    char config_dir[LAUNCH_PATH_MAX]; /* -> /etc/sluice, read-only */
    char run_dir[LAUNCH_PATH_MAX];    /* -> /run/sluice, read-write */
    char env_file[LAUNCH_PATH_MAX];
    char seccomp_agent[LAUNCH_PATH_MAX];
    char seccomp_sidecar[LAUNCH_PATH_MAX];
    unsigned sidecar_uid, sidecar_gid;

    /* Learned from the engine after start (placeholders in --dry-run):
     * the sidecar's address on the internal network and on the egress
     * network, and the host-side addresses the agent must not reach. */
    char sidecar_addr[LAUNCH_ADDR_MAX];
    char sidecar_egress_addr[LAUNCH_ADDR_MAX];
    struct argv host_addrs; /* "ADDR" strings */

    struct argv user_env; /* --env K=V, validated */
    /* --probe-target, already resolved: probe directives
     * "block|probe target HOST:PORT|ADDR|PORT" (launcher/probe.h). */
    struct argv probe_targets;
};

#endif /* LAUNCHER_LAUNCH_T_H */
