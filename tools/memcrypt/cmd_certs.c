/* memcrypt certs — legacy SEV certificate chains: verify, show, export (emulated platform). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/json.h>
#include <memcrypt/sev_cert.h>
#include <memcrypt/sev_identity.h>
#include <memcrypt/snp_verify.h>

#include "cli.h"
#include "cli_progress.h"
#include <memcrypt/crypto.h>

#define MAX_CERT_FILE 65536

/* ------------------------------------------------------------------------------ verify -- */

struct link {
    const char *name;
    bool ok;
    char reason[MC_ERROR_MSG_MAX];
};

struct verify_ctx {
    struct link links[16];
    int n;
};

static void add_link(struct verify_ctx *v, const char *name, bool ok, const char *reason)
{
    if (v->n >= (int)(sizeof v->links / sizeof v->links[0]))
        return;
    struct link *l = &v->links[v->n++];
    l->name = name;
    l->ok = ok;
    snprintf(l->reason, sizeof l->reason, "%s", reason ? reason : "");
}

/* Load dir/name; *present tells whether the file exists. */
static mc_status load(const char *dir, const char *name, uint8_t **buf, size_t *len, bool *present,
                      struct mc_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    *present = stat(path, &st) == 0;
    *buf = NULL;
    if (!*present)
        return mc_seterr(err, MC_E_NOTFOUND, "%s is missing", name);
    return mc_file_read(path, MAX_CERT_FILE, buf, len, err);
}

static mc_status load_sev(const char *dir, const char *name, struct mc_sev_cert *c, struct mc_error *err)
{
    uint8_t *b = NULL;
    size_t n = 0;
    bool present;
    mc_status rc = load(dir, name, &b, &n, &present, err);
    if (rc == MC_OK) {
        struct mc_error e2;
        rc = mc_sev_cert_parse(b, n, c, &e2);
        if (rc != MC_OK)
            mc_seterr(err, rc, "%s: %s", name, e2.msg);
    }
    free(b);
    return rc;
}

enum { O_ALLOW_EMU = 1 };

static const struct mc_opt verify_opts[] = {
    {"allow-emulated-root", 0, NULL, "accept memcrypt's emulated AMD root (never AMD's real chips)", O_ALLOW_EMU, 0},
    {0},
};

