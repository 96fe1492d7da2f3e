/* launcher/run.c - one session, from the state folder to the summary.
 * Order matters: nothing is created before every input has been checked
 * (bad input leaves nothing behind), the agent starts only after the
 * probe held, and the clean-up runs on every path out. */
#include "config.h"
#include "launcher/run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "launcher/admin.h"
#include "launcher/argv.h"
#include "launcher/assets.h"
#include "launcher/exec.h"
#include "launcher/probe.h"
#include "launcher/runtime.h"
#include "launcher/session.h"
#include "launcher/sidecar.h"
#include "launcher/summary.h"

#define RUN_ERR_MAX (2 * LAUNCH_PATH_MAX)
/* How long the sidecar may take to log its start event, and how often we
 * look. A proxy that is not up by then has failed (its logs say why). */
#define RUN_SIDECAR_WAIT_MS 15000
#define RUN_SIDECAR_POLL_MS 25
#define RUN_SIDECAR_CHECK_EVERY 40 /* polls between "is it running?" */
/* Lines of an engine's stderr shown when it fails. */
#define RUN_STDERR_LINES 20
/* Placeholders that --dry-run prints for what only a real run learns. */
#define RUN_DRY_SIDECAR_ADDR "<sidecar-address>"
#define RUN_DRY_EGRESS_ADDR "<sidecar-egress-address>"
#define RUN_DRY_HOST_ADDR "<host-bridge-address>"
#define RUN_DRY_PROBE_SCRIPT "<container/probe.sh>"
#define RUN_DRY_TOKEN "<token>"

/* What exists and must be undone. */
struct run_state {
    bool state_dir;
    bool network;
    bool sidecar;
    bool probe_started;
    bool probe_finished;
    bool volume;
    bool agent;
    bool agent_started;
    bool tokens_added; /* external gateway's tokens file */
    bool env_file;
};

/* ---- small helpers ---------------------------------------------------- */

static double
run_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
run_sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000,
                           .tv_nsec = (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* Trims trailing whitespace of <s> in place. */
static void
run_trim(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && strchr(" \t\r\n", s[n - 1]) != NULL)
        s[--n] = '\0';
}

static int
run_path(char *out, const char *dir, const char *name)
{
    int w = snprintf(out, LAUNCH_PATH_MAX, "%s/%s", dir, name);

    return w < 0 || w >= LAUNCH_PATH_MAX ? -1 : 0;
}

/* Removes <path> and, for a directory, everything under it. Symlinks are
 * removed, never followed. */
static void
run_remove_tree(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    char child[LAUNCH_PATH_MAX];

    if (lstat(path, &st) == -1)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    d = opendir(path);
    if (d != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (run_path(child, path, e->d_name) == 0)
                run_remove_tree(child);
        }
        closedir(d);
    }
    rmdir(path);
}

/* Prints "sluice: WHAT failed (exit N): " and the engine's stderr. */
static void
run_report_failure(const char *what, const struct exec_result *r)
{
    const char *p = r->err != NULL ? r->err : "";
    int lines = 0;

    fprintf(stderr, "sluice: %s failed (exit %d)%s", what, r->status,
            *p != '\0' ? ":\n" : "\n");
    while (*p != '\0' && lines < RUN_STDERR_LINES) {
        size_t len = strcspn(p, "\n");

        fprintf(stderr, "  %.*s\n", (int)len, p);
        lines++;
        p += len;
        if (*p == '\n')
            p++;
    }
}

/* Runs <step>; on failure reports it (unless quiet) and returns -1. */
static int
run_step(const struct launch *l, enum runtime_step step, const char *what,
         bool interruptible, bool quiet, struct exec_result *r)
{
    struct argv a;
    int rc;

    argv_init(&a);
    if (runtime_build_argv(l, step, &a) == -1) {
        argv_fini(&a);
        memset(r, 0, sizeof(*r));
        if (!quiet)
            fprintf(stderr, "sluice: %s: out of memory\n", what);
        return -1;
    }
    rc = exec_capture(a.v, interruptible, r);
    argv_fini(&a);
    if (rc == -1) {
        if (!quiet)
            fprintf(stderr, "sluice: %s: cannot run %s\n", what,
                    runtime_engine_name(l->engine));
        return -1;
    }
    if (r->status != 0) {
        if (!quiet)
            run_report_failure(what, r);
        return -1;
    }
    return 0;
}

