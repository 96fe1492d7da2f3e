/* tests/unit/test_launcher_runtime.c - the engine commands `sluice run`
 * builds (launcher/runtime.c), for podman and for docker, compared as
 * whole argv arrays, and how each option changes them. */
#include "config.h"
#include "tests/unit/test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/argv.h"
#include "launcher/launch-t.h"
#include "launcher/probe.h"
#include "launcher/runtime.h"

#define TEST_STATE "/state/s-test"

/* A launch as main.c would settle it for
 * `sluice run --session s-test busybox sh -c 'echo hi'` with the
 * sidecar's addresses already learned. */
static char *const test_cmd[] = { "sh", "-c", "echo hi" };

static void
test_launch_init(struct launch *l, enum runtime_engine engine)
{
    memset(l, 0, sizeof(*l));
    l->engine = engine;
    snprintf(l->session, sizeof(l->session), "s-test");
    snprintf(l->token, sizeof(l->token), "%064d", 0);
    snprintf(l->net, sizeof(l->net), "sluice-s-test-int");
    l->own_network = true;
    snprintf(l->sidecar, sizeof(l->sidecar), "sluice-s-test-proxy");
    snprintf(l->probe, sizeof(l->probe), "sluice-s-test-probe");
    snprintf(l->agent, sizeof(l->agent), "sluice-s-test-agent");
    snprintf(l->volume, sizeof(l->volume), "sluice-s-test-workspace");
    l->egress_network = engine == RUNTIME_PODMAN ? "podman" : "bridge";
    l->image = "busybox";
    l->cmd = test_cmd;
    l->n_cmd = 3;
    l->proxy_image = "sluice:0.1.0";
    snprintf(l->cpus, sizeof(l->cpus), "2");
    l->memory_bytes = 4294967296u;
    l->pids = 1024;
    l->tmp_bytes = 1073741824u;
    l->home_bytes = 536870912u;
    l->proxy_port = LAUNCH_PROXY_PORT;
    snprintf(l->state_dir, sizeof(l->state_dir), TEST_STATE);
    snprintf(l->config_dir, sizeof(l->config_dir), TEST_STATE "/config");
    snprintf(l->run_dir, sizeof(l->run_dir), TEST_STATE "/run");
    snprintf(l->env_file, sizeof(l->env_file), TEST_STATE "/agent.env");
    snprintf(l->seccomp_agent, sizeof(l->seccomp_agent),
             TEST_STATE "/seccomp-agent.json");
    snprintf(l->seccomp_sidecar, sizeof(l->seccomp_sidecar),
             TEST_STATE "/seccomp-sluice.json");
    l->sidecar_uid = 1000;
    l->sidecar_gid = 1000;
    snprintf(l->sidecar_addr, sizeof(l->sidecar_addr), "10.89.0.2");
    snprintf(l->sidecar_egress_addr, sizeof(l->sidecar_egress_addr),
             "10.88.0.5");
    argv_init(&l->host_addrs);
    argv_init(&l->user_env);
    argv_init(&l->probe_targets);
}

static void
test_launch_fini(struct launch *l)
{
    argv_fini(&l->host_addrs);
    argv_fini(&l->user_env);
    argv_fini(&l->probe_targets);
}

/* Fails naming the first differing element, and prints both arrays. */
static void
test_argv_is(const struct argv *got, const char *const *want, size_t n,
             const char *what)
{
    size_t i;

    for (i = 0; i < n && i < got->n; i++) {
        if (strcmp(got->v[i], want[i]) != 0)
            break;
    }
    if (i == n && got->n == n && got->v[n] == NULL)
        return;
    for (size_t j = 0; j < got->n || j < n; j++)
        fprintf(stderr, "%s[%zu]: got '%s' want '%s'\n", what, j,
                j < got->n ? got->v[j] : "(end)", j < n ? want[j] : "(end)");
    fail_msg("%s: differs at element %zu", what, i);
}

static void
test_build(const struct launch *l, enum runtime_step step, struct argv *a)
{
    argv_init(a);
    if (runtime_build_argv(l, step, a) != 0)
        fail_msg("step %d does not build", (int)step);
}

/* Index of <s> in <a>, or -1. */
static long
test_index(const struct argv *a, const char *s)
{
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->v[i], s) == 0)
            return (long)i;
    }
    return -1;
}

