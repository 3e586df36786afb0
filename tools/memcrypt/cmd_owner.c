/* memcrypt owner — the guest owner's tools for a legacy SEV launch: session blob, measurement
 * check, LAUNCH_SECRET packaging. File formats follow sev-tool / sevctl / libvirt's
 * virt-qemu-sev-validate (tek.bin/tik.bin 16 bytes each; tk.bin = TEK||TIK; base64 for libvirt). */
#include <ctype.h>
#include <errno.h>
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
#include <memcrypt/vmsa.h>

#include "cli.h"
#include <memcrypt/crypto.h>

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
    if (mc_outset_create(&os, e) != MC_OK || mc_outset_dir(os, dir, MC_CLI_KEY_DIR_MODE, e) != MC_OK) {
        mc_outset_destroy(os);
        return NULL;
    }
    return os;
}

static int out_commit(struct mc_outset *os, struct mc_error *e)
{
    int bad = mc_outset_commit(os, e) != MC_OK;
    mc_outset_destroy(os);
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

/* Hex (only hex digits, even length) or base64; *enc says which was read. */
static mc_status decode_hex_or_b64(const char *s, uint8_t *out, size_t cap, size_t *got, const char **enc)
{
    size_t len = strlen(s), n = 0;
    bool hex = len && len % 2 == 0;
    for (size_t i = 0; hex && i < len; i++)
        hex = isxdigit((unsigned char)s[i]) != 0;
    if (hex && len / 2 <= cap && mc_hex_decode(s, out, cap, &n, NULL) == MC_OK) {
        *got = n;
        *enc = "hex";
        return MC_OK;
    }
    if (mc_base64_decode(s, len, out, cap, &n, NULL) == MC_OK) {
        *got = n;
        *enc = "base64";
        return MC_OK;
    }
    return MC_E_FORMAT;
}

/* MEASURE||MNONCE: base64 (libvirt's sev-measurement, sevctl's --launch-measure-blob) or 96 hex
 * digits. 32 bytes are MEASURE alone: accepted only with the MNONCE given separately (nonce). */
static mc_status parse_measurement(const char *s, const char *nonce, uint8_t out[MC_SEV_MEASURE_LEN],
                                   const char **enc, struct mc_error *e)
{
    uint8_t b[64];
    size_t n = 0;
    if (decode_hex_or_b64(s, b, sizeof b, &n, enc) != MC_OK)
        return mc_seterr(e, MC_E_FORMAT, "--measurement is neither hex nor base64");
    if (n == MC_SEV_MEASURE_LEN && !nonce) {
        memcpy(out, b, n);
        return MC_OK;
    }
    if (n == 32 && nonce) {
        uint8_t nb[32];
        size_t nn = 0;
        const char *nenc;
        if (decode_hex_or_b64(nonce, nb, sizeof nb, &nn, &nenc) != MC_OK || nn != 16)
            return mc_seterr(e, MC_E_FORMAT, "--nonce must be the 16-byte MNONCE as hex (32 digits) or base64");
        memcpy(out, b, 32);
        memcpy(out + 32, nb, 16);
        return MC_OK;
    }
    if (n == 32)
        return mc_seterr(e, MC_E_FORMAT,
                         "--measurement holds 32 bytes (read as %s): that is MEASURE without MNONCE; give "
                         "MEASURE||MNONCE (48 bytes: base64 as libvirt's sev-measurement, or 96 hex digits), or the "
                         "MNONCE with --nonce",
                         *enc);
    if (nonce)
        return mc_seterr(e, MC_E_FORMAT, "--nonce goes with a 32-byte --measurement (MEASURE alone); this one has %zu "
                                         "bytes (read as %s)",
                         n, *enc);
    return mc_seterr(e, MC_E_FORMAT,
                     "--measurement holds %zu bytes (read as %s); it must be MEASURE||MNONCE, 48 bytes (base64, or 96 "
                     "hex digits)",
                     n, *enc);
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

/* The platform's chain for --cert-chain: a folder in sev-tool's layout (pek.cert, oca.cert,
 * cek.cert, optionally ask.cert and ark.cert), or PDH_CERT_EXPORT's chain PEK || OCA || CEK
 * (0x186C bytes, raw or base64 as libvirt's node SEV info gives it). */
struct platform_chain {
    struct mc_sev_cert pek, oca, cek;
    struct mc_amd_cert ask, ark;
    bool have_ask, have_ark;
};

static mc_status load_chain_file(const char *dir, const char *name, bool sev, void *out, bool *present,
                                 struct mc_error *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    *present = stat(path, &st) == 0;
    if (!*present)
        return sev ? mc_seterr(e, MC_E_NOTFOUND, "%s is missing", path) : MC_OK;
    uint8_t *b = NULL;
    size_t n = 0;
    mc_status rc = mc_file_read(path, 65536, &b, &n, e);
    struct mc_error e2;
    if (rc == MC_OK) {
        rc = sev ? mc_sev_cert_parse(b, n, out, &e2) : mc_amd_cert_parse(b, n, out, &e2);
        if (rc != MC_OK)
            mc_seterr(e, rc, "%s: %s", path, e2.msg);
    }
    free(b);
    return rc;
}

static mc_status load_platform_chain(const char *path, struct platform_chain *c, struct mc_error *e)
{
    memset(c, 0, sizeof *c);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        bool p;
        mc_status rc = load_chain_file(path, "pek.cert", true, &c->pek, &p, e);
        if (rc == MC_OK)
            rc = load_chain_file(path, "oca.cert", true, &c->oca, &p, e);
        if (rc == MC_OK)
            rc = load_chain_file(path, "cek.cert", true, &c->cek, &p, e);
        if (rc == MC_OK)
            rc = load_chain_file(path, "ask.cert", false, &c->ask, &c->have_ask, e);
        if (rc == MC_OK)
            rc = load_chain_file(path, "ark.cert", false, &c->ark, &c->have_ark, e);
        return rc;
    }
    uint8_t *chain = malloc(MC_SEV_CHAIN_LEN);
    if (!chain)
        return mc_seterr(e, MC_E_NOMEM, "out of memory");
    mc_status rc = read_exact(path, chain, MC_SEV_CHAIN_LEN, true, e);
    struct mc_error e2;
    if (rc == MC_OK && ((rc = mc_sev_cert_parse(chain, MC_SEV_CERT_LEN, &c->pek, &e2)) ||
                        (rc = mc_sev_cert_parse(chain + MC_SEV_CERT_LEN, MC_SEV_CERT_LEN, &c->oca, &e2)) ||
                        (rc = mc_sev_cert_parse(chain + 2 * MC_SEV_CERT_LEN, MC_SEV_CERT_LEN, &c->cek, &e2))))
        mc_seterr(e, rc, "%s (PEK || OCA || CEK): %s", path, e2.msg);
    free(chain);
    return rc;
}

enum { S_PDH = 1, S_POLICY, S_CHAIN, S_ALLOW_EMU };

static const struct mc_opt session_opts[] = {
    {"pdh", 0, "FILE", "the platform's PDH certificate (0x824 bytes, or its base64 as libvirt reports it)", S_PDH,
     MC_OPT_REQUIRED | MC_OPT_FILE},
    {"policy", 0, "N", "the guest policy: decimal, or hex with 0x", S_POLICY, MC_OPT_REQUIRED},
    {"cert-chain", 0, "DIR|FILE",
     "check the PDH first: the platform's chain, a folder in sev-tool's layout (pek.cert,\n"
     "oca.cert, cek.cert, optionally ask.cert/ark.cert) or PDH_CERT_EXPORT's PEK||OCA||CEK\n"
     "(0x186C bytes, raw or base64: libvirt's cert-chain)",
     S_CHAIN, MC_OPT_FILE},
    {"allow-emulated-root", 0, NULL, "with --cert-chain: accept memcrypt's emulated AMD root", S_ALLOW_EMU, 0},
    {0},
};

static int run_session(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    const char *pdh_path = NULL, *chain_path = NULL;
    uint32_t policy = 0;
    int allow_emu = 0, c;
    struct mc_args a;
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0) {
        switch (c) {
        case S_PDH: pdh_path = a.val; break;
        case S_POLICY:
            if (parse_policy(argv[0], a.val, &policy))
                return MC_EXIT_USAGE;
            break;
        case S_CHAIN: chain_path = a.val; break;
        case S_ALLOW_EMU: allow_emu = 1; break;
        }
    }
    if (c < 0)
        return a.rc;
    const int json = a.json;
    const char *dir = a.out_dir, *seed = a.seed;
    struct mc_error e;
    uint8_t pdh[MC_SEV_CERT_LEN], godh[MC_SEV_CERT_LEN], sess[MC_SEV_SESSION_LEN], tk[32];
    if (read_exact(pdh_path, pdh, sizeof pdh, true, &e) != MC_OK)
        return mc_cli_fail(argv[0], &e);
    /* The PDH is only the platform's if its chain ends in AMD's root: check it before any key is
     * wrapped for it (what sevctl's session and the Rust sev crate's Session::start do). */
    char chain_note[300];
    bool verified = false;
    if (chain_path) {
        struct platform_chain pc;
        struct mc_sev_cert pdh_c;
        if (load_platform_chain(chain_path, &pc, &e) != MC_OK)
            return mc_cli_fail(argv[0], &e);
        if (mc_sev_cert_parse(pdh, sizeof pdh, &pdh_c, &e) != MC_OK)
            return mc_cli_fail(argv[0], &e);
        struct mc_sev_chain_result cr;
        mc_sev_chain_verify(&pdh_c, &pc.pek, &pc.oca, &pc.cek, pc.have_ask ? &pc.ask : NULL,
                            pc.have_ark ? &pc.ark : NULL, allow_emu, &cr);
        if (!cr.ok) {
            for (int i = 0; i < cr.n; i++)
                if (!cr.links[i].ok)
                    fprintf(stderr, "memcrypt %s: %s: %s\n", argv[0], cr.links[i].name, cr.links[i].reason);
            fprintf(stderr, "memcrypt %s: the PDH's chain does NOT verify; no session was made\n", argv[0]);
            return MC_EXIT_CHECK;
        }
        verified = true;
        snprintf(chain_note, sizeof chain_note, "verified: PDH <- PEK <- OCA and CEK <- ASK <- ARK (%s)", cr.root_desc);
    } else {
        snprintf(chain_note, sizeof chain_note,
                 "NOT verified: nothing shows this PDH is the platform's. Give --cert-chain with the platform's "
                 "chain (a folder from `sevctl export`/sev-tool with pek.cert oca.cert cek.cert, or libvirt's "
                 "cert-chain from `virsh nodesevinfo`) to check it against AMD's roots");
        fprintf(stderr, "memcrypt %s: warning: the PDH's chain was %s\n", argv[0], chain_note);
    }
    struct mc_sev_tks tks;
    struct mc_rng *rng = NULL;
    if (mc_rng_create((const uint8_t *)seed, seed ? strlen(seed) : 0, &rng, &e) != MC_OK)
        return mc_cli_fail(argv[0], &e);
    mc_status rc = mc_sev_owner_session(rng, pdh, sizeof pdh, policy, godh, sess, &tks, &e);
    mc_rng_destroy(rng);
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
        mc_outset_destroy(os);
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
        mc_json_bool(&j, "pdh_chain_verified", verified);
        mc_json_str(&j, "pdh_chain", chain_note);
        mc_json_str(&j, "dh_cert", b1);
        mc_json_str(&j, "session", b2);
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        printf("policy 0x%x\nPDH chain %s\nwrote %s/{godh.cert,godh.b64,session.bin,session.b64,tek.bin,tik.bin,tk.bin}\n"
               "libvirt: <dhCert> = contents of godh.b64, <session> = contents of session.b64\n"
               "keep tek.bin/tik.bin secret; use a fresh session for every VM\n",
               policy, chain_note, dir);
    }
    return MC_EXIT_OK;
}

