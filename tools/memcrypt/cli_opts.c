/* memcrypt CLI — the one options parser, the common options, generated help, error output. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <memcrypt/bytes.h>
#include <memcrypt/cpu.h>
#include <memcrypt/json.h>
#include <memcrypt/psp.h>

#include "cli.h"

enum { CO_JSON = MC_OPT_ID_COMMON, CO_SEED, CO_PLATFORM, CO_STATE, CO_OUT_DIR };

/* The common options, defined once. The mask bit of each is in common_bit[]. */
static const struct mc_opt common_opts[] = {
    {"platform", 0, "NAME", "emulated CPU profile (the list: memcrypt info --list)", CO_PLATFORM, 0},
    {"state", 0, "FILE", "the emulated chip's persistent state (created when missing)", CO_STATE, MC_OPT_FILE},
    {"seed", 0, "TEXT", "deterministic keys and nonces: the same seed gives the same keys", CO_SEED, 0},
    {"out-dir", 0, "DIR", "folder for the output files", CO_OUT_DIR, MC_OPT_DIR},
    {"json", 0, NULL, "machine-readable output (JSON on stdout, errors too)", CO_JSON, 0},
    {0},
};
static const unsigned common_bit[] = {MC_CO_PLATFORM | MC_CO_PLATFORM_REQ, MC_CO_STATE, MC_CO_SEED, MC_CO_OUT_DIR,
                                      MC_CO_JSON};

static bool json_errors;
static char *capture_buf;
static size_t capture_len;

void mc_cli_set_json_errors(bool on)
{
    json_errors = on;
}

void mc_cli_capture_errors(char *buf, size_t n)
{
    capture_buf = n ? buf : NULL;
    capture_len = n;
}

static void error_members(struct mc_json *j, const char *path, const char *msg, int rc, bool usage)
{
    mc_json_str(j, "command", path);
    mc_json_str(j, "error", msg);
    mc_json_str(j, "kind", usage ? "usage" : rc == MC_EXIT_CHECK ? "check" : "runtime");
    mc_json_u64(j, "exit_status", (uint64_t)rc);
}

int mc_cli_json_fail(struct mc_json *j, const char *path, const struct mc_error *err)
{
    while (j->depth > 1)
        mc_json_end(j);
    error_members(j, path, err && err->msg[0] ? err->msg : mc_status_str(err ? err->code : MC_E_INVAL), MC_EXIT_ERROR,
                  false);
    mc_json_finish(j);
    return MC_EXIT_ERROR;
}

static int verror(const char *path, int rc, bool usage, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (capture_buf) {
        snprintf(capture_buf, capture_len, "%s", msg);
    } else if (json_errors) {
        fflush(stdout);
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        error_members(&j, path, msg, rc, usage);
        mc_json_finish(&j);
        fflush(stdout);
    } else {
        fprintf(stderr, "memcrypt %s: %s\n", path, msg);
        if (usage)
            fprintf(stderr, "(see 'memcrypt %s --help')\n", path);
    }
    return rc;
}

int mc_cli_usage_error(const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = verror(path, MC_EXIT_USAGE, true, fmt, ap);
    va_end(ap);
    return rc;
}

int mc_cli_error(const char *path, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rc = verror(path, rc, rc == MC_EXIT_USAGE, fmt, ap);
    va_end(ap);
    return rc;
}

int mc_cli_fail(const char *path, const struct mc_error *err)
{
    return mc_cli_error(path, MC_EXIT_ERROR, "%s",
                        err && err->msg[0] ? err->msg : mc_status_str(err ? err->code : MC_E_INVAL));
}

/* ------------------------------------------------------------------------------ lookup -- */

struct hit {
    const struct mc_opt *o;
    int index; /* in the command's table; -1 for a common option */
};

static bool picked(const struct mc_cli_cmd *cmd, size_t i)
{
    return (cmd->common & common_bit[i]) != 0;
}

/* Find a long option by exact name or unambiguous prefix. Returns 1 found, 0 unknown, -1
 * ambiguous (cands lists the candidates). */