/* <a> holds <flag> immediately followed by <value>. */
static void
test_has_pair(const struct argv *a, const char *flag, const char *value)
{
    for (size_t i = 0; i + 1 < a->n; i++) {
        if (strcmp(a->v[i], flag) == 0 && strcmp(a->v[i + 1], value) == 0)
            return;
    }
    fail_msg("no '%s %s'", flag, value);
}

static void
test_agent_create_podman(void **state)
{
    static const char *const want[] = {
        "podman",
        "create",
        "--name",
        "sluice-s-test-agent",
        "--label",
        "sluice.session=s-test",
        "--label",
        "sluice.role=agent",
        "--init",
        "--network",
        "sluice-s-test-int",
        "--dns",
        "none",
        "--sysctl",
        "net.ipv6.conf.all.disable_ipv6=1",
        "--sysctl",
        "net.ipv6.conf.default.disable_ipv6=1",
        "--http-proxy=false",
        "--cap-drop=ALL",
        "--security-opt",
        "no-new-privileges",
        "--security-opt",
        "seccomp=" TEST_STATE "/seccomp-agent.json",
        "--read-only",
        "--read-only-tmpfs=false",
        "--pids-limit",
        "1024",
        "--memory",
        "4294967296",
        "--cpus",
        "2",
        "--tmpfs",
        "/tmp:rw,size=1073741824,mode=1777,nosuid,nodev,U",
        "--tmpfs",
        "/home/agent:rw,size=536870912,mode=0700,nosuid,nodev,U",
        "--user",
        "1000:1000",
        "--env-file",
        TEST_STATE "/agent.env",
        "--interactive",
        "busybox",
        "sh",
        "-c",
        "echo hi",
    };
    struct launch l;
    struct argv a;

    (void)state;
    test_launch_init(&l, RUNTIME_PODMAN);
    test_build(&l, RUNTIME_AGENT_CREATE, &a);
    test_argv_is(&a, want, ARRAY_LEN(want), "podman agent");
    argv_fini(&a);
    test_launch_fini(&l);
}

static void
test_agent_create_docker(void **state)
{
    static const char *const want[] = {
        "docker",
        "create",
        "--name",
        "sluice-s-test-agent",
        "--label",
        "sluice.session=s-test",
        "--label",
        "sluice.role=agent",
        "--init",
        "--network",
        "sluice-s-test-int",
        "--dns",
        "0.0.0.0",
        "--sysctl",
        "net.ipv6.conf.all.disable_ipv6=1",
        "--sysctl",
        "net.ipv6.conf.default.disable_ipv6=1",
        "--cap-drop=ALL",
        "--security-opt",
        "no-new-privileges",
        "--security-opt",
        "seccomp=" TEST_STATE "/seccomp-agent.json",
        "--read-only",
        "--pids-limit",
        "1024",
        "--memory",
        "4294967296",
        "--cpus",
        "2",
        "--tmpfs",
        "/tmp:rw,size=1073741824,mode=1777,nosuid,nodev",
        "--tmpfs",
        "/home/agent:rw,size=536870912,mode=0700,nosuid,nodev,uid=1000,"
        "gid=1000",
        "--user",
        "1000:1000",
        "--env-file",
        TEST_STATE "/agent.env",
        "--interactive",
        "busybox",
        "sh",
        "-c",
        "echo hi",
    };
    struct launch l;
    struct argv a;

    (void)state;
    test_launch_init(&l, RUNTIME_DOCKER);
    test_build(&l, RUNTIME_AGENT_CREATE, &a);
    test_argv_is(&a, want, ARRAY_LEN(want), "docker agent");
    argv_fini(&a);
    test_launch_fini(&l);
}

static void
test_sidecar_create_podman(void **state)
{
    static const char *const want[] = {
        "podman",
        "create",
        "--name",
        "sluice-s-test-proxy",
        "--label",
        "sluice.session=s-test",
        "--label",
        "sluice.role=proxy",
        "--init",
        "--network",
        "sluice-s-test-int",
        "--network",
        "podman",
        "--http-proxy=false",
        "--cap-drop=ALL",
        "--security-opt",
        "no-new-privileges",
        "--security-opt",
        "seccomp=" TEST_STATE "/seccomp-sluice.json",
        "--read-only",
        "--read-only-tmpfs=false",
        "--pids-limit",
        "512",
        "--memory",
        "1073741824",
        "--user",
        "1000:1000",
        "--volume",
        TEST_STATE "/config:/etc/sluice:ro",
        "--volume",
        TEST_STATE "/run:/run/sluice:rw",
        "--entrypoint",
        "/usr/bin/sluice",
        "sluice:0.1.0",
        "serve",
        "-c",
        "/etc/sluice/policy.yaml",
    };
    struct launch l;
    struct argv a;

    (void)state;
    test_launch_init(&l, RUNTIME_PODMAN);
    test_build(&l, RUNTIME_SIDECAR_CREATE, &a);
    test_argv_is(&a, want, ARRAY_LEN(want), "podman sidecar");
    argv_fini(&a);
    assert_false(runtime_step_applies(&l, RUNTIME_SIDECAR_CONNECT));
    test_launch_fini(&l);
}