/* ------------------------------------------------------------------ verify-measurement -- */

static mc_status read_file_any(const char *path, uint8_t **b, size_t *n, struct mc_error *e)
{
    return mc_file_read(path, MAX_IMAGE_FILE, b, n, e);
}

static int load_vmsa_file(const char *cmd, const char *path, uint8_t **out)
{
    struct mc_error e;
    size_t n = 0;
    if (mc_file_read(path, MC_VMSA_SIZE + 1, out, &n, &e) != MC_OK)
        return mc_cli_fail(cmd, &e);
    if (n != MC_VMSA_SIZE) {
        mc_seterr(&e, MC_E_FORMAT, "%s: a VMSA page is %u bytes, this file has %zu", path, MC_VMSA_SIZE, n);
        return mc_cli_fail(cmd, &e);
    }
    return 0;
}

enum { O_MEAS = 1, O_TIK, O_TK, O_MAJ, O_MIN, O_BUILD, O_POL, O_DIG, O_OVMF, O_KER, O_INI, O_APP, O_NONCE, O_VCPUS,
       O_VTYPE, O_VSIG, O_VFAM, O_VMOD, O_VSTEP, O_VMM, O_VARIANT, O_VMSA0, O_VMSA1 };

static const struct mc_opt vm_opts[] = {
    {"measurement", 0, "B64|HEX",
     "MEASURE||MNONCE (48 bytes): libvirt's sev-measurement (base64) or hex;\n"
     "32 bytes are MEASURE alone and need --nonce",
     O_MEAS, MC_OPT_REQUIRED},
    {"launch-measure-blob", 0, "B64|HEX", NULL, O_MEAS, 0},
    {"nonce", 0, "B64|HEX", "MNONCE (16 bytes) when --measurement is MEASURE alone", O_NONCE, 0},
    {"tik", 0, "FILE", "the TIK (16 bytes)", O_TIK, MC_OPT_FILE},
    {"tk", 0, "FILE", "TEK||TIK (32 bytes, virt-qemu-sev-validate --tk)", O_TK, MC_OPT_FILE},
    {"api-major", 0, "N", "firmware API major version (PLATFORM_STATUS)", O_MAJ, MC_OPT_REQUIRED},
    {"api-minor", 0, "N", "firmware API minor version", O_MIN, MC_OPT_REQUIRED},
    {"build", 0, "N", "firmware build", O_BUILD, MC_OPT_REQUIRED},
    {"build-id", 0, "N", NULL, O_BUILD, 0},
    {"policy", 0, "N", "the guest policy (bit 2 set: an SEV-ES guest)", O_POL, MC_OPT_REQUIRED},
    {"digest", 0, "HEX|B64", "the expected launch digest (SHA-256, hex or base64)", O_DIG, 0},
    {"launch-digest", 0, "HEX|B64", NULL, O_DIG, 0},
    {"ovmf", 0, "FILE", "or the firmware image the digest is computed from", O_OVMF, MC_OPT_FILE},
    {"firmware", 0, "FILE", NULL, O_OVMF, MC_OPT_FILE},
    {"kernel", 0, "FILE", "direct kernel boot: the kernel (kernel-hashes table)", O_KER, MC_OPT_FILE},
    {"initrd", 0, "FILE", "... its initrd", O_INI, MC_OPT_FILE},
    {"append", 0, "STR", "... its command line", O_APP, 0},
    {"cmdline", 0, "STR", NULL, O_APP, 0},
    {"vcpus", 0, "N", "SEV-ES: number of vCPUs, one VMSA each (default 1)", O_VCPUS, 0},
    {"num-cpus", 0, "N", NULL, O_VCPUS, 0},
    {"vcpu-type", 0, "NAME", "SEV-ES: the vCPU model (as `memcrypt measure --vcpu-type`) ...", O_VTYPE, 0},
    {"vcpu-sig", 0, "VALUE", "... or its CPUID(1).EAX signature ...", O_VSIG, 0},
    {"vcpu-family", 0, "F", "... or the signature from family ...", O_VFAM, 0},
    {"vcpu-model", 0, "M", "... model ...", O_VMOD, 0},
    {"vcpu-stepping", 0, "S", "... and stepping", O_VSTEP, 0},
    {"vmm-type", 0, "TYPE", "SEV-ES: QEMU (default), ec2 or gce", O_VMM, 0},
    {"vmsa-variant", 0, "LIST",
     "SEV-ES: host-stack VMSA differences, comma-separated (default qemu):\n"
     "zero-fpu (= sevctl: older KVM), debug-swap, ec2-rdx0 (see `memcrypt measure --help`)",
     O_VARIANT, 0},
    {"vmsa-cpu0", 0, "FILE", "SEV-ES: the measured VMSA page of the BSP (sevctl's form) ...", O_VMSA0, MC_OPT_FILE},
    {"vmsa-cpu1", 0, "FILE", "... and of the APs (needed when --vcpus > 1)", O_VMSA1, MC_OPT_FILE},
    {0},
};