static int run_verify(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    int allow_emu = 0, c;
    struct mc_args a;
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0)
        if (c == O_ALLOW_EMU)
            allow_emu = 1;
    if (c < 0)
        return a.rc;
    const int json = a.json;
    const char *dir = a.pos[0];
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return mc_cli_error(argv[0], MC_EXIT_ERROR, "'%s' is not a folder", dir);
    struct verify_ctx v = {.n = 0};
    struct mc_error e;
    mc_clearerr(&e);
    struct mc_sev_cert pdh, pek, oca, cek;
    mc_status r_pdh = load_sev(dir, "pdh.cert", &pdh, &e);
    if (r_pdh != MC_OK)
        add_link(&v, "PDH", false, e.msg);
    mc_status r_pek = load_sev(dir, "pek.cert", &pek, &e);
    if (r_pek != MC_OK)
        add_link(&v, "PEK", false, e.msg);
    mc_status r_oca = load_sev(dir, "oca.cert", &oca, &e);
    if (r_oca != MC_OK)
        add_link(&v, "OCA", false, e.msg);
    mc_status r_cek = load_sev(dir, "cek.cert", &cek, &e);
    if (r_cek != MC_OK)
        add_link(&v, "CEK", false, e.msg);

    /* AMD part: the folder's ark/ask if present, else the built-in generations. */
    uint8_t *bark = NULL, *bask = NULL;
    size_t lark = 0, lask = 0;
    bool p_ark, p_ask;
    struct mc_error e1, e2;
    mc_status rl_ark = load(dir, "ark.cert", &bark, &lark, &p_ark, &e1);
    mc_status rl_ask = load(dir, "ask.cert", &bask, &lask, &p_ask, &e2);
    struct mc_amd_cert ark, ask;
    mc_status ra = MC_E_NOTFOUND, rs = MC_E_NOTFOUND;
    if (p_ark || p_ask) {
        ra = rl_ark == MC_OK ? mc_amd_cert_parse(bark, lark, &ark, &e1) : rl_ark;
        rs = rl_ask == MC_OK ? mc_amd_cert_parse(bask, lask, &ask, &e2) : rl_ask;
        if (ra != MC_OK)
            add_link(&v, "ARK", false, e1.msg);
        if (rs != MC_OK)
            add_link(&v, "ASK", false, e2.msg);
    }
    free(bark);
    free(bask);
    struct mc_sev_chain_result cr;
    mc_sev_chain_verify(r_pdh == MC_OK ? &pdh : NULL, r_pek == MC_OK ? &pek : NULL, r_oca == MC_OK ? &oca : NULL,
                        r_cek == MC_OK ? &cek : NULL, rs == MC_OK ? &ask : NULL, ra == MC_OK ? &ark : NULL,
                        allow_emu, &cr);
    if ((p_ark || p_ask) && ra != MC_OK && rs != MC_OK)
        add_link(&v, "root", false, "no usable ARK");
    for (int i = 0; i < cr.n; i++)
        add_link(&v, cr.links[i].name, cr.links[i].ok, cr.links[i].reason);
    const char *root_gen = cr.root_gen;
    bool emulated = cr.emulated_root;
    char root_desc[240];
    snprintf(root_desc, sizeof root_desc, "%s", cr.root_desc);
    bool all = v.n > 0;
    for (int i = 0; i < v.n; i++)
        all &= v.links[i].ok;
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "folder", dir);
        mc_json_arr(&j, "links");
        for (int i = 0; i < v.n; i++) {
            mc_json_obj(&j, NULL);
            mc_json_str(&j, "link", v.links[i].name);
            mc_json_bool(&j, "ok", v.links[i].ok);
            if (v.links[i].ok)
                mc_json_null(&j, "reason");
            else
                mc_json_str(&j, "reason", v.links[i].reason);
            mc_json_end(&j);
        }
        mc_json_end(&j);
        mc_json_str(&j, "root", root_gen);
        mc_json_bool(&j, "emulated_root", emulated);
        mc_json_str(&j, "root_description", root_desc);
        mc_json_bool(&j, "ok", all);
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        for (int i = 0; i < v.n; i++)
            printf("%-12s %s%s%s\n", v.links[i].name, v.links[i].ok ? "ok" : "FAIL", v.links[i].ok ? "" : "  ",
                   v.links[i].reason);
        printf("root: %s\n", root_desc[0] ? root_desc : "(none)");
        printf("result: %s\n", all ? "the chain verifies" : "the chain does NOT verify");
    }
    return all ? MC_EXIT_OK : MC_EXIT_CHECK;
}

/* -------------------------------------------------------------------------------- show -- */

static void hexline(const char *label, const uint8_t *p, size_t n, bool reverse)
{
    char buf[1100];
    uint8_t t[512];
    if (n > sizeof t)
        n = sizeof t;
    memcpy(t, p, n);
    if (reverse)
        for (size_t i = 0; i < n / 2; i++) {
            uint8_t x = t[i];
            t[i] = t[n - 1 - i];
            t[n - 1 - i] = x;
        }
    mc_hex_encode(t, n, buf);
    printf("  %-14s %s\n", label, buf);
}

