/* launcher/main.c - `sluice run`: options, their checks, and the choice
 * of engine. Everything here happens before anything is created, so every
 * problem is one line on stderr and exit 2. */
#include "config.h"
#include "launcher/launcher.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/exec.h"
#include "launcher/probe.h"
#include "launcher/run.h"
#include "launcher/runtime.h"
#include "launcher/session.h"
#include "launcher/sidecar.h"
#include "policy/config.h"
#include "policy/policy.h"

/* Defaults: room for a compiler and a package manager, not a whole host. */
#define MAIN_DEFAULT_CPUS "2"
#define MAIN_DEFAULT_MEMORY (UINT64_C(4) << 30)
#define MAIN_DEFAULT_PIDS 1024UL
/* Below this an agent container cannot even start a shell and a tmpfs. */
#define MAIN_MEMORY_MIN (UINT64_C(64) << 20)
#define MAIN_PIDS_MIN 16UL
#define MAIN_PIDS_MAX 4194304UL
/* tmpfs pages count against --memory: /tmp gets a quarter, home an
 * eighth, so a full /tmp cannot starve the agent by itself. */
#define MAIN_TMP_SHARE 4
#define MAIN_HOME_SHARE 8
#define MAIN_MAX_TIERS 64
#define MAIN_ERR_MAX 1024

static const char main_usage[] =
    "usage: sluice run [OPTIONS] IMAGE [CMD...]\n"
    "\n"
    "Runs IMAGE as an agent container whose only way out is sluice.\n"
    "\n"
    "  --engine docker|podman   container engine (default: podman, then "
    "docker)\n"
    "  -c, --config POLICY      policy file (default: the embedded default)\n"
    "  --tier T                 tier for the agent's proxy (repeat; default: "
    "the\n"
    "                           tiers of the policy's first listener)\n"
    "  --session ID             session id (default: random)\n"
    "  --workspace DIR          mounted read-write at /workspace\n"
    "  --workspace-copy         copy DIR into a volume instead of mounting "
    "it\n"
    "  --cpus N                 CPU limit (default 2)\n"
    "  --memory SIZE            memory limit, e.g. 4g (default 4g)\n"
    "  --pids N                 process limit (default 1024)\n"
    "  -e, --env K=V            set a variable in the agent (repeat)\n"
    "  --proxy HOST:PORT        use a running sluice gateway instead of a "
    "sidecar\n"
    "  --proxy-image IMAGE      sidecar image (default sluice:" PACKAGE_VERSION
    ")\n"
    "  --egress-network NET     the sidecar's way out (default: the engine's\n"
    "                           default network)\n"
    "  --network NET            put the agent on this existing network\n"
    "  --probe-target HOST:PORT the probe also proves this unreachable "
    "(repeat)\n"
    "  --keep                   leave the sidecar and network on exit\n"
    "  --dry-run                print the engine commands, run nothing\n";

enum main_opt {
    MAIN_OPT_ENGINE = 256,
    MAIN_OPT_TIER,
    MAIN_OPT_SESSION,
    MAIN_OPT_WORKSPACE,
    MAIN_OPT_WORKSPACE_COPY,
    MAIN_OPT_CPUS,
    MAIN_OPT_MEMORY,
    MAIN_OPT_PIDS,
    MAIN_OPT_PROXY,
    MAIN_OPT_PROXY_IMAGE,
    MAIN_OPT_EGRESS,
    MAIN_OPT_NETWORK,
    MAIN_OPT_PROBE_TARGET,
    MAIN_OPT_KEEP,
    MAIN_OPT_DRY_RUN
};

