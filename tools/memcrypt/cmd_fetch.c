/* memcrypt fetch ca | vcek | crl — certificates from an AMD Key Distribution Service, as snpguest's
 * fetch gets them: from AMD's (https://kdsintf.amd.com) or any server with its URL layout
 * (`memcrypt kds serve`). libcurl (Debian's) moves the bytes, with timeouts and a bound on the
 * body; the library (memcrypt/kds_client.h) names the URL and checks every answer — the chain
 * parses, is the product and side asked for, the VCEK is the chip and TCB asked for and chains to
 * the ASK and ARK, the CRL is the ARK's — before any file is written. The files of one command
 * are written together or not at all (an output set). libcurl is loaded when a fetch runs
 * (cli_dl.h), not linked: it brings some thirty libraries every memcrypt process would load. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/kds_client.h>
#include <memcrypt/snp_report.h>

#include "cli.h"
#include "cli_dl.h"
#include "snp_out.h"

#ifndef MC_CURL_SONAME
#define MC_CURL_SONAME "libcurl.so.4"
#endif

#define AMD_KDS "https://kdsintf.amd.com"
#define BODY_MAX (256u << 10) /* a certificate is ~1.5 kB, AMD's cert_chain ~4 kB, a CRL a few kB */
#define URL_MAX 1024

enum { O_URL = 1, O_PRODUCT, O_ENDORSER, O_FORMAT, O_REPORT, O_HWID, O_TCB, O_TIMEOUT };

struct fetch {
    const char *path; /* the command, for messages */
    const char *base; /* the KDS URL, no trailing slash */
    char base_buf[URL_MAX];
    struct mc_kds_query q;
    bool der;
    unsigned timeout_ms;
    const char *report, *hwid, *tcb;
    bool have_product;
};

/* Entries several commands share (macros: a C initializer cannot copy another object). */
#define URL_OPT                                                                                                        \
    {"url", 0, "URL", "the KDS (default " AMD_KDS "; e.g. http://127.0.0.1:8090 for memcrypt kds serve)", O_URL, 0}
#define PRODUCT_OPT {"product", 0, "NAME", "milan, genoa or turin (AMD's product name, any case)", O_PRODUCT, 0}
#define FORMAT_OPT {"format", 0, "pem|der", "the files' encoding (default pem)", O_FORMAT, 0}
#define TIMEOUT_OPT {"timeout", 0, "SECONDS", "give up on a request after this long (default 30; decimals allowed, e.g. 0.5)", O_TIMEOUT, 0}

static const struct mc_opt ca_opts[] = {
    URL_OPT, PRODUCT_OPT,
    {"endorser", 0, "vcek|vlek", "the VCEK chain (ASK, ARK; default) or the VLEK chain (ASVK, ARK)", O_ENDORSER, 0},
    {"report", 0, "FILE", "take the product from this attestation report's CPUID (version 3 and later)", O_REPORT,
     MC_OPT_FILE},
    FORMAT_OPT, TIMEOUT_OPT, {0},
};
static const struct mc_opt vcek_opts[] = {
    URL_OPT,
    {"report", 0, "FILE", "the attestation report whose CHIP_ID and REPORTED_TCB name the VCEK (raw, hex or Azure HCL)",
     O_REPORT, MC_OPT_FILE},
    PRODUCT_OPT,
    {"hwid", 0, "HEX", "without --report: the chip's CHIP_ID (64 bytes; Turin: its first 8 bytes)", O_HWID, 0},
    {"tcb", 0, "SPEC", "without --report: the TCB, bl=N,tee=N,snp=N,ucode=N[,fmc=N] or the raw 0x... value", O_TCB, 0},
    FORMAT_OPT, TIMEOUT_OPT, {0},
};
static const struct mc_opt crl_opts[] = {
    URL_OPT, PRODUCT_OPT,
    {"endorser", 0, "vcek|vlek", "the CRL of the VCEK side (default) or the VLEK side", O_ENDORSER, 0},
    {"report", 0, "FILE", "take the product from this attestation report's CPUID (version 3 and later)", O_REPORT,
     MC_OPT_FILE},
    FORMAT_OPT, TIMEOUT_OPT, {0},
};

/* ---- options ---------------------------------------------------------------------------- */

