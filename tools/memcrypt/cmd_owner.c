/* memcrypt owner — the guest owner's tools for a legacy SEV launch: session blob, measurement
 * check, LAUNCH_SECRET packaging. File formats follow sev-tool / sevctl / libvirt's
 * virt-qemu-sev-validate (tek.bin/tik.bin 16 bytes each; tk.bin = TEK||TIK; base64 for libvirt). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/json.h>
#include <memcrypt/measure.h>
#include <memcrypt/sev_owner.h>
#include <memcrypt/sev_session.h>

#include "cli.h"
#include "crypto/crypto.h"

#define MAX_SMALL_FILE (1u << 20)
#define MAX_IMAGE_FILE (1ull << 31)

/* Outputs of one command go to one set (memcrypt/fileio.h): all appear at the commit or none. */
static int write_file(struct mc_outset *os, const char *dir, const char *name, const uint8_t *b, size_t n,
                      struct mc_error *e)
{
    return mc_outset_add_in(os, dir, name, b, n, e) == MC_OK ? 0 : -1;
}

/* A new set for folder dir (created 0700 at the commit when missing: it holds keys). */
static struct mc_outset *out_begin(const char *dir, struct mc_error *e)
{
    struct mc_outset *os = NULL;
    if (mc_outset_new(&os, e) != MC_OK || mc_outset_dir(os, dir, 0700, e) != MC_OK) {
        mc_outset_free(os);
        return NULL;
    }
    return os;
}

static int out_commit(struct mc_outset *os, struct mc_error *e)
{
    int bad = mc_outset_commit(os, e) != MC_OK;
    mc_outset_free(os);
    return bad ? -1 : 0;
}

static int write_b64(struct mc_outset *os, const char *dir, const char *name, const uint8_t *b, size_t n, struct mc_error *e)
{
    size_t el = mc_base64_encoded_len(n);
    char *s = malloc(el + 2);
    if (!s) {
        mc_seterr(e, MC_E_NOMEM, "out of memory");
        return -1;
    }
    mc_base64_encode(b, n, s);
    size_t sl = strlen(s);
    s[sl] = '\n';
    int rc = write_file(os, dir, name, (const uint8_t *)s, sl + 1, e);
    free(s);
    return rc;
}

/* A file holding raw bytes of exactly n, or (for certificates and blobs libvirt passes around)
 * base64 text of them. */
static mc_status read_exact(const char *path, uint8_t *out, size_t n, bool allow_b64, struct mc_error *e)
{
    uint8_t *b = NULL;
    size_t len = 0;
    mc_status rc = mc_file_read(path, MAX_SMALL_FILE, &b, &len, e);
    if (rc != MC_OK)
        return rc;
    if (len == n) {
        memcpy(out, b, n);
    } else {
        size_t got = 0;
        if (!allow_b64 || mc_base64_decode((const char *)b, len, out, n, &got, NULL) != MC_OK || got != n)
            rc = mc_seterr(e, MC_E_FORMAT, "%s: expected %zu bytes%s, got a %zu-byte file", path, n,
                           allow_b64 ? " (or their base64)" : "", len);
    }
    mc_wipe(b, len);
    free(b);
    return rc;
}

/* Load TEK/TIK from --tek/--tik (16 bytes each) or --tk (32 bytes, TEK first). */
static mc_status load_tks(const char *tek, const char *tik, const char *tk, struct mc_sev_tks *out, bool need_tek,
                          struct mc_error *e)
{
    if (tk) {
        uint8_t b[32];
        mc_status rc = read_exact(tk, b, 32, false, e);
        if (rc == MC_OK) {
            memcpy(out->tek, b, 16);
            memcpy(out->tik, b + 16, 16);
        }
        mc_wipe(b, sizeof b);
        return rc;
    }
    if (!tik || (need_tek && !tek))
        return mc_seterr(e, MC_E_INVAL, "give --tik%s, or --tk", need_tek ? " and --tek" : "");
    mc_status rc = read_exact(tik, out->tik, 16, false, e);
    if (rc == MC_OK && tek)
        rc = read_exact(tek, out->tek, 16, false, e);
    return rc;
}

