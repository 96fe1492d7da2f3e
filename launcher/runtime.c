/* launcher/runtime.c - engine argv arrays for docker and podman.
 * Where the two CLIs differ, the podman form is the one CONTAINERS.md
 * measured; the docker form is the documented equivalent. */
#include "config.h"
#include "launcher/runtime.h"

#include <inttypes.h>
#include <string.h>

#include "launcher/probe.h"

/* The sidecar and the probe are ours: fixed, generous limits. */
#define RUNTIME_SIDECAR_PIDS 512
#define RUNTIME_SIDECAR_MEMORY "1073741824"
#define RUNTIME_PROBE_PIDS 64
#define RUNTIME_PROBE_MEMORY "67108864"
/* Seconds `stop` waits after SIGTERM: the proxy closes idle connections
 * at once, and the agent is gone by then. */
#define RUNTIME_STOP_TIMEOUT "10"

/* Go templates for `inspect`. Docker names a user network's bridge
 * br-<first 12 of the id> unless an option says otherwise. */
#define RUNTIME_PODMAN_NET_FORMAT                                              \
    "{{.NetworkInterface}} {{range .Subnets}}{{.Gateway}} {{end}}"
#define RUNTIME_DOCKER_NET_FORMAT                                              \
    "{{with index .Options \"com.docker.network.bridge.name\"}}{{.}}"          \
    "{{else}}br-{{printf \"%.12s\" $.Id}}{{end}} "                             \
    "{{range .IPAM.Config}}{{.Gateway}} {{end}}"

const char *
runtime_engine_name(enum runtime_engine e)
{
    switch (e) {
    case RUNTIME_PODMAN:
        return "podman";
    case RUNTIME_DOCKER:
        return "docker";
    }
    return "?";
}

int
runtime_engine_parse(const char *name, enum runtime_engine *out)
{
    if (strcmp(name, "podman") == 0) {
        *out = RUNTIME_PODMAN;
        return 0;
    }
    if (strcmp(name, "docker") == 0) {
        *out = RUNTIME_DOCKER;
        return 0;
    }
    return -1;
}

bool
runtime_step_applies(const struct launch *l, enum runtime_step step)
{
    bool sidecar = !l->external_proxy;

    switch (step) {
    case RUNTIME_ENGINE_CHECK:
    case RUNTIME_IMAGE_EXISTS:
    case RUNTIME_PROXY_IMAGE_EXISTS:
    case RUNTIME_NET_INSPECT:
    case RUNTIME_PROBE_RUN:
    case RUNTIME_AGENT_CREATE:
    case RUNTIME_AGENT_START:
    case RUNTIME_AGENT_RM:
    case RUNTIME_PROBE_RM:
        return true;
    case RUNTIME_NET_CREATE:
        return l->own_network;
    case RUNTIME_NET_RM:
        return l->own_network && !l->keep;
    case RUNTIME_EGRESS_INSPECT:
    case RUNTIME_SIDECAR_CREATE:
    case RUNTIME_SIDECAR_START:
    case RUNTIME_SIDECAR_ADDR:
    case RUNTIME_SIDECAR_EGRESS_ADDR:
    case RUNTIME_SIDECAR_RUNNING:
    case RUNTIME_SIDECAR_LOGS:
        return sidecar;
    case RUNTIME_SIDECAR_CONNECT:
        return sidecar && l->engine == RUNTIME_DOCKER;
    case RUNTIME_SIDECAR_STOP:
    case RUNTIME_SIDECAR_RM:
        return sidecar && !l->keep;
    case RUNTIME_VOLUME_CREATE:
    case RUNTIME_AGENT_COPY:
    case RUNTIME_VOLUME_RM:
        return l->workspace_copy;
    }
    return false;
}

static void
runtime_push_labels(const struct launch *l, struct argv *a, const char *role)
{
    argv_push(a, "--label");
    argv_pushf(a, "%s=%s", LAUNCH_LABEL_SESSION, l->session);
    argv_push(a, "--label");
    argv_pushf(a, "%s=%s", LAUNCH_LABEL_ROLE, role);
}

