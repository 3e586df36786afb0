/* memcrypt CLI — command registration and the one options parser.
 *
 * Each tools/memcrypt/cmd_<group>.c defines
 *     const struct mc_cli_cmd mc_cli_<group>[] = { {.path = "group sub", ...}, ..., {0} };
 * The build generates the list of groups from the file names (no shared table to edit).
 * "path" is the full command path after `memcrypt`, e.g. "demo sme" or "report verify".
 *
 * A command declares its options in one table (struct mc_opt[]) and picks the common options
 * (--json, --seed, --platform, --state, --out-dir; defined once in cli_opts.c) with a bit mask.
 * From that one declaration come the parsing (mc_args_next), the error for a bad option (always
 * a usage error, exit 2, worded one way), the option list of `--help`, the man page and the bash
 * completion. The dispatcher answers `--help`/`-h` for every command, so commands never do.
 *
 * run() gets argc/argv with argv[0] = the command path and returns the exit status:
 *   0 success, 1 a check failed (verify/compare commands), 2 usage error, 3 runtime error.
 * Keep commands thin: parse options, call the library, print text or --json.
 */
#ifndef MC_CLI_H
#define MC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <memcrypt/error.h>

enum { MC_EXIT_OK = 0, MC_EXIT_CHECK = 1, MC_EXIT_USAGE = 2, MC_EXIT_ERROR = 3 };

/* One option of a command's table. */
struct mc_opt {
    const char *name;  /* long name without the dashes: "platform" for --platform */
    char short_name;   /* 'v' for -v, or 0 */
    const char *arg;   /* placeholder of the value in help ("FILE"); NULL: a flag without a value */
    const char *help;  /* help text ('\n' between lines); NULL: an alias of the entry with the same id */
    int id;            /* what mc_args_next() returns for it; > 0 and < MC_OPT_ID_COMMON */
    unsigned flags;    /* MC_OPT_* */
};

enum {
    MC_OPT_OPTIONAL = 1u << 0, /* the value is optional and only taken as --name=VALUE */
    MC_OPT_REQUIRED = 1u << 1, /* the command fails with a usage error when it is missing */
    MC_OPT_FILE = 1u << 2,     /* the value is a path (bash completion offers files) */
    MC_OPT_DIR = 1u << 3,      /* the value is a folder */
};

/* Ids from here on belong to the common options; command tables use smaller ones. */
#define MC_OPT_ID_COMMON 0x7f00

/* The common options, defined once (cli_opts.c); a command picks them with .common. */
enum {
    MC_CO_JSON = 1u << 0,         /* --json: machine-readable output; errors as JSON on stdout */
    MC_CO_SEED = 1u << 1,         /* --seed TEXT: deterministic keys (not empty) */
    MC_CO_PLATFORM = 1u << 2,     /* --platform NAME: a CPU profile (unknown: usage error) */
    MC_CO_PLATFORM_REQ = 1u << 3, /* ... and it is required (implies MC_CO_PLATFORM) */
    MC_CO_STATE = 1u << 4,        /* --state FILE: the emulated chip's persistent state */
    MC_CO_OUT_DIR = 1u << 5,      /* --out-dir DIR: output folder, created like everywhere else */
};

struct mc_cli_cmd {
    const char *path;     /* "report verify" */
    const char *summary;  /* one line for the command lists */
    const char *synopsis; /* after "usage: memcrypt PATH "; further forms after '\n' */
    const char *about;    /* what it does: paragraphs, lines end with '\n' */
    const struct mc_opt *opts; /* the command's own options, ended by {0}; NULL: none */
    unsigned common;           /* MC_CO_* */
    const char *args;     /* names of the positional arguments, for messages ("DOMAIN.xml") */
    int min_args, max_args;    /* how many positional arguments; max_args < 0: any number */
    const char *platform_default; /* --platform when not given (NULL: none) */
    const char *out_dir_default;  /* --out-dir when not given (NULL: none) */
    const char *notes;    /* text after the option list (formats, exit status), or NULL */
    bool opts_end_at_arg; /* the first positional argument ends the options (the rest belong to a
                           * program run by the command, as getopt's "+") */
    const char *examples; /* at least one; commands run as written from the repository root,
                           * one per line, in order (later lines may use files made earlier) */
    int (*run)(const struct mc_cli_cmd *cmd, int argc, char **argv);
};

/* The parser: iterate like getopt_long, but over the command's table.
 *
 *     struct mc_args a;
 *     mc_args_init(&a, cmd, argc, argv);
 *     int c;
 *     while ((c = mc_args_next(&a)) > 0)
 *         switch (c) { case O_KEY: key = a.val; break; ... }
 *     if (c < 0)
 *         return a.rc;
 *     ... a.pos[0 .. a.npos-1] are the positional arguments, a.json / a.seed / a.platform ...
 *
 * Options and positional arguments may come in any order; "--" ends the options; a value is
 * given as "--name VALUE" or "--name=VALUE"; an unambiguous prefix of a long name is accepted.
 * At the end the parser checks the common options (an unknown --platform and an empty --seed are
 * usage errors), MC_OPT_REQUIRED options and the number of positional arguments. */