/* docker create takes one network: the egress one, then the internal
 * one is connected before start. */
static void
test_sidecar_create_docker(void **state)
{
    static const char *const want[] = {
        "docker",
        "create",
        "--name",
        "sluice-s-test-proxy",
        "--label",
        "sluice.session=s-test",
        "--label",
        "sluice.role=proxy",
        "--init",
        "--network",
        "bridge",
        "--cap-drop=ALL",
        "--security-opt",
        "no-new-privileges",
        "--security-opt",
        "seccomp=" TEST_STATE "/seccomp-sluice.json",
        "--read-only",
        "--pids-limit",
        "512",
        "--memory",
        "1073741824",
        "--user",
        "1000:1000",
        "--volume",
        TEST_STATE "/config:/etc/sluice:ro",
        "--volume",
        TEST_STATE "/run:/run/sluice:rw",
        "--entrypoint",
        "/usr/bin/sluice",
        "sluice:0.1.0",
        "serve",
        "-c",
        "/etc/sluice/policy.yaml",
    };
    static const char *const connect[] = {
        "docker",
        "network",
        "connect",
        "sluice-s-test-int",
        "sluice-s-test-proxy",
    };
    struct launch l;
    struct argv a;

    (void)state;
    test_launch_init(&l, RUNTIME_DOCKER);
    test_build(&l, RUNTIME_SIDECAR_CREATE, &a);
    test_argv_is(&a, want, ARRAY_LEN(want), "docker sidecar");
    argv_fini(&a);
    test_build(&l, RUNTIME_SIDECAR_CONNECT, &a);
    test_argv_is(&a, connect, ARRAY_LEN(connect), "docker connect");
    argv_fini(&a);
    test_launch_fini(&l);
}

static void
test_network_create(void **state)
{
    static const char *const podman[] = {
        "podman",
        "network",
        "create",
        "--internal",
        "--disable-dns",
        "--label",
        "sluice.session=s-test",
        "sluice-s-test-int",
    };
    static const char *const docker[] = {
        "docker",
        "network",
        "create",
        "--internal",
        "--opt",
        "com.docker.network.bridge.inhibit_ipv4=true",
        "--label",
        "sluice.session=s-test",
        "sluice-s-test-int",
    };
    struct launch l;
    struct argv a;

    (void)state;
    test_launch_init(&l, RUNTIME_PODMAN);
    test_build(&l, RUNTIME_NET_CREATE, &a);
    test_argv_is(&a, podman, ARRAY_LEN(podman), "podman network");
    /* Never a gateway, never an outbound network. */
    assert_int_equal(test_index(&a, "--gateway"), -1);
    argv_fini(&a);
    test_launch_fini(&l);
    test_launch_init(&l, RUNTIME_DOCKER);
    test_build(&l, RUNTIME_NET_CREATE, &a);
    test_argv_is(&a, docker, ARRAY_LEN(docker), "docker network");
    argv_fini(&a);
    test_launch_fini(&l);
}

/* The probe gets exactly the agent's network settings, from one
 * function, and the script with its directives last. */
