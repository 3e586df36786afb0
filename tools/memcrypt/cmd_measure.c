/* memcrypt measure — expected SEV / SEV-ES / SEV-SNP launch digests from an OVMF image,
 * with the flags and output of virtee/sev-snp-measure, plus transcripts and a diff. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/json.h>
#include <memcrypt/measure.h>
#include <memcrypt/vmsa.h>

#include "cli.h"
#include "snp_out.h"
#include <memcrypt/crypto.h>
#include "measure_args.h"

enum { OPT_VERBOSE = 1, OPT_TRANSCRIPT, OPT_VERSION, OPT_BATCH };

static const struct mc_opt measure_opts[] = {
    MC_MEASURE_OPTS,
    {"verbose", 'v', NULL, "print 'Calculated <MODE> guest measurement: ...'", OPT_VERBOSE, 0},
    {"transcript", 0, NULL,
     "list every measured page in order (GPA, page type, length, contents\n"
     "hash, running digest; VMSA pages with RIP, CS base, SEV_FEATURES, RDX)",
     OPT_TRANSCRIPT, 0},
    {"version", 0, NULL, "print the version and exit", OPT_VERSION, 0},
    {"batch", 0, "FILE",
     "measure every line of FILE ('-': standard input): each line holds the options\n"
     "of one measurement; one output line per measurement, in order",
     OPT_BATCH, MC_OPT_FILE},
    {0},
};

struct run_ctx {
    const struct mc_measure_req *req;
    struct mc_measure_transcript t;
    bool record;
    struct mc_outset *dump; /* --dump-vmsa: the VMSA files, put in place when the measurement succeeds */
    mc_status dump_st;
    struct mc_error dump_err;
};

static void on_step(void *ctx, const struct mc_measure_step *s)
{
    struct run_ctx *c = ctx;
    if (c->record)
        mc_measure_transcript_step(&c->t, s);
    if (c->dump && s->vcpu >= 0 && s->data && c->dump_st == MC_OK) {
        char path[PATH_MAX];
        const char *dir = c->req->dump_dir ? c->req->dump_dir : ".";
        if ((size_t)snprintf(path, sizeof path, "%s/vmsa%d.bin", dir, s->vcpu) >= sizeof path)
            c->dump_st = mc_seterr(&c->dump_err, MC_E_RANGE, "the --dump-vmsa folder name is too long");
        else
            c->dump_st = mc_outset_add(c->dump, path, s->data, MC_VMSA_SIZE, &c->dump_err);
    }
}

static const char *verbose_name(enum mc_measure_mode m)
{
    static const char *const n[] = {"SEV", "SEV_ES", "SEV_SNP", "SEV_SNP", "SEV_SNP_SVSM"};
    return (unsigned)m < 5 ? n[m] : "?";
}

#define BATCH_GO (-2) /* parse_side: --batch FILE was given (and nothing else but --json) */

/* Parse one measure argument vector (argv[0] is a name). Returns an exit status, -1 to go on, or
 * BATCH_GO when batch is not NULL and --batch was given (*batch = its FILE). */
static int parse_side(const struct mc_cli_cmd *cmd, int argc, char **argv, struct mc_measure_req *req,
                      bool *verbose, bool *transcript, bool *json, const char **batch)
{
    const char *path = argv[0];
    struct mc_args a;
    int c, others = 0;
    const char *batch_file = NULL;
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0) {
        struct mc_error e;
        others += c != OPT_BATCH;
        if (c == OPT_BATCH) {
            if (!batch)
                return mc_cli_usage_error(path, "--batch is an option of `memcrypt measure` itself, not of %s",
                                          cmd->path && strcmp(cmd->path, "measure") ? cmd->path : "a batch line");
            batch_file = a.val;
        } else if (c == OPT_VERBOSE)
            *verbose = true;
        else if (c == OPT_TRANSCRIPT)
            *transcript = true;
        else if (c == OPT_VERSION) {
            printf("memcrypt measure %s (flags and output of sev-snp-measure 0.0.13)\n", MC_VERSION);
            return MC_EXIT_OK;
        } else if (c >= MC_MEASURE_OPT_BASE && c < MC_MEASURE_OPT_END) {
            if (mc_measure_req_opt(req, c, a.val, &e) != MC_OK)
                return mc_cli_usage_error(path, "%s", e.msg);
        }
    }
    if (c < 0)
        return a.rc;
    *json = *json || a.json;
    if (batch_file) {
        if (others || a.npos)
            return mc_cli_usage_error(path, "--batch takes the measurement options from its lines: give --batch FILE "
                                            "(and --json) alone");
        *batch = batch_file;
        return BATCH_GO;
    }
    int k = 0;
    argv = a.pos;
    argc = a.npos;
    /* `--dump-vmsa DIR` (space-separated) leaves DIR as the one positional argument. */
    if (k == argc - 1 && req->dump_vmsa && !req->dump_dir) {
        struct stat sb;
        if (stat(argv[k], &sb) != 0 || !S_ISDIR(sb.st_mode))
            return mc_cli_usage_error(path, "--dump-vmsa: '%s' is not a folder", argv[k]);
        req->dump_dir = argv[k++];
    }
    if (k < argc)
        return mc_cli_usage_error(path, "unexpected argument '%s'", argv[k]);
    struct mc_error e;
    mc_status st = mc_measure_req_finish(req, &e);
    if (st == MC_E_INVAL)
        return mc_cli_usage_error(path, "%s", e.msg);
    if (st != MC_OK)
        return mc_cli_fail(path, &e);
    return -1;
}