static int run_verify_measurement(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    const char *meas = NULL, *nonce = NULL, *tik = NULL, *tk = NULL, *digest = NULL, *ovmf = NULL, *kernel = NULL,
               *initrd = NULL, *append = NULL, *vcpu_type = NULL, *vmsa_file[2] = {NULL, NULL};
    uint8_t maj = 0, min = 0, build = 0;
    uint32_t policy = 0;
    int c, have_sig = 0, have_fms = 0;
    uint64_t vcpus = 1, vcpu_sig = 0, fms[3] = {0, 0, 0};
    unsigned variant = 0;
    enum mc_vmm_type vmm = MC_VMM_QEMU;
    struct mc_error e;
    struct mc_args a;
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0) {
        const char *val = a.val;
        uint64_t *num = c == O_VCPUS ? &vcpus : c == O_VSIG ? &vcpu_sig : c == O_VFAM ? &fms[0]
                        : c == O_VMOD ? &fms[1] : c == O_VSTEP ? &fms[2] : NULL;
        if (num) {
            if (mc_parse_u64(val, num, &e) != MC_OK)
                return mc_cli_usage_error(argv[0], "%s", e.msg);
            have_sig |= c == O_VSIG;
            have_fms |= c == O_VFAM ? 1 : c == O_VMOD ? 2 : c == O_VSTEP ? 4 : 0;
            continue;
        }
        switch (c) {
        case O_MEAS: meas = val; break;
        case O_NONCE: nonce = val; break;
        case O_TIK: tik = val; break;
        case O_TK: tk = val; break;
        case O_MAJ: if (parse_byte(argv[0], "--api-major", val, &maj)) return MC_EXIT_USAGE; break;
        case O_MIN: if (parse_byte(argv[0], "--api-minor", val, &min)) return MC_EXIT_USAGE; break;
        case O_BUILD: if (parse_byte(argv[0], "--build", val, &build)) return MC_EXIT_USAGE; break;
        case O_POL: if (parse_policy(argv[0], val, &policy)) return MC_EXIT_USAGE; break;
        case O_DIG: digest = val; break;
        case O_OVMF: ovmf = val; break;
        case O_KER: kernel = val; break;
        case O_INI: initrd = val; break;
        case O_APP: append = val; break;
        case O_VTYPE: vcpu_type = val; break;
        case O_VMM:
            if (mc_vmm_type_parse(val, &vmm, &e) != MC_OK)
                return mc_cli_usage_error(argv[0], "--vmm-type: %s", e.msg);
            break;
        case O_VARIANT:
            if (mc_vmsa_variant_parse(val, &variant, &e) != MC_OK)
                return mc_cli_usage_error(argv[0], "--vmsa-variant: %s", e.msg);
            break;
        case O_VMSA0: vmsa_file[0] = val; break;
        case O_VMSA1: vmsa_file[1] = val; break;
        }
    }
    if (c < 0)
        return a.rc;
    const int json = a.json;
    if (!!digest == !!ovmf)
        return mc_cli_usage_error(argv[0], "give exactly one of --digest HEX|B64 or --ovmf FILE");
    if (digest && (kernel || initrd || append))
        return mc_cli_usage_error(argv[0], "--kernel/--initrd/--append go with --ovmf");
    if (!kernel && (initrd || append))
        return mc_cli_usage_error(argv[0], "--initrd/--append need --kernel");
    bool es = (policy & 0x4u) != 0;
    bool vcpu_given = vcpu_type || have_sig || have_fms;
    if (!es && (vcpu_given || vmsa_file[0] || vmsa_file[1] || variant || vcpus != 1))
        return mc_cli_usage_error(argv[0], "the vCPU and VMSA options describe SEV-ES guests (policy bit 2); policy "
                                           "0x%x is plain SEV",
                                  policy);
    if (es && ovmf) {
        if (vcpus < 1 || vcpus > MC_MEASURE_MAX_VCPUS)
            return mc_cli_usage_error(argv[0], "--vcpus must be 1..%d", MC_MEASURE_MAX_VCPUS);
        if (!!vmsa_file[0] != !!(vmsa_file[1] || vcpus == 1))
            return mc_cli_usage_error(argv[0], "--vmsa-cpu0 goes with --vmsa-cpu1 (the APs' page) when --vcpus > 1");
        if (vmsa_file[0] && (vcpu_given || variant))
            return mc_cli_usage_error(argv[0], "--vmsa-cpu0/--vmsa-cpu1 are the measured pages; the vCPU model and "
                                               "--vmsa-variant build them instead");
        if (!vmsa_file[0] && !vcpu_given)
            return mc_cli_usage_error(argv[0], "an SEV-ES digest measures one VMSA per vCPU: give the vCPU model "
                                               "(--vcpu-type, --vcpu-sig or --vcpu-family/--vcpu-model/"
                                               "--vcpu-stepping), or the pages with --vmsa-cpu0/--vmsa-cpu1");
        uint32_t tsig = 0;
        if (vcpu_type && mc_vcpu_type_sig(vcpu_type, &tsig, &e) != MC_OK)
            return mc_cli_usage_error(argv[0], "%s", e.msg);
        if (vcpu_type)
            vcpu_sig = tsig;
        if (have_fms) {
            uint32_t sig;
            if (have_fms != 7 || vcpu_type || have_sig)
                return mc_cli_usage_error(argv[0], "give all of --vcpu-family/--vcpu-model/--vcpu-stepping, and no "
                                                   "--vcpu-type/--vcpu-sig with them");
            if (mc_cpu_sig((unsigned)fms[0], (unsigned)fms[1], (unsigned)fms[2], &sig, &e) != MC_OK)
                return mc_cli_usage_error(argv[0], "%s", e.msg);
            vcpu_sig = sig;
        }
        if (vcpu_sig > UINT32_MAX)
            return mc_cli_usage_error(argv[0], "--vcpu-sig is a 32-bit CPUID(1).EAX value");
    }
    uint8_t m[MC_SEV_MEASURE_LEN], ld[32], expect[32];
    const char *menc = NULL, *denc = NULL;
    struct mc_sev_tks tks;
    memset(&tks, 0, sizeof tks);
    if (parse_measurement(meas, nonce, m, &menc, &e) != MC_OK)
        return mc_cli_usage_error(argv[0], "%s", e.msg);
    if (load_tks(NULL, tik, tk, &tks, false, &e) != MC_OK)
        return mc_cli_fail(argv[0], &e);
    if (digest) {
        size_t n = 0;
        if (decode_hex_or_b64(digest, ld, sizeof ld, &n, &denc) != MC_OK || n != 32) {
            mc_wipe(&tks, sizeof tks);
            return mc_cli_usage_error(argv[0], "--digest must be the 32-byte SHA-256 launch digest as hex (64 digits) "
                                               "or base64");
        }
    } else {
        uint8_t *img = NULL, *kb = NULL, *ib = NULL, *vp[2] = {NULL, NULL};
        size_t il = 0, kl = 0, ibl = 0;
        int rc = 0;
        mc_status st = read_file_any(ovmf, &img, &il, &e);
        if (st == MC_OK && kernel) /* before reading a kernel: can this OVMF take one at all? */
            st = mc_measure_kernel_supported(es ? MC_MEASURE_SEV_ES : MC_MEASURE_SEV, img, il, &e);
        if (st == MC_OK && kernel)
            st = read_file_any(kernel, &kb, &kl, &e);
        if (st == MC_OK && initrd)
            st = read_file_any(initrd, &ib, &ibl, &e);
        for (int i = 0; i < 2 && st == MC_OK && !rc; i++)
            if (vmsa_file[i])
                rc = load_vmsa_file(argv[0], vmsa_file[i], &vp[i]);
        if (st == MC_OK && !rc) {
            struct mc_measure_input in = {.mode = es ? MC_MEASURE_SEV_ES : MC_MEASURE_SEV, .ovmf = img, .ovmf_len = il,
                                          .vcpus = (unsigned)vcpus, .vcpu_sig = (uint32_t)vcpu_sig, .vmm = vmm,
                                          .vmsa_variant = variant, .has_kernel = kernel != NULL, .kernel = kb,
                                          .kernel_len = kl, .initrd = ib, .initrd_len = ibl, .append = append,
                                          .vmsa_pages = {vp[0], vp[1] ? vp[1] : vp[0]}};
            size_t dl = 0;
            uint8_t d[MC_MEASURE_MAX_DIGEST];
            st = mc_measure(&in, d, &dl, &e);
            if (st == MC_OK)
                memcpy(ld, d, 32);
        }
        free(img);
        free(kb);
        free(ib);
        free(vp[0]);
        free(vp[1]);
        if (st != MC_OK || rc) {
            mc_wipe(&tks, sizeof tks);
            return rc ? rc : mc_cli_fail(argv[0], &e);
        }
    }
    mc_status rc = mc_sev_owner_verify_measurement(tks.tik, m, maj, min, build, policy, ld, expect, &e);
    mc_wipe(&tks, sizeof tks);
    if (rc != MC_OK && rc != MC_E_VERIFY)
        return mc_cli_fail(argv[0], &e);
    char vname[48];
    mc_vmsa_variant_name(variant, vname, sizeof vname);
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "measurement_encoding", menc);
        if (denc)
            mc_json_str(&j, "digest_encoding", denc);
        mc_json_str(&j, "guest", es ? "SEV-ES" : "SEV");
        if (es && ovmf) {
            mc_json_u64(&j, "vcpus", vcpus);
            mc_json_str(&j, "vmsa", vmsa_file[0] ? "given pages" : vname);
        }
        mc_json_hexbytes(&j, "launch_digest", ld, 32);
        mc_json_hexbytes(&j, "reported", m, 32);
        mc_json_hexbytes(&j, "mnonce", m + 32, 16);
        mc_json_hexbytes(&j, "expected", expect, 32);
        mc_json_bool(&j, "match", rc == MC_OK);
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        char h[65];
        printf("measurement    read as %s%s\n", menc, nonce ? " (MEASURE) plus --nonce" : " (MEASURE||MNONCE)");
        if (es && ovmf)
            printf("guest          SEV-ES, %u vCPU%s, VMSA %s\n", (unsigned)vcpus, vcpus == 1 ? "" : "s",
                   vmsa_file[0] ? "pages from --vmsa-cpu0/--vmsa-cpu1" : vname);
        mc_hex_encode(ld, 32, h);
        if (denc)
            printf("launch digest  %s (--digest read as %s)\n", h, denc);
        else
            printf("launch digest  %s\n", h);
        mc_hex_encode(m, 32, h);
        printf("reported       %s\n", h);
        mc_hex_encode(expect, 32, h);
        printf("expected       %s\n", h);
        printf("%s\n", rc == MC_OK ? "OK: the measurement matches" : "MISMATCH: the guest is not what you expect");
        if (rc != MC_OK && es && ovmf && !vmsa_file[0])
            printf("hint: SEV-ES measurements depend on the host stack's initial VMSA; try --vmsa-variant "
                   "zero-fpu (older KVM, sevctl) or debug-swap (KVM 6.5-6.9)\n");
    }
    return rc == MC_OK ? MC_EXIT_OK : MC_EXIT_CHECK;
}

