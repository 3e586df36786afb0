/* memcrypt man | completion — the manual pages and the bash completion, generated from the same
 * declarations as --help (the option tables, synopses, texts and examples of every command).
 * The build runs both (build/man/, build/completion/) and `cmake --install` installs them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/cpu.h>
#include <memcrypt/fileio.h>

#include "cli.h"

/* ------------------------------------------------------------------------------ groups -- */

/* The group of a command: the first word of its path. */
static size_t group_len(const char *path) { return strcspn(path, " "); }

static bool in_group(const struct mc_cli_cmd *c, const char *g, size_t gl)
{
    return group_len(c->path) == gl && !strncmp(c->path, g, gl);
}

/* Is there a command before c (in table order) in the same group? */
static bool group_seen_before(const struct mc_cli_cmd *c)
{
    size_t gl = group_len(c->path);
    for (int k = 0; mc_cli_groups[k]; k++)
        for (const struct mc_cli_cmd *d = mc_cli_groups[k]; d->path; d++) {
            if (d == c)
                return false;
            if (in_group(d, c->path, gl))
                return true;
        }
    return false;
}

/* Call fn once per group, in table order. */
static void each_group(void (*fn)(void *ctx, const char *g, size_t gl), void *ctx)
{
    for (int i = 0; mc_cli_groups[i]; i++)
        for (const struct mc_cli_cmd *c = mc_cli_groups[i]; c->path; c++)
            if (!group_seen_before(c))
                fn(ctx, c->path, group_len(c->path));
}

static bool group_exists(const char *g)
{
    for (int i = 0; mc_cli_groups[i]; i++)
        for (const struct mc_cli_cmd *c = mc_cli_groups[i]; c->path; c++)
            if (in_group(c, g, strlen(g)))
                return true;
    return false;
}

/* ------------------------------------------------------------------------------- roff -- */

/* Text as roff: backslashes escaped, dashes as \-, a leading . or ' made harmless. */
static void roff_text(FILE *o, const char *s, size_t n)
{
    bool bol = true;
    for (size_t i = 0; i < n && s[i]; i++) {
        char c = s[i];
        if (bol && (c == '.' || c == '\''))
            fputs("\\&", o);
        unsigned char u = (unsigned char)c;
        if (c == '\\')
            fputs("\\e", o);
        else if (c == '-')
            fputs("\\-", o);
        else if (u >= 0xC0 && u < 0xF0 && i + 1 < n) { /* UTF-8 (2 or 3 bytes) as \[uXXXX] */
            unsigned cp = u < 0xE0 ? u & 0x1Fu : u & 0x0Fu;
            size_t more = u < 0xE0 ? 1 : 2;
            for (size_t k = 1; k <= more && i + k < n; k++)
                cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3Fu);
            fprintf(o, "\\[u%04X]", cp);
            i += more;
        } else
            fputc(c, o);
        bol = c == '\n';
    }
}

static void roff_lines(FILE *o, const char *text)
{
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        if (n == 0)
            fputs(".PP\n", o);
        else if (p[0] == ' ') { /* an indented line: keep it as it is */
            fputs(".nf\n", o);
            roff_text(o, p, n);
            fputs("\n.fi\n", o);
        } else {
            roff_text(o, p, n);
            fputc('\n', o);
        }
        p += n;
        if (*p == '\n')
            p++;
    }
}

struct man_ctx {
    FILE *o;
    const struct mc_cli_cmd *cmd;
};

static void man_spell(FILE *o, const struct mc_opt *x, bool first)
{
    if (!first)
        fputs(", ", o);
    if (x->short_name)
        fprintf(o, "\\fB\\-%c\\fR, ", x->short_name);
    fputs("\\fB\\-\\-", o);
    roff_text(o, x->name, strlen(x->name));
    fputs("\\fR", o);
    if (x->arg) {
        fputs((x->flags & MC_OPT_OPTIONAL) ? "[=\\fI" : " \\fI", o);
        roff_text(o, x->arg, strlen(x->arg));
        fputs((x->flags & MC_OPT_OPTIONAL) ? "\\fR]" : "\\fR", o);
    }
}