/* ------------------------------------------------------------------ --batch -- */

/* Error messages of one batch line are captured (cli_opts.c) and printed as that line's output. */
static int batch_line(const struct mc_cli_cmd *cmd, const char *path, char *line, struct mc_measure_memo *memo,
                      char *out, size_t outn, char meas[100])
{
    enum { MAXW = 64 };
    char *argv[MAXW + 2];
    const char *why = NULL;
    argv[0] = (char *)path;
    int nw = mc_split_words(line, argv + 1, MAXW, &why);
    if (nw < 0) {
        snprintf(out, outn, "%s", why);
        return MC_EXIT_USAGE;
    }
    argv[nw + 1] = NULL;
    struct mc_measure_req req;
    mc_measure_req_init(&req);
    bool verbose = false, transcript = false, json = false;
    mc_cli_capture_errors(out, outn);
    int rc = parse_side(cmd, nw + 1, argv, &req, &verbose, &transcript, &json, NULL);
    mc_cli_capture_errors(NULL, 0);
    if (rc == MC_EXIT_OK) { /* --version */
        snprintf(out, outn, "--version is not a measurement");
        rc = MC_EXIT_USAGE;
    } else if (rc < 0 && (transcript || req.dump_vmsa || json)) {
        snprintf(out, outn, "%s is not for a batch line (one output line per measurement)",
                 transcript ? "--transcript" : req.dump_vmsa ? "--dump-vmsa" : "--json (give it to --batch)");
        rc = MC_EXIT_USAGE;
    }
    if (rc >= 0) {
        mc_measure_req_free(&req);
        return rc;
    }
    req.in.memo = memo;
    uint8_t d[MC_MEASURE_MAX_DIGEST];
    size_t n;
    struct mc_error e;
    if (mc_measure(&req.in, d, &n, &e) != MC_OK) {
        snprintf(out, outn, "%s", e.msg);
        mc_measure_req_free(&req);
        return MC_EXIT_ERROR;
    }
    char hex[2 * MC_MEASURE_MAX_DIGEST + 1], b64[80];
    mc_hex_encode(d, n, hex);
    mc_base64_encode(d, n, b64);
    const char *shown = (req.base64 && req.in.mode != MC_MEASURE_SNP_OVMF_HASH) ? b64 : hex;
    snprintf(meas, 100, "%s", shown);
    if (verbose && req.in.mode != MC_MEASURE_SNP_OVMF_HASH)
        snprintf(out, outn, "Calculated %s guest measurement: %s", verbose_name(req.in.mode), shown);
    else
        snprintf(out, outn, "%s", shown);
    mc_measure_req_free(&req);
    return MC_EXIT_OK;
}