static int parse(const struct mc_cli_cmd *cmd, int argc, char **argv, struct fetch *f, struct mc_args *a)
{
    memset(f, 0, sizeof *f);
    f->path = argv[0];
    f->base = AMD_KDS;
    f->timeout_ms = 30000;
    mc_args_init(a, cmd, argc, argv);
    int c;
    uint64_t v;
    while ((c = mc_args_next(a)) > 0) {
        switch (c) {
        case O_URL: {
            size_t n = strlen(a->val);
            while (n && a->val[n - 1] == '/')
                n--;
            if ((strncasecmp(a->val, "http://", 7) && strncasecmp(a->val, "https://", 8)) || n >= sizeof f->base_buf ||
                n <= 8)
                return mc_cli_usage_error(argv[0], "--url takes an http:// or https:// URL (e.g. http://127.0.0.1:8090)");
            memcpy(f->base_buf, a->val, n);
            f->base_buf[n] = 0;
            f->base = f->base_buf;
            break;
        }
        case O_PRODUCT:
            f->q.gen = mc_snp_gen_parse(a->val);
            if (f->q.gen == MC_SNP_GEN_UNKNOWN)
                return mc_cli_usage_error(argv[0], "--product: '%s' is not milan, genoa or turin", a->val);
            f->have_product = true;
            break;
        case O_ENDORSER:
            if (strcasecmp(a->val, "vcek") && strcasecmp(a->val, "vlek"))
                return mc_cli_usage_error(argv[0], "--endorser takes vcek or vlek");
            f->q.vlek = !strcasecmp(a->val, "vlek");
            break;
        case O_FORMAT:
            if (strcasecmp(a->val, "pem") && strcasecmp(a->val, "der"))
                return mc_cli_usage_error(argv[0], "--format takes pem or der");
            f->der = !strcasecmp(a->val, "der");
            break;
        case O_TIMEOUT:
            if (mc_args_seconds_ms(a, &v, 3600000))
                return MC_EXIT_USAGE;
            f->timeout_ms = (unsigned)v;
            break;
        case O_REPORT: f->report = a->val; break;
        case O_HWID: f->hwid = a->val; break;
        case O_TCB: f->tcb = a->val; break;
        }
    }
    return c < 0 ? a->rc : 0;
}

/* The product of a CA or CRL request: --product, else the report's CPUID. */
static int product(struct fetch *f)
{
    if (f->report) {
        struct mc_snp_report r;
        struct mc_error e = {0};
        if (mc_cli_load_report(f->report, &r, NULL, &e))
            return mc_cli_fail(f->path, &e);
        enum mc_snp_gen g = mc_snp_report_gen(&r);
        if (f->have_product && g != MC_SNP_GEN_UNKNOWN && g != f->q.gen)
            return mc_cli_usage_error(f->path, "--product %s, but the report is from a %s", mc_snp_gen_name(f->q.gen),
                                      mc_snp_gen_name(g));
        if (!f->have_product && g == MC_SNP_GEN_UNKNOWN)
            return mc_cli_usage_error(f->path, "the report (version %u) names no CPU: give --product", r.version);
        if (!f->have_product)
            f->q.gen = g;
        f->have_product = true;
    }
    if (!f->have_product)
        return mc_cli_usage_error(f->path, "--product NAME (milan, genoa, turin) or --report FILE is needed");
    return 0;
}

/* ---- HTTP --------------------------------------------------------------------------------- */

/* The libcurl functions a fetch calls, resolved from the library loaded at run time. */
static struct {
    void *handle;
    CURL *(*init)(void);
    CURLcode (*setopt)(CURL *, CURLoption, ...);
    CURLcode (*perform)(CURL *);
    CURLcode (*getinfo)(CURL *, CURLINFO, ...);
    void (*cleanup)(CURL *);
    const char *(*strerror)(CURLcode);
} curl;

static int curl_load(const char *prog)
{
    if (curl.handle)
        return 0;
    const char *so = MC_CURL_SONAME;
    void *h = mc_cli_dlopen(prog, so, "libcurl4");
    if (!h || MC_CLI_DLSYM(prog, h, so, curl.init, curl_easy_init) ||
        MC_CLI_DLSYM(prog, h, so, curl.setopt, curl_easy_setopt) ||
        MC_CLI_DLSYM(prog, h, so, curl.perform, curl_easy_perform) ||
        MC_CLI_DLSYM(prog, h, so, curl.getinfo, curl_easy_getinfo) ||
        MC_CLI_DLSYM(prog, h, so, curl.cleanup, curl_easy_cleanup) ||
        MC_CLI_DLSYM(prog, h, so, curl.strerror, curl_easy_strerror)) {
        if (h)
            dlclose(h);
        return -1;
    }
    curl.handle = h; /* kept until exit */
    return 0;
}