static int find_long(const struct mc_cli_cmd *cmd, const char *name, size_t len, struct hit *h, char *cands,
                     size_t cn)
{
    int n = 0;
    const struct mc_opt *first = NULL;
    cands[0] = 0;
    for (int pass = 0; pass < 2; pass++) {
        const struct mc_opt *tab = pass == 0 ? cmd->opts : common_opts;
        for (int i = 0; tab && tab[i].name; i++) {
            if (pass == 1 && !picked(cmd, (size_t)i))
                continue;
            const struct mc_opt *o = &tab[i];
            if (strncmp(o->name, name, len) != 0)
                continue;
            if (strlen(o->name) == len) { /* exact */
                h->o = o;
                h->index = pass == 0 ? i : -1;
                return 1;
            }
            /* Several spellings of one option count once. */
            if (!first || first->id != o->id) {
                if (n++ == 0) {
                    h->o = o;
                    h->index = pass == 0 ? i : -1;
                }
                first = o;
                size_t k = strlen(cands);
                snprintf(cands + k, cn - k, "%s--%s", k ? ", " : "", o->name);
            }
        }
    }
    return n == 1 ? 1 : n == 0 ? 0 : -1;
}

static bool find_short(const struct mc_cli_cmd *cmd, char c, struct hit *h)
{
    for (int i = 0; cmd->opts && cmd->opts[i].name; i++)
        if (cmd->opts[i].short_name == c) {
            h->o = &cmd->opts[i];
            h->index = i;
            return true;
        }
    return false;
}

/* ------------------------------------------------------------------------------ parser -- */

void mc_args_init(struct mc_args *a, const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->argc = argc;
    a->argv = argv;
    a->i = 1;
    a->pos = argv + 1;
    a->platform = cmd->platform_default;
    a->out_dir = cmd->out_dir_default;
}