void
runtime_push_net_settings(const struct launch *l, struct argv *a)
{
    argv_push(a, "--network");
    argv_push(a, l->net);
    /* Names resolve only through the proxy. podman has "none"; docker
     * wants an address, and 0.0.0.0 leaves its embedded resolver nowhere
     * to forward to. The probe checks either way. */
    argv_push(a, "--dns");
    argv_push(a, l->engine == RUNTIME_PODMAN ? "none" : "0.0.0.0");
    /* The host bridge always has an fe80:: address, reachable over IPv6
     * even on an internal network (CONTAINERS.md). */
    argv_push(a, "--sysctl");
    argv_push(a, "net.ipv6.conf.all.disable_ipv6=1");
    argv_push(a, "--sysctl");
    argv_push(a, "net.ipv6.conf.default.disable_ipv6=1");
    /* podman copies the host's proxy variables in by default, NO_PROXY
     * included, even when the container sets its own. */
    if (l->engine == RUNTIME_PODMAN)
        argv_push(a, "--http-proxy=false");
}

/* Hardening shared by the agent, the probe and the sidecar. */
static void
runtime_push_hardening(const struct launch *l, struct argv *a,
                       const char *seccomp)
{
    argv_push(a, "--cap-drop=ALL");
    argv_push(a, "--security-opt");
    argv_push(a, "no-new-privileges");
    argv_push(a, "--security-opt");
    argv_pushf(a, "seccomp=%s", seccomp);
    argv_push(a, "--read-only");
    /* Plain --read-only makes podman add unsized tmpfs mounts. */
    if (l->engine == RUNTIME_PODMAN)
        argv_push(a, "--read-only-tmpfs=false");
}

static void
runtime_push_agent(const struct launch *l, struct argv *a)
{
    argv_push(a, "create");
    argv_push(a, "--name");
    argv_push(a, l->agent);
    runtime_push_labels(l, a, "agent");
    /* Without an init, zombies fill the pids limit for good. */
    argv_push(a, "--init");
    runtime_push_net_settings(l, a);
    runtime_push_hardening(l, a, l->seccomp_agent);
    argv_push(a, "--pids-limit");
    argv_pushf(a, "%lu", l->pids);
    argv_push(a, "--memory");
    argv_pushf(a, "%" PRIu64, l->memory_bytes);
    argv_push(a, "--cpus");
    argv_push(a, l->cpus);
    /* Sized tmpfs: their pages count against --memory. Not noexec: go
     * test and build scripts run binaries from /tmp, and the workspace is
     * writable and executable anyway. */
    argv_push(a, "--tmpfs");
    if (l->engine == RUNTIME_PODMAN)
        /* podman 4.3 gives the mount the mode of the image's directory
         * whatever mode= says, and refuses uid=; U chowns it to --user. */
        argv_pushf(a, "/tmp:rw,size=%" PRIu64 ",mode=1777,nosuid,nodev,U",
                   l->tmp_bytes);
    else
        argv_pushf(a, "/tmp:rw,size=%" PRIu64 ",mode=1777,nosuid,nodev",
                   l->tmp_bytes);
    argv_push(a, "--tmpfs");
    if (l->engine == RUNTIME_PODMAN)
        argv_pushf(a, "%s:rw,size=%" PRIu64 ",mode=0700,nosuid,nodev,U",
                   LAUNCH_AGENT_HOME, l->home_bytes);
    else
        argv_pushf(a,
                   "%s:rw,size=%" PRIu64
                   ",mode=0700,nosuid,nodev,uid=1000,gid=1000",
                   LAUNCH_AGENT_HOME, l->home_bytes);
    argv_push(a, "--user");
    argv_push(a, LAUNCH_AGENT_USER);
    if (l->rootless) {
        /* The host user's files appear as the agent's own in /workspace. */
        argv_push(a, "--userns");
        argv_push(a, "keep-id:uid=1000,gid=1000");
    }
    /* Secrets and the whole environment go through a 0600 file, never on
     * a command line that `ps` shows. */
    argv_push(a, "--env-file");
    argv_push(a, l->env_file);
    if (l->workspace_copy) {
        argv_push(a, "--volume");
        argv_pushf(a, "%s:%s", l->volume, LAUNCH_WORKSPACE);
    } else if (l->workspace[0] != '\0') {
        argv_push(a, "--volume");
        argv_pushf(a, "%s:%s:rw", l->workspace, LAUNCH_WORKSPACE);
    }
    if (l->workspace[0] != '\0') {
        argv_push(a, "--workdir");
        argv_push(a, LAUNCH_WORKSPACE);
    }
    argv_push(a, "--interactive");
    if (l->tty)
        argv_push(a, "--tty");
    argv_push(a, l->image);
    for (int i = 0; i < l->n_cmd; i++)
        argv_push(a, l->cmd[i]);
}