struct body {
    uint8_t *p;
    size_t n;
    bool over;
};

static size_t on_data(char *d, size_t sz, size_t nm, void *ud)
{
    struct body *b = ud;
    size_t k = sz * nm;
    if (k > BODY_MAX - b->n) {
        b->over = true;
        return 0; /* libcurl stops with CURLE_WRITE_ERROR */
    }
    uint8_t *p = realloc(b->p, b->n + k + 1);
    if (!p)
        return 0;
    memcpy(p + b->n, d, k);
    b->p = p;
    b->n += k;
    b->p[b->n] = 0;
    return k;
}

/* The first line of an error body, printable ASCII only. */
static void first_line(const struct body *b, char *out, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; b->p && i < b->n && j + 1 < n && b->p[i] != '\n' && b->p[i] != '\r'; i++)
        out[j++] = b->p[i] >= 0x20 && b->p[i] < 0x7f ? (char)b->p[i] : '?';
    out[j] = 0;
}

/* GET base+path into *b (200 only). Returns 0 or MC_EXIT_ERROR after printing why, with the URL
 * (to fetch by other means when this machine is offline). */
static int get(struct fetch *f, const char *path, struct body *b)
{
    char url[URL_MAX + 512];
    snprintf(url, sizeof url, "%s%s", f->base, path);
    printf("GET %s\n", url);
    fflush(stdout);
    memset(b, 0, sizeof *b);
    if (curl_load(f->path))
        return MC_EXIT_ERROR;
    CURL *c = curl.init();
    if (!c)
        return mc_cli_error(f->path, MC_EXIT_ERROR, "libcurl cannot start");
    char cerr[CURL_ERROR_SIZE] = "";
    curl.setopt(c, CURLOPT_URL, url);
    curl.setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl.setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl.setopt(c, CURLOPT_WRITEDATA, b);
    curl.setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl.setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl.setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl.setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl.setopt(c, CURLOPT_MAXREDIRS, 3L);
    curl.setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(f->timeout_ms < 10000 ? f->timeout_ms : 10000));
    curl.setopt(c, CURLOPT_TIMEOUT_MS, (long)f->timeout_ms);
    curl.setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)BODY_MAX);
    curl.setopt(c, CURLOPT_USERAGENT, "memcrypt/" MC_VERSION);
    CURLcode rc = curl.perform(c);
    long code = 0;
    curl.getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl.cleanup(c);
    int ret = 0;
    if (rc == CURLE_FILESIZE_EXCEEDED || (rc == CURLE_WRITE_ERROR && b->over)) {
        ret = mc_cli_error(f->path, MC_EXIT_ERROR, "%s: the answer is larger than %u bytes: not a certificate, refused",
                           url, BODY_MAX);
    } else if (rc != CURLE_OK) {
        ret = mc_cli_error(f->path, MC_EXIT_ERROR,
                           "cannot fetch %s: %s (offline? fetch that URL where there is a network and give the file "
                           "to memcrypt directly)",
                           url, cerr[0] ? cerr : curl.strerror(rc));
    } else if (code != 200) {
        char why[128];
        first_line(b, why, sizeof why);
        ret = mc_cli_error(f->path, MC_EXIT_ERROR, "%s: HTTP %ld%s%s", url, code, why[0] ? ": " : "", why);
    }
    if (ret) {
        free(b->p);
        memset(b, 0, sizeof *b);
    }
    return ret;
}

/* ---- commands ------------------------------------------------------------------------------ */

/* The chain of f's product and side, fetched and checked into c. */
static int fetch_chain(struct fetch *f, struct mc_kds_certs *c)
{
    struct mc_kds_query q = f->q;
    q.item = MC_KDS_CA;
    char path[URL_MAX];
    struct mc_error e = {0};
    if (mc_kds_query_path(&q, path, sizeof path, &e))
        return mc_cli_fail(f->path, &e);
    struct body b;
    int rc = get(f, path, &b);
    if (rc)
        return rc;
    mc_status st = mc_kds_check_chain(&q, b.p, b.n, 0, c, &e);
    free(b.p);
    if (st)
        return mc_cli_error(f->path, MC_EXIT_CHECK, "%s%s: %s", f->base, path, e.msg);
    printf("%s: signed by the ARK; ARK: self-signed, %s\n", q.vlek ? "ASVK" : "ASK", c->ark_desc);
    return 0;
}