/* Runs a clean-up step: never interrupted, failures only reported. */
static void
run_undo(const struct launch *l, enum runtime_step step, const char *what)
{
    struct exec_result r;

    if (!runtime_step_applies(l, step))
        return;
    run_step(l, step, what, false, false, &r);
    exec_result_fini(&r);
}

/* ---- checks before anything is created ------------------------------- */

/* Engine present and working, images present. Returns 0 or
 * RUN_EXIT_USAGE (message printed). */
static int
run_preflight(const struct launch *l)
{
    const char *engine = runtime_engine_name(l->engine);
    struct exec_result r;
    char line[RUN_ERR_MAX];

    if (!exec_in_path(engine)) {
        fprintf(stderr, "sluice: %s is not installed (not found in PATH)\n",
                engine);
        return RUN_EXIT_USAGE;
    }
    if (run_step(l, RUNTIME_ENGINE_CHECK, "engine check", true, true, &r) ==
        -1) {
        snprintf(line, sizeof(line), "%s", r.err != NULL ? r.err : "");
        line[strcspn(line, "\n")] = '\0';
        fprintf(stderr, "sluice: %s is installed but not running%s%s\n", engine,
                line[0] != '\0' ? ": " : "", line);
        exec_result_fini(&r);
        return RUN_EXIT_USAGE;
    }
    exec_result_fini(&r);
    if (run_step(l, RUNTIME_IMAGE_EXISTS, "image check", true, true, &r) ==
        -1) {
        fprintf(stderr,
                "sluice: image %s not found locally (pull or build it first; "
                "sluice never pulls on its own)\n",
                l->image);
        exec_result_fini(&r);
        return RUN_EXIT_USAGE;
    }
    exec_result_fini(&r);
    if (run_step(l, RUNTIME_PROXY_IMAGE_EXISTS, "image check", true, true,
                 &r) == -1) {
        fprintf(stderr,
                "sluice: proxy image %s not found locally (build it from "
                "container/Dockerfile, or name one with --proxy-image)\n",
                l->proxy_image);
        exec_result_fini(&r);
        return RUN_EXIT_USAGE;
    }
    exec_result_fini(&r);
    if (!l->own_network) {
        if (run_step(l, RUNTIME_NET_INSPECT, "network check", true, true, &r) ==
            -1) {
            fprintf(stderr, "sluice: network %s not found\n", l->net);
            exec_result_fini(&r);
            return RUN_EXIT_USAGE;
        }
        exec_result_fini(&r);
    }
    if (!l->external_proxy) {
        if (run_step(l, RUNTIME_EGRESS_INSPECT, "network check", true, true,
                     &r) == -1) {
            fprintf(stderr, "sluice: egress network %s not found\n",
                    l->egress_network);
            exec_result_fini(&r);
            return RUN_EXIT_USAGE;
        }
        exec_result_fini(&r);
    }
    return 0;
}

/* ---- the state folder -------------------------------------------------- */

static int
run_write(const char *dir, const char *name, const char *text, mode_t mode)
{
    char path[LAUNCH_PATH_MAX];

    if (run_path(path, dir, name) == -1) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return session_write_file(path, text, strlen(text), mode);
}

/* Copies the host file <src> to <dst> (a new file, 0644). */
static int
run_copy_file(const char *src, const char *dst)
{
    char buf[65536];
    int in, out;
    ssize_t n;
    int rc = 0;

    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in == -1)
        return -1;
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out == -1) {
        close(in);
        return -1;
    }
    while ((n = read(in, buf, sizeof(buf))) != 0) {
        if (n == -1) {
            if (errno == EINTR)
                continue;
            rc = -1;
            break;
        }
        if (write(out, buf, (size_t)n) != n) {
            rc = -1;
            break;
        }
    }
    close(in);
    if (close(out) == -1)
        rc = -1;
    return rc;
}