/* ------------------------------------------------------------------------ package-secret -- */

#define MAX_SECRETS 64

/* One --secret: GUID=VALUE (the value's bytes) or GUID:PATH (the file's bytes, sevctl's form). */
static int secret_entry(const char *cmd, const char *arg, struct mc_sev_secret_entry *ent, uint8_t **owned)
{
    struct mc_error e;
    char g[40];
    *owned = NULL;
    if (strlen(arg) < 37 || (arg[36] != '=' && arg[36] != ':'))
        return mc_cli_usage_error(cmd, "--secret wants GUID=VALUE or GUID:PATH, got '%.60s'", arg);
    memcpy(g, arg, 36);
    g[36] = 0;
    if (mc_guid_parse(g, ent->guid, &e) != MC_OK)
        return mc_cli_usage_error(cmd, "%s", e.msg);
    if (arg[36] == '=') {
        ent->data = (const uint8_t *)arg + 37;
        ent->len = strlen(arg + 37);
        return 0;
    }
    size_t n = 0;
    if (mc_file_read(arg + 37, MC_SEV_SECRET_MAX, owned, &n, &e) != MC_OK)
        return mc_cli_fail(cmd, &e);
    ent->data = *owned;
    ent->len = n;
    return 0;
}

enum { P_TEK = 1, P_TIK, P_TK, P_MEAS, P_SEC, P_SFILE, P_MAJ, P_MIN, P_PAD, P_IV };