static void man_opt(void *vctx, const struct mc_opt *op, const char *help, bool primary)
{
    struct man_ctx *m = vctx;
    if (!primary)
        return;
    fputs(".TP\n", m->o);
    man_spell(m->o, op, true);
    /* aliases: the same id without help text of their own */
    for (int i = 0; op->id < MC_OPT_ID_COMMON && m->cmd->opts && m->cmd->opts[i].name; i++)
        if (m->cmd->opts[i].id == op->id && !m->cmd->opts[i].help)
            man_spell(m->o, &m->cmd->opts[i], false);
    fputc('\n', m->o);
    roff_lines(m->o, help);
}

static void man_synopsis(FILE *o, const struct mc_cli_cmd *c)
{
    const char *syn = c->synopsis ? c->synopsis : "";
    for (const char *p = syn;;) {
        size_t n = strcspn(p, "\n");
        fprintf(o, ".B memcrypt %s\n", c->path);
        if (n) {
            roff_text(o, p, n);
            fputc('\n', o);
        }
        fputs(".br\n", o);
        p += n;
        if (!*p || !*++p)
            break;
    }
}

static void upper(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            *s = (char)(*s - 'a' + 'A');
}

/* memcrypt-GROUP(1), or memcrypt(1) for g == NULL. */
static void man_page(FILE *o, const char *g)
{
    char name[64], title[64];
    snprintf(name, sizeof name, g ? "memcrypt-%s" : "memcrypt", g);
    snprintf(title, sizeof title, "%s", name);
    upper(title);
    fprintf(o, ".\\\" Generated by `memcrypt man` from the command declarations (tools/memcrypt). Do not edit.\n");
    fprintf(o, ".TH %s 1 \"\" \"memcrypt %s\" \"memcrypt manual\"\n", title, MC_VERSION);
    fputs(".SH NAME\n", o);
    roff_text(o, name, strlen(name));
    if (!g) {
        fputs(" \\- a software model of x86 memory encryption (AMD SME, TSME, SEV, SEV\\-ES, SEV\\-SNP; Intel TME, "
              "MKTME)\n",
              o);
        fputs(".SH SYNOPSIS\n.B memcrypt\n\\fICOMMAND\\fR [\\fISUBCOMMAND\\fR] [\\fIOPTIONS\\fR]\n.br\n"
              ".B memcrypt\n\\fICOMMAND\\fR \\-\\-help\n.br\n.B memcrypt \\-V\n",
              o);
        fputs(".SH DESCRIPTION\nOne binary with git\\-style commands; every command answers \\fB\\-\\-help\\fR, "
              "and every command that reports takes \\fB\\-\\-json\\fR.\n.SH COMMANDS\n",
              o);
        for (int i = 0; mc_cli_groups[i]; i++)
            for (const struct mc_cli_cmd *c = mc_cli_groups[i]; c->path; c++) {
                fprintf(o, ".TP\n.B memcrypt %s\n", c->path);
                roff_text(o, c->summary, strlen(c->summary));
                fputc('\n', o);
            }
    } else {
        size_t gl = strlen(g);
        const char *summary = NULL;
        for (int i = 0; mc_cli_groups[i] && !summary; i++)
            for (const struct mc_cli_cmd *c = mc_cli_groups[i]; c->path; c++)
                if (!strcmp(c->path, g))
                    summary = c->summary;
        fputs(" \\- ", o);
        if (summary)
            roff_text(o, summary, strlen(summary));
        else
            fprintf(o, "the memcrypt %s commands", g);
        fputs("\n.SH SYNOPSIS\n", o);
        for (int i = 0; mc_cli_groups[i]; i++)
            for (const struct mc_cli_cmd *c = mc_cli_groups[i]; c->path; c++)
                if (in_group(c, g, gl))
                    man_synopsis(o, c);
        fputs(".SH DESCRIPTION\n", o);
        for (int i = 0; mc_cli_groups[i]; i++)
            for (const struct mc_cli_cmd *c = mc_cli_groups[i]; c->path; c++) {
                if (!in_group(c, g, gl))
                    continue;
                fprintf(o, ".SS memcrypt %s\n", c->path);
                roff_text(o, c->summary, strlen(c->summary));
                fputs(".\n.PP\n", o);
                if (c->about)
                    roff_lines(o, c->about);
                fputs(".PP\n.B Options\n", o);
                struct man_ctx m = {o, c};
                mc_cli_each_opt(c, man_opt, &m);
                if (c->notes) {
                    fputs(".PP\n", o);
                    roff_lines(o, c->notes);
                }
                if (c->examples) {
                    fputs(".PP\n.B Examples\n.PP\n.nf\n.RS 4\n", o);
                    roff_text(o, c->examples, strlen(c->examples));
                    fputs(".RE\n.fi\n", o);
                }
            }
    }
    fputs(".SH EXIT STATUS\n0 success, 1 a check failed, 2 usage error, 3 runtime error.\n", o);
    fputs(".SH ENVIRONMENT\n.TP\n.B MEMCRYPT_PROGRESS\n0: never draw progress lines (they are drawn on a "
          "terminal only, for steps over 2 s).\n.TP\n.B MEMCRYPT_PROGRESS_DELAY\nseconds before a progress line "
          "is drawn (default 2).\n",
          o);
    fputs(".SH SEE ALSO\n", o);
    if (g)
        fputs(".BR memcrypt (1)\n", o);
    else
        fputs("memcrypt\\-\\fIGROUP\\fR(1) for each command group; the documents in the project's docs/ folder.\n",
              o);
}