/* The VCEK or the CRL of q, fetched and checked into c (which holds the checked chain). */
static int fetch_leaf(struct fetch *f, const struct mc_kds_query *q, struct mc_kds_certs *c)
{
    char path[URL_MAX];
    struct mc_error e = {0};
    if (mc_kds_query_path(q, path, sizeof path, &e))
        return mc_cli_fail(f->path, &e);
    struct body b;
    int rc = get(f, path, &b);
    if (rc)
        return rc;
    mc_status st = q->item == MC_KDS_CRL ? mc_kds_check_crl(b.p, b.n, c, &e) : mc_kds_check_vcek(q, b.p, b.n, 0, c, &e);
    free(b.p);
    return st ? mc_cli_error(f->path, MC_EXIT_CHECK, "%s%s: %s", f->base, path, e.msg) : 0;
}

/* Write the files (name, DER, is a CRL) into the output folder, all or none. An entry with a
 * second certificate (then) is cert_chain.pem: both in PEM, as the KDS serves them, whatever the
 * format of the others. */
struct out_file {
    const char *stem;
    const uint8_t *der;
    size_t len;
    bool crl;
    const uint8_t *then;
    size_t then_len;
};

static int write_files(struct fetch *f, const char *dir, const struct out_file *o, size_t n)
{
    struct mc_error e = {0};
    struct mc_outset *os = NULL;
    mc_status st = mc_outset_create(&os, &e);
    if (!st)
        st = mc_outset_dir(os, dir, MC_CLI_DIR_MODE, &e);
    for (size_t i = 0; !st && i < n; i++) {
        char name[32];
        bool der = f->der && !o[i].then;
        snprintf(name, sizeof name, "%s.%s", o[i].stem, der ? "der" : "pem");
        uint8_t *pem = NULL, *pem2 = NULL, *both = NULL;
        size_t pl = 0, pl2 = 0;
        if (!der && (st = mc_kds_pem(o[i].der, o[i].len, o[i].crl, &pem, &pl, &e)))
            break;
        if (o[i].then && !(st = mc_kds_pem(o[i].then, o[i].then_len, false, &pem2, &pl2, &e))) {
            if (!(both = malloc(pl + pl2))) {
                st = mc_seterr(&e, MC_E_NOMEM, "out of memory");
            } else {
                memcpy(both, pem, pl);
                memcpy(both + pl, pem2, pl2);
                free(pem);
                pem = both;
                pl += pl2;
            }
        }
        if (!st)
            st = mc_outset_add_in(os, dir, name, der ? o[i].der : pem, der ? o[i].len : pl, &e);
        free(pem);
        free(pem2);
    }
    if (!st)
        st = mc_outset_commit(os, &e);
    mc_outset_destroy(os);
    if (st)
        return mc_cli_fail(f->path, &e);
    for (size_t i = 0; i < n; i++)
        printf("wrote %s/%s.%s\n", dir, o[i].stem, f->der && !o[i].then ? "der" : "pem");
    return 0;
}

/* fetch ca and fetch crl: the chain, and for crl the CRL it must have signed. */
static int run_ca_crl(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct fetch f;
    struct mc_args a;
    int rc = parse(cmd, argc, argv, &f, &a);
    if (rc || (rc = product(&f)))
        return rc;
    bool crl = !strcmp(cmd->path, "fetch crl");
    struct mc_kds_certs c = {0};
    f.q.item = crl ? MC_KDS_CRL : MC_KDS_CA;
    if (!(rc = fetch_chain(&f, &c)) && crl && !(rc = fetch_leaf(&f, &f.q, &c))) {
        char next[32] = "none";
        struct tm tm;
        if (c.crl_next && gmtime_r(&c.crl_next, &tm))
            strftime(next, sizeof next, "%Y-%m-%d %H:%M UTC", &tm);
        printf("CRL: signed by the ARK, %u revoked, next update %s; the ASK is not revoked\n", c.crl_revoked, next);
        const struct out_file o[] = {{"crl", c.crl, c.crl_len, true, NULL, 0}};
        rc = write_files(&f, a.out_dir, o, 1);
    } else if (!rc && !crl) {
        const struct out_file o[] = {{"ark", c.ark, c.ark_len, false, NULL, 0},
                                     {f.q.vlek ? "asvk" : "ask", c.ask, c.ask_len, false, NULL, 0},
                                     {"cert_chain", c.ask, c.ask_len, false, c.ark, c.ark_len}};
        rc = write_files(&f, a.out_dir, o, 3);
    }
    mc_kds_certs_free(&c);
    return rc;
}