static void
test_probe_has_agent_network(void **state)
{
    static const enum runtime_engine engines[] = { RUNTIME_PODMAN,
                                                   RUNTIME_DOCKER };
    struct launch l;
    struct argv probe, agent, net;

    (void)state;
    for (size_t e = 0; e < ARRAY_LEN(engines); e++) {
        test_launch_init(&l, engines[e]);
        argv_push(&l.host_addrs, "fe80::1");
        test_build(&l, RUNTIME_PROBE_RUN, &probe);
        test_build(&l, RUNTIME_AGENT_CREATE, &agent);
        argv_init(&net);
        runtime_push_net_settings(&l, &net);
        for (size_t i = 0; i < net.n; i++) {
            if (test_index(&probe, net.v[i]) == -1 ||
                test_index(&agent, net.v[i]) == -1)
                fail_msg("engine %zu: '%s' missing from probe or agent", e,
                         net.v[i]);
        }
        /* Nothing else network-related in either. */
        assert_int_equal(test_index(&probe, "--add-host"), -1);
        assert_int_equal(test_index(&agent, "--add-host"), -1);
        assert_int_equal(test_index(&agent, "--network=host"), -1);
        assert_string_equal(probe.v[1], "run");
        assert_true(test_index(&probe, "--rm") > 0);
        test_has_pair(&probe, "--entrypoint", "/bin/busybox");
        test_has_pair(&probe, "--user", "1000:1000");
        assert_int_equal(test_index(&probe, probe_script) + 1,
                         test_index(&probe, "sluice-probe"));
        test_has_pair(&probe, "sluice-probe", "reach|proxy|10.89.0.2|3128");
        assert_true(
            test_index(&probe,
                       "block|host address|fe80::1|" PROBE_BLOCK_PORTS) > 0);
        argv_fini(&probe);
        argv_fini(&agent);
        argv_fini(&net);
        test_launch_fini(&l);
    }
}

static void
test_option_workspace(void **state)
{
    struct launch l;
    struct argv a;

    (void)state;
    test_launch_init(&l, RUNTIME_PODMAN);
    snprintf(l.workspace, sizeof(l.workspace), "/home/me/project");
    test_build(&l, RUNTIME_AGENT_CREATE, &a);
    test_has_pair(&a, "--volume", "/home/me/project:/workspace:rw");
    test_has_pair(&a, "--workdir", "/workspace");
    /* Options come before the image. */
    assert_true(test_index(&a, "--workdir") < test_index(&a, "busybox"));
    assert_false(runtime_step_applies(&l, RUNTIME_AGENT_COPY));
    assert_false(runtime_step_applies(&l, RUNTIME_VOLUME_CREATE));
    argv_fini(&a);
    test_launch_fini(&l);
}

static void
test_option_workspace_copy(void **state)
{
    static const char *const copy[] = {
        "podman",
        "cp",
        "/home/me/project/.",
        "sluice-s-test-agent:/workspace",
    };
    static const char *const volume[] = {
        "docker",
        "volume",
        "create",
        "--label",
        "sluice.session=s-test",
        "sluice-s-test-workspace",
    };
    static const char *const volume_rm[] = {
        "docker", "volume", "rm", "--force", "sluice-s-test-workspace",
    };
    struct launch l;
    struct argv a;

    (void)state;
    test_launch_init(&l, RUNTIME_PODMAN);
    snprintf(l.workspace, sizeof(l.workspace), "/home/me/project");
    l.workspace_copy = true;
    test_build(&l, RUNTIME_AGENT_CREATE, &a);
    test_has_pair(&a, "--volume", "sluice-s-test-workspace:/workspace");
    assert_int_equal(test_index(&a, "/home/me/project:/workspace:rw"), -1);
    argv_fini(&a);
    test_build(&l, RUNTIME_AGENT_COPY, &a);
    test_argv_is(&a, copy, ARRAY_LEN(copy), "copy");
    argv_fini(&a);
    test_launch_fini(&l);
    test_launch_init(&l, RUNTIME_DOCKER);
    snprintf(l.workspace, sizeof(l.workspace), "/home/me/project");
    l.workspace_copy = true;
    test_build(&l, RUNTIME_VOLUME_CREATE, &a);
    test_argv_is(&a, volume, ARRAY_LEN(volume), "volume create");
    argv_fini(&a);
    test_build(&l, RUNTIME_VOLUME_RM, &a);
    test_argv_is(&a, volume_rm, ARRAY_LEN(volume_rm), "volume rm");
    argv_fini(&a);
    test_launch_fini(&l);
}

static void
test_option_limits(void **state)
{
    struct launch l;
    struct argv a;

    (void)state;
    test_launch_init(&l, RUNTIME_DOCKER);
    snprintf(l.cpus, sizeof(l.cpus), "0.5");
    l.memory_bytes = 536870912u;
    l.tmp_bytes = l.memory_bytes / 4;
    l.home_bytes = l.memory_bytes / 8;
    l.pids = 64;
    test_build(&l, RUNTIME_AGENT_CREATE, &a);
    test_has_pair(&a, "--cpus", "0.5");
    test_has_pair(&a, "--memory", "536870912");
    test_has_pair(&a, "--pids-limit", "64");
    test_has_pair(&a, "--tmpfs",
                  "/tmp:rw,size=134217728,mode=1777,nosuid,nodev");
    argv_fini(&a);
    test_launch_fini(&l);
}