static int show_sev(const char *path, const struct mc_sev_cert *c, int json)
{
    bool ecc = c->algo != MC_SEV_ALGO_RSA_SHA256 && c->algo != MC_SEV_ALGO_RSA_SHA384;
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "file", path);
        mc_json_str(&j, "format", "sev");
        mc_json_u64(&j, "version", c->version);
        mc_json_u64(&j, "api_major", c->api_major);
        mc_json_u64(&j, "api_minor", c->api_minor);
        mc_json_str(&j, "usage", mc_sev_usage_name(c->usage));
        mc_json_hex64(&j, "usage_value", c->usage);
        mc_json_str(&j, "algo", mc_sev_algo_name(c->algo));
        mc_json_hex64(&j, "algo_value", c->algo);
        if (ecc) {
            uint8_t x[48], y[48];
            memcpy(x, c->pubkey + 4, 48);
            memcpy(y, c->pubkey + 0x4C, 48);
            for (int i = 0; i < 24; i++) {
                uint8_t t = x[i]; x[i] = x[47 - i]; x[47 - i] = t;
                t = y[i]; y[i] = y[47 - i]; y[47 - i] = t;
            }
            mc_json_str(&j, "curve", "P-384");
            mc_json_hexbytes(&j, "qx", x, 48);
            mc_json_hexbytes(&j, "qy", y, 48);
        } else {
            mc_json_u64(&j, "modulus_bits", mc_le32(c->pubkey));
        }
        mc_json_arr(&j, "signatures");
        for (int i = 0; i < 2; i++) {
            mc_json_obj(&j, NULL);
            mc_json_u64(&j, "slot", (uint64_t)i + 1);
            mc_json_bool(&j, "empty", !mc_sev_cert_slot_used(c, i));
            mc_json_str(&j, "signer", mc_sev_cert_slot_used(c, i) ? mc_sev_usage_name(c->sig[i].usage) : "none");
            mc_json_str(&j, "algo", mc_sev_algo_name(c->sig[i].algo));
            mc_json_end(&j);
        }
        mc_json_end(&j);
        mc_json_end(&j);
        mc_json_finish(&j);
        return MC_EXIT_OK;
    }
    printf("%s: SEV certificate (0x824 bytes)\n", path);
    printf("  version        %u\n  api            %u.%u\n", c->version, c->api_major, c->api_minor);
    printf("  usage          %s (0x%04x)\n  algorithm      %s (0x%04x)\n", mc_sev_usage_name(c->usage), c->usage,
           mc_sev_algo_name(c->algo), c->algo);
    if (ecc) {
        printf("  curve          P-384\n");
        hexline("Qx", c->pubkey + 4, 48, true);
        hexline("Qy", c->pubkey + 0x4C, 48, true);
    } else {
        printf("  RSA modulus    %u bits\n", mc_le32(c->pubkey));
    }
    for (int i = 0; i < 2; i++) {
        if (!mc_sev_cert_slot_used(c, i))
            printf("  signature %d    (empty: usage 0x%x, algorithm 0x%x)\n", i + 1, c->sig[i].usage, c->sig[i].algo);
        else
            printf("  signature %d    by %s, %s\n", i + 1, mc_sev_usage_name(c->sig[i].usage),
                   mc_sev_algo_name(c->sig[i].algo));
    }
    return MC_EXIT_OK;
}

static int show_amd(const char *path, const struct mc_amd_cert *c, int json)
{
    bool emu = mc_amd_cert_is_emulated(c);
    const char *gen = mc_sev_root_match_ark(c);
    const char *body = mc_sev_root_match_body(c);
    char kid[33], cid[33];
    mc_hex_encode(c->key_id, 16, kid);
    mc_hex_encode(c->certifying_id, 16, cid);
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "file", path);
        mc_json_str(&j, "format", "amd");
        mc_json_str(&j, "usage", c->key_usage == MC_SEV_USAGE_ARK ? "ARK" : "ASK");
        mc_json_str(&j, "key_id", kid);
        mc_json_str(&j, "certifying_id", cid);
        mc_json_u64(&j, "pubexp_bits", c->pubexp_bits);
        mc_json_u64(&j, "modulus_bits", c->modulus_bits);
        mc_json_u64(&j, "signature_bytes", c->sig_len);
        mc_json_bool(&j, "signed", c->sig_len != 0);
        mc_json_str(&j, "builtin_body", body);
        mc_json_bool(&j, "emulated", emu);
        mc_json_str(&j, "builtin_root", gen);
        mc_json_end(&j);
        mc_json_finish(&j);
        return MC_EXIT_OK;
    }
    printf("%s: AMD %s certificate (%zu bytes)%s\n", path, c->key_usage == MC_SEV_USAGE_ARK ? "ARK" : "ASK",
           mc_amd_cert_size(c), emu ? "  ** EMULATED memcrypt root, not AMD's **" : "");
    if (c->sig_len == 0)
        printf("  signature      none: an unsigned body%s%s%s\n", body ? " equal to AMD's built-in " : "",
               body ? body : "", body ? " root (trusted as that root)" : " that matches no built-in AMD root");
    printf("  key id         %s%s\n", kid, emu ? " (\"MEMCRYPT-EMU...\")" : "");
    printf("  certifying id  %s\n", cid);
    printf("  key            RSA %u bits, exponent field %u bits\n", c->modulus_bits, c->pubexp_bits);
    if (c->sig_len)
        printf("  signature      %u bytes (RSA-PSS, %s)\n", c->sig_len, c->sig_len == 256 ? "SHA-256" : "SHA-384");
    if (gen)
        printf("  built-in root  AMD %s\n", gen);
    printf("  emulated       %s\n", emu ? "yes" : "no");
    return MC_EXIT_OK;
}