static void
runtime_push_sidecar(const struct launch *l, struct argv *a)
{
    argv_push(a, "create");
    argv_push(a, "--name");
    argv_push(a, l->sidecar);
    runtime_push_labels(l, a, "proxy");
    argv_push(a, "--init");
    if (l->engine == RUNTIME_PODMAN) {
        argv_push(a, "--network");
        argv_push(a, l->net);
        argv_push(a, "--network");
        argv_push(a, l->egress_network);
        argv_push(a, "--http-proxy=false");
    } else {
        /* docker create takes one network; the internal one is connected
         * before start (RUNTIME_SIDECAR_CONNECT). */
        argv_push(a, "--network");
        argv_push(a, l->egress_network);
    }
    runtime_push_hardening(l, a, l->seccomp_sidecar);
    argv_push(a, "--pids-limit");
    argv_pushf(a, "%d", RUNTIME_SIDECAR_PIDS);
    argv_push(a, "--memory");
    argv_push(a, RUNTIME_SIDECAR_MEMORY);
    argv_push(a, "--user");
    argv_pushf(a, "%u:%u", l->sidecar_uid, l->sidecar_gid);
    if (l->rootless) {
        argv_push(a, "--userns");
        argv_push(a, "keep-id");
    }
    argv_push(a, "--volume");
    argv_pushf(a, "%s:%s:ro", l->config_dir, LAUNCH_SIDECAR_CONFIG);
    argv_push(a, "--volume");
    argv_pushf(a, "%s:%s:rw", l->run_dir, LAUNCH_SIDECAR_RUN);
    argv_push(a, "--entrypoint");
    argv_push(a, LAUNCH_SIDECAR_BIN);
    argv_push(a, l->proxy_image);
    argv_push(a, "serve");
    argv_push(a, "-c");
    argv_push(a, LAUNCH_SIDECAR_CONFIG "/policy.yaml");
}

static void
runtime_push_probe(const struct launch *l, struct argv *a)
{
    argv_push(a, "run");
    argv_push(a, "--rm");
    argv_push(a, "--name");
    argv_push(a, l->probe);
    runtime_push_labels(l, a, "probe");
    runtime_push_net_settings(l, a);
    runtime_push_hardening(l, a, l->seccomp_agent);
    argv_push(a, "--pids-limit");
    argv_pushf(a, "%d", RUNTIME_PROBE_PIDS);
    argv_push(a, "--memory");
    argv_push(a, RUNTIME_PROBE_MEMORY);
    argv_push(a, "--user");
    argv_push(a, LAUNCH_AGENT_USER);
    argv_push(a, "--entrypoint");
    argv_push(a, LAUNCH_PROBE_BIN);
    argv_push(a, l->proxy_image);
    argv_push(a, "sh");
    argv_push(a, "-c");
    argv_push(a, probe_script);
    argv_push(a, "sluice-probe");
    probe_push_directives(l, a);
}

static void
runtime_push_inspect_addr(const struct launch *l, struct argv *a,
                          const char *net)
{
    argv_push(a, "inspect");
    argv_push(a, "--format");
    argv_pushf(a, "{{(index .NetworkSettings.Networks \"%s\").IPAddress}}",
               net);
    argv_push(a, l->sidecar);
}

static void
runtime_push_net_inspect(const struct launch *l, struct argv *a,
                         const char *net)
{
    argv_push(a, "network");
    argv_push(a, "inspect");
    argv_push(a, "--format");
    argv_push(a, l->engine == RUNTIME_PODMAN ? RUNTIME_PODMAN_NET_FORMAT
                                             : RUNTIME_DOCKER_NET_FORMAT);
    argv_push(a, net);
}

/* `rm -f` of one container; podman needs --ignore to exit 0 when it is
 * already gone (and removes nothing at all without it if one name of
 * several is missing). */
static void
runtime_push_rm(const struct launch *l, struct argv *a, const char *name)
{
    argv_push(a, "rm");
    argv_push(a, "--force");
    if (l->engine == RUNTIME_PODMAN)
        argv_push(a, "--ignore");
    argv_push(a, name);
}