/* MEASURE||MNONCE as base64 (libvirt's sev-measurement) or 96 hex digits. */
static mc_status parse_measurement(const char *s, uint8_t out[MC_SEV_MEASURE_LEN], struct mc_error *e)
{
    size_t n = 0;
    if (strlen(s) == 2 * MC_SEV_MEASURE_LEN && mc_hex_decode(s, out, MC_SEV_MEASURE_LEN, &n, NULL) == MC_OK &&
        n == MC_SEV_MEASURE_LEN)
        return MC_OK;
    if (mc_base64_decode(s, strlen(s), out, MC_SEV_MEASURE_LEN, &n, NULL) == MC_OK && n == MC_SEV_MEASURE_LEN)
        return MC_OK;
    return mc_seterr(e, MC_E_FORMAT, "--measurement must be 48 bytes (MEASURE||MNONCE) as base64 or 96 hex digits");
}

static int parse_byte(const char *cmd, const char *opt, const char *s, uint8_t *out)
{
    uint64_t v;
    struct mc_error e;
    if (mc_parse_u64(s, &v, &e) != MC_OK || v > 255) {
        mc_cli_usage_error(cmd, "%s must be 0..255", opt);
        return -1;
    }
    *out = (uint8_t)v;
    return 0;
}

static int parse_policy(const char *cmd, const char *s, uint32_t *out)
{
    uint64_t v;
    struct mc_error e;
    if (mc_parse_u64(s, &v, &e) != MC_OK || v > UINT32_MAX) {
        mc_cli_usage_error(cmd, "--policy must be a 32-bit number (decimal, or hex with 0x)");
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/* ----------------------------------------------------------------------------- session -- */

static int run_session(int argc, char **argv)
{
    const char *pdh_path = NULL, *dir = ".", *seed = NULL;
    uint32_t policy = 0;
    int have_policy = 0, json = 0, c;
    static const struct option opts[] = {{"pdh", required_argument, NULL, 'p'},    {"policy", required_argument, NULL, 'P'},
                                         {"out-dir", required_argument, NULL, 'o'}, {"seed", required_argument, NULL, 's'},
                                         {"json", no_argument, NULL, 'j'},          {0}};
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': pdh_path = optarg; break;
        case 'P':
            if (parse_policy(argv[0], optarg, &policy))
                return MC_EXIT_USAGE;
            have_policy = 1;
            break;
        case 'o': dir = optarg; break;
        case 's': seed = optarg; break;
        case 'j': json = 1; break;
        default: return mc_cli_usage_error(argv[0], "unknown option");
        }
    }
    if (optind != argc)
        return mc_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
    if (!pdh_path || !have_policy)
        return mc_cli_usage_error(argv[0], "--pdh FILE and --policy are required");
    struct mc_error e;
    uint8_t pdh[MC_SEV_CERT_LEN], godh[MC_SEV_CERT_LEN], sess[MC_SEV_SESSION_LEN], tk[32];
    struct mc_sev_tks tks;
    struct mc_rng *rng = NULL;
    if (read_exact(pdh_path, pdh, sizeof pdh, true, &e) != MC_OK)
        return mc_cli_fail(argv[0], &e);
    if (mc_rng_new((const uint8_t *)seed, seed ? strlen(seed) : 0, &rng, &e) != MC_OK)
        return mc_cli_fail(argv[0], &e);
    mc_status rc = mc_sev_owner_session(rng, pdh, sizeof pdh, policy, godh, sess, &tks, &e);
    mc_rng_free(rng);
    if (rc != MC_OK)
        return mc_cli_fail(argv[0], &e);
    memcpy(tk, tks.tek, 16);
    memcpy(tk + 16, tks.tik, 16);
    struct mc_outset *os = out_begin(dir, &e);
    int bad = !os || write_file(os, dir, "godh.cert", godh, sizeof godh, &e) ||
              write_b64(os, dir, "godh.b64", godh, sizeof godh, &e) ||
              write_file(os, dir, "session.bin", sess, sizeof sess, &e) ||
              write_b64(os, dir, "session.b64", sess, sizeof sess, &e) ||
              write_file(os, dir, "tek.bin", tks.tek, 16, &e) || write_file(os, dir, "tik.bin", tks.tik, 16, &e) ||
              write_file(os, dir, "tk.bin", tk, 32, &e);
    if (bad)
        mc_outset_free(os);
    else
        bad = out_commit(os, &e);
    mc_wipe(&tks, sizeof tks);
    mc_wipe(tk, sizeof tk);
    if (bad)
        return mc_cli_fail(argv[0], &e);
    if (json) {
        char b1[4 * ((MC_SEV_CERT_LEN + 2) / 3) + 1], b2[4 * ((MC_SEV_SESSION_LEN + 2) / 3) + 1];
        mc_base64_encode(godh, sizeof godh, b1);
        mc_base64_encode(sess, sizeof sess, b2);
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_hex64(&j, "policy", policy);
        mc_json_str(&j, "out_dir", dir);
        mc_json_str(&j, "dhCert", b1);
        mc_json_str(&j, "session", b2);
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        printf("policy 0x%x\nwrote %s/{godh.cert,godh.b64,session.bin,session.b64,tek.bin,tik.bin,tk.bin}\n"
               "libvirt: <dhCert> = contents of godh.b64, <session> = contents of session.b64\n"
               "keep tek.bin/tik.bin secret; use a fresh session for every VM\n",
               policy, dir);
    }
    return MC_EXIT_OK;
}