static int usage(struct mc_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage(struct mc_args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    a->rc = verror(a->argv[0], MC_EXIT_USAGE, true, fmt, ap);
    va_end(ap);
    return -1;
}

/* The checks at the end of the options. */
static int finish(struct mc_args *a)
{
    const struct mc_cli_cmd *cmd = a->cmd;
    for (int i = 0; cmd->opts && cmd->opts[i].name; i++) {
        const struct mc_opt *o = &cmd->opts[i];
        if (!(o->flags & MC_OPT_REQUIRED))
            continue;
        bool given = false;
        for (int k = 0; cmd->opts[k].name; k++)
            if (cmd->opts[k].id == o->id && (a->seen[k / 64] >> (k % 64) & 1))
                given = true;
        if (!given)
            return usage(a, "--%s%s%s is required", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    }
    /* An existing chip keeps its platform: without --platform, --state's chip names it (as for exec). A
     * file that is not a chip's is left to the command, which says why. */
    if ((cmd->common & (MC_CO_PLATFORM | MC_CO_PLATFORM_REQ)) && (cmd->common & MC_CO_STATE) && a->state &&
        !a->platform_given) {
        struct stat st;
        struct mc_error e = {0};
        char name[32];
        const struct mc_cpu_profile *p;
        if (stat(a->state, &st) == 0 && S_ISREG(st.st_mode)) {
            if (mc_psp_state_file_platform(a->state, name, &e) == MC_OK && mc_cpu_profile_find(name, &p, &e) == MC_OK)
                a->platform = p->name; /* the profile's own name: it outlives a */
            else if (!a->platform) { /* nothing to fall back on: why the chip cannot be used */
                a->rc = mc_cli_fail(a->argv[0], &e);
                return -1;
            }
        }
    }
    if ((cmd->common & MC_CO_PLATFORM_REQ) && !a->platform)
        return usage(a, "--platform NAME is required (the list: memcrypt info --list), unless --state names an "
                        "existing chip");
    if (a->npos < cmd->min_args)
        return usage(a, "missing %s", cmd->args ? cmd->args : "argument");
    if (cmd->max_args >= 0 && a->npos > cmd->max_args)
        return usage(a, "unexpected argument '%s'", a->pos[cmd->max_args]);
    return 0;
}

int mc_args_next(struct mc_args *a)
{
    const struct mc_cli_cmd *cmd = a->cmd;
    a->val = NULL;
    for (;;) {
        if (a->i >= a->argc)
            return finish(a);
        char *s = a->argv[a->i++];
        if (a->no_more_opts || s[0] != '-' || s[1] == 0) {
            a->pos[a->npos++] = s; /* the slot was consumed already: positionals move to the front */
            if (cmd->opts_end_at_arg)
                a->no_more_opts = true;
            continue;
        }
        if (!strcmp(s, "--")) {
            a->no_more_opts = true;
            continue;
        }
        struct hit h = {0};
        const char *eq = NULL;
        if (s[1] == '-') {
            const char *name = s + 2;
            eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            char cands[256];
            int r = find_long(cmd, name, len, &h, cands, sizeof cands);
            if (r == 0)
                return usage(a, "unknown option '--%.*s'", (int)len, name);
            if (r < 0)
                return usage(a, "option '--%.*s' is ambiguous (%s)", (int)len, name, cands);
        } else {
            if (s[2] != 0 || !find_short(cmd, s[1], &h))
                return usage(a, "unknown option '%s'", s);
        }
        const struct mc_opt *o = h.o;
        snprintf(a->opt, sizeof a->opt, "--%.60s", o->name);
        if (!o->arg) {
            if (eq)
                return usage(a, "option '--%s' takes no value", o->name);
        } else if (eq) {
            a->val = eq + 1;
        } else if (!(o->flags & MC_OPT_OPTIONAL)) {
            if (a->i >= a->argc)
                return usage(a, "option '--%s' needs a value (%s)", o->name, o->arg);
            a->val = a->argv[a->i++];
        }
        if (h.index >= 0) {
            a->seen[h.index / 64] |= 1ull << (h.index % 64);
            return o->id;
        }
        switch (o->id) {
        case CO_JSON: a->json = true; break;
        case CO_SEED:
            if (!*a->val)
                return usage(a, "--seed must not be empty");
            a->seed = a->val;
            break;
        case CO_PLATFORM: {
            const struct mc_cpu_profile *p;
            struct mc_error e;
            if (mc_cpu_profile_find(a->val, &p, &e) != MC_OK)
                return usage(a, "%s", e.msg);
            a->platform = a->val;
            a->platform_given = true;
            break;
        }
        case CO_STATE: a->state = a->val; break;
        case CO_OUT_DIR: a->out_dir = a->val; break;
        }
    }
}

int mc_args_all(struct mc_args *a, const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    int c;
    mc_args_init(a, cmd, argc, argv);
    while ((c = mc_args_next(a)) > 0)
        ;
    return c < 0 ? a->rc : 0;
}

int mc_args_u64(const struct mc_args *a, uint64_t *v, uint64_t max)
{
    struct mc_error e;
    if (!a->val || mc_parse_u64(a->val, v, &e) != MC_OK)
        return mc_cli_usage_error(a->argv[0], "%s: %s", a->opt, a->val ? e.msg : "a number is needed");
    if (*v > max)
        return mc_cli_usage_error(a->argv[0], "%s: %s is larger than %llu", a->opt, a->val, (unsigned long long)max);
    return 0;
}

int mc_args_seconds_ms(const struct mc_args *a, uint64_t *ms, uint64_t max_ms)
{
    struct mc_error e;
    if (!a->val || mc_parse_seconds_ms(a->val, ms, &e) != MC_OK)
        return mc_cli_usage_error(a->argv[0], "%s: %s", a->opt, a->val ? e.msg : "a number of seconds is needed");
    if (!*ms)
        return mc_cli_usage_error(a->argv[0], "%s: more than 0 seconds, e.g. 0.5", a->opt);
    if (*ms > max_ms)
        return mc_cli_usage_error(a->argv[0], "%s: %s is more than %llu seconds", a->opt, a->val,
                                  (unsigned long long)(max_ms / 1000));
    return 0;
}

/* -------------------------------------------------------------------------------- help -- */

void mc_cli_each_opt(const struct mc_cli_cmd *cmd,
                     void (*fn)(void *ctx, const struct mc_opt *o, const char *help, bool primary), void *ctx)
{
    for (int i = 0; cmd->opts && cmd->opts[i].name; i++)
        fn(ctx, &cmd->opts[i], cmd->opts[i].help, cmd->opts[i].help != NULL);
    for (size_t i = 0; common_opts[i].name; i++) {
        if (!picked(cmd, i))
            continue;
        const struct mc_opt *o = &common_opts[i];
        char help[256];
        snprintf(help, sizeof help, "%s", o->help);
        /* An existing --state chip keeps its platform (finish()). */
        const bool st = (cmd->common & MC_CO_STATE) != 0;
        if (o->id == CO_PLATFORM && cmd->platform_default)
            snprintf(help + strlen(help), sizeof help - strlen(help), "; default %s%s", st ? "an existing --state chip's, else " : "",
                     cmd->platform_default);
        else if (o->id == CO_PLATFORM && st && !(cmd->common & MC_CO_PLATFORM_REQ))
            snprintf(help + strlen(help), sizeof help - strlen(help), "; default an existing --state chip's");
        if (o->id == CO_PLATFORM && (cmd->common & MC_CO_PLATFORM_REQ))
            snprintf(help + strlen(help), sizeof help - strlen(help), st ? " (required without an existing --state chip)" : " (required)");
        if (o->id == CO_OUT_DIR && cmd->out_dir_default)
            snprintf(help + strlen(help), sizeof help - strlen(help), "; default %s", cmd->out_dir_default);
        fn(ctx, o, help, true);
    }
}

/* "--name ARG" (or "--name[=ARG]"). */
static void spell(char *buf, size_t n, const struct mc_opt *o)
{
    size_t k = strlen(buf);
    if (o->short_name)
        k += (size_t)snprintf(buf + k, n - k, "%s-%c", k ? ", " : "", o->short_name);
    if (o->flags & MC_OPT_OPTIONAL)
        snprintf(buf + k, n - k, "%s--%s[=%s]", k ? ", " : "", o->name, o->arg);
    else
        snprintf(buf + k, n - k, "%s--%s%s%s", k ? ", " : "", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

struct help_ctx {
    FILE *o;
    const struct mc_cli_cmd *cmd;
};

#define HELP_COL 26

static void help_line(void *vctx, const struct mc_opt *o, const char *help, bool primary)
{
    struct help_ctx *h = vctx;
    if (!primary)
        return;
    char left[256] = "";
    spell(left, sizeof left, o);
    /* Aliases (same id, no help text of their own) are shown with their option. */
    for (int i = 0; o->id < MC_OPT_ID_COMMON && h->cmd->opts && h->cmd->opts[i].name; i++)
        if (h->cmd->opts[i].id == o->id && !h->cmd->opts[i].help)
            spell(left, sizeof left, &h->cmd->opts[i]);
    if (strlen(left) + 4 > HELP_COL)
        fprintf(h->o, "  %s\n%*s", left, HELP_COL, "");
    else
        fprintf(h->o, "  %-*s", HELP_COL - 2, left);
    for (const char *p = help; *p;) {
        size_t n = strcspn(p, "\n");
        fprintf(h->o, "%.*s\n", (int)n, p);
        p += n;
        if (*p == '\n' && *++p)
            fprintf(h->o, "%*s", HELP_COL, "");
    }
}

static void print_lines(FILE *o, const char *indent, const char *text)
{
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        fprintf(o, "%s%.*s\n", n ? indent : "", (int)n, p);
        p += n;
        if (*p == '\n')
            p++;
    }
}

void mc_cli_help(FILE *o, const struct mc_cli_cmd *cmd, void (*more)(FILE *o, void *ctx), void *ctx)
{
    const char *syn = cmd->synopsis ? cmd->synopsis : "";
    bool first = true;
    for (const char *p = syn;;) {
        size_t n = strcspn(p, "\n");
        fprintf(o, "%s memcrypt %s%s%.*s\n", first ? "usage:" : "      ", cmd->path, n ? " " : "", (int)n, p);
        first = false;
        p += n;
        if (!*p || !*++p)
            break;
    }
    if (cmd->about) {
        fputc('\n', o);
        print_lines(o, "", cmd->about);
    }
    fprintf(o, "\noptions:\n");
    struct help_ctx h = {o, cmd};
    mc_cli_each_opt(cmd, help_line, &h);
    help_line(&h, &(struct mc_opt){"help", 'h', NULL, NULL, 0, 0}, "this help", true);
    if (cmd->notes) {
        fputc('\n', o);
        print_lines(o, "", cmd->notes);
    }
    if (more)
        more(o, ctx);
    if (cmd->examples)
        mc_cli_help_examples(o, cmd->examples);
}

void mc_cli_help_examples(FILE *o, const char *examples)
{
    fprintf(o, "\nexample%s:\n", strchr(examples, '\n') && strchr(examples, '\n')[1] ? "s" : "");
    print_lines(o, "  ", examples);
}