static const struct mc_opt ps_opts[] = {
    {"tek", 0, "FILE", "the TEK (16 bytes)", P_TEK, MC_OPT_FILE},
    {"tik", 0, "FILE", "the TIK (16 bytes)", P_TIK, MC_OPT_FILE},
    {"tk", 0, "FILE", "or TEK||TIK in one 32-byte file", P_TK, MC_OPT_FILE},
    {"measurement", 0, "B64|HEX", "MEASURE||MNONCE (48 bytes) as the platform reported it", P_MEAS, 0},
    {"launch-measure-blob", 0, "B64|HEX", NULL, P_MEAS, 0},
    {"secret", 0, "GUID=VALUE|GUID:PATH",
     "an entry of the secret table: VALUE's bytes (no terminator) or the file's\n"
     "bytes (sevctl's form); repeatable",
     P_SEC, 0},
    {"secret-file", 0, "FILE", "or a ready-made plaintext, used as is (zero-padded to 16)", P_SFILE, MC_OPT_FILE},
    {"padding", 0, "sevctl|libvirt",
     "table padding: sevctl (default) to the next multiple of 16, nothing when\n"
     "aligned; libvirt 16 - len % 16 bytes, a whole block when aligned",
     P_PAD, 0},
    {"iv", 0, "B64|HEX", "the packet's IV (16 bytes) for a byte-exact, reproducible packet", P_IV, 0},
    {"api-major", 0, "N", "firmware API version (default 0.17): from 0.17 on MEASURE is part of the MAC", P_MAJ, 0},
    {"api-minor", 0, "N", NULL, P_MIN, 0},
    {0},
};

static int run_package_secret(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    const char *tek = NULL, *tik = NULL, *tk = NULL, *meas = NULL, *sfile = NULL, *iv_arg = NULL;
    const char *secrets[MAX_SECRETS];
    int ns = 0, c;
    uint8_t maj = 0, min = 17;
    enum mc_sev_secret_pad pad = MC_SEV_SECRET_PAD_SEVCTL;
    struct mc_args a;
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0) {
        const char *val = a.val;
        switch (c) {
        case P_TEK: tek = val; break;
        case P_TIK: tik = val; break;
        case P_TK: tk = val; break;
        case P_MEAS: meas = val; break;
        case P_SEC:
            if (ns == MAX_SECRETS)
                return mc_cli_usage_error(argv[0], "at most %d --secret options", MAX_SECRETS);
            secrets[ns++] = val;
            break;
        case P_SFILE: sfile = val; break;
        case P_IV: iv_arg = val; break;
        case P_PAD:
            if (!strcmp(val, "sevctl"))
                pad = MC_SEV_SECRET_PAD_SEVCTL;
            else if (!strcmp(val, "libvirt"))
                pad = MC_SEV_SECRET_PAD_LIBVIRT;
            else
                return mc_cli_usage_error(argv[0], "--padding takes sevctl or libvirt");
            break;
        case P_MAJ: if (parse_byte(argv[0], "--api-major", val, &maj)) return MC_EXIT_USAGE; break;
        case P_MIN: if (parse_byte(argv[0], "--api-minor", val, &min)) return MC_EXIT_USAGE; break;
        }
    }
    if (c < 0)
        return a.rc;
    const int json = a.json;
    const char *dir = a.out_dir, *seed = a.seed;
    bool api17 = maj > 0 || min >= 17;
    if (!meas && api17)
        return mc_cli_usage_error(argv[0], "--measurement is required (its MEASURE is part of the packet MAC)");
    if (!!ns == !!sfile)
        return mc_cli_usage_error(argv[0], "give --secret GUID=VALUE|GUID:PATH (repeatable) or --secret-file FILE");
    struct mc_error e;
    uint8_t m[MC_SEV_MEASURE_LEN] = {0}, iv[16];
    const char *menc = NULL;
    if (meas && parse_measurement(meas, NULL, m, &menc, &e) != MC_OK)
        return mc_cli_usage_error(argv[0], "%s", e.msg);
    if (iv_arg) {
        size_t n = 0;
        const char *ienc;
        if (decode_hex_or_b64(iv_arg, iv, sizeof iv, &n, &ienc) != MC_OK || n != 16)
            return mc_cli_usage_error(argv[0], "--iv must be 16 bytes as base64 (sevctl's form) or 32 hex digits");
    }
    struct mc_sev_tks tks;
    if (load_tks(tek, tik, tk, &tks, true, &e) != MC_OK)
        return mc_cli_fail(argv[0], &e);
    uint8_t *plain = calloc(1, MC_SEV_SECRET_MAX), *trans = calloc(1, MC_SEV_SECRET_MAX);
    uint8_t *owned[MAX_SECRETS] = {NULL};
    struct mc_sev_secret_entry ent[MAX_SECRETS];
    memset(ent, 0, sizeof ent);
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
        for (int i = 0; i < ns; i++)
            if ((rc = secret_entry(argv[0], secrets[i], &ent[i], &owned[i])))
                goto out;
        if (mc_sev_secret_table_build(ent, (size_t)ns, pad, plain, MC_SEV_SECRET_MAX, &plen, &e) != MC_OK) {
            rc = mc_cli_fail(argv[0], &e);
            goto out;
        }
    }
    if (plen > MC_SEV_SECRET_KVM_MAX) {
        mc_seterr(&e, MC_E_RANGE,
                  "the packet payload is %zu bytes; KVM passes at most %u (SEV_FW_BLOB_MAX_SIZE) to LAUNCH_SECRET%s",
                  plen, MC_SEV_SECRET_KVM_MAX,
                  pad == MC_SEV_SECRET_PAD_LIBVIRT && plen - 16 <= MC_SEV_SECRET_KVM_MAX
                      ? " (--padding sevctl adds no block to an aligned table and fits)"
                      : "");
        rc = mc_cli_fail(argv[0], &e);
        goto out;
    }
    struct mc_rng *rng = NULL;
    uint8_t hdr[MC_SEV_SECRET_HDR_LEN];
    struct mc_sev_secret_hdr h;
    if (mc_rng_create((const uint8_t *)seed, seed ? strlen(seed) : 0, &rng, &e) != MC_OK ||
        (!iv_arg && mc_rng_bytes(rng, iv, sizeof iv, &e) != MC_OK) ||
        mc_sev_secret_seal(&tks, api17, iv, plain, plen, api17 ? m : NULL, &h, trans, &e) != MC_OK) {
        mc_rng_destroy(rng);
        rc = mc_cli_fail(argv[0], &e);
        goto out;
    }
    mc_rng_destroy(rng);
    mc_sev_secret_hdr_encode(&h, hdr);
    struct mc_outset *os = out_begin(dir, &e);
    if (!os || write_file(os, dir, "secret_header.bin", hdr, sizeof hdr, &e) ||
        write_b64(os, dir, "secret_header.b64", hdr, sizeof hdr, &e) ||
        write_file(os, dir, "secret_payload.bin", trans, plen, &e) ||
        write_b64(os, dir, "secret_payload.b64", trans, plen, &e)) {
        mc_outset_destroy(os);
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
            const char *pname = pad == MC_SEV_SECRET_PAD_SEVCTL ? "sevctl" : "libvirt";
            if (json) {
                struct mc_json j;
                mc_json_begin(&j, stdout);
                mc_json_obj(&j, NULL);
                mc_json_u64(&j, "length", plen);
                mc_json_str(&j, "padding", sfile ? "file" : pname);
                mc_json_str(&j, "measurement_encoding", menc);
                mc_json_str(&j, "header", bh);
                mc_json_str(&j, "payload", bp);
                mc_json_str(&j, "out_dir", dir);
                mc_json_end(&j);
                mc_json_finish(&j);
            } else {
                printf("secret packet: %zu bytes (API %u.%u form, %s padding)\nheader  %s\npayload %s\n"
                       "wrote %s/{secret_header,secret_payload}.{bin,b64}\n",
                       plen, maj, min, sfile ? "file" : pname, bh, bp, dir);
            }
        }
        free(bh);
        free(bp);
    }
