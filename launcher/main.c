/* launcher/main.c - `sluice run` entry point. */
#include "config.h"
#include "launcher/launcher.h"

#include <stdio.h>

int
launcher_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "sluice: 'run' is not available in this version yet\n");
    return 2;
}
