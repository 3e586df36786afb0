/* memcrypt CLI — command registration.
 *
 * Each tools/memcrypt/cmd_<group>.c defines
 *     const struct mc_cli_cmd mc_cli_<group>[] = { {"path words", "summary", "usage", fn}, ..., {0} };
 * The build generates the list of groups from the file names (no shared table to edit).
 * "path words" is the full command path after `memcrypt`, e.g. "demo sme" or "report verify".
 * The dispatcher matches the longest path, prints group help for a partial path, and answers
 * `--help`/`-h` for every command from its usage text, so commands never handle --help.
 * fn gets argc/argv with argv[0] = the command path; it returns the process exit status:
 *   0 success, 1 a check failed (verify/compare commands), 2 usage error, 3 runtime error.
 * Keep commands thin: parse options (getopt_long), call the library, print text or --json.
 */
#ifndef MC_CLI_H
#define MC_CLI_H

#include <stdio.h>

#include <memcrypt/error.h>

enum { MC_EXIT_OK = 0, MC_EXIT_CHECK = 1, MC_EXIT_USAGE = 2, MC_EXIT_ERROR = 3 };

struct mc_cli_cmd {
    const char *path;
    const char *summary;
    const char *usage; /* full help text: synopsis line(s), options, examples */
    int (*run)(int argc, char **argv);
};

/* Print "memcrypt <path>: <message>" to stderr and return MC_EXIT_USAGE. */
int mc_cli_usage_error(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "memcrypt <path>: <err->msg>" to stderr and return MC_EXIT_ERROR. */
int mc_cli_fail(const char *path, const struct mc_error *err);

#endif