static int run_batch(const struct mc_cli_cmd *cmd, const char *path, const char *file, bool json)
{
    FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
    if (!f)
        return mc_cli_error(path, MC_EXIT_ERROR, "--batch %s: %s", file, strerror(errno));
    struct mc_measure_memo *memo = NULL;
    struct mc_error e;
    if (mc_measure_memo_create(&memo, &e) != MC_OK) {
        if (f != stdin)
            fclose(f);
        return mc_cli_fail(path, &e);
    }
    struct mc_json j;
    if (json) {
        mc_json_begin(&j, stdout);
        mc_json_arr(&j, NULL);
    }
    char *line = NULL, out[1024], meas[100];
    size_t cap = 0;
    unsigned long lineno = 0, measured = 0, failed = 0, first_bad = 0;
    int rc = MC_EXIT_OK;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        const char *p = line + strspn(line, " \t");
        if (!*p || *p == '#')
            continue; /* blank lines and comments measure nothing */
        int lrc;
        if (strlen(line) != (size_t)len) {
            snprintf(out, sizeof out, "the line holds a NUL byte");
            lrc = MC_EXIT_USAGE;
        } else {
            lrc = batch_line(cmd, path, line, memo, out, sizeof out, meas);
        }
        measured++;
        if (lrc != MC_EXIT_OK) {
            failed++;
            if (!first_bad) {
                first_bad = lineno;
                rc = lrc;
            }
        }
        if (json) {
            mc_json_obj(&j, NULL);
            mc_json_u64(&j, "line", lineno);
            mc_json_str(&j, lrc ? "error" : "measurement", lrc ? out : meas);
            if (lrc)
                mc_json_u64(&j, "exit_status", (uint64_t)lrc);
            mc_json_end(&j);
        } else if (lrc) {
            printf("error: line %lu: %s\n", lineno, out);
        } else {
            printf("%s\n", out);
        }
    }
    bool read_err = ferror(f);
    free(line);
    if (f != stdin)
        fclose(f);
    mc_measure_memo_destroy(memo);
    if (json)
        mc_json_finish(&j);
    fflush(stdout);
    if (read_err)
        return mc_cli_error(path, MC_EXIT_ERROR, "--batch %s: read error after line %lu", file, lineno);
    if (failed)
        fprintf(stderr, "memcrypt %s: %lu of %lu measurements failed (first: line %lu)\n", path, failed, measured,
                first_bad);
    return rc;
}

static int run_measure(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct mc_measure_req req;
    mc_measure_req_init(&req);
    bool verbose = false, transcript = false, json = false;
    const char *batch = NULL;
    int rc = parse_side(cmd, argc, argv, &req, &verbose, &transcript, &json, &batch);
    if (rc == BATCH_GO) {
        mc_measure_req_free(&req);
        return run_batch(cmd, argv[0], batch, json);
    }
    if (rc >= 0) {
        mc_measure_req_free(&req);
        return rc;
    }
    struct run_ctx ctx = {.req = &req, .record = transcript};
    req.in.on_step = (transcript || req.dump_vmsa) ? on_step : NULL;
    req.in.cb_ctx = &ctx;
    uint8_t d[MC_MEASURE_MAX_DIGEST];
    size_t n;
    struct mc_error e;
    mc_status st = req.dump_vmsa ? mc_outset_create(&ctx.dump, &e) : MC_OK;
    if (st == MC_OK && req.dump_dir)
        st = mc_outset_dir(ctx.dump, req.dump_dir, MC_CLI_DIR_MODE, &e);
    if (st == MC_OK)
        st = mc_measure(&req.in, d, &n, &e);
    if (st == MC_OK && ctx.dump_st == MC_OK && ctx.dump)
        ctx.dump_st = mc_outset_commit(ctx.dump, &ctx.dump_err);
    mc_outset_destroy(ctx.dump);
    if (st == MC_OK && ctx.dump_st != MC_OK) {
        st = ctx.dump_st;
        e = ctx.dump_err;
    }
    if (st == MC_OK && ctx.t.failed)
        st = mc_seterr(&e, MC_E_NOMEM, "out of memory while recording the transcript");
    if (st != MC_OK) {
        mc_measure_transcript_free(&ctx.t);
        mc_measure_req_free(&req);
        return mc_cli_fail(argv[0], &e);
    }
    char hex[2 * MC_MEASURE_MAX_DIGEST + 1], b64[80];
    mc_hex_encode(d, n, hex);
    mc_base64_encode(d, n, b64);
    /* The reference prints snp:ovmf-hash in hex whatever --output-format says. */
    const char *shown = (req.base64 && req.in.mode != MC_MEASURE_SNP_OVMF_HASH) ? b64 : hex;
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "mode", mc_measure_mode_name(req.in.mode));
        mc_json_str(&j, "measurement", shown);
        mc_json_str(&j, "measurement_hex", hex);
        mc_json_str(&j, "measurement_base64", b64);
        if (req.in.mode != MC_MEASURE_SEV && req.in.mode != MC_MEASURE_SNP_OVMF_HASH) {
            mc_json_u64(&j, "vcpus", req.in.vcpus);
            mc_json_hex64(&j, "vcpu_sig", req.in.vcpu_sig);
            mc_json_str(&j, "vmm_type", mc_vmm_type_name(req.in.vmm));
            char vname[48];
            mc_vmsa_variant_name(req.in.vmsa_variant, vname, sizeof vname);
            mc_json_str(&j, "vmsa_variant", vname);
            mc_json_hex64(&j, "guest_features", req.in.guest_features);
        }
        if (transcript) {
            mc_json_arr(&j, "transcript");
            for (size_t i = 0; i < ctx.t.n; i++)
                mc_cli_step_json(&j, NULL, &ctx.t.rec[i]);
            mc_json_end(&j);
        }
        mc_json_finish(&j);
    } else {
        if (transcript) {
            printf("# %zu measured steps, mode %s\n", ctx.t.n, mc_measure_mode_name(req.in.mode));
            for (size_t i = 0; i < ctx.t.n; i++)
                mc_cli_step_text(stdout, &ctx.t.rec[i]);
        }
        if (verbose && req.in.mode != MC_MEASURE_SNP_OVMF_HASH)
            printf("Calculated %s guest measurement: %s\n", verbose_name(req.in.mode), shown);
        else
            printf("%s\n", shown);
    }
    mc_measure_transcript_free(&ctx.t);
    mc_measure_req_free(&req);
    return MC_EXIT_OK;
}