static void fmt_time(time_t t, char *buf, size_t n)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* X.509 certificates of the SNP chain (VCEK, VLEK, ASK, ASVK, ARK; one or a PEM bundle). */
/* A certificate that does not parse: the message names the file (a command may be given several). */
static int fail_file(const char *cmd, const char *file, const struct mc_error *e)
{
    struct mc_error named = *e;
    size_t fl = strlen(file);
    if (fl + 3 < sizeof named.msg) { /* "FILE: MESSAGE", the message cut to what fits */
        size_t ml = strnlen(e->msg, sizeof named.msg - fl - 3);
        memcpy(named.msg, file, fl);
        memcpy(named.msg + fl, ": ", 2);
        memcpy(named.msg + fl + 2, e->msg, ml);
        named.msg[fl + 2 + ml] = '\0';
    }
    return mc_cli_fail(cmd, &named);
}

static int show_x509(const char *cmd, const char *path, const uint8_t *b, size_t n, int json)
{
    struct mc_snp_certinfo ci[MC_SNP_CERTINFO_MAX];
    size_t nc = 0;
    struct mc_error e;
    if (mc_snp_certs_describe(b, n, ci, MC_SNP_CERTINFO_MAX, &nc, &e) != MC_OK)
        return fail_file(cmd, path, &e);
    struct mc_json j;
    if (json) {
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "file", path);
        mc_json_str(&j, "format", "x509");
        mc_json_arr(&j, "certificates");
    }
    for (size_t i = 0; i < nc; i++) {
        const struct mc_snp_certinfo *c = &ci[i];
        char nb[32], na[32], hw[129];
        fmt_time(c->not_before, nb, sizeof nb);
        fmt_time(c->not_after, na, sizeof na);
        mc_hex_encode(c->hwid, c->hwid_len, hw);
        if (json) {
            mc_json_obj(&j, NULL);
            mc_json_str(&j, "role", c->role);
            mc_json_str(&j, "subject_cn", c->subject_cn);
            mc_json_str(&j, "issuer", c->issuer);
            mc_json_str(&j, "serial", c->serial);
            mc_json_str(&j, "not_before", nb);
            mc_json_str(&j, "not_after", na);
            mc_json_str(&j, "signature_algorithm", c->sig_alg);
            mc_json_str(&j, "key", c->key);
            mc_json_str(&j, "amd_builtin", c->amd_builtin[0] ? c->amd_builtin : NULL);
            mc_json_str(&j, "signed_by", c->signed_by[0] ? c->signed_by : NULL);
            if (c->has_amd_ext) {
                mc_json_obj(&j, "amd_extensions");
                if (c->has_struct_version)
                    mc_json_u64(&j, "struct_version", (uint64_t)c->struct_version);
                mc_json_str(&j, "product_name", c->product);
                for (int a = 1; a < 10; a++)
                    if (c->has_spl[a])
                        mc_json_u64(&j, mc_snp_spl_label(a), c->spl[a]);
                if (c->hwid_len) {
                    mc_json_str(&j, "hw_id", hw);
                    mc_json_str(&j, "hw_id_encoding", c->hwid_wrapped ? "octet-string" : "raw");
                }
                if (c->has_csp_id)
                    mc_json_str(&j, "csp_id", c->csp_id);
                mc_json_end(&j);
            }
            if (c->ext_error[0])
                mc_json_str(&j, "amd_extensions_error", c->ext_error);
            mc_json_end(&j);
            continue;
        }
        printf("%s: certificate %zu of %zu: %s '%s'%s%s\n", path, i + 1, nc, c->role, c->subject_cn,
               c->amd_builtin[0] ? " = " : "", c->amd_builtin);
        printf("  issuer         %s\n  serial         %s\n  valid          %s .. %s\n", c->issuer, c->serial, nb, na);
        printf("  key            %s\n  signature      %s, %s\n", c->key, c->sig_alg,
               c->signed_by[0] ? c->signed_by : "by no certificate here nor any built-in AMD root");
        if (c->has_amd_ext) {
            if (c->has_struct_version)
                printf("  structVersion  %ld\n", c->struct_version);
            printf("  productName    %s\n", c->product);
            printf("  SPLs          ");
            for (int a = 1; a < 10; a++)
                if (c->has_spl[a])
                    printf(" %s=%u", mc_snp_spl_label(a), c->spl[a]);
            printf("\n");
            if (c->hwid_len)
                printf("  hwID           %s (%zu bytes, %s)\n", hw, c->hwid_len,
                       c->hwid_wrapped ? "wrapped in an OCTET STRING, not AMD's raw encoding" : "raw, AMD's encoding");
            if (c->has_csp_id)
                printf("  cspID          %s\n", c->csp_id);
        }
        if (c->ext_error[0])
            printf("  AMD extensions cannot be read: %s\n", c->ext_error);
    }
    if (json) {
        mc_json_end(&j);
        mc_json_end(&j);
        mc_json_finish(&j);
    }
    return MC_EXIT_OK;
}