static void
test_option_tty_and_rootless(void **state)
{
    struct launch l;
    struct argv a;

    (void)state;
    test_launch_init(&l, RUNTIME_PODMAN);
    test_build(&l, RUNTIME_AGENT_CREATE, &a);
    assert_int_equal(test_index(&a, "--tty"), -1);
    assert_int_equal(test_index(&a, "--userns"), -1);
    argv_fini(&a);
    l.tty = true;
    l.rootless = true;
    test_build(&l, RUNTIME_AGENT_CREATE, &a);
    assert_true(test_index(&a, "--tty") == test_index(&a, "--interactive") + 1);
    test_has_pair(&a, "--userns", "keep-id:uid=1000,gid=1000");
    argv_fini(&a);
    test_build(&l, RUNTIME_SIDECAR_CREATE, &a);
    test_has_pair(&a, "--userns", "keep-id");
    argv_fini(&a);
    test_launch_fini(&l);
}

static void
test_option_images_and_egress(void **state)
{
    struct launch l;
    struct argv a;

    (void)state;
    test_launch_init(&l, RUNTIME_PODMAN);
    l.proxy_image = "localhost/sluice-test:1";
    l.egress_network = "corp-egress";
    test_build(&l, RUNTIME_SIDECAR_CREATE, &a);
    test_has_pair(&a, "--network", "corp-egress");
    test_has_pair(&a, "/usr/bin/sluice", "localhost/sluice-test:1");
    argv_fini(&a);
    test_build(&l, RUNTIME_PROBE_RUN, &a);
    test_has_pair(&a, "/bin/busybox", "localhost/sluice-test:1");
    argv_fini(&a);
    test_build(&l, RUNTIME_PROXY_IMAGE_EXISTS, &a);
    assert_string_equal(a.v[a.n - 1], "localhost/sluice-test:1");
    argv_fini(&a);
    test_build(&l, RUNTIME_EGRESS_INSPECT, &a);
    assert_string_equal(a.v[a.n - 1], "corp-egress");
    argv_fini(&a);
    test_launch_fini(&l);
}

/* --keep: the sidecar and the network stay; the agent goes. */
static void
test_option_keep(void **state)
{
    struct launch l;

    (void)state;
    test_launch_init(&l, RUNTIME_PODMAN);
    assert_true(runtime_step_applies(&l, RUNTIME_SIDECAR_RM));
    assert_true(runtime_step_applies(&l, RUNTIME_NET_RM));
    l.keep = true;
    assert_false(runtime_step_applies(&l, RUNTIME_SIDECAR_STOP));
    assert_false(runtime_step_applies(&l, RUNTIME_SIDECAR_RM));
    assert_false(runtime_step_applies(&l, RUNTIME_NET_RM));
    assert_true(runtime_step_applies(&l, RUNTIME_AGENT_RM));
    test_launch_fini(&l);
}

/* --network NET: used, never created or removed by us. */
static void
test_option_network(void **state)
{
    struct launch l;
    struct argv a;

    (void)state;
    test_launch_init(&l, RUNTIME_PODMAN);
    snprintf(l.net, sizeof(l.net), "team-int");
    l.own_network = false;
    assert_false(runtime_step_applies(&l, RUNTIME_NET_CREATE));
    assert_false(runtime_step_applies(&l, RUNTIME_NET_RM));
    test_build(&l, RUNTIME_AGENT_CREATE, &a);
    test_has_pair(&a, "--network", "team-int");
    argv_fini(&a);
    test_launch_fini(&l);
}