/* Writes the sidecar's policy and its domains files into config_dir. */
static int
run_write_sidecar_policy(struct run_input *in, char *err, size_t errlen)
{
    struct launch *l = in->l;
    struct sidecar_conf c = { .session = l->session,
                              .tiers = in->tiers,
                              .n_tiers = in->n_tiers,
                              .policy_dir = in->policy_dir };
    struct argv copies;
    char dst[LAUNCH_PATH_MAX], *yaml;
    int rc = -1;

    argv_init(&copies);
    yaml = sidecar_policy_yaml(in->p, &c, &copies, err, errlen);
    if (yaml == NULL)
        goto out;
    if (run_write(l->config_dir, "policy.yaml", yaml, 0644) == -1) {
        snprintf(err, errlen, "%s/policy.yaml: %s", l->config_dir,
                 strerror(errno));
        goto out;
    }
    if (copies.n > 0) {
        if (run_path(dst, l->config_dir, SIDECAR_DOMAINS_DIR) == -1 ||
            mkdir(dst, 0755) == -1) {
            snprintf(err, errlen, "%s: %s", dst, strerror(errno));
            goto out;
        }
    }
    for (size_t i = 0; i + 1 < copies.n; i += 2) {
        if (run_path(dst, l->config_dir, copies.v[i + 1]) == -1 ||
            run_copy_file(copies.v[i], dst) == -1) {
            snprintf(err, errlen, "copying %s: %s", copies.v[i],
                     strerror(errno));
            goto out;
        }
    }
    rc = 0;
out:
    free(yaml);
    argv_fini(&copies);
    return rc;
}

/* Creates the state folder and everything the containers read from it.
 * The sidecar runs as sidecar_uid: it must own run_dir and be able to read
 * the tokens file. */
static int
run_prepare_state(struct run_input *in, struct run_state *st)
{
    struct launch *l = in->l;
    char err[RUN_ERR_MAX], tokens[LAUNCH_PATH_MAX], line[256];
    bool chown_needed = geteuid() == 0 && l->sidecar_uid != 0;

    if (session_mkdir_new(l->state_dir) == -1) {
        if (errno == EEXIST)
            fprintf(stderr,
                    "sluice: state folder %s already exists (session %s was "
                    "used before: pick another --session or remove it)\n",
                    l->state_dir, l->session);
        else
            fprintf(stderr, "sluice: cannot create state folder %s: %s\n",
                    l->state_dir, strerror(errno));
        return RUN_EXIT_USAGE;
    }
    st->state_dir = true;
    if (run_write(l->state_dir, "seccomp-agent.json", assets_seccomp_agent,
                  0644) == -1 ||
        run_write(l->state_dir, "seccomp-sluice.json", assets_seccomp_sluice,
                  0644) == -1) {
        fprintf(stderr, "sluice: writing seccomp profiles in %s: %s\n",
                l->state_dir, strerror(errno));
        return RUN_EXIT_FAILURE;
    }
    if (l->external_proxy)
        return 0;
    if (mkdir(l->config_dir, 0755) == -1 || chmod(l->config_dir, 0755) == -1 ||
        mkdir(l->run_dir, 0700) == -1 ||
        (chown_needed &&
         chown(l->run_dir, l->sidecar_uid, l->sidecar_gid) == -1)) {
        fprintf(stderr, "sluice: preparing %s: %s\n", l->state_dir,
                strerror(errno));
        return RUN_EXIT_FAILURE;
    }
    if (run_write_sidecar_policy(in, err, sizeof(err)) == -1) {
        fprintf(stderr, "sluice: sidecar policy: %s\n", err);
        return RUN_EXIT_FAILURE;
    }
    /* The token is in place before the proxy first reads its tokens file,
     * so no reload is needed for the session to be accepted. */
    snprintf(line, sizeof(line), "%s:%s\n", l->session, l->token);
    if (run_write(l->config_dir, "tokens", line, 0600) == -1 ||
        run_path(tokens, l->config_dir, "tokens") == -1 ||
        (chown_needed && chown(tokens, l->sidecar_uid, l->sidecar_gid) == -1)) {
        fprintf(stderr, "sluice: writing the tokens file: %s\n",
                strerror(errno));
        return RUN_EXIT_FAILURE;
    }
    return 0;
}

/* External gateway: add our token to its tokens file and ask it to
 * reload, when its policy checks credentials. */