static const struct option main_options[] = {
    { "engine", required_argument, NULL, MAIN_OPT_ENGINE },
    { "config", required_argument, NULL, 'c' },
    { "tier", required_argument, NULL, MAIN_OPT_TIER },
    { "session", required_argument, NULL, MAIN_OPT_SESSION },
    { "workspace", required_argument, NULL, MAIN_OPT_WORKSPACE },
    { "workspace-copy", no_argument, NULL, MAIN_OPT_WORKSPACE_COPY },
    { "cpus", required_argument, NULL, MAIN_OPT_CPUS },
    { "memory", required_argument, NULL, MAIN_OPT_MEMORY },
    { "pids", required_argument, NULL, MAIN_OPT_PIDS },
    { "env", required_argument, NULL, 'e' },
    { "proxy", required_argument, NULL, MAIN_OPT_PROXY },
    { "proxy-image", required_argument, NULL, MAIN_OPT_PROXY_IMAGE },
    { "egress-network", required_argument, NULL, MAIN_OPT_EGRESS },
    { "network", required_argument, NULL, MAIN_OPT_NETWORK },
    { "probe-target", required_argument, NULL, MAIN_OPT_PROBE_TARGET },
    { "keep", no_argument, NULL, MAIN_OPT_KEEP },
    { "dry-run", no_argument, NULL, MAIN_OPT_DRY_RUN },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* What the options said, before it becomes a struct launch. */
struct main_args {
    const char *engine;
    const char *policy;
    char *tiers[MAIN_MAX_TIERS];
    size_t n_tiers;
    const char *session;
    const char *workspace;
    bool workspace_copy;
    const char *cpus;
    const char *memory;
    const char *pids;
    const char *proxy;
    const char *proxy_image;
    const char *egress;
    const char *network;
    bool keep;
    bool dry_run;
};

/* Parses "4g", "512m", "4GiB", "1073741824". Binary units, as the
 * engines read them. Returns 0, or -1. */
static int
main_parse_size(const char *s, uint64_t *out)
{
    static const struct {
        const char *unit;
        unsigned shift;
    } units[] = {
        { "", 0 },     { "b", 0 },    { "k", 10 },   { "kb", 10 },
        { "kib", 10 }, { "m", 20 },   { "mb", 20 },  { "mib", 20 },
        { "g", 30 },   { "gb", 30 },  { "gib", 30 }, { "t", 40 },
        { "tb", 40 },  { "tib", 40 },
    };
    char *end;
    unsigned long long n;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    n = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(end, units[i].unit) != 0)
            continue;
        if (n > (UINT64_MAX >> units[i].shift))
            return -1;
        *out = (uint64_t)n << units[i].shift;
        return 0;
    }
    return -1;
}

/* A positive decimal like "2" or "0.5", at most 3 decimals (what the
 * engines accept). */
static int
main_check_cpus(const char *s)
{
    const char *dot = strchr(s, '.');
    size_t len = strlen(s);

    if (len == 0 || len >= LAUNCH_CPUS_MAX || strspn(s, "0123456789.") != len ||
        s[0] == '.' ||
        (dot != NULL && (strchr(dot + 1, '.') != NULL || dot[1] == '\0' ||
                         strlen(dot + 1) > 3)))
        return -1;
    return strtod(s, NULL) > 0 ? 0 : -1;
}

/* "HOST:PORT" with HOST an IP address ("[v6]" for IPv6): the agent has no
 * DNS, so the gateway must be named by address. */
static int
main_parse_proxy(const char *s, struct launch *l)
{
    char host[LAUNCH_ADDR_MAX];
    unsigned char bin[16];
    const char *colon = strrchr(s, ':');
    size_t hlen;
    char *end;
    unsigned long port;

    if (colon == NULL)
        return -1;
    hlen = (size_t)(colon - s);
    if (hlen < 1 || hlen >= sizeof(host))
        return -1;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || colon[1] < '0' || colon[1] > '9' ||
        port < 1 || port > 65535)
        return -1;
    if (host[0] == '[' && host[hlen - 1] == ']') {
        host[hlen - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, bin) != 1)
            return -1;
        host[hlen - 1] = ']';
    } else if (inet_pton(AF_INET, host, bin) != 1) {
        return -1;
    }
    snprintf(l->proxy_host, sizeof(l->proxy_host), "%s", host);
    l->proxy_port = (unsigned)port;
    return 0;
}

/* The port of the gateway's fetch channel: a listener whose tiers include
 * the fetch tier. 0 if none. */
static unsigned
main_gateway_fetch_port(const struct policy *p)
{
    for (size_t i = 0; i < p->n_listeners; i++) {
        const struct listener_conf *lc = &p->listeners[i];

        for (size_t j = 0; j < lc->n_tiers; j++) {
            const char *name = p->tiers[lc->tiers[j]].name;
            const char *colon = strrchr(lc->listen, ':');

            if (strcmp(name, SIDECAR_FETCH_TIER) == 0 && colon != NULL)
                return (unsigned)strtoul(colon + 1, NULL, 10);
        }
    }
    return 0;
}