static int run_show(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct mc_args a;
    int rc = mc_args_all(&a, cmd, argc, argv);
    if (rc)
        return rc;
    const int json = a.json;
    const char *file = a.pos[0];
    uint8_t *b = NULL;
    size_t n = 0;
    struct mc_error e;
    if (mc_file_read(file, MAX_CERT_FILE, &b, &n, &e) != MC_OK)
        return mc_cli_fail(argv[0], &e);
    bool x509 = (n >= 10 && strstr((const char *)b, "-----BEGIN") != NULL) || (n > 4 && b[0] == 0x30 && b[1] == 0x82);
    if (n != MC_SEV_CERT_LEN && x509) {
        rc = show_x509(argv[0], file, b, n, json);
    } else if (n == MC_SEV_CERT_LEN) {
        struct mc_sev_cert sc;
        rc = mc_sev_cert_parse(b, n, &sc, &e) == MC_OK ? show_sev(file, &sc, json) : fail_file(argv[0], file, &e);
    } else {
        struct mc_amd_cert ac;
        rc = mc_amd_cert_parse(b, n, &ac, &e) == MC_OK ? show_amd(file, &ac, json) : fail_file(argv[0], file, &e);
    }
    free(b);
    return rc;
}

/* ------------------------------------------------------------------------------ export -- */

enum { O_ROOT_BITS = 1, O_API_MAJOR, O_API_MINOR, O_BUILD, O_STATE_OUT };

static const struct mc_opt export_opts[] = {
    {"root-bits", 0, "2048|4096", "RSA size of the emulated ARK/ASK (default 4096)", O_ROOT_BITS, 0},
    {"api-major", 0, "N", "firmware API major version in the certificates (default 0)", O_API_MAJOR, 0},
    {"api-minor", 0, "N", "firmware API minor version (default 24)", O_API_MINOR, 0},
    {"build", 0, "N", "firmware build (default 15)", O_BUILD, 0},
    {"state", 0, "FILE", "also write the platform's secret identity state (keys included)", O_STATE_OUT,
     MC_OPT_FILE},
    {0},
};