static void
run_gateway_tokens(struct run_input *in, struct run_state *st)
{
    const struct policy *p = in->p;
    char err[RUN_ERR_MAX];

    if (p->auth_mode != AUTH_BASIC || p->tokens_file == NULL)
        return;
    if (session_tokens_add(p->tokens_file, in->l->session, in->l->token) ==
        -1) {
        fprintf(stderr,
                "sluice: warning: cannot add the session to %s (%s): the "
                "gateway will refuse this session\n",
                p->tokens_file, strerror(errno));
        return;
    }
    st->tokens_added = true;
    if (p->admin_socket == NULL)
        fprintf(stderr,
                "sluice: note: the gateway's policy has no admin socket; "
                "reload it (SIGHUP) so it accepts session %s\n",
                in->l->session);
    else if (admin_reload(p->admin_socket, err, sizeof(err)) == -1)
        fprintf(stderr, "sluice: warning: gateway reload: %s\n", err);
}

static void
run_gateway_tokens_undo(struct run_input *in)
{
    const struct policy *p = in->p;
    char err[RUN_ERR_MAX];

    if (session_tokens_remove(p->tokens_file, in->l->session) == -1) {
        fprintf(stderr, "sluice: warning: cannot remove session %s from %s\n",
                in->l->session, p->tokens_file);
        return;
    }
    if (p->admin_socket != NULL &&
        admin_reload(p->admin_socket, err, sizeof(err)) == -1)
        fprintf(stderr, "sluice: warning: gateway reload: %s\n", err);
}

/* ---- the sidecar -------------------------------------------------------- */

/* True once the sidecar's event log holds its start event. */
static bool
run_sidecar_started(const struct launch *l)
{
    char path[LAUNCH_PATH_MAX], buf[8192];
    bool found = false;
    FILE *f;

    if (run_path(path, l->run_dir, "events.jsonl") == -1)
        return false;
    f = fopen(path, "re");
    if (f == NULL)
        return false;
    while (!found && fgets(buf, sizeof(buf), f) != NULL)
        found = strstr(buf, "\"event\":\"start\"") != NULL;
    fclose(f);
    return found;
}

static int
run_wait_sidecar(const struct launch *l)
{
    struct exec_result r;
    int polls = 0;

    for (long waited = 0; waited < RUN_SIDECAR_WAIT_MS;
         waited += RUN_SIDECAR_POLL_MS) {
        if (run_sidecar_started(l))
            return 0;
        if (exec_interrupted() != 0)
            return -1;
        if (++polls % RUN_SIDECAR_CHECK_EVERY == 0) {
            bool running = run_step(l, RUNTIME_SIDECAR_RUNNING, "sidecar check",
                                    true, true, &r) == 0 &&
                           strncmp(r.out, "true", 4) == 0;

            exec_result_fini(&r);
            if (!running)
                break;
        }
        run_sleep_ms(RUN_SIDECAR_POLL_MS);
    }
    if (run_sidecar_started(l))
        return 0;
    fprintf(stderr, "sluice: the sidecar proxy did not start\n");
    if (run_step(l, RUNTIME_SIDECAR_LOGS, "sidecar logs", false, true, &r) ==
            0 ||
        r.err != NULL) {
        fprintf(stderr, "%s%s", r.out != NULL ? r.out : "",
                r.err != NULL ? r.err : "");
    }
    exec_result_fini(&r);
    return -1;
}

/* Reads one address printed by an inspect step into <out>. */
static int
run_read_addr(const struct launch *l, enum runtime_step step, const char *what,
              char *out, size_t outlen)
{
    struct exec_result r;
    int rc = -1;

    if (run_step(l, step, what, true, false, &r) == 0) {
        run_trim(r.out);
        if (r.out[0] != '\0' && strlen(r.out) < outlen &&
            strspn(r.out, "0123456789abcdefABCDEF.:") == strlen(r.out)) {
            memcpy(out, r.out, strlen(r.out) + 1);
            rc = 0;
        } else {
            fprintf(stderr, "sluice: %s: no usable address in '%s'\n", what,
                    r.out);
        }
    }
    exec_result_fini(&r);
    return rc;
}