/* ------------------------------------------------------------------ verify-measurement -- */

static mc_status read_file_any(const char *path, uint8_t **b, size_t *n, struct mc_error *e)
{
    return mc_file_read(path, MAX_IMAGE_FILE, b, n, e);
}

static int run_verify_measurement(int argc, char **argv)
{
    const char *meas = NULL, *tik = NULL, *tk = NULL, *digest = NULL, *ovmf = NULL, *kernel = NULL, *initrd = NULL,
               *append = NULL;
    uint8_t maj = 0, min = 0, build = 0;
    uint32_t policy = 0;
    int have = 0, json = 0, c;
    enum { O_MEAS = 1, O_TIK, O_TK, O_MAJ, O_MIN, O_BUILD, O_POL, O_DIG, O_OVMF, O_KER, O_INI, O_APP, O_JSON };
    static const struct option opts[] = {
        {"measurement", required_argument, NULL, O_MEAS}, {"tik", required_argument, NULL, O_TIK},
        {"tk", required_argument, NULL, O_TK},            {"api-major", required_argument, NULL, O_MAJ},
        {"api-minor", required_argument, NULL, O_MIN},    {"build", required_argument, NULL, O_BUILD},
        {"build-id", required_argument, NULL, O_BUILD},   {"policy", required_argument, NULL, O_POL},
        {"digest", required_argument, NULL, O_DIG},       {"ovmf", required_argument, NULL, O_OVMF},
        {"firmware", required_argument, NULL, O_OVMF},    {"kernel", required_argument, NULL, O_KER},
        {"initrd", required_argument, NULL, O_INI},       {"append", required_argument, NULL, O_APP},
        {"cmdline", required_argument, NULL, O_APP},      {"json", no_argument, NULL, O_JSON},
        {0}};
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_MEAS: meas = optarg; break;
        case O_TIK: tik = optarg; break;
        case O_TK: tk = optarg; break;
        case O_MAJ: if (parse_byte(argv[0], "--api-major", optarg, &maj)) return MC_EXIT_USAGE; have |= 1; break;
        case O_MIN: if (parse_byte(argv[0], "--api-minor", optarg, &min)) return MC_EXIT_USAGE; have |= 2; break;
        case O_BUILD: if (parse_byte(argv[0], "--build", optarg, &build)) return MC_EXIT_USAGE; have |= 4; break;
        case O_POL: if (parse_policy(argv[0], optarg, &policy)) return MC_EXIT_USAGE; have |= 8; break;
        case O_DIG: digest = optarg; break;
        case O_OVMF: ovmf = optarg; break;
        case O_KER: kernel = optarg; break;
        case O_INI: initrd = optarg; break;
        case O_APP: append = optarg; break;
        case O_JSON: json = 1; break;
        default: return mc_cli_usage_error(argv[0], "unknown option");
        }
    }
    if (optind != argc)
        return mc_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
    if (!meas || have != 15)
        return mc_cli_usage_error(argv[0], "--measurement, --api-major, --api-minor, --build and --policy are required");
    if (!!digest == !!ovmf)
        return mc_cli_usage_error(argv[0], "give exactly one of --digest HEX or --ovmf FILE");
    if (digest && (kernel || initrd || append))
        return mc_cli_usage_error(argv[0], "--kernel/--initrd/--append go with --ovmf");
    if (!kernel && (initrd || append))
        return mc_cli_usage_error(argv[0], "--initrd/--append need --kernel");
    struct mc_error e;
    uint8_t m[MC_SEV_MEASURE_LEN], ld[32], expect[32];
    struct mc_sev_tks tks;
    memset(&tks, 0, sizeof tks);
    if (parse_measurement(meas, m, &e) != MC_OK)
        return mc_cli_usage_error(argv[0], "%s", e.msg);
    if (load_tks(NULL, tik, tk, &tks, false, &e) != MC_OK)
        return mc_cli_fail(argv[0], &e);
    if (digest) {
        size_t n = 0;
        if (mc_hex_decode(digest, ld, sizeof ld, &n, &e) != MC_OK || n != 32)
            return mc_cli_usage_error(argv[0], "--digest must be 64 hex digits (SHA-256 launch digest)");
    } else {
        uint8_t *img = NULL, *kb = NULL, *ib = NULL, table[MC_SEV_HASHES_TABLE_LEN];
        size_t il = 0, kl = 0, ibl = 0;
        mc_status rc = read_file_any(ovmf, &img, &il, &e);
        if (rc == MC_OK && kernel) /* before reading a kernel: can this OVMF take one at all? */
            rc = mc_measure_kernel_supported(MC_MEASURE_SEV, img, il, &e);
        if (rc == MC_OK && kernel)
            rc = read_file_any(kernel, &kb, &kl, &e);
        if (rc == MC_OK && initrd)
            rc = read_file_any(initrd, &ib, &ibl, &e);
        if (rc == MC_OK && kernel)
            rc = mc_sev_hashes_table(kb, kl, ib, ibl, append, table, &e);
        if (rc == MC_OK)
            rc = mc_sev_launch_digest(img, il, kernel ? table : NULL, kernel ? sizeof table : 0, ld, &e);
        free(img);
        free(kb);
        free(ib);
        if (rc != MC_OK) {
            mc_wipe(&tks, sizeof tks);
            return mc_cli_fail(argv[0], &e);
        }
    }
    mc_status rc = mc_sev_owner_verify_measurement(tks.tik, m, maj, min, build, policy, ld, expect, &e);
    mc_wipe(&tks, sizeof tks);
    if (rc != MC_OK && rc != MC_E_VERIFY)
        return mc_cli_fail(argv[0], &e);
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_hexbytes(&j, "launch_digest", ld, 32);
        mc_json_hexbytes(&j, "reported", m, 32);
        mc_json_hexbytes(&j, "mnonce", m + 32, 16);
        mc_json_hexbytes(&j, "expected", expect, 32);
        mc_json_bool(&j, "match", rc == MC_OK);
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        char h[65];
        mc_hex_encode(ld, 32, h);
        printf("launch digest  %s\n", h);
        mc_hex_encode(m, 32, h);
        printf("reported       %s\n", h);
        mc_hex_encode(expect, 32, h);
        printf("expected       %s\n", h);
        printf("%s\n", rc == MC_OK ? "OK: the measurement matches" : "MISMATCH: the guest is not what you expect");
    }
    return rc == MC_OK ? MC_EXIT_OK : MC_EXIT_CHECK;
}