struct write_ctx {
    struct mc_outset *os;
    const char *dir;
    mc_status st;
    struct mc_error err;
};

/* Render a page (g NULL: memcrypt(1)) into the output set as DIR/NAME. */
static void add_page(struct write_ctx *w, const char *g, const char *name)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *o = w->st ? NULL : open_memstream(&buf, &len);
    if (!o) {
        if (!w->st)
            w->st = mc_seterr(&w->err, MC_E_NOMEM, "out of memory");
        return;
    }
    man_page(o, g);
    if (fclose(o) != 0)
        w->st = mc_seterr(&w->err, MC_E_NOMEM, "out of memory");
    else
        w->st = mc_outset_add_in(w->os, w->dir, name, (const uint8_t *)buf, len, &w->err);
    free(buf);
}

static void write_one(void *vctx, const char *g, size_t gl)
{
    struct write_ctx *w = vctx;
    char group[64], name[96];
    snprintf(group, sizeof group, "%.*s", (int)gl, g);
    snprintf(name, sizeof name, "memcrypt-%s.1", group);
    add_page(w, group, name);
}

static void print_group(void *vctx, const char *g, size_t gl)
{
    (void)vctx;
    printf("%.*s\n", (int)gl, g);
}

enum { O_LIST = 1 };

static const struct mc_opt man_opts[] = {
    {"list", 0, NULL, "list the command groups (one page each)", O_LIST, 0},
    {0},
};

static int run_man(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct mc_args a;
    int c;
    bool list = false;
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0)
        if (c == O_LIST)
            list = true;
    if (c < 0)
        return a.rc;
    if (list) {
        each_group(print_group, NULL);
        return MC_EXIT_OK;
    }
    if (a.out_dir) {
        if (a.npos)
            return mc_cli_usage_error(argv[0], "--out-dir writes every page; give no GROUP");
        struct write_ctx w = {.dir = a.out_dir};
        w.st = mc_outset_create(&w.os, &w.err);
        if (!w.st)
            w.st = mc_outset_dir(w.os, a.out_dir, MC_CLI_DIR_MODE, &w.err);
        add_page(&w, NULL, "memcrypt.1");
        each_group(write_one, &w);
        if (!w.st)
            w.st = mc_outset_commit(w.os, &w.err);
        mc_outset_destroy(w.os);
        return w.st ? mc_cli_fail(argv[0], &w.err) : MC_EXIT_OK;
    }
    if (a.npos && !group_exists(a.pos[0]))
        return mc_cli_usage_error(argv[0], "no command group '%s' (the list: memcrypt man --list)", a.pos[0]);
    man_page(stdout, a.npos ? a.pos[0] : NULL);
    return MC_EXIT_OK;
}

/* ------------------------------------------------------------------------- completion -- */

struct comp_ctx {
    const char *kind; /* "words": every option; "value", "file", "dir", "platform": "|--a|--b" */
    char buf[4096];
    size_t len;
};