static void
run_add_host_addr(struct launch *l, const char *addr)
{
    if (addr[0] == '\0' || strchr(addr, '<') != NULL ||
        argv_contains(&l->host_addrs, addr))
        return;
    argv_push(&l->host_addrs, addr);
}

/* From "IFNAME GW GW ..." (a network inspect): the gateways, and every
 * address the host has on that bridge. */
static void
run_collect_host_addrs(struct launch *l, char *inspect)
{
    char *save = NULL, *ifname, *tok;
    struct ifaddrs *ifs = NULL;
    char host[NI_MAXHOST];

    ifname = strtok_r(inspect, " \t\r\n", &save);
    if (ifname == NULL)
        return;
    while ((tok = strtok_r(NULL, " \t\r\n", &save)) != NULL)
        run_add_host_addr(l, tok);
    if (getifaddrs(&ifs) == -1)
        return;
    for (struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next) {
        socklen_t len;

        if (i->ifa_addr == NULL || strcmp(i->ifa_name, ifname) != 0)
            continue;
        if (i->ifa_addr->sa_family == AF_INET)
            len = sizeof(struct sockaddr_in);
        else if (i->ifa_addr->sa_family == AF_INET6)
            len = sizeof(struct sockaddr_in6);
        else
            continue;
        if (getnameinfo(i->ifa_addr, len, host, sizeof(host), NULL, 0,
                        NI_NUMERICHOST) != 0)
            continue;
        /* The zone names the host's side; the probe adds its own. */
        host[strcspn(host, "%")] = '\0';
        run_add_host_addr(l, host);
    }
    freeifaddrs(ifs);
}

static int
run_inspect_networks(struct launch *l)
{
    struct exec_result r;

    if (run_step(l, RUNTIME_NET_INSPECT, "network inspect", true, false, &r) ==
        -1) {
        exec_result_fini(&r);
        return -1;
    }
    run_collect_host_addrs(l, r.out);
    exec_result_fini(&r);
    if (!runtime_step_applies(l, RUNTIME_EGRESS_INSPECT))
        return 0;
    if (run_step(l, RUNTIME_EGRESS_INSPECT, "network inspect", true, false,
                 &r) == -1) {
        exec_result_fini(&r);
        return -1;
    }
    run_collect_host_addrs(l, r.out);
    exec_result_fini(&r);
    return argv_ok(&l->host_addrs);
}

/* ---- the probe -------------------------------------------------------- */

static int
run_probe(struct launch *l, struct run_state *st)
{
    struct exec_result r;
    struct probe_report rep;
    double t0 = run_now_s();
    int rc = RUN_EXIT_FAILURE;

    st->probe_started = true;
    if (run_step(l, RUNTIME_PROBE_RUN, "containment probe", true, true, &r) ==
            -1 &&
        (r.out == NULL || r.err == NULL)) {
        fprintf(stderr, "sluice: cannot run the containment probe\n");
        exec_result_fini(&r);
        return RUN_EXIT_FAILURE;
    }
    st->probe_finished = true;
    /* Kept with the logs: what was checked, not only that it held. */
    if (run_write(l->state_dir, "probe.txt", r.out, 0644) == -1)
        fprintf(stderr,
                "sluice: warning: cannot keep the probe's report: "
                "%s\n",
                strerror(errno));
    probe_report_parse(r.out, &rep);
    if (probe_report_holds(&rep)) {
        fprintf(stderr,
                "sluice: containment probe passed: %u checks in %.2f s\n",
                rep.passed, run_now_s() - t0);
        rc = 0;
    } else if (exec_interrupted() == 0) {
        for (size_t i = 0; i < rep.failures.n; i++)
            fprintf(stderr, "sluice: containment probe: OPEN PATH: %s\n",
                    rep.failures.v[i]);
        if (!rep.done)
            fprintf(stderr,
                    "sluice: containment probe did not finish (exit %d)%s%s",
                    r.status, r.err[0] != '\0' ? ":\n" : "\n", r.err);
        fprintf(stderr,
                "sluice: refusing to start the agent: the cage does not "
                "hold\n");
    }
    probe_report_fini(&rep);
    exec_result_fini(&r);
    return rc;
}

/* ---- the agent -------------------------------------------------------- */

