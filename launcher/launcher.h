/* launcher/launcher.h - `sluice run`: start an agent container whose only
 * way out is sluice (SPEC section 8). */
#ifndef LAUNCHER_LAUNCHER_H
#define LAUNCHER_LAUNCHER_H

/* Runs `sluice run` with the arguments after "run" (argv[0] is "run").
 * Returns the process exit code: the agent's exit status, or 2 for usage,
 * policy and engine errors. */
int launcher_main(int argc, char **argv);

#endif /* LAUNCHER_LAUNCHER_H */