static int run_export(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    const char *state = NULL;
    uint64_t bits = 4096, maj = 0, min = 24, build = 15;
    int c;
    struct mc_error e;
    struct mc_args a;
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0) {
        uint64_t *dst = c == O_ROOT_BITS ? &bits : c == O_API_MAJOR ? &maj : c == O_API_MINOR ? &min : c == O_BUILD ? &build : NULL;
        if (c == O_STATE_OUT)
            state = a.val;
        else if (dst && mc_parse_u64(a.val, dst, &e) != MC_OK)
            return mc_cli_usage_error(argv[0], "%s", e.msg);
    }
    if (c < 0)
        return a.rc;
    if ((bits != 2048 && bits != 4096) || maj > 255 || min > 255 || build > 255)
        return mc_cli_usage_error(argv[0], "--root-bits must be 2048 or 4096; API and build fit in one byte");
    const char *seed = a.seed;
    const char *dir = a.pos[0];
    struct mc_rng *rng = NULL;
    struct mc_sev_identity *id = NULL;
    struct mc_sev_identity_params p = {(uint8_t)maj, (uint8_t)min, (uint8_t)build, (unsigned)bits};
    struct mc_cli_progress pr;
    mc_cli_progress_begin(&pr, argv[0], "making the emulated chip's keys (RSA ARK and ASK, P-384 CEK, OCA, PEK, PDH)");
    mc_status st = mc_rng_create((const uint8_t *)seed, seed ? strlen(seed) : 0, &rng, &e);
    if (st == MC_OK)
        st = mc_sev_identity_create(rng, &p, &id, &e);
    mc_cli_progress_end(&pr);
    if (st != MC_OK) {
        mc_rng_destroy(rng);
        return mc_cli_fail(argv[0], &e);
    }
    static const char *const names[6] = {"ark.cert", "ask.cert", "cek.cert", "oca.cert", "pek.cert", "pdh.cert"};
    static const enum mc_sev_id_cert which[6] = {MC_SEV_ID_ARK, MC_SEV_ID_ASK, MC_SEV_ID_CEK,
                                                 MC_SEV_ID_OCA, MC_SEV_ID_PEK, MC_SEV_ID_PDH};
    int rc = MC_EXIT_OK;
    struct mc_outset *os = NULL; /* the certificates and the --state file: all or none */
    if (mc_outset_create(&os, &e) != MC_OK || mc_outset_dir(os, dir, MC_CLI_DIR_MODE, &e) != MC_OK)
        rc = mc_cli_fail(argv[0], &e);
    for (int i = 0; i < 6 && rc == MC_EXIT_OK; i++) {
        uint8_t buf[MC_AMD_CERT_MAX_LEN > MC_SEV_CERT_LEN ? MC_AMD_CERT_MAX_LEN : MC_SEV_CERT_LEN];
        size_t n = 0;
        if (mc_sev_identity_cert(id, which[i], buf, sizeof buf, &n, &e) != MC_OK ||
            mc_outset_add_in(os, dir, names[i], buf, n, &e) != MC_OK)
            rc = mc_cli_fail(argv[0], &e);
    }
    if (rc == MC_EXIT_OK && state) {
        uint8_t *blob = NULL;
        size_t bl = 0;
        if (mc_sev_identity_serialize(id, &blob, &bl, &e) != MC_OK || mc_outset_add(os, state, blob, bl, &e) != MC_OK)
            rc = mc_cli_fail(argv[0], &e);
        if (blob) {
            mc_wipe(blob, bl);
            free(blob);
        }
    }
    if (rc == MC_EXIT_OK && mc_outset_commit(os, &e) != MC_OK)
        rc = mc_cli_fail(argv[0], &e);
    mc_outset_destroy(os);
    if (rc == MC_EXIT_OK)
        printf("wrote ark.cert ask.cert cek.cert oca.cert pek.cert pdh.cert to %s\n"
               "note: ARK/ASK are memcrypt's EMULATED AMD root (KEY_ID \"MEMCRYPT-EMU-ARK\"/\"-ASK\"); "
               "`memcrypt certs verify` accepts them only with --allow-emulated-root\n",
               dir);
    mc_sev_identity_destroy(id);
    mc_rng_destroy(rng);
    return rc;
}