struct mc_args {
    const struct mc_cli_cmd *cmd;
    int argc;
    char **argv;
    int i;                /* next argv index */
    bool no_more_opts;    /* after "--" */
    const char *val;      /* the value of the option just returned (NULL: none) */
    char opt[64];         /* that option's canonical spelling, e.g. "--platform" */
    char **pos;           /* positional arguments (moved to the front of argv + 1) */
    int npos;
    int rc;               /* exit status when mc_args_next() returned < 0 */
    uint64_t seen[4];     /* which table entries were given (for MC_OPT_REQUIRED) */
    /* common options */
    bool json;
    const char *seed, *platform, *state, *out_dir;
    bool platform_given; /* --platform was on the command line */
};

void mc_args_init(struct mc_args *a, const struct mc_cli_cmd *cmd, int argc, char **argv);
/* > 0: an option id of the command's table (value in a->val); 0: done, every check passed;
 * < 0: a usage error was printed, return a->rc. */
int mc_args_next(struct mc_args *a);

/* For a command without options of its own: parse all of argv. Returns 0, or the exit status of
 * the usage error it printed. */
int mc_args_all(struct mc_args *a, const struct mc_cli_cmd *cmd, int argc, char **argv);

/* Option values: parse a->val as a number (decimal or 0x hex) no larger than max. Returns 0,
 * or MC_EXIT_USAGE after printing "--opt: why". */
int mc_args_u64(const struct mc_args *a, uint64_t *v, uint64_t max);
/* ... as seconds with up to three decimals ("30", "0.5"), into milliseconds: more than 0 and no
 * more than max_ms. */
int mc_args_seconds_ms(const struct mc_args *a, uint64_t *ms, uint64_t max_ms);

/* The help text of a command, generated from its declaration; more() (if not NULL) adds a
 * section before the examples, which always come last. */
void mc_cli_help(FILE *o, const struct mc_cli_cmd *cmd, void (*more)(FILE *o, void *ctx), void *ctx);
/* Call fn for every option the command accepts (its table, then the common ones it picked),
 * once per spelling: primary is false for aliases. For help, man pages and completion. */
void mc_cli_each_opt(const struct mc_cli_cmd *cmd,
                     void (*fn)(void *ctx, const struct mc_opt *o, const char *help, bool primary), void *ctx);

/* The generated command table: every group, then NULL. */
extern const struct mc_cli_cmd *const mc_cli_groups[];
/* The --help page of a group without a command of its own: `memcrypt fw --help` lists the
 * subcommands, then these examples (run as written from the repository root, as a command's; see
 * tests/cli_help_examples). main.c lists the groups that have one. */
struct mc_cli_group_page {
    const char *group;    /* "fw" */
    const char *examples; /* one command per line, in order */
};
extern const struct mc_cli_group_page mc_cli_fw_page;
/* The "examples:" section of a --help page (a command's or a group's). */
void mc_cli_help_examples(FILE *o, const char *examples);

/* Print "memcrypt <path>: <message>" and "(see 'memcrypt <path> --help')" to stderr (or, when
 * JSON output was asked for, a JSON error object on stdout) and return MC_EXIT_USAGE. */
int mc_cli_usage_error(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "memcrypt <path>: <err->msg>" (or the JSON error object) and return MC_EXIT_ERROR. */
int mc_cli_fail(const char *path, const struct mc_error *err);
/* The same with a message of its own and a chosen exit status. */
int mc_cli_error(const char *path, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Errors go to stdout as JSON from now on (set by the dispatcher when --json is given). */
void mc_cli_set_json_errors(bool on);
/* While buf is not NULL, error messages are written into buf (the message alone, no command
 * name) instead of being printed: for a command that reports errors per input line
 * (`measure --batch`). mc_cli_capture_errors(NULL, 0) ends it. */
void mc_cli_capture_errors(char *buf, size_t n);
/* A command that streams its JSON object and fails half way: add the error members ("command",
 * "error", "kind", "exit_status", the same as a JSON error object) to the open object j, close
 * every level and return MC_EXIT_ERROR. */
struct mc_json;
int mc_cli_json_fail(struct mc_json *j, const char *path, const struct mc_error *err);

/* Output folders, one way everywhere (--out-dir, --out DIR, DIR arguments, --dump-vmsa=DIR): the
 * command declares the folder in its output set (mc_outset_dir, memcrypt/fileio.h): an existing
 * folder is used as it is; missing ones are made (as mkdir -p) when the command succeeds, with
 * these modes; a failing command leaves nothing. Files are created 0600. */
#define MC_CLI_DIR_MODE 0755     /* certificates, reports, measurements, VMSAs, pages */
#define MC_CLI_KEY_DIR_MODE 0700 /* the guest owner's keys (TEK, TIK) */

#endif