/* --proxy: no sidecar steps at all; the probe checks the gateway. */
static void
test_option_proxy(void **state)
{
    static const enum runtime_step sidecar_steps[] = {
        RUNTIME_SIDECAR_CREATE, RUNTIME_SIDECAR_CONNECT, RUNTIME_SIDECAR_START,
        RUNTIME_SIDECAR_ADDR,   RUNTIME_SIDECAR_STOP,    RUNTIME_SIDECAR_RM,
        RUNTIME_EGRESS_INSPECT, RUNTIME_SIDECAR_LOGS,
    };
    struct launch l;
    struct argv a;

    (void)state;
    test_launch_init(&l, RUNTIME_DOCKER);
    l.external_proxy = true;
    snprintf(l.proxy_host, sizeof(l.proxy_host), "10.89.9.2");
    l.proxy_port = 8080;
    for (size_t i = 0; i < ARRAY_LEN(sidecar_steps); i++) {
        argv_init(&a);
        if (runtime_step_applies(&l, sidecar_steps[i]) ||
            runtime_build_argv(&l, sidecar_steps[i], &a) != -1)
            fail_msg("sidecar step %d applies with --proxy",
                     (int)sidecar_steps[i]);
        argv_fini(&a);
    }
    test_build(&l, RUNTIME_PROBE_RUN, &a);
    test_has_pair(&a, "sluice-probe", "reach|proxy|10.89.9.2|8080");
    assert_int_equal(test_index(&a, "dns|the sidecar|10.89.9.2|"), -1);
    argv_fini(&a);
    test_launch_fini(&l);
}

static void
test_cleanup_steps(void **state)
{
    static const char *const podman_rm[] = {
        "podman", "rm", "--force", "--ignore", "sluice-s-test-agent",
    };
    static const char *const docker_rm[] = {
        "docker",
        "rm",
        "--force",
        "sluice-s-test-proxy",
    };
    static const char *const stop[] = {
        "podman", "stop", "--time", "10", "sluice-s-test-proxy",
    };
    static const char *const net_rm[] = {
        "podman", "network", "rm", "--force", "sluice-s-test-int",
    };
    static const char *const start[] = {
        "podman", "start", "--attach", "--interactive", "sluice-s-test-agent",
    };
    static const char *const logs[] = {
        "docker",
        "logs",
        "sluice-s-test-proxy",
    };
    struct launch l;
    struct argv a;

    (void)state;
    test_launch_init(&l, RUNTIME_PODMAN);
    test_build(&l, RUNTIME_AGENT_RM, &a);
    test_argv_is(&a, podman_rm, ARRAY_LEN(podman_rm), "podman rm");
    argv_fini(&a);
    test_build(&l, RUNTIME_SIDECAR_STOP, &a);
    test_argv_is(&a, stop, ARRAY_LEN(stop), "stop");
    argv_fini(&a);
    test_build(&l, RUNTIME_NET_RM, &a);
    test_argv_is(&a, net_rm, ARRAY_LEN(net_rm), "network rm");
    argv_fini(&a);
    test_build(&l, RUNTIME_AGENT_START, &a);
    test_argv_is(&a, start, ARRAY_LEN(start), "start");
    argv_fini(&a);
    test_launch_fini(&l);
    test_launch_init(&l, RUNTIME_DOCKER);
    test_build(&l, RUNTIME_SIDECAR_RM, &a);
    test_argv_is(&a, docker_rm, ARRAY_LEN(docker_rm), "docker rm");
    argv_fini(&a);
    test_build(&l, RUNTIME_SIDECAR_LOGS, &a);
    test_argv_is(&a, logs, ARRAY_LEN(logs), "logs");
    argv_fini(&a);
    test_launch_fini(&l);
}

static void
test_inspect_steps(void **state)
{
    static const char *const addr[] = {
        "podman",
        "inspect",
        "--format",
        "{{(index .NetworkSettings.Networks \"sluice-s-test-int\").IPAddress}}",
        "sluice-s-test-proxy",
    };
    static const char *const check_docker[] = {
        "docker",
        "version",
        "--format",
        "{{.Server.Version}}",
    };
    static const char *const image[] = {
        "podman", "image", "inspect", "--format", "{{.Id}}", "busybox",
    };
    struct launch l;
    struct argv a;

    (void)state;
    test_launch_init(&l, RUNTIME_PODMAN);
    test_build(&l, RUNTIME_SIDECAR_ADDR, &a);
    test_argv_is(&a, addr, ARRAY_LEN(addr), "sidecar address");
    argv_fini(&a);
    test_build(&l, RUNTIME_IMAGE_EXISTS, &a);
    test_argv_is(&a, image, ARRAY_LEN(image), "image");
    argv_fini(&a);
    test_build(&l, RUNTIME_NET_INSPECT, &a);
    assert_string_equal(a.v[a.n - 1], "sluice-s-test-int");
    assert_non_null(strstr(a.v[a.n - 2], "NetworkInterface"));
    argv_fini(&a);
    test_launch_fini(&l);
    test_launch_init(&l, RUNTIME_DOCKER);
    test_build(&l, RUNTIME_ENGINE_CHECK, &a);
    test_argv_is(&a, check_docker, ARRAY_LEN(check_docker), "docker check");
    argv_fini(&a);
    test_launch_fini(&l);
}