const struct mc_cli_cmd mc_cli_certs[] = {
    {.path = "certs verify",
     .summary = "verify a legacy SEV certificate chain PDH <- PEK <- OCA/CEK <- ASK <- ARK",
     .synopsis = "DIR [--allow-emulated-root] [--json]",
     .about = "DIR holds pdh.cert, pek.cert, oca.cert, cek.cert and optionally ark.cert and ask.cert\n"
              "(the layout of sev-tool's export). Without ark/ask, AMD's real ARK/ASK of every\n"
              "generation (naples, rome, milan, genoa, turin) are tried for the CEK. An ARK that is not\n"
              "one of AMD's is refused; memcrypt's emulated root is accepted only with\n"
              "--allow-emulated-root. Each link is reported with pass/fail and the reason.\n",
     .opts = verify_opts,
     .common = MC_CO_JSON,
     .args = "DIR (with pdh.cert, pek.cert, oca.cert, cek.cert)",
     .min_args = 1,
     .max_args = 1,
     .notes = "Exit status: 0 the chain verifies, 1 it does not, 2 usage, 3 error.\n",
     .examples = "memcrypt certs verify tests/data/amd/sev-platform/rome\n",
     .run = run_verify},
    {.path = "certs show",
     .summary = "show a SEV, AMD ARK/ASK, or SNP X.509 certificate (VCEK, VLEK, ASK, ASVK, ARK; bundles too)",
     .synopsis = "FILE [--json]",
     .about = "Prints the fields of a SEV certificate (0x824 bytes), of an AMD signing-key certificate\n"
              "(ARK/ASK; AMD's unsigned 576-byte Naples ARK too), or of the X.509 certificates of the SNP\n"
              "chain, DER or PEM, one or a bundle of several (AMD's cert_chain): role, validity, key,\n"
              "which certificate (of the file, or of AMD's built-in roots) signed it, and AMD's extensions\n"
              "decoded (structVersion, productName, blSPL/teeSPL/snpSPL/ucodeSPL/fmcSPL, hwID and its\n"
              "encoding, cspID). memcrypt's emulated ARK/ASK are flagged as EMULATED.\n",
     .common = MC_CO_JSON,
     .args = "FILE (a certificate)",
     .min_args = 1,
     .max_args = 1,
     .examples = "memcrypt certs show tests/data/amd/sev-platform/rome/pek.cert\n"
                 "memcrypt certs show tests/data/amd/snp-reports/oak-turin-oc/vcek.der\n",
     .run = run_show},
    {.path = "certs export",
     .summary = "write an emulated platform's certificate chain in sev-tool's layout",
     .synopsis = "DIR [--seed S] [--root-bits 2048|4096] [--api-major N] [--api-minor N] [--build N] [--state FILE]",
     .about = "Creates an emulated chip (chip secret, CEK, emulated AMD ARK/ASK, OCA, PEK, PDH) and writes\n"
              "ark.cert ask.cert cek.cert oca.cert pek.cert pdh.cert into DIR. --seed makes the keys\n"
              "deterministic (signatures still use fresh randomness).\n",
     .opts = export_opts,
     .common = MC_CO_SEED,
     .args = "DIR (the output folder)",
     .min_args = 1,
     .max_args = 1,
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt certs export $d/chain --seed example --root-bits 2048\n"
                 "memcrypt certs verify $d/chain --allow-emulated-root\n",
     .run = run_export},
    {0},
};