out:
    for (int i = 0; i < ns; i++)
        if (owned[i]) {
            mc_wipe(owned[i], ent[i].len);
            free(owned[i]);
        }
    mc_wipe(&tks, sizeof tks);
    if (plain)
        mc_wipe(plain, MC_SEV_SECRET_MAX);
    free(plain);
    free(trans);
    return rc;
}

/* ------------------------------------------------------------------------------- sign-pek -- */

enum { K_CSR = 1, K_KEY };

static const struct mc_opt sign_pek_opts[] = {
    {"csr", 0, "FILE", "the platform's PEK CSR (0x824 bytes, or base64; `memcrypt fw pek-csr` writes one)", K_CSR,
     MC_OPT_REQUIRED | MC_OPT_FILE},
    {"oca-key", 0, "PEM", "the owner's unencrypted P-384 private key", K_KEY, MC_OPT_REQUIRED | MC_OPT_FILE},
    {0},
};

static int run_sign_pek(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    const char *csr_path = NULL, *key_path = NULL;
    int c;
    struct mc_args a;
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0) {
        switch (c) {
        case K_CSR: csr_path = a.val; break;
        case K_KEY: key_path = a.val; break;
        }
    }
    if (c < 0)
        return a.rc;
    const int json = a.json;
    const char *dir = a.out_dir;
    struct mc_error e;
    uint8_t csr[MC_SEV_CERT_LEN], pek[MC_SEV_CERT_LEN], oca[MC_SEV_CERT_LEN];
    uint8_t *key = NULL;
    size_t kl = 0;
    if (read_exact(csr_path, csr, sizeof csr, true, &e) != MC_OK || mc_file_read(key_path, 65536, &key, &kl, &e) != MC_OK)
        return mc_cli_fail(argv[0], &e);
    mc_status rc = mc_sev_owner_sign_pek_csr(csr, sizeof csr, key, kl, pek, oca, &e);
    mc_wipe(key, kl);
    free(key);
    if (rc != MC_OK)
        return mc_cli_fail(argv[0], &e);
    struct mc_outset *os = out_begin(dir, &e);
    if (!os || write_file(os, dir, "pek.cert", pek, sizeof pek, &e) ||
        write_file(os, dir, "oca.cert", oca, sizeof oca, &e)) {
        mc_outset_destroy(os);
        return mc_cli_fail(argv[0], &e);
    }
    if (out_commit(os, &e))
        return mc_cli_fail(argv[0], &e);
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "pek", "pek.cert");
        mc_json_str(&j, "oca", "oca.cert");
        mc_json_str(&j, "out_dir", dir);
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        printf("wrote %s/pek.cert (the CSR signed by the OCA, ECDSA-SHA256) and %s/oca.cert (self-signed)\n"
               "import them with PEK_CERT_IMPORT, e.g. memcrypt fw pek-import --platform P --state S %s/pek.cert "
               "%s/oca.cert\n",
               dir, dir, dir, dir);
    }
    return MC_EXIT_OK;
}

/* ---------------------------------------------------------------------------- open-secret -- */

/* A packet part as raw bytes of the right size or base64 text (sevctl writes raw files,
 * libvirt's tools base64). */
static mc_status read_blob_any(const char *path, uint8_t **out, size_t *n, struct mc_error *e)
{
    uint8_t *b = NULL;
    size_t len = 0;
    mc_status rc = mc_file_read(path, 4 * MC_SEV_SECRET_MAX, &b, &len, e);
    if (rc != MC_OK)
        return rc;
    uint8_t *d = malloc(len ? len : 1);
    size_t dn = 0;
    if (d && len % 16 != 0 && len != MC_SEV_SECRET_HDR_LEN &&
        mc_base64_decode((const char *)b, len, d, len, &dn, NULL) == MC_OK) {
        mc_wipe(b, len);
        free(b);
        *out = d;
        *n = dn;
        return MC_OK;
    }
    free(d);
    *out = b;
    *n = len;
    return MC_OK;
}

enum { X_TEK = 1, X_TIK, X_TK, X_MEAS, X_HDR, X_PAY, X_OUT, X_MAJ, X_MIN };

static const struct mc_opt open_opts[] = {
    {"tek", 0, "FILE", "the TEK (16 bytes)", X_TEK, MC_OPT_FILE},
    {"tik", 0, "FILE", "the TIK (16 bytes)", X_TIK, MC_OPT_FILE},
    {"tk", 0, "FILE", "or TEK||TIK in one 32-byte file", X_TK, MC_OPT_FILE},
    {"header", 0, "FILE", "the packet header, FLAGS||IV||MAC (0x34 bytes, raw or base64)", X_HDR,
     MC_OPT_REQUIRED | MC_OPT_FILE},
    {"payload", 0, "FILE", "the encrypted payload (raw or base64)", X_PAY, MC_OPT_REQUIRED | MC_OPT_FILE},
    {"measurement", 0, "B64|HEX", "MEASURE||MNONCE (48 bytes); needed from API 0.17 on", X_MEAS, 0},
    {"api-major", 0, "N", "firmware API version (default 0.17): from 0.17 on MEASURE is part of the MAC", X_MAJ, 0},
    {"api-minor", 0, "N", NULL, X_MIN, 0},
    {"out", 0, "FILE", "write the plaintext", X_OUT, MC_OPT_FILE},
    {0},
};