/* memcrypt measure diff A-ARGS -- B-ARGS */
static int run_diff(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    int sep = -1;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--")) {
            sep = i;
            break;
        }
    if (sep < 0) {
        /* Report a bad option first, the missing separator after. */
        struct mc_args a;
        int c;
        mc_args_init(&a, cmd, argc, argv);
        while ((c = mc_args_next(&a)) > 0)
            ;
        if (c < 0)
            return a.rc;
        return mc_cli_usage_error(argv[0], "give two sets of measure arguments separated by '--'");
    }
    int argc_b = argc - sep;
    char **argv_b = calloc((size_t)argc_b + 1, sizeof *argv_b);
    if (!argv_b)
        return mc_cli_usage_error(argv[0], "out of memory");
    argv_b[0] = argv[0];
    for (int i = sep + 1; i < argc; i++)
        argv_b[i - sep] = argv[i];
    char *saved = argv[sep];
    argv[sep] = NULL;

    struct mc_measure_req ra, rb;
    mc_measure_req_init(&ra);
    mc_measure_req_init(&rb);
    bool verbose = false, transcript = false, json = false;
    struct run_ctx ca = {.req = &ra, .record = true}, cb = {.req = &rb, .record = true};
    int rc = parse_side(cmd, sep, argv, &ra, &verbose, &transcript, &json, NULL);
    if (rc < 0)
        rc = parse_side(cmd, argc_b, argv_b, &rb, &verbose, &transcript, &json, NULL);
    argv[sep] = saved;
    uint8_t da[MC_MEASURE_MAX_DIGEST], db[MC_MEASURE_MAX_DIGEST];
    size_t na = 0, nb = 0;
    if (rc < 0) {
        ra.dump_vmsa = rb.dump_vmsa = false;
        ra.in.on_step = rb.in.on_step = on_step;
        ra.in.cb_ctx = &ca;
        rb.in.cb_ctx = &cb;
        struct mc_error e;
        if (mc_measure(&ra.in, da, &na, &e) != MC_OK) {
            rc = mc_cli_error(argv[0], MC_EXIT_ERROR, "A: %s", e.msg);
        } else if (mc_measure(&rb.in, db, &nb, &e) != MC_OK) {
            rc = mc_cli_error(argv[0], MC_EXIT_ERROR, "B: %s", e.msg);
        } else if (ca.t.failed || cb.t.failed) {
            rc = mc_cli_error(argv[0], MC_EXIT_ERROR, "out of memory while recording transcripts");
        }
    }
    if (rc < 0) {
        struct mc_measure_diff d;
        mc_measure_transcript_diff(&ca.t, &cb.t, &d);
        char ha[2 * MC_MEASURE_MAX_DIGEST + 1], hb[2 * MC_MEASURE_MAX_DIGEST + 1];
        mc_hex_encode(da, na, ha);
        mc_hex_encode(db, nb, hb);
        if (json) {
            struct mc_json j;
            mc_json_begin(&j, stdout);
            mc_json_obj(&j, NULL);
            mc_json_bool(&j, "identical", d.identical);
            mc_json_str(&j, "measurement_a", ha);
            mc_json_str(&j, "measurement_b", hb);
            mc_json_u64(&j, "steps_a", ca.t.n);
            mc_json_u64(&j, "steps_b", cb.t.n);
            if (!d.identical) {
                mc_json_u64(&j, "first_difference", d.index);
                if (d.index < ca.t.n)
                    mc_cli_step_json(&j, "step_a", &ca.t.rec[d.index]);
                if (d.index < cb.t.n)
                    mc_cli_step_json(&j, "step_b", &cb.t.rec[d.index]);
            }
            mc_json_str(&j, "reason", d.reason);
            mc_json_finish(&j);
        } else {
            printf("A: %s (%zu steps)\nB: %s (%zu steps)\n", ha, ca.t.n, hb, cb.t.n);
            if (d.identical) {
                printf("identical: %s\n", d.reason);
            } else {
                printf("first difference at step %zu:\n", d.index);
                if (d.index < ca.t.n) {
                    printf("A:");
                    mc_cli_step_text(stdout, &ca.t.rec[d.index]);
                }
                if (d.index < cb.t.n) {
                    printf("B:");
                    mc_cli_step_text(stdout, &cb.t.rec[d.index]);
                }
                printf("why: %s\n", d.reason);
            }
        }
        rc = d.identical ? MC_EXIT_OK : MC_EXIT_CHECK;
    }
    mc_measure_transcript_free(&ca.t);
    mc_measure_transcript_free(&cb.t);
    mc_measure_req_free(&ra);
    mc_measure_req_free(&rb);
    free(argv_b);
    return rc;
}