static int run_vcek(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct fetch f;
    struct mc_args a;
    int rc = parse(cmd, argc, argv, &f, &a);
    if (rc)
        return rc;
    if (f.q.vlek)
        return mc_cli_usage_error(argv[0], "no --endorser here: VLEKs are not served by URL");
    if (f.report && (f.hwid || f.tcb))
        return mc_cli_usage_error(argv[0], "--report names the chip and TCB: no --hwid or --tcb with it");
    if (!f.report && (!f.have_product || !f.hwid || !f.tcb))
        return mc_cli_usage_error(argv[0], "--report FILE, or --product, --hwid and --tcb, name the VCEK");
    if ((rc = product(&f)))
        return rc;
    struct mc_error e = {0};
    struct mc_kds_query q = {.item = MC_KDS_VCEK, .gen = f.q.gen};
    if (f.report) {
        struct mc_snp_report r;
        if (mc_cli_load_report(f.report, &r, NULL, &e) || mc_kds_query_report(&r, f.q.gen, &q, &e))
            return mc_cli_fail(argv[0], &e);
    } else {
        size_t hl = f.q.gen == MC_SNP_GEN_TURIN ? 8 : 64, n = 0;
        if (mc_hex_decode(f.hwid, q.hwid, sizeof q.hwid, &n, &e) || (n != 64 && n != hl))
            return mc_cli_usage_error(argv[0], "--hwid: %zu bytes of hex, not %s", n,
                                      hl == 8 ? "8 (or the 64 of CHIP_ID)" : "64");
        if (mc_snp_tcb_parse(f.tcb, q.gen, &q.tcb, &e))
            return mc_cli_usage_error(argv[0], "--tcb: %s", e.msg);
    }
    f.q.gen = q.gen;
    struct mc_kds_certs c = {0};
    char vpath[URL_MAX];
    if ((rc = fetch_chain(&f, &c)) == MC_EXIT_ERROR && !mc_kds_query_path(&q, vpath, sizeof vpath, NULL))
        fprintf(stderr, "memcrypt %s: the VCEK itself is at %s%s\n", argv[0], f.base, vpath); /* for an offline user */
    if (!rc && !(rc = fetch_leaf(&f, &q, &c))) {
        printf("VCEK: %s, this chip's hwID and every SPL of the TCB asked for, signed by the ASK\n",
               mc_snp_gen_name(q.gen));
        const struct out_file o[] = {{"vcek", c.vcek, c.vcek_len, false}};
        rc = write_files(&f, a.out_dir, o, 1);
    }
    mc_kds_certs_free(&c);
    return rc;
}

#define FETCH_NOTES                                                                                                    \
    "Every answer is checked before a file is written: the chain is two certificates of the product\n"               \
    "and side asked for, the ARK self-signed and the ASK (ASVK) signed by it, both valid now; an ARK that\n"          \
    "names itself AMD's must be AMD's real one (the emulated chip's is marked not AMD's and accepted).\n"              \
    "The files of a command are written together or not at all. Exit status: 0 written, 1 the answer\n"              \
    "did not check (nothing written), 2 usage, 3 the server could not be reached or refused (the URL is\n"           \
    "printed, to fetch elsewhere when this machine is offline) or a file could not be written.\n"

/* The examples start a local KDS for an emulated chip (no network needed) and wait for its port. */
#define KDS_SETUP                                                                                                      \
    "d=$(mktemp -d)\n"                                                                                                 \
    "memcrypt fw status --platform milan --state $d/ci.state\n"                                                        \
    "memcrypt kds serve --state $d/ci.state --listen 127.0.0.1:0 >$d/kds.txt &\n"                                      \
    "until grep -q serving $d/kds.txt; do sleep 0.05; done\n"                                                           \
    "url=$(grep -o 'http://[0-9.:]*' $d/kds.txt)\n"