static int
run_write_env(struct launch *l, struct run_state *st)
{
    struct argv env;
    char *text;
    size_t total = 1, off = 0;
    int rc = -1;

    argv_init(&env);
    session_env_build(l, l->external_proxy ? l->proxy_host : l->sidecar_addr,
                      l->token, &env);
    if (argv_ok(&env) == -1)
        goto out;
    for (size_t i = 0; i < env.n; i++)
        total += strlen(env.v[i]) + 1;
    text = malloc(total);
    if (text == NULL)
        goto out;
    for (size_t i = 0; i < env.n; i++) {
        size_t n = strlen(env.v[i]);

        memcpy(text + off, env.v[i], n);
        off += n;
        text[off++] = '\n';
    }
    text[off] = '\0';
    rc = session_write_file(l->env_file, text, off, 0600);
    explicit_bzero(text, total);
    free(text);
    if (rc == 0)
        st->env_file = true;
out:
    if (rc == -1)
        fprintf(stderr, "sluice: writing %s: %s\n", l->env_file,
                strerror(errno));
    /* The proxy URLs carry the token. */
    for (size_t i = 0; i < env.n; i++)
        explicit_bzero(env.v[i], strlen(env.v[i]));
    argv_fini(&env);
    return rc;
}

static void
run_print_summary(const struct run_input *in)
{
    const struct launch *l = in->l;
    char access[LAUNCH_PATH_MAX], events[LAUNCH_PATH_MAX];
    const char *access_path = NULL, *events_path = NULL;
    struct summary s;
    char *text;

    if (!l->external_proxy) {
        if (run_path(access, l->run_dir, "access.jsonl") == 0)
            access_path = access;
        if (run_path(events, l->run_dir, "events.jsonl") == 0)
            events_path = events;
    } else {
        if (in->p->log_access != NULL && strcmp(in->p->log_access, "-") != 0)
            access_path = in->p->log_access;
        if (in->p->log_events != NULL && strcmp(in->p->log_events, "-") != 0 &&
            (access_path == NULL ||
             strcmp(in->p->log_events, access_path) != 0))
            events_path = in->p->log_events;
    }
    if (access_path == NULL) {
        fprintf(stderr,
                "sluice: session %s ended (the gateway logs to "
                "stdout: no summary here)\n",
                l->session);
        return;
    }
    summary_init(&s, l->session, l->external_proxy);
    if (summary_add_file(&s, access_path) == -1 && errno != ENOENT)
        fprintf(stderr, "sluice: reading %s: %s\n", access_path,
                strerror(errno));
    if (events_path != NULL)
        summary_add_file(&s, events_path);
    text = summary_render(&s, access_path);
    if (text != NULL)
        fputs(text, stderr);
    free(text);
    summary_fini(&s);
}

/* ---- clean-up --------------------------------------------------------- */

static void
run_cleanup(struct run_input *in, struct run_state *st)
{
    struct launch *l = in->l;
    char path[LAUNCH_PATH_MAX];

    if (st->agent)
        run_undo(l, RUNTIME_AGENT_RM, "removing the agent");
    if (st->probe_started && !st->probe_finished)
        run_undo(l, RUNTIME_PROBE_RM, "removing the probe");
    if (st->env_file)
        unlink(l->env_file);
    if (st->sidecar)
        run_undo(l, RUNTIME_SIDECAR_STOP, "stopping the sidecar");
    if (st->agent_started)
        run_print_summary(in);
    if (st->sidecar)
        run_undo(l, RUNTIME_SIDECAR_RM, "removing the sidecar");
    if (st->volume)
        run_undo(l, RUNTIME_VOLUME_RM, "removing the workspace volume");
    if (st->network)
        run_undo(l, RUNTIME_NET_RM, "removing the network");
    if (st->tokens_added)
        run_gateway_tokens_undo(in);
    if (l->keep && (st->sidecar || st->network))
        fprintf(stderr,
                "sluice: kept (--keep): sidecar %s, network %s; remove with "
                "`%s rm -f %s` and `%s network rm %s`\n",
                l->external_proxy ? "-" : l->sidecar, l->net,
                runtime_engine_name(l->engine), l->sidecar,
                runtime_engine_name(l->engine), l->net);
    if (!st->state_dir)
        return;
    if (!st->agent_started && !l->keep) {
        run_remove_tree(l->state_dir);
        return;
    }
    /* The token dies with the session; the logs stay for the record. */
    if (!l->keep && !l->external_proxy &&
        run_path(path, l->config_dir, "tokens") == 0)
        unlink(path);
}