const struct mc_cli_cmd mc_cli_measure[] = {
    {.path = "measure",
     .summary = "expected SEV/SEV-ES/SEV-SNP launch digest of an OVMF guest",
     .synopsis = "--mode MODE --ovmf PATH [options] [--transcript] [--json]",
     .about = "Computes the launch measurement the AMD Secure Processor will report for a QEMU/KVM (or\n"
              "EC2/GCE) guest booted from this OVMF image; same flags and output as sev-snp-measure.\n",
     .opts = measure_opts,
     .common = MC_CO_JSON,
     .args = "DIR (of --dump-vmsa)",
     .max_args = 1,
     .notes = "Exit status: 0 ok, 2 usage error, 3 the image cannot support the request (message says why).\n\n"
              "--batch FILE: every non-blank line not starting with '#' holds the options of one measurement\n"
              "(quoted as in a shell: --append 'console=ttyS0 quiet'); each prints one line, in order: the\n"
              "measurement as the same options would print it, or 'error: line N: <why>'. With --json: an\n"
              "array of {line, measurement} or {line, error, exit_status}. One process and a memo of each\n"
              "image's pages serve every line (lines with the same image hash it once). Not in a line:\n"
              "--transcript, --dump-vmsa, --json, --batch. Exit status: 0 when every line measured, else\n"
              "the first failing line's (2 usage, 3 error); a count goes to standard error.\n",
     .examples = "memcrypt measure --mode snp --vcpus 4 --vcpu-type EPYC-Milan --ovmf /usr/share/ovmf/OVMF.fd "
                 "--guest-features 0x21\n"
                 "printf '%s\\n' '--mode snp --vcpus 1 --vcpu-type EPYC-Milan --ovmf /usr/share/ovmf/OVMF.fd' "
                 "'--mode seves --vcpus 2 --vcpu-type EPYC-Milan --ovmf /usr/share/ovmf/OVMF.fd' | memcrypt measure --batch -\n"
                 "memcrypt measure --mode seves --vcpus 2 --vcpu-type EPYC-Milan --ovmf /usr/share/ovmf/OVMF.fd "
                 "--transcript\n",
     .run = run_measure},
    {.path = "measure diff",
     .summary = "show the first measured page where two launch configurations part",
     .synopsis = "[--json] A-OPTIONS... -- B-OPTIONS...",
     .about = "Measures two configurations (each given with the `memcrypt measure` options) and prints the\n"
              "first step where their transcripts differ and why: page type, GPA, length, or contents —\n"
              "for VMSA pages the register field that differs (e.g. RDX = vCPU signature, SEV_FEATURES).\n",
     .opts = measure_opts,
     .common = MC_CO_JSON,
     .args = "DIR (of --dump-vmsa)",
     .max_args = 1,
     .notes = "Exit status 0 when the measurements are identical, 1 when they differ.\n",
     .examples = "memcrypt measure diff --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf /usr/share/ovmf/OVMF.fd "
                 "-- --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf /usr/share/ovmf/OVMF.fd\n",
     .run = run_diff},
    {0},
};