/* ------------------------------------------------------------------------ package-secret -- */

#define MAX_SECRETS 64

static int run_package_secret(int argc, char **argv)
{
    const char *tek = NULL, *tik = NULL, *tk = NULL, *meas = NULL, *sfile = NULL, *dir = ".", *seed = NULL;
    const char *secrets[MAX_SECRETS];
    int ns = 0, json = 0, c;
    uint8_t maj = 0, min = 17;
    enum { O_TEK = 1, O_TIK, O_TK, O_MEAS, O_SEC, O_SFILE, O_DIR, O_SEED, O_MAJ, O_MIN, O_JSON };
    static const struct option opts[] = {
        {"tek", required_argument, NULL, O_TEK},         {"tik", required_argument, NULL, O_TIK},
        {"tk", required_argument, NULL, O_TK},           {"measurement", required_argument, NULL, O_MEAS},
        {"secret", required_argument, NULL, O_SEC},      {"secret-file", required_argument, NULL, O_SFILE},
        {"out-dir", required_argument, NULL, O_DIR},     {"seed", required_argument, NULL, O_SEED},
        {"api-major", required_argument, NULL, O_MAJ},   {"api-minor", required_argument, NULL, O_MIN},
        {"json", no_argument, NULL, O_JSON},             {0}};
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_TEK: tek = optarg; break;
        case O_TIK: tik = optarg; break;
        case O_TK: tk = optarg; break;
        case O_MEAS: meas = optarg; break;
        case O_SEC:
            if (ns == MAX_SECRETS)
                return mc_cli_usage_error(argv[0], "at most %d --secret options", MAX_SECRETS);
            secrets[ns++] = optarg;
            break;
        case O_SFILE: sfile = optarg; break;
        case O_DIR: dir = optarg; break;
        case O_SEED: seed = optarg; break;
        case O_MAJ: if (parse_byte(argv[0], "--api-major", optarg, &maj)) return MC_EXIT_USAGE; break;
        case O_MIN: if (parse_byte(argv[0], "--api-minor", optarg, &min)) return MC_EXIT_USAGE; break;
        case O_JSON: json = 1; break;
        default: return mc_cli_usage_error(argv[0], "unknown option");
        }
    }
    if (optind != argc)
        return mc_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
    bool api17 = maj > 0 || min >= 17;
    if (!meas && api17)
        return mc_cli_usage_error(argv[0], "--measurement is required (its MEASURE is part of the packet MAC)");
    if (!!ns == !!sfile)
        return mc_cli_usage_error(argv[0], "give --secret GUID=VALUE (repeatable) or --secret-file FILE");
    struct mc_error e;
    uint8_t m[MC_SEV_MEASURE_LEN] = {0};
    if (meas && parse_measurement(meas, m, &e) != MC_OK)
        return mc_cli_usage_error(argv[0], "%s", e.msg);
    struct mc_sev_tks tks;
    if (load_tks(tek, tik, tk, &tks, true, &e) != MC_OK)
        return mc_cli_fail(argv[0], &e);
    uint8_t *plain = calloc(1, MC_SEV_SECRET_MAX), *trans = calloc(1, MC_SEV_SECRET_MAX);
    size_t plen = 0;
    int rc = MC_EXIT_OK;
    if (!plain || !trans) {
        mc_seterr(&e, MC_E_NOMEM, "out of memory");
        rc = mc_cli_fail(argv[0], &e);
        goto out;
    }
    if (sfile) {
        /* A ready-made plaintext (e.g. a secret table built elsewhere), zero-padded to 16. */
        uint8_t *b = NULL;
        size_t bl = 0;
        if (mc_file_read(sfile, MC_SEV_SECRET_MAX, &b, &bl, &e) != MC_OK) {
            rc = mc_cli_fail(argv[0], &e);
            goto out;
        }
        if (bl == 0 || ((bl + 15) & ~(size_t)15) > MC_SEV_SECRET_MAX) {
            free(b);
            mc_seterr(&e, MC_E_RANGE, "secret file must be 1..%u bytes", MC_SEV_SECRET_MAX);
            rc = mc_cli_fail(argv[0], &e);
            goto out;
        }
        memcpy(plain, b, bl);
        mc_wipe(b, bl);
        free(b);
        plen = (bl + 15) & ~(size_t)15;
    } else {
        struct mc_sev_secret_entry ent[MAX_SECRETS];
        for (int i = 0; i < ns; i++) {
            const char *eq = strchr(secrets[i], '=');
            char g[40];
            if (!eq || eq - secrets[i] != 36) {
                rc = mc_cli_usage_error(argv[0], "--secret wants GUID=VALUE, got '%.60s'", secrets[i]);
                goto out;
            }
            memcpy(g, secrets[i], 36);
            g[36] = 0;
            if (mc_guid_parse(g, ent[i].guid, &e) != MC_OK) {
                rc = mc_cli_usage_error(argv[0], "%s", e.msg);
                goto out;
            }
            ent[i].data = (const uint8_t *)eq + 1;
            ent[i].len = strlen(eq + 1);
        }
        if (mc_sev_secret_table_build(ent, (size_t)ns, plain, MC_SEV_SECRET_MAX, &plen, &e) != MC_OK) {
            rc = mc_cli_fail(argv[0], &e);
            goto out;
        }
    }
    struct mc_rng *rng = NULL;
    uint8_t iv[16], hdr[MC_SEV_SECRET_HDR_LEN];
    struct mc_sev_secret_hdr h;
    if (mc_rng_new((const uint8_t *)seed, seed ? strlen(seed) : 0, &rng, &e) != MC_OK ||
        mc_rng_bytes(rng, iv, sizeof iv, &e) != MC_OK ||
        mc_sev_secret_seal(&tks, api17, iv, plain, plen, api17 ? m : NULL, &h, trans, &e) != MC_OK) {
        mc_rng_free(rng);
        rc = mc_cli_fail(argv[0], &e);
        goto out;
    }
    mc_rng_free(rng);
    mc_sev_secret_hdr_encode(&h, hdr);
    struct mc_outset *os = out_begin(dir, &e);
    if (!os || write_file(os, dir, "secret_header.bin", hdr, sizeof hdr, &e) ||
        write_b64(os, dir, "secret_header.b64", hdr, sizeof hdr, &e) ||
        write_file(os, dir, "secret_payload.bin", trans, plen, &e) ||
        write_b64(os, dir, "secret_payload.b64", trans, plen, &e)) {
        mc_outset_free(os);
        rc = mc_cli_fail(argv[0], &e);
        goto out;
    }
    if (out_commit(os, &e)) {
        rc = mc_cli_fail(argv[0], &e);
        goto out;
    }
    {
        char *bh = malloc(mc_base64_encoded_len(sizeof hdr) + 1), *bp = malloc(mc_base64_encoded_len(plen) + 1);
        if (bh && bp) {
            mc_base64_encode(hdr, sizeof hdr, bh);
            mc_base64_encode(trans, plen, bp);
            if (json) {
                struct mc_json j;
                mc_json_begin(&j, stdout);
                mc_json_obj(&j, NULL);
                mc_json_u64(&j, "length", plen);
                mc_json_str(&j, "header", bh);
                mc_json_str(&j, "payload", bp);
                mc_json_str(&j, "out_dir", dir);
                mc_json_end(&j);
                mc_json_finish(&j);
            } else {
                printf("secret packet: %zu bytes (API %u.%u form)\nheader  %s\npayload %s\n"
                       "wrote %s/{secret_header,secret_payload}.{bin,b64}\n",
                       plen, maj, min, bh, bp, dir);
            }
        }
        free(bh);
        free(bp);
    }
