/* memcrypt CLI entry point: git-style dispatch over the generated command table. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include <memcrypt/crypto.h>

#define MC_CLI_GROUP(g) extern const struct mc_cli_cmd mc_cli_##g[];
#include "mc_cli_table.inc"
#undef MC_CLI_GROUP

const struct mc_cli_cmd *const mc_cli_groups[] = {
#define MC_CLI_GROUP(g) mc_cli_##g,
#include "mc_cli_table.inc"
#undef MC_CLI_GROUP
    NULL,
};
#define groups mc_cli_groups

/* The groups without a command of their own whose --help page has examples (cli.h). */
static const struct mc_cli_group_page *const group_pages[] = {&mc_cli_fw_page, NULL};

/* Number of leading argv words that spell cmd->path, or 0 if it does not match. */
static int match_words(const char *path, int argc, char **argv)
{
    int n = 0;
    const char *p = path;
    while (*p) {
        size_t len = strcspn(p, " ");
        if (n >= argc || strlen(argv[n]) != len || strncmp(argv[n], p, len) != 0)
            return 0;
        n++;
        p += len;
        while (*p == ' ')
            p++;
    }
    return n;
}

/* True when argv words form a strict prefix of path (a group such as "demo"). */
static bool is_prefix(const char *path, int argc, char **argv)
{
    const char *p = path;
    for (int i = 0; i < argc; i++) {
        size_t len = strlen(argv[i]);
        if (strncmp(p, argv[i], len) != 0 || p[len] != ' ')
            return false;
        p += len + 1;
    }
    return true;
}

static void list_commands(FILE *o, int argc, char **argv)
{
    for (int g = 0; groups[g]; g++)
        for (const struct mc_cli_cmd *c = groups[g]; c->path; c++)
            if (argc == 0 || is_prefix(c->path, argc, argv) || match_words(c->path, argc, argv) == argc)
                fprintf(o, "  %-28s %s\n", c->path, c->summary);
}

struct sub_ctx {
    int n;
    char **args;
};

static void list_sub(FILE *o, void *vctx)
{
    struct sub_ctx *c = vctx;
    fprintf(o, "\nsubcommands:\n");
    list_commands(o, c->n, c->args);
}

static void top_help(FILE *o)
{
    fprintf(o,
            "memcrypt %s — a software model of x86 memory encryption\n"
            "(AMD SME, TSME, SEV, SEV-ES, SEV-SNP; Intel TME, MKTME)\n\n"
            "usage: memcrypt <command> [<subcommand>] [options]\n"
            "       memcrypt <command> --help\n"
            "       memcrypt -V | --version\n\n"
            "commands:\n",
            MC_VERSION);
    list_commands(o, 0, NULL);
}

static bool any_prefixed(int n, char **args)
{
    for (int g = 0; groups[g]; g++)
        for (const struct mc_cli_cmd *c = groups[g]; c->path; c++)
            if (is_prefix(c->path, n, args))
                return true;
    return false;
}

static bool has_help(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return true;
        /* A command that runs a program: its options end at "--" or at the program's name (a
         * word that is not the value of the option before it); what follows is the program's. */
        if (cmd && cmd->opts_end_at_arg &&
            (!strcmp(argv[i], "--") ||
             (argv[i][0] != '-' && !(i > 0 && !strncmp(argv[i - 1], "--", 2) && !strchr(argv[i - 1], '=')))))
            return false;
    }
    return false;
}

int main(int argc, char **argv)
{
    int nargs = argc - 1;
    char **args = argv + 1;
    mc_crypto_init();
    if (nargs == 0 || !strcmp(args[0], "--help") || !strcmp(args[0], "-h") || !strcmp(args[0], "help")) {
        top_help(nargs == 0 ? stderr : stdout);
        return nargs == 0 ? MC_EXIT_USAGE : MC_EXIT_OK;
    }
    if (!strcmp(args[0], "--version") || !strcmp(args[0], "-V")) {
        printf("memcrypt %s\n", MC_VERSION);
        return MC_EXIT_OK;
    }
    /* The command is the longest path spelled by the leading words. */
    const struct mc_cli_cmd *best = NULL;
    int best_n = 0;
    for (int g = 0; groups[g]; g++)
        for (const struct mc_cli_cmd *c = groups[g]; c->path; c++) {
            int n = match_words(c->path, nargs, args);
            if (n > best_n) {
                best = c;
                best_n = n;
            }
        }
    bool help = has_help(best, nargs - best_n, args + best_n);
    if (!best) {
        /* A group without a command of its own ("memcrypt demo"): list its subcommands. */
        int words = 0;
        while (words < nargs && args[words][0] != '-')
            words++;
        int k = words;
        while (k > 0 && !any_prefixed(k, args))
            k--;
        if (k == 0) {
            fprintf(stderr, "memcrypt: unknown command '%s' (see 'memcrypt --help')\n", args[0]);
            return MC_EXIT_USAGE;
        }
        FILE *o = (help && k == words) ? stdout : stderr;
        if (k < words)
            fprintf(o, "memcrypt: unknown subcommand '%s'\n\n", args[k]);
        fprintf(o, "usage: memcrypt");
        for (int i = 0; i < k; i++)
            fprintf(o, " %s", args[i]);
        fprintf(o, " <subcommand> [options]\n\nsubcommands:\n");
        list_commands(o, k, args);
        for (int i = 0; help && k == words && k == 1 && group_pages[i]; i++)
            if (!strcmp(group_pages[i]->group, args[0]))
                mc_cli_help_examples(o, group_pages[i]->examples);
        return (help && k == words) ? MC_EXIT_OK : MC_EXIT_USAGE;
    }
    if (help) {
        /* A command that is also a group (e.g. "measure" and "measure diff") lists its children. */
        struct sub_ctx sc = {best_n, args};
        mc_cli_help(stdout, best, any_prefixed(best_n, args) ? list_sub : NULL, &sc);
        return MC_EXIT_OK;
    }
    /* With --json, errors (usage errors included) are JSON on stdout too. */
    if (best->common & MC_CO_JSON)
        for (int i = best_n; i < nargs; i++)
            if (!strcmp(args[i], "--json"))
                mc_cli_set_json_errors(true);
    char **cargv = args + best_n - 1;
    char *saved = cargv[0];
    cargv[0] = (char *)best->path;
    int rc = best->run(best, nargs - best_n + 1, cargv);
    cargv[0] = saved;
    return rc;
}