/* Prints "sluice: " and one formatted line; returns RUN_EXIT_USAGE. */
static int main_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int
main_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("sluice: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    return RUN_EXIT_USAGE;
}

/* Parses argv into <a> and the lists of <l>. Returns 0, 1 for --help, or
 * RUN_EXIT_USAGE (message printed). */
static int
main_parse(int argc, char **argv, struct main_args *a, struct launch *l)
{
    char err[MAIN_ERR_MAX];
    int opt;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+c:e:h", main_options, NULL)) !=
           -1) {
        switch (opt) {
        case MAIN_OPT_ENGINE:
            a->engine = optarg;
            break;
        case 'c':
            a->policy = optarg;
            break;
        case MAIN_OPT_TIER:
            if (a->n_tiers == MAIN_MAX_TIERS)
                return main_fail("--tier %s: too many tiers", optarg);
            a->tiers[a->n_tiers++] = optarg;
            break;
        case MAIN_OPT_SESSION:
            a->session = optarg;
            break;
        case MAIN_OPT_WORKSPACE:
            a->workspace = optarg;
            break;
        case MAIN_OPT_WORKSPACE_COPY:
            a->workspace_copy = true;
            break;
        case MAIN_OPT_CPUS:
            a->cpus = optarg;
            break;
        case MAIN_OPT_MEMORY:
            a->memory = optarg;
            break;
        case MAIN_OPT_PIDS:
            a->pids = optarg;
            break;
        case 'e':
            if (session_env_check(optarg, err, sizeof(err)) == -1)
                return main_fail("%s", err);
            argv_push(&l->user_env, optarg);
            break;
        case MAIN_OPT_PROXY:
            a->proxy = optarg;
            break;
        case MAIN_OPT_PROXY_IMAGE:
            a->proxy_image = optarg;
            break;
        case MAIN_OPT_EGRESS:
            a->egress = optarg;
            break;
        case MAIN_OPT_NETWORK:
            a->network = optarg;
            break;
        case MAIN_OPT_PROBE_TARGET:
            if (probe_target_add(optarg, &l->probe_targets, err, sizeof(err)) ==
                -1)
                return main_fail("%s", err);
            break;
        case MAIN_OPT_KEEP:
            a->keep = true;
            break;
        case MAIN_OPT_DRY_RUN:
            a->dry_run = true;
            break;
        case 'h':
            fputs(main_usage, stdout);
            return 1;
        default:
            if (optopt != 0 && optopt < MAIN_OPT_ENGINE)
                return main_fail("run: option -%c is unknown or needs a "
                                 "value (see sluice run --help)",
                                 optopt);
            return main_fail("run: %s is unknown or needs a value (see "
                             "sluice run --help)",
                             argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return main_fail("run: %s", "missing IMAGE (sluice run [OPTIONS] "
                                    "IMAGE [CMD...])");
    if (argv_ok(&l->user_env) == -1 || argv_ok(&l->probe_targets) == -1)
        return main_fail("%s", "out of memory");
    l->image = argv[optind];
    l->cmd = argv + optind + 1;
    l->n_cmd = argc - optind - 1;
    return 0;
}

/* Picks the engine: the one named, else podman, else docker (by PATH). */
static int
main_engine(const struct main_args *a, struct launch *l)
{
    if (a->engine != NULL) {
        if (runtime_engine_parse(a->engine, &l->engine) == -1)
            return main_fail("--engine %s: unknown engine (docker or podman)",
                             a->engine);
        return 0;
    }
    if (exec_in_path("podman"))
        l->engine = RUNTIME_PODMAN;
    else if (exec_in_path("docker"))
        l->engine = RUNTIME_DOCKER;
    else if (a->dry_run)
        l->engine = RUNTIME_PODMAN;
    else
        return main_fail("%s", "no container engine found: install podman "
                               "or docker (or name one with --engine)");
    return 0;
}

/* Turns the options into <l>. Returns 0 or RUN_EXIT_USAGE. */
static int
main_settle(const struct main_args *a, struct launch *l)
{
    struct stat st;
    char *end;
    unsigned long pids;

    l->dry_run = a->dry_run;
    l->keep = a->keep;
    l->tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    l->rootless = l->engine == RUNTIME_PODMAN && geteuid() != 0;

    if (a->session != NULL) {
        if (!session_id_is_valid(a->session))
            return main_fail("--session %s: use 1 to 64 of A-Z a-z 0-9 _ . -",
                             a->session);
        snprintf(l->session, sizeof(l->session), "%s", a->session);
    } else if (session_id_new(l->session) == -1) {
        return main_fail("%s", "cannot draw a random session id (OpenSSL)");
    }
    if (session_token_new(l->token) == -1)
        return main_fail("%s", "cannot draw a random token (OpenSSL)");
    snprintf(l->sidecar, sizeof(l->sidecar), "sluice-%s-proxy", l->session);
    snprintf(l->probe, sizeof(l->probe), "sluice-%s-probe", l->session);
    snprintf(l->agent, sizeof(l->agent), "sluice-%s-agent", l->session);
    snprintf(l->volume, sizeof(l->volume), "sluice-%s-workspace", l->session);
    if (a->network != NULL) {
        if (strlen(a->network) >= sizeof(l->net))
            return main_fail("--network %s: name too long", a->network);
        snprintf(l->net, sizeof(l->net), "%s", a->network);
        l->own_network = false;
    } else {
        snprintf(l->net, sizeof(l->net), "sluice-%s-int", l->session);
        l->own_network = true;
    }
    l->egress_network = a->egress != NULL             ? a->egress
                        : l->engine == RUNTIME_PODMAN ? "podman"
                                                      : "bridge";
    l->proxy_image =
        a->proxy_image != NULL ? a->proxy_image : "sluice:" PACKAGE_VERSION;

    if (a->workspace != NULL) {
        if (realpath(a->workspace, l->workspace) == NULL)
            return main_fail("--workspace %s: no such folder", a->workspace);
        if (stat(l->workspace, &st) == -1 || !S_ISDIR(st.st_mode))
            return main_fail("--workspace %s: not a folder", a->workspace);
        if (strchr(l->workspace, ':') != NULL ||
            strchr(l->workspace, ',') != NULL)
            return main_fail("--workspace %s: the engines cannot mount a path "
                             "with ':' or ','",
                             l->workspace);
    } else if (a->workspace_copy) {
        return main_fail("%s", "--workspace-copy needs --workspace DIR");
    }
    l->workspace_copy = a->workspace_copy;

    snprintf(l->cpus, sizeof(l->cpus), "%s",
             a->cpus != NULL ? a->cpus : MAIN_DEFAULT_CPUS);
    if (main_check_cpus(l->cpus) == -1)
        return main_fail("--cpus %s: write a positive number like 2 or 0.5",
                         a->cpus);
    l->memory_bytes = MAIN_DEFAULT_MEMORY;
    if (a->memory != NULL &&
        (main_parse_size(a->memory, &l->memory_bytes) == -1 ||
         l->memory_bytes < MAIN_MEMORY_MIN))
        return main_fail("--memory %s: write a size of at least 64m, like "
                         "4g or 512m",
                         a->memory);
    l->tmp_bytes = l->memory_bytes / MAIN_TMP_SHARE;
    l->home_bytes = l->memory_bytes / MAIN_HOME_SHARE;
    l->pids = MAIN_DEFAULT_PIDS;
    if (a->pids != NULL) {
        errno = 0;
        pids = strtoul(a->pids, &end, 10);
        if (errno != 0 || *end != '\0' || a->pids[0] < '0' ||
            a->pids[0] > '9' || pids < MAIN_PIDS_MIN || pids > MAIN_PIDS_MAX)
            return main_fail("--pids %s: write a number from 16 to 4194304",
                             a->pids);
        l->pids = pids;
    }

    if (a->proxy != NULL) {
        if (main_parse_proxy(a->proxy, l) == -1)
            return main_fail("--proxy %s: write IP:PORT or [IPv6]:PORT (the "
                             "agent has no DNS to resolve a name)",
                             a->proxy);
        l->external_proxy = true;
    } else {
        l->proxy_port = LAUNCH_PROXY_PORT;
    }

    if (geteuid() == 0) {
        /* The image's unprivileged user, never root. */
        l->sidecar_uid = 1000;
        l->sidecar_gid = 1000;
    } else {
        l->sidecar_uid = getuid();
        l->sidecar_gid = getgid();
    }
    if (session_state_dir(l->session, l->state_dir, sizeof(l->state_dir)) == -1)
        return main_fail("%s", "no state folder: set XDG_STATE_HOME or HOME");
    if (snprintf(l->config_dir, sizeof(l->config_dir), "%s/config",
                 l->state_dir) >= (int)sizeof(l->config_dir) ||
        snprintf(l->run_dir, sizeof(l->run_dir), "%s/run", l->state_dir) >=
            (int)sizeof(l->run_dir) ||
        snprintf(l->env_file, sizeof(l->env_file), "%s/agent.env",
                 l->state_dir) >= (int)sizeof(l->env_file) ||
        snprintf(l->seccomp_agent, sizeof(l->seccomp_agent),
                 "%s/seccomp-agent.json",
                 l->state_dir) >= (int)sizeof(l->seccomp_agent) ||
        snprintf(l->seccomp_sidecar, sizeof(l->seccomp_sidecar),
                 "%s/seccomp-sluice.json",
                 l->state_dir) >= (int)sizeof(l->seccomp_sidecar))
        return main_fail("%s: state folder path too long", l->state_dir);
    if (strchr(l->state_dir, ':') != NULL || strchr(l->state_dir, ',') != NULL)
        return main_fail("%s: the engines cannot mount a path with ':' or ','",
                         l->state_dir);
    return 0;
}

/* Loads and checks the policy like `sluice check`. NULL: printed. */
static struct policy *
main_load_policy(const char *path)
{
    struct config_error err;
    char msg[CONFIG_ERROR_MAX + 300];
    struct policy *p;

    if (path != NULL && access(path, R_OK) == -1) {
        fprintf(stderr, "sluice: %s: cannot read the policy: %s\n", path,
                strerror(errno));
        return NULL;
    }
    p = path != NULL ? config_load_file(path, &err) : config_load_default(&err);
    if (p == NULL) {
        config_error_format(&err, msg, sizeof(msg));
        fprintf(stderr, "sluice: %s\n", msg);
    }
    return p;
}

int
launcher_main(int argc, char **argv)
{
    struct main_args a;
    struct launch *l;
    struct policy *p = NULL;
    struct run_input in;
    char err[MAIN_ERR_MAX], dir[LAUNCH_PATH_MAX];
    bool fetch;
    int rc;

    memset(&a, 0, sizeof(a));
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return main_fail("%s", "out of memory");
    argv_init(&l->user_env);
    argv_init(&l->probe_targets);
    argv_init(&l->host_addrs);
    rc = main_parse(argc, argv, &a, l);
    if (rc == 1) {
        rc = 0;
        goto out;
    }
    if (rc != 0)
        goto out;
    rc = main_engine(&a, l);
    if (rc != 0)
        goto out;
    rc = main_settle(&a, l);
    if (rc != 0)
        goto out;
    rc = RUN_EXIT_USAGE;
    p = main_load_policy(a.policy);
    if (p == NULL)
        goto out;
    memset(&in, 0, sizeof(in));
    in.l = l;
    in.p = p;
    in.tiers = a.tiers;
    in.n_tiers = a.n_tiers;
    /* Where the loader found the domains files is where they are copied
     * from. */
    if (a.policy != NULL)
        in.policy_dir = config_base_dir(a.policy, dir, sizeof(dir));
    if (l->external_proxy) {
        if (a.n_tiers > 0) {
            main_fail("%s", "--tier applies to a sidecar; a --proxy gateway "
                            "decides its own tiers");
            goto out;
        }
        l->fetch_port = main_gateway_fetch_port(p);
    } else {
        struct sidecar_conf c = { .session = l->session,
                                  .tiers = a.tiers,
                                  .n_tiers = a.n_tiers,
                                  .policy_dir = in.policy_dir };

        if (sidecar_check(p, &c, &fetch, err, sizeof(err)) == -1) {
            main_fail("%s", err);
            goto out;
        }
        l->fetch_port = fetch ? LAUNCH_FETCH_PORT : 0;
    }
    if (l->dry_run) {
        rc = run_dry(&in);
        goto out;
    }
    if (exec_signals_install() == -1) {
        main_fail("%s", "cannot install signal handlers");
        rc = RUN_EXIT_FAILURE;
        goto out;
    }
    rc = run_session(&in);
out:
    policy_unref(p);
    explicit_bzero(l->token, sizeof(l->token));
    argv_fini(&l->user_env);
    argv_fini(&l->probe_targets);
    argv_fini(&l->host_addrs);
    free(l);
    return rc;
}
