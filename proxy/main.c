/* proxy/main.c - the sluice binary: dispatches subcommands, prints usage
 * and versions. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <ares.h>
#include <event2/event.h>
#include <openssl/opensslv.h>
#include <yaml.h>

#include "launcher/launcher.h"
#include "proxy/cmd.h"

static const char main_usage[] =
    "usage: sluice COMMAND [ARGS]\n"
    "\n"
    "  serve [-c FILE]        run the proxy (default: embedded policy)\n"
    "  check [-c FILE]        validate a policy, print it as JSON\n"
    "  explain [-c FILE] [--listener NAME] [--session ID] TARGET\n"
    "                         decide one target without serving\n"
    "  ctl [-s SOCKET] CMD    talk to a running proxy's admin socket\n"
    "  run [OPTIONS] IMAGE    launch an agent container behind sluice\n"
    "  version                print versions\n";

static int
main_version(void)
{
    printf("sluice %s\n", PACKAGE_VERSION);
    printf("libevent %s\n", event_get_version());
    /* Header only: the proxy does no TLS, and loading libcrypto would cost
     * the idle proxy over 3 MiB of resident memory. */
    printf("OpenSSL %s (built against; not linked)\n",
           OPENSSL_FULL_VERSION_STR);
    printf("c-ares %s\n", ares_version(NULL));
    printf("libyaml %s\n", yaml_get_version_string());
    return 0;
}

int
main(int argc, char **argv)
{
    const char *cmd;

    if (argc < 2) {
        fputs(main_usage, stderr);
        return 2;
    }
    cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "explain") == 0)
        return cmd_explain(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
        return main_version();
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "-h") == 0) {
        fputs(main_usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return launcher_main(argc - 1, argv + 1);
    if (strcmp(cmd, "ctl") == 0)
        return cmd_ctl(argc - 1, argv + 1);
    fprintf(stderr, "sluice: unknown command '%s'\n\n%s", cmd, main_usage);
    return 2;
}