int
runtime_build_argv(const struct launch *l, enum runtime_step step,
                   struct argv *a)
{
    if (!runtime_step_applies(l, step))
        return -1;
    argv_push(a, runtime_engine_name(l->engine));
    switch (step) {
    case RUNTIME_ENGINE_CHECK:
        /* docker version fails without a reachable daemon; podman info
         * fails when its storage or runtime cannot be used. */
        if (l->engine == RUNTIME_PODMAN) {
            argv_push(a, "info");
            argv_push(a, "--format");
            argv_push(a, "{{.Host.OCIRuntime.Name}}");
        } else {
            argv_push(a, "version");
            argv_push(a, "--format");
            argv_push(a, "{{.Server.Version}}");
        }
        break;
    case RUNTIME_IMAGE_EXISTS:
    case RUNTIME_PROXY_IMAGE_EXISTS:
        argv_push(a, "image");
        argv_push(a, "inspect");
        argv_push(a, "--format");
        argv_push(a, "{{.Id}}");
        argv_push(a, step == RUNTIME_IMAGE_EXISTS ? l->image : l->proxy_image);
        break;
    case RUNTIME_NET_CREATE:
        argv_push(a, "network");
        argv_push(a, "create");
        argv_push(a, "--internal");
        if (l->engine == RUNTIME_PODMAN) {
            /* No aardvark on the bridge: no DNS server and no host
             * address for the agent to reach. No --gateway either. */
            argv_push(a, "--disable-dns");
        } else {
            /* Docker puts a gateway address on every bridge unless told
             * not to (Engine 26.1+); the probe checks the result. */
            argv_push(a, "--opt");
            argv_push(a, "com.docker.network.bridge.inhibit_ipv4=true");
        }
        argv_push(a, "--label");
        argv_pushf(a, "%s=%s", LAUNCH_LABEL_SESSION, l->session);
        argv_push(a, l->net);
        break;
    case RUNTIME_NET_INSPECT:
        runtime_push_net_inspect(l, a, l->net);
        break;
    case RUNTIME_EGRESS_INSPECT:
        runtime_push_net_inspect(l, a, l->egress_network);
        break;
    case RUNTIME_SIDECAR_CREATE:
        runtime_push_sidecar(l, a);
        break;
    case RUNTIME_SIDECAR_CONNECT:
        argv_push(a, "network");
        argv_push(a, "connect");
        argv_push(a, l->net);
        argv_push(a, l->sidecar);
        break;
    case RUNTIME_SIDECAR_START:
        argv_push(a, "start");
        argv_push(a, l->sidecar);
        break;
    case RUNTIME_SIDECAR_ADDR:
        runtime_push_inspect_addr(l, a, l->net);
        break;
    case RUNTIME_SIDECAR_EGRESS_ADDR:
        runtime_push_inspect_addr(l, a, l->egress_network);
        break;
    case RUNTIME_SIDECAR_RUNNING:
        argv_push(a, "inspect");
        argv_push(a, "--format");
        argv_push(a, "{{.State.Running}}");
        argv_push(a, l->sidecar);
        break;
    case RUNTIME_SIDECAR_LOGS:
        argv_push(a, "logs");
        argv_push(a, l->sidecar);
        break;
    case RUNTIME_PROBE_RUN:
        runtime_push_probe(l, a);
        break;
    case RUNTIME_VOLUME_CREATE:
        argv_push(a, "volume");
        argv_push(a, "create");
        argv_push(a, "--label");
        argv_pushf(a, "%s=%s", LAUNCH_LABEL_SESSION, l->session);
        argv_push(a, l->volume);
        break;
    case RUNTIME_AGENT_CREATE:
        runtime_push_agent(l, a);
        break;
    case RUNTIME_AGENT_COPY:
        /* podman and docker both hand the files to the container's user. */
        argv_push(a, "cp");
        argv_pushf(a, "%s/.", l->workspace);
        argv_pushf(a, "%s:%s", l->agent, LAUNCH_WORKSPACE);
        break;
    case RUNTIME_AGENT_START:
        argv_push(a, "start");
        argv_push(a, "--attach");
        argv_push(a, "--interactive");
        argv_push(a, l->agent);
        break;
    case RUNTIME_AGENT_RM:
        runtime_push_rm(l, a, l->agent);
        break;
    case RUNTIME_PROBE_RM:
        runtime_push_rm(l, a, l->probe);
        break;
    case RUNTIME_SIDECAR_STOP:
        argv_push(a, "stop");
        argv_push(a, "--time");
        argv_push(a, RUNTIME_STOP_TIMEOUT);
        argv_push(a, l->sidecar);
        break;
    case RUNTIME_SIDECAR_RM:
        runtime_push_rm(l, a, l->sidecar);
        break;
    case RUNTIME_VOLUME_RM:
        argv_push(a, "volume");
        argv_push(a, "rm");
        argv_push(a, "--force");
        argv_push(a, l->volume);
        break;
    case RUNTIME_NET_RM:
        argv_push(a, "network");
        argv_push(a, "rm");
        argv_push(a, "--force");
        argv_push(a, l->net);
        break;
    }
    return argv_ok(a);
}