static int run_open_secret(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    const char *tek = NULL, *tik = NULL, *tk = NULL, *meas = NULL, *hdr_path = NULL, *pay_path = NULL, *out = NULL;
    uint8_t maj = 0, min = 17;
    int c;
    struct mc_args a;
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0) {
        const char *val = a.val;
        switch (c) {
        case X_TEK: tek = val; break;
        case X_TIK: tik = val; break;
        case X_TK: tk = val; break;
        case X_MEAS: meas = val; break;
        case X_HDR: hdr_path = val; break;
        case X_PAY: pay_path = val; break;
        case X_OUT: out = val; break;
        case X_MAJ: if (parse_byte(argv[0], "--api-major", val, &maj)) return MC_EXIT_USAGE; break;
        case X_MIN: if (parse_byte(argv[0], "--api-minor", val, &min)) return MC_EXIT_USAGE; break;
        }
    }
    if (c < 0)
        return a.rc;
    const int json = a.json;
    bool api17 = maj > 0 || min >= 17;
    if (api17 && !meas)
        return mc_cli_usage_error(argv[0], "--measurement is required (API >= 0.17 binds MEASURE into the MAC)");
    struct mc_error e;
    uint8_t m[MC_SEV_MEASURE_LEN] = {0};
    const char *menc = NULL;
    if (meas && parse_measurement(meas, NULL, m, &menc, &e) != MC_OK)
        return mc_cli_usage_error(argv[0], "%s", e.msg);
    struct mc_sev_tks tks;
    if (load_tks(tek, tik, tk, &tks, true, &e) != MC_OK)
        return mc_cli_fail(argv[0], &e);
    uint8_t *hdr = NULL, *pay = NULL, *plain = NULL;
    size_t hl = 0, pl = 0;
    int rc = MC_EXIT_OK;
    if (read_blob_any(hdr_path, &hdr, &hl, &e) != MC_OK || read_blob_any(pay_path, &pay, &pl, &e) != MC_OK) {
        rc = mc_cli_fail(argv[0], &e);
        goto done;
    }
    plain = malloc(pl ? pl : 1);
    if (!plain) {
        mc_seterr(&e, MC_E_NOMEM, "out of memory");
        rc = mc_cli_fail(argv[0], &e);
        goto done;
    }
    enum mc_sev_chan_result why;
    mc_status st = mc_sev_secret_open(&tks, api17, hdr, hl, pay, pl, pl, api17 ? m : NULL, plain, &why, &e);
    if (st != MC_OK) {
        if (json) {
            struct mc_json j;
            mc_json_begin(&j, stdout);
            mc_json_obj(&j, NULL);
            mc_json_bool(&j, "ok", false);
            mc_json_str(&j, "firmware_would_answer", why == MC_SEV_CHAN_BAD_MAC ? "BAD_MEASUREMENT"
                                                      : why == MC_SEV_CHAN_BAD_LENGTH ? "INVALID_LENGTH"
                                                      : why == MC_SEV_CHAN_UNSUPPORTED ? "UNSUPPORTED" : "error");
            mc_json_str(&j, "reason", e.msg);
            mc_json_end(&j);
            mc_json_finish(&j);
        } else {
            printf("NOT opened: %s (the firmware would answer %s)\n", e.msg,
                   why == MC_SEV_CHAN_BAD_MAC ? "BAD_MEASUREMENT" : why == MC_SEV_CHAN_BAD_LENGTH ? "INVALID_LENGTH"
                                                                  : "UNSUPPORTED");
        }
        rc = why == MC_SEV_CHAN_ERROR ? MC_EXIT_ERROR : MC_EXIT_CHECK;
        goto done;
    }
    if (out && mc_file_write_atomic(out, plain, pl, &e) != MC_OK) {
        rc = mc_cli_fail(argv[0], &e);
        goto done;
    }
    /* An efi_secret table (OVMF / Linux): list its entries. */
    static const uint8_t table_guid[16] = {0x42, 0xf5, 0x74, 0x1e, 0xdd, 0x71, 0x66, 0x4d,
                                           0x96, 0x3e, 0xef, 0x42, 0x87, 0xff, 0x17, 0x3b};
    bool table = pl >= 20 && !memcmp(plain, table_guid, 16) && mc_le32(plain + 16) <= pl;
    struct mc_json j;
    if (json) {
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_bool(&j, "ok", true);
        mc_json_u64(&j, "length", pl);
        mc_json_bool(&j, "secret_table", table);
        mc_json_arr(&j, "entries");
    } else {
        printf("OK: the MAC verifies (TIK%s); %zu bytes decrypted with the TEK%s%s\n",
               api17 ? ", bound to MEASURE" : "", pl, out ? " into " : "", out ? out : "");
    }
    if (table) {
        uint32_t total = mc_le32(plain + 16);
        for (uint32_t o = 20; o + 20 <= total;) {
            uint32_t el = mc_le32(plain + o + 16);
            if (el < 20 || el > total - o)
                break;
            const uint8_t *g = plain + o;
            char gs[40];
            snprintf(gs, sizeof gs, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", g[3],
                     g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
            uint8_t dig[32];
            char dh[65];
            mc_sha256(plain + o + 20, el - 20, dig, NULL);
            mc_hex_encode(dig, 32, dh);
            if (json) {
                mc_json_obj(&j, NULL);
                mc_json_str(&j, "guid", gs);
                mc_json_u64(&j, "length", el - 20);
                mc_json_str(&j, "sha256", dh);
                mc_json_end(&j);
            } else {
                printf("  entry %s  %u bytes  sha256 %s\n", gs, el - 20, dh);
            }
            o += el;
        }
    }
    if (json) {
        mc_json_end(&j);
        mc_json_end(&j);
        mc_json_finish(&j);
    }
done:
    mc_wipe(&tks, sizeof tks);
    if (plain)
        mc_wipe(plain, pl);
    free(plain);
    free(hdr);
    free(pay);
    return rc;
}