out:
    mc_wipe(&tks, sizeof tks);
    if (plain)
        mc_wipe(plain, MC_SEV_SECRET_MAX);
    free(plain);
    free(trans);
    return rc;
}

const struct mc_cli_cmd mc_cli_owner[] = {
    {"owner session", "create the guest owner's GODH certificate and LAUNCH_START session blob",
     "usage: memcrypt owner session --pdh FILE --policy N [--out-dir DIR] [--seed S] [--json]\n\n"
     "FILE is the platform's PDH certificate (0x824 bytes, or its base64 as libvirt reports it).\n"
     "Creates a fresh P-384 owner key, TEK and TIK and writes into DIR (default .):\n"
     "  godh.cert / godh.b64       the GODH certificate (libvirt <dhCert> = godh.b64)\n"
     "  session.bin / session.b64  the 0x80-byte session blob (libvirt <session> = session.b64)\n"
     "  tek.bin, tik.bin           16 bytes each (virt-qemu-sev-validate --tek/--tik)\n"
     "  tk.bin                     TEK||TIK, 32 bytes (virt-qemu-sev-validate --tk)\n"
     "--policy: decimal, or hex with 0x. --seed: deterministic keys (tests only).\n",
     run_session},
    {"owner verify-measurement", "check a launch measurement against the expected launch digest",
     "usage: memcrypt owner verify-measurement --measurement B64|HEX (--tik FILE | --tk FILE)\n"
     "         --api-major N --api-minor N --build N --policy N\n"
     "         (--digest HEX | --ovmf FILE [--kernel FILE [--initrd FILE] [--append STR]]) [--json]\n\n"
     "--measurement is MEASURE||MNONCE (48 bytes) as libvirt's sev-measurement (base64) or hex.\n"
     "The expected launch digest is --digest, or SHA-256(OVMF || kernel-hashes table) computed from\n"
     "--ovmf (and --kernel/--initrd/--append for direct kernel boot). MEASURE is recomputed with the\n"
     "TIK (API >= 0.17 form when the API is >= 0.17) and compared in constant time.\n"
     "Exit status: 0 match, 1 mismatch, 2 usage, 3 error.\n",
     run_verify_measurement},
    {"owner package-secret", "package a LAUNCH_SECRET (header and ciphertext) for the OVMF secret area",
     "usage: memcrypt owner package-secret (--tek FILE --tik FILE | --tk FILE) --measurement B64|HEX\n"
     "         (--secret GUID=VALUE ... | --secret-file FILE) [--api-major N --api-minor N]\n"
     "         [--out-dir DIR] [--seed S] [--json]\n\n"
     "--secret entries form an efi_secret table (header GUID 1e74f542-71dd-4d66-963e-ef4287ff173b;\n"
     "VALUE is taken as its bytes, without a terminator). --secret-file is used as the plaintext\n"
     "as is (zero-padded to 16). Writes secret_header.{bin,b64} (FLAGS||IV||MAC, 0x34 bytes) and\n"
     "secret_payload.{bin,b64} (the AES-128-CTR ciphertext) into DIR and prints the base64 forms.\n"
     "The API version (default 0.17) selects whether MEASURE is part of the MAC (>= 0.17).\n",
     run_package_secret},
    {0},
};