/* ---- the session ------------------------------------------------------ */

static int
run_stopped(void)
{
    int sig = exec_interrupted();

    return sig != 0 ? 128 + sig : 0;
}

int
run_session(struct run_input *in)
{
    struct launch *l = in->l;
    struct run_state st;
    struct exec_result r;
    int rc, status;
    struct argv start;

    memset(&st, 0, sizeof(st));
    rc = run_preflight(l);
    if (rc != 0)
        return rc;
    rc = run_prepare_state(in, &st);
    if (rc != 0)
        goto done;
    rc = RUN_EXIT_FAILURE;
    if (l->external_proxy)
        run_gateway_tokens(in, &st);
    if (l->own_network) {
        if (run_step(l, RUNTIME_NET_CREATE, "creating the network", true, false,
                     &r) == -1)
            goto done_r;
        st.network = true;
        exec_result_fini(&r);
    }
    if ((rc = run_stopped()) != 0)
        goto done;
    rc = RUN_EXIT_FAILURE;
    if (!l->external_proxy) {
        if (run_step(l, RUNTIME_SIDECAR_CREATE, "creating the sidecar", true,
                     false, &r) == -1)
            goto done_r;
        st.sidecar = true;
        exec_result_fini(&r);
        if (runtime_step_applies(l, RUNTIME_SIDECAR_CONNECT)) {
            if (run_step(l, RUNTIME_SIDECAR_CONNECT, "connecting the sidecar",
                         true, false, &r) == -1)
                goto done_r;
            exec_result_fini(&r);
        }
        if (run_step(l, RUNTIME_SIDECAR_START, "starting the sidecar", true,
                     false, &r) == -1)
            goto done_r;
        exec_result_fini(&r);
        if (run_wait_sidecar(l) == -1)
            goto done;
        if (run_read_addr(l, RUNTIME_SIDECAR_ADDR, "sidecar address",
                          l->sidecar_addr, sizeof(l->sidecar_addr)) == -1 ||
            run_read_addr(l, RUNTIME_SIDECAR_EGRESS_ADDR,
                          "sidecar egress address", l->sidecar_egress_addr,
                          sizeof(l->sidecar_egress_addr)) == -1)
            goto done;
    }
    if (run_inspect_networks(l) == -1)
        goto done;
    if ((rc = run_stopped()) != 0)
        goto done;
    rc = run_probe(l, &st);
    if (rc != 0 || (rc = run_stopped()) != 0)
        goto done;
    rc = RUN_EXIT_FAILURE;
    if (run_write_env(l, &st) == -1)
        goto done;
    if (l->workspace_copy) {
        if (run_step(l, RUNTIME_VOLUME_CREATE, "creating the workspace volume",
                     true, false, &r) == -1)
            goto done_r;
        st.volume = true;
        exec_result_fini(&r);
    }
    if (run_step(l, RUNTIME_AGENT_CREATE, "creating the agent", true, false,
                 &r) == -1)
        goto done_r;
    st.agent = true;
    exec_result_fini(&r);
    if (l->workspace_copy) {
        if (run_step(l, RUNTIME_AGENT_COPY, "copying the workspace", true,
                     false, &r) == -1)
            goto done_r;
        exec_result_fini(&r);
    }
    if ((rc = run_stopped()) != 0)
        goto done;
    fprintf(stderr, "sluice: session %s: starting the agent (%s)\n", l->session,
            l->image);
    argv_init(&start);
    if (runtime_build_argv(l, RUNTIME_AGENT_START, &start) == -1) {
        argv_fini(&start);
        rc = RUN_EXIT_FAILURE;
        goto done;
    }
    st.agent_started = true;
    fflush(stderr);
    status = exec_attached(start.v);
    argv_fini(&start);
    rc = run_stopped();
    if (rc == 0)
        rc = status >= 0 ? status : RUN_EXIT_FAILURE;
    goto done;

done_r:
    exec_result_fini(&r);
done:
    if (rc == RUN_EXIT_FAILURE && run_stopped() != 0)
        rc = run_stopped();
    run_cleanup(in, &st);
    return rc;
}