static void comp_opt(void *vctx, const struct mc_opt *op, const char *help, bool primary)
{
    struct comp_ctx *k = vctx;
    (void)help;
    (void)primary;
    bool file = op->arg && (op->flags & MC_OPT_FILE), dir = op->arg && (op->flags & MC_OPT_DIR);
    bool platform = op->arg && !strcmp(op->name, "platform");
    bool words = !strcmp(k->kind, "words");
    if (words || (!strcmp(k->kind, "value") && op->arg) || (!strcmp(k->kind, "file") && file) ||
        (!strcmp(k->kind, "dir") && dir) || (!strcmp(k->kind, "platform") && platform)) {
        int n = snprintf(k->buf + k->len, sizeof k->buf - k->len, "%s--%s", words ? " " : "|", op->name);
        if (n > 0 && (size_t)n < sizeof k->buf - k->len)
            k->len += (size_t)n;
    }
}

/* The options of c of one kind, into k->buf. */
static const char *comp_list(struct comp_ctx *k, const struct mc_cli_cmd *c, const char *kind)
{
    k->kind = kind;
    k->len = 0;
    k->buf[0] = 0;
    mc_cli_each_opt(c, comp_opt, k);
    return k->buf;
}

static int run_completion(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct mc_args a;
    int rc = mc_args_all(&a, cmd, argc, argv);
    if (rc)
        return rc;
    if (strcmp(a.pos[0], "bash") != 0)
        return mc_cli_usage_error(argv[0], "only bash completion is generated, not '%s'", a.pos[0]);
    char *buf = NULL;
    size_t len = 0;
    FILE *o = a.out_dir ? open_memstream(&buf, &len) : stdout;
    if (!o)
        return mc_cli_error(argv[0], MC_EXIT_ERROR, "out of memory");
    fprintf(o, "# bash completion for memcrypt %s\n"
               "# Generated by `memcrypt completion bash` from the command declarations. Do not edit.\n"
               "# Install as /usr/share/bash-completion/completions/memcrypt, or: source <(memcrypt completion bash)\n\n",
            MC_VERSION);
    /* Every command path, and the platforms. */
    fputs("_memcrypt_paths=(", o);
    for (int i = 0; mc_cli_groups[i]; i++)
        for (const struct mc_cli_cmd *c = mc_cli_groups[i]; c->path; c++)
            fprintf(o, " '%s'", c->path);
    fputs(" )\n_memcrypt_platforms='", o);
    for (size_t i = 0; i < mc_cpu_profile_count(); i++)
        fprintf(o, "%s%s", i ? " " : "", mc_cpu_profile_at(i)->name);
    fputs("'\n\n", o);
    /* The options of a command path, and which of them take files, folders, platforms. */
    fputs("_memcrypt_opts() {\n    case \"$1\" in\n", o);
    for (int i = 0; mc_cli_groups[i]; i++)
        for (const struct mc_cli_cmd *c = mc_cli_groups[i]; c->path; c++) {
            struct comp_ctx k;
            fprintf(o, "    '%s') echo '--help%s' ;;\n", c->path, comp_list(&k, c, "words"));
        }
    fputs("    esac\n}\n\n", o);
    static const char *const kinds[] = {"value", "file", "dir", "platform"};
    for (int kk = 0; kk < 4; kk++) {
        fprintf(o, "_memcrypt_is_%s() { # PATH OPTION\n    case \"$1 $2\" in\n", kinds[kk]);
        for (int i = 0; mc_cli_groups[i]; i++)
            for (const struct mc_cli_cmd *c = mc_cli_groups[i]; c->path; c++) {
                struct comp_ctx k;
                if (!*comp_list(&k, c, kinds[kk]))
                    continue;
                /* k.buf is "|--a|--b": one pattern per option */
                fputs("    ", o);
                bool first = true;
                char *save = NULL;
                for (char *t = strtok_r(k.buf, "|", &save); t; t = strtok_r(NULL, "|", &save)) {
                    fprintf(o, "%s'%s %s'", first ? "" : "|", c->path, t);
                    first = false;
                }
                fputs(") return 0 ;;\n", o);
            }
        fputs("    esac\n    return 1\n}\n\n", o);
    }
    fputs("_memcrypt() {\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
          "    local i words=() path='' p\n"
          "    # The command path: the longest run of leading words that names a command.\n"
          "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "        [[ ${COMP_WORDS[i]} == -* ]] && break\n"
          "        words+=(\"${COMP_WORDS[i]}\")\n"
          "        for p in \"${_memcrypt_paths[@]}\"; do\n"
          "            [[ $p == \"${words[*]}\" ]] && path=$p\n"
          "        done\n"
          "    done\n"
          "    if [[ -n $path && $prev == -* ]] && _memcrypt_is_value \"$path\" \"$prev\"; then\n"
          "        if _memcrypt_is_platform \"$path\" \"$prev\"; then\n"
          "            COMPREPLY=($(compgen -W \"$_memcrypt_platforms\" -- \"$cur\"))\n"
          "        elif _memcrypt_is_dir \"$path\" \"$prev\"; then\n"
          "            COMPREPLY=($(compgen -d -- \"$cur\"))\n"
          "        elif _memcrypt_is_file \"$path\" \"$prev\"; then\n"
          "            COMPREPLY=($(compgen -f -- \"$cur\"))\n"
          "        else\n"
          "            COMPREPLY=()\n"
          "        fi\n"
          "        return 0\n"
          "    fi\n"
          "    if [[ $cur == -* ]]; then\n"
          "        [[ -n $path ]] && COMPREPLY=($(compgen -W \"$(_memcrypt_opts \"$path\")\" -- \"$cur\"))\n"
          "        [[ -z $path && ${#words[@]} -eq 0 ]] && COMPREPLY=($(compgen -W '--help --version -V' -- \"$cur\"))\n"
          "        return 0\n"
          "    fi\n"
          "    # The next word of a command path, if the words so far begin one.\n"
          "    local next=() n=${#words[@]}\n"
          "    for p in \"${_memcrypt_paths[@]}\"; do\n"
          "        local pw=($p)\n"
          "        [[ ${#pw[@]} -gt $n && \"${pw[*]:0:n}\" == \"${words[*]}\" && \" ${next[*]} \" != *\" ${pw[n]} \"* ]] &&\n"
          "            next+=(\"${pw[n]}\")\n"
          "    done\n"
          "    if [[ ${#next[@]} -gt 0 ]]; then\n"
          "        COMPREPLY=($(compgen -W \"${next[*]}\" -- \"$cur\"))\n"
          "    else\n"
          "        COMPREPLY=($(compgen -f -- \"$cur\"))\n"
          "    fi\n"
          "    return 0\n"
          "}\n"
          "complete -F _memcrypt memcrypt\n",
          o);
    if (!a.out_dir)
        return MC_EXIT_OK;
    struct mc_error e;
    struct mc_outset *os = NULL;
    mc_status st = fclose(o) != 0 ? mc_seterr(&e, MC_E_NOMEM, "out of memory") : mc_outset_create(&os, &e);
    if (!st)
        st = mc_outset_dir(os, a.out_dir, MC_CLI_DIR_MODE, &e);
    if (!st)
        st = mc_outset_add_in(os, a.out_dir, "memcrypt", (const uint8_t *)buf, len, &e);
    if (!st)
        st = mc_outset_commit(os, &e);
    mc_outset_destroy(os);
    free(buf);
    return st ? mc_cli_fail(argv[0], &e) : MC_EXIT_OK;
}