const struct mc_cli_cmd mc_cli_fetch[] = {
    {.path = "fetch ca",
     .summary = "fetch the ARK and ASK (or ASVK) of a product from a KDS, checked",
     .synopsis = "[--product NAME | --report FILE] [--endorser vcek|vlek] [--url URL] [--format pem|der] [--out-dir DIR]",
     .about = "Fetches {URL}/{vcek|vlek}/v1/{Product}/cert_chain (the ASK or ASVK, then the ARK) and writes\n"
              "DIR/ark.pem and DIR/ask.pem (asvk.pem with --endorser vlek), the folder `report verify --roots`\n"
              "reads, and DIR/cert_chain.pem (always PEM: the ASK or ASVK, then the ARK, as served), which\n"
              "`report verify --roots FILE` reads. The URL is AMD's KDS unless --url names another (e.g.\n"
              "`memcrypt kds serve`).\n",
     .opts = ca_opts,
     .common = MC_CO_OUT_DIR,
     .out_dir_default = ".",
     .notes = FETCH_NOTES,
     .examples = KDS_SETUP "memcrypt fetch ca --product milan --url $url --out-dir $d/roots\n"
                           "memcrypt fetch ca --product milan --endorser vlek --format der --url $url --out-dir $d/vlek\n"
                           "kill $!\n",
     .run = run_ca_crl},
    {.path = "fetch vcek",
     .summary = "fetch a chip's VCEK at a TCB from a KDS (from a report, or hwID and TCB), checked",
     .synopsis = "(--report FILE | --product NAME --hwid HEX --tcb SPEC) [--product NAME] [--url URL] [--format pem|der] "
                 "[--out-dir DIR]",
     .about = "Fetches {URL}/vcek/v1/{Product}/{hwID}?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=.. (Turin: fmcSPL\n"
              "first, the hwID is the first 8 bytes of CHIP_ID), with the CHIP_ID and REPORTED_TCB of an\n"
              "attestation report as snpguest does, or as given. The product comes from the report's CPUID\n"
              "(version 3 and later) unless --product names it. The chain is fetched too: the VCEK must name\n"
              "that product, chip and TCB, have a P-384 key and be signed by the ASK. Writes DIR/vcek.pem\n"
              "(vcek.der), for `report verify --vcek`.\n",
     .opts = vcek_opts,
     .common = MC_CO_OUT_DIR,
     .out_dir_default = ".",
     .notes = FETCH_NOTES,
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt run examples/sev-snp-guest.xml --vcpu-type EPYC-Milan --state $d/ci.state --save $d/guest.snp\n"
                 "memcrypt exec --state $d/ci.state --guest $d/guest.snp -- memcrypt guest report --out $d/report.bin\n"
                 "memcrypt kds serve --state $d/ci.state --listen 127.0.0.1:0 >$d/kds.txt &\n"
                 "until grep -q serving $d/kds.txt; do sleep 0.05; done\n"
                 "url=$(grep -o 'http://[0-9.:]*' $d/kds.txt)\n"
                 "memcrypt fetch vcek --report $d/report.bin --url $url --out-dir $d\n"
                 "memcrypt fetch ca --product milan --url $url --out-dir $d/roots\n"
                 "memcrypt report verify $d/report.bin --vcek $d/vcek.pem --roots $d/roots\n"
                 "memcrypt fetch vcek --product milan --hwid $(memcrypt fw get-id --platform milan --state $d/ci.state) "
                 "--tcb bl=3,tee=0,snp=8,ucode=115 --url $url --out-dir $d/other --format der\n"
                 "kill $!\n",
     .run = run_vcek},
    {.path = "fetch crl",
     .summary = "fetch the ARK's certificate revocation list of a product from a KDS, checked",
     .synopsis = "[--product NAME | --report FILE] [--endorser vcek|vlek] [--url URL] [--format pem|der] [--out-dir DIR]",
     .about = "Fetches {URL}/{vcek|vlek}/v1/{Product}/crl, and the chain to check it with: the CRL must be\n"
              "issued and signed by the ARK and must not revoke the ASK. Writes DIR/crl.pem (crl.der).\n",
     .opts = crl_opts,
     .common = MC_CO_OUT_DIR,
     .out_dir_default = ".",
     .notes = FETCH_NOTES,
     .examples = KDS_SETUP "memcrypt fetch crl --product milan --url $url --out-dir $d\n"
                           "openssl crl -in $d/crl.pem -noout -issuer\n"
                           "kill $!\n",
     .run = run_ca_crl},
    {0},
};