/* ---- --dry-run -------------------------------------------------------- */

static void
run_dry_print(const struct launch *l, enum runtime_step step)
{
    struct argv a;
    char *line;

    if (!runtime_step_applies(l, step))
        return;
    argv_init(&a);
    if (runtime_build_argv(l, step, &a) == 0) {
        /* The script is many lines: name it rather than print it. */
        for (size_t i = 0; i < a.n; i++) {
            if (strchr(a.v[i], '\n') != NULL) {
                free(a.v[i]);
                a.v[i] = strdup(RUN_DRY_PROBE_SCRIPT);
                if (a.v[i] == NULL) {
                    a.v[i] = strdup("");
                    a.failed = true;
                }
            }
        }
        line = argv_to_shell(&a);
        if (line != NULL)
            printf("%s\n", line);
        free(line);
    }
    argv_fini(&a);
}

int
run_dry(struct run_input *in)
{
    static const enum runtime_step steps[] = {
        RUNTIME_ENGINE_CHECK,
        RUNTIME_IMAGE_EXISTS,
        RUNTIME_PROXY_IMAGE_EXISTS,
        RUNTIME_NET_CREATE,
        RUNTIME_SIDECAR_CREATE,
        RUNTIME_SIDECAR_CONNECT,
        RUNTIME_SIDECAR_START,
        RUNTIME_SIDECAR_ADDR,
        RUNTIME_SIDECAR_EGRESS_ADDR,
        RUNTIME_NET_INSPECT,
        RUNTIME_EGRESS_INSPECT,
        RUNTIME_PROBE_RUN,
        RUNTIME_VOLUME_CREATE,
        RUNTIME_AGENT_CREATE,
        RUNTIME_AGENT_COPY,
        RUNTIME_AGENT_START,
        RUNTIME_AGENT_RM,
        RUNTIME_SIDECAR_STOP,
        RUNTIME_SIDECAR_RM,
        RUNTIME_VOLUME_RM,
        RUNTIME_NET_RM,
    };
    struct launch *l = in->l;
    struct sidecar_conf c = { .session = l->session,
                              .tiers = in->tiers,
                              .n_tiers = in->n_tiers,
                              .policy_dir = in->policy_dir };
    struct argv env, copies;
    char err[RUN_ERR_MAX], *yaml;

    snprintf(l->sidecar_addr, sizeof(l->sidecar_addr), "%s",
             RUN_DRY_SIDECAR_ADDR);
    snprintf(l->sidecar_egress_addr, sizeof(l->sidecar_egress_addr), "%s",
             RUN_DRY_EGRESS_ADDR);
    argv_push(&l->host_addrs, RUN_DRY_HOST_ADDR);
    printf("# sluice run --dry-run: session %s, state folder %s\n", l->session,
           l->state_dir);
    printf("# writes %s/seccomp-agent.json and seccomp-sluice.json\n",
           l->state_dir);
    if (!l->external_proxy) {
        argv_init(&copies);
        yaml = sidecar_policy_yaml(in->p, &c, &copies, err, sizeof(err));
        if (yaml == NULL) {
            fprintf(stderr, "sluice: sidecar policy: %s\n", err);
            argv_fini(&copies);
            return RUN_EXIT_USAGE;
        }
        printf("# writes %s/policy.yaml (the sidecar's policy), tokens",
               l->config_dir);
        for (size_t i = 1; i < copies.n; i += 2)
            printf(", %s", copies.v[i]);
        printf("\n");
        free(yaml);
        argv_fini(&copies);
    }
    printf("# writes %s (mode 0600), the agent's whole environment:\n",
           l->env_file);
    argv_init(&env);
    session_env_build(l, l->external_proxy ? l->proxy_host : l->sidecar_addr,
                      RUN_DRY_TOKEN, &env);
    for (size_t i = 0; i < env.n; i++)
        printf("#   %s\n", env.v[i]);
    argv_fini(&env);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        run_dry_print(l, steps[i]);
    return fflush(stdout) == 0 ? 0 : RUN_EXIT_FAILURE;
}