const struct mc_cli_cmd mc_cli_docs[] = {
    {.path = "man",
     .summary = "print a manual page (roff) of a command group, generated from the --help declarations",
     .synopsis = "[GROUP]\n--list\n--out-dir DIR",
     .about = "Prints memcrypt(1), or memcrypt-GROUP(1) for a command group (the first word of a command),\n"
              "in man(7) format, from the same declarations as --help: synopses, texts, option tables and\n"
              "examples. --out-dir writes every page; the build does that into build/man/ and\n"
              "`cmake --install` installs them in share/man/man1.\n",
     .opts = man_opts,
     .common = MC_CO_OUT_DIR,
     .args = "GROUP",
     .max_args = 1,
     .examples = "memcrypt man --list\n"
                 "memcrypt man report | man -l -\n",
     .run = run_man},
    {.path = "completion",
     .summary = "print the bash completion script, generated from the option tables",
     .synopsis = "bash [--out-dir DIR]",
     .about = "Completes command paths, every command's options, platform names after --platform, files\n"
              "and folders after options that take them. Printed, or written to DIR/memcrypt with --out-dir;\n"
              "the build writes build/completion/memcrypt and `cmake --install` installs it in\n"
              "share/bash-completion/completions.\n",
     .common = MC_CO_OUT_DIR,
     .args = "SHELL (bash)",
     .min_args = 1,
     .max_args = 1,
     .examples = "memcrypt completion bash > /dev/null\n"
                 "source <(memcrypt completion bash)\n",
     .run = run_completion},
    {0},
};