const struct mc_cli_cmd mc_cli_owner[] = {
    {.path = "owner session",
     .summary = "create the guest owner's GODH certificate and LAUNCH_START session blob",
     .synopsis = "--pdh FILE --policy N [--cert-chain DIR|FILE [--allow-emulated-root]] [--out-dir DIR] [--seed S]\n"
                 "... [--json]",
     .about = "Creates a fresh P-384 owner key, TEK and TIK from the platform's PDH and writes into DIR:\n"
              "  godh.cert / godh.b64       the GODH certificate (libvirt <dhCert> = godh.b64)\n"
              "  session.bin / session.b64  the 0x80-byte session blob (libvirt <session> = session.b64)\n"
              "  tek.bin, tik.bin           16 bytes each (virt-qemu-sev-validate --tek/--tik)\n"
              "  tk.bin                     TEK||TIK, 32 bytes (virt-qemu-sev-validate --tk)\n"
              "With --cert-chain the PDH's chain is verified to AMD's root first (as sevctl and the Rust\n"
              "sev crate do); a chain that does not verify stops the command (exit 1) before any key is\n"
              "wrapped. Without it the output says plainly that the PDH was NOT verified.\n",
     .opts = session_opts,
     .common = MC_CO_OUT_DIR | MC_CO_SEED | MC_CO_JSON,
     .out_dir_default = ".",
     .notes = "Exit status: 0 written, 1 the PDH's chain does not verify, 2 usage, 3 error.\n",
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt owner session --pdh tests/data/amd/sev-platform/rome/pdh.cert --policy 0x1 "
                 "--cert-chain tests/data/amd/sev-platform/rome --out-dir $d\n",
     .run = run_session},
    {.path = "owner verify-measurement",
     .summary = "check a launch measurement against the expected launch digest",
     .synopsis = "--measurement B64|HEX [--nonce B64|HEX] (--tik FILE | --tk FILE) --api-major N --api-minor N\n"
                 "... --build N --policy N (--digest HEX|B64 | --ovmf FILE [--kernel FILE [--initrd FILE]\n"
                 "... [--append STR]] [SEV-ES: --vcpus N (--vcpu-type T | --vcpu-sig N | --vcpu-family F\n"
                 "... --vcpu-model M --vcpu-stepping S) [--vmm-type T] [--vmsa-variant LIST]\n"
                 "... | --vmsa-cpu0 FILE [--vmsa-cpu1 FILE]]) [--json]",
     .about = "The expected launch digest is --digest, or computed from --ovmf (and --kernel/--initrd/--append\n"
              "for direct kernel boot): SEV, or SEV-ES when the policy has bit 2 -- then one VMSA per vCPU is\n"
              "measured, built from the vCPU model and --vmsa-variant, or taken from sevctl-style page files\n"
              "(--vmsa-cpu0/--vmsa-cpu1). MEASURE is recomputed with the TIK (API >= 0.17 form when the\n"
              "API is >= 0.17) and compared in constant time. The forms read (hex or base64) are said.\n",
     .opts = vm_opts,
     .common = MC_CO_JSON,
     .notes = "Exit status: 0 match, 1 mismatch, 2 usage, 3 error.\n",
     .examples = "d=$(mktemp -d)\n"
                 "printf 0123456789abcdef0123456789abcdef > $d/tk.bin\n"
                 "memcrypt run examples/sev-guest.xml --platform-only --tk $d/tk.bin --out-dir $d\n"
                 "memcrypt owner verify-measurement --measurement $(cat $d/measurement) --tk $d/tk.bin "
                 "--api-major $(cat $d/api-major) --api-minor $(cat $d/api-minor) --build $(cat $d/build-id) "
                 "--policy $(cat $d/policy) --ovmf /usr/share/ovmf/OVMF.fd\n",
     .run = run_verify_measurement},
    {.path = "owner sign-pek",
     .summary = "sign a platform's PEK CSR with an OCA key (for PEK_CERT_IMPORT)",
     .synopsis = "--csr FILE --oca-key PEM [--out-dir DIR] [--json]",
     .about = "The step between PEK_CSR and PEK_CERT_IMPORT that sev-tool calls sign_pek_csr: the CSR and\n"
              "the owner's P-384 key (openssl ecparam -name secp384r1 -genkey -noout) give DIR/pek.cert (the\n"
              "PEK signed by the OCA, ECDSA-SHA256, slot 1) and DIR/oca.cert (the OCA, self-signed, the\n"
              "CSR's API version).\n",
     .opts = sign_pek_opts,
     .common = MC_CO_OUT_DIR | MC_CO_JSON,
     .out_dir_default = ".",
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt fw pek-csr --platform milan --state $d/fw.state $d/pek.csr\n"
                 "openssl ecparam -name secp384r1 -genkey -noout -out $d/oca.pem\n"
                 "memcrypt owner sign-pek --csr $d/pek.csr --oca-key $d/oca.pem --out-dir $d/owned\n"
                 "memcrypt fw pek-import --platform milan --state $d/fw.state $d/owned/pek.cert $d/owned/oca.cert\n",
     .run = run_sign_pek},
    {.path = "owner open-secret",
     .summary = "check and decrypt a LAUNCH_SECRET packet with the transport keys",
     .synopsis = "(--tek FILE --tik FILE | --tk FILE) --header FILE --payload FILE --measurement B64|HEX\n"
                 "... [--api-major N --api-minor N] [--out FILE] [--json]",
     .about = "What the firmware does with a LAUNCH_SECRET packet, on the owner's side: checks the header's\n"
              "MAC with the TIK (bound to MEASURE for API >= 0.17, the default 0.17) and decrypts the payload\n"
              "with the TEK (AES-128-CTR). Header (0x34 bytes) and payload may be raw (sevctl) or base64\n"
              "(libvirt). Lists the entries of an efi_secret table (GUID, length, SHA-256 of the value;\n"
              "values are not printed); --out writes the plaintext.\n",
     .opts = open_opts,
     .common = MC_CO_JSON,
     .notes = "Exit status: 0 opened, 1 the MAC or lengths are wrong (named as the firmware's status), 2\n"
              "usage, 3 error.\n",
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt owner session --pdh tests/data/amd/sev-platform/rome/pdh.cert --policy 0x1 --out-dir $d\n"
                 "memcrypt owner package-secret --tk $d/tk.bin --measurement $(printf '%096d' 0) "
                 "--secret 736869e5-84f0-4973-92ec-06879ce3da0b=hunter2 --out-dir $d\n"
                 "memcrypt owner open-secret --tk $d/tk.bin --header $d/secret_header.bin "
                 "--payload $d/secret_payload.bin --measurement $(printf '%096d' 0)\n",
     .run = run_open_secret},
    {.path = "owner package-secret",
     .summary = "package a LAUNCH_SECRET (header and ciphertext) for the OVMF secret area",
     .synopsis = "(--tek FILE --tik FILE | --tk FILE) --measurement B64|HEX\n"
                 "... (--secret GUID=VALUE|GUID:PATH ... | --secret-file FILE) [--padding sevctl|libvirt]\n"
                 "... [--iv B64|HEX] [--api-major N --api-minor N] [--out-dir DIR] [--seed S] [--json]",
     .about = "--secret entries form an efi_secret table (header GUID 1e74f542-71dd-4d66-963e-ef4287ff173b).\n"
              "Writes secret_header.{bin,b64} (FLAGS||IV||MAC, 0x34 bytes) and secret_payload.{bin,b64} (the\n"
              "AES-128-CTR ciphertext) into DIR and prints the base64 forms. The payload must fit KVM's\n"
              "16 KiB limit (SEV_FW_BLOB_MAX_SIZE). The API version (default 0.17) selects whether MEASURE\n"
              "is part of the MAC (>= 0.17).\n",
     .opts = ps_opts,
     .common = MC_CO_OUT_DIR | MC_CO_SEED | MC_CO_JSON,
     .out_dir_default = ".",
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt owner session --pdh tests/data/amd/sev-platform/rome/pdh.cert --policy 0x1 --out-dir $d\n"
                 "memcrypt owner package-secret --tk $d/tk.bin --measurement "
                 "$(printf '%096d' 0) --secret 736869e5-84f0-4973-92ec-06879ce3da0b=hunter2 --out-dir $d\n",
     .run = run_package_secret},
    {0},
};