/* No step ever hands the engine a host variable or a host socket. */
static void
test_no_host_passthrough(void **state)
{
    static const char *const banned[] = {
        "--env-host", "--network=host", "--privileged",
        "--pid=host", "--ipc=host",     "-e",
        "--env",
    };
    static const enum runtime_engine engines[] = { RUNTIME_PODMAN,
                                                   RUNTIME_DOCKER };
    struct launch l;
    struct argv a;

    (void)state;
    for (size_t e = 0; e < ARRAY_LEN(engines); e++) {
        test_launch_init(&l, engines[e]);
        snprintf(l.workspace, sizeof(l.workspace), "/w");
        for (int s = RUNTIME_ENGINE_CHECK; s <= RUNTIME_NET_RM; s++) {
            argv_init(&a);
            if (runtime_build_argv(&l, (enum runtime_step)s, &a) == 0) {
                for (size_t i = 0; i < ARRAY_LEN(banned); i++) {
                    if (test_index(&a, banned[i]) != -1)
                        fail_msg("step %d has %s", s, banned[i]);
                }
                for (size_t i = 0; i < a.n; i++) {
                    if (strstr(a.v[i], ".sock") != NULL)
                        fail_msg("step %d mounts a socket: %s", s, a.v[i]);
                    if (strstr(a.v[i], l.token) != NULL)
                        fail_msg("step %d shows the token", s);
                }
            }
            argv_fini(&a);
        }
        test_launch_fini(&l);
    }
}

static void
test_argv_to_shell(void **state)
{
    static const struct {
        const char *in[4];
        const char *want;
    } cases[] = {
        { { "podman", "run", NULL }, "podman run" },
        { { "a b", "", NULL }, "'a b' ''" },
        { { "it's", "$HOME", NULL }, "'it'\\''s' '$HOME'" },
        { { "--format", "{{.Id}}", NULL }, "--format '{{.Id}}'" },
        { { "k=v,w:x/y@z%1+2", NULL }, "k=v,w:x/y@z%1+2" },
    };
    struct argv a;
    char *s;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        argv_init(&a);
        for (size_t j = 0; cases[i].in[j] != NULL; j++)
            argv_push(&a, cases[i].in[j]);
        s = argv_to_shell(&a);
        if (s == NULL || strcmp(s, cases[i].want) != 0)
            fail_msg("case %zu: got [%s] want [%s]", i, s, cases[i].want);
        free(s);
        argv_fini(&a);
    }
}

static void
test_engine_parse(void **state)
{
    enum runtime_engine e;

    (void)state;
    assert_int_equal(runtime_engine_parse("podman", &e), 0);
    assert_int_equal(e, RUNTIME_PODMAN);
    assert_int_equal(runtime_engine_parse("docker", &e), 0);
    assert_int_equal(e, RUNTIME_DOCKER);
    assert_int_equal(runtime_engine_parse("lxc", &e), -1);
    assert_int_equal(runtime_engine_parse("Podman", &e), -1);
    assert_string_equal(runtime_engine_name(RUNTIME_DOCKER), "docker");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agent_create_podman),
        cmocka_unit_test(test_agent_create_docker),
        cmocka_unit_test(test_sidecar_create_podman),
        cmocka_unit_test(test_sidecar_create_docker),
        cmocka_unit_test(test_network_create),
        cmocka_unit_test(test_probe_has_agent_network),
        cmocka_unit_test(test_option_workspace),
        cmocka_unit_test(test_option_workspace_copy),
        cmocka_unit_test(test_option_limits),
        cmocka_unit_test(test_option_tty_and_rootless),
        cmocka_unit_test(test_option_images_and_egress),
        cmocka_unit_test(test_option_keep),
        cmocka_unit_test(test_option_network),
        cmocka_unit_test(test_option_proxy),
        cmocka_unit_test(test_cleanup_steps),
        cmocka_unit_test(test_inspect_steps),
        cmocka_unit_test(test_no_host_passthrough),
        cmocka_unit_test(test_argv_to_shell),
        cmocka_unit_test(test_engine_parse),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
