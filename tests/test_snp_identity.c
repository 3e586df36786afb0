/* The emulated chip's SNP identity: the hash-stick VCEK derivation (re-derived here step by step
 * from its description), VCEK per TCB, VLEK wrap/unload with every failure status, emulated roots
 * and certificates (parsed back with the verifier's own extension parser and chained through the
 * verifier), the refusal against AMD's roots, and the state blob with hostile edits. */
#include <sys/stat.h>
#include <unistd.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/snp_identity.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/snp_verify.h>

#include "check.h"
#include "snp_testlib.h"
#include "crypto/crypto.h"
#include "crypto/kdf.h"
#include "crypto/pk.h"
#include "crypto/x509.h"
#include "snp/identity.h"
#include "snp/vcek.h"

static const uint8_t SECRET_A[32] = "memcrypt test chip secret A.....";
static const uint8_t SECRET_B[32] = "memcrypt test chip secret B.....";
static struct mc_snp_identity *milan, *turin; /* share their roots with the other identities */

static char tmpdir[256];

/* Roots: shared with `roots`; else Milan's are the generation's fixed emulated roots (AMD's size,
 * RSA-4096, as every chip without a root seed has), the others the chip's own RSA-2048 roots
 * generated from a root seed (seeded, any generation: RSA-2048, to keep the test fast). */
static struct mc_snp_identity *make_roots(enum mc_snp_gen g, const uint8_t *secret, const struct mc_snp_identity *roots,
                                          bool seeded)
{
    struct mc_snp_identity_params p = {.gen = g, .chip_secret = secret, .roots_from = roots,
                                       .root_bits = seeded ? 2048 : 4096};
    static const uint8_t seed[] = "memcrypt identity test root seed";
    if (!roots && seeded) {
        p.root_seed = seed;
        p.root_seed_len = sizeof seed - 1;
    }
    struct mc_snp_identity *id = NULL;
    struct mc_error e;
    mc_status st = mc_snp_identity_create(&p, &id, &e);
    CHECK_MSG(st == MC_OK, "%s", e.msg);
    return id;
}

static struct mc_snp_identity *make(enum mc_snp_gen g, const uint8_t *secret, const struct mc_snp_identity *roots)
{
    return make_roots(g, secret, roots, g != MC_SNP_GEN_MILAN);
}

/* The hash-stick chain written out from its description (ASPFW sev_plat.c), independently of
 * src/snp/identity.c: per TCB byte, hash 255 - version times, next base = SHA-384(8 zero bytes ||
 * d), stick = SHA-384(d). */
static void ref_vcek_seed(const uint8_t secret[32], uint64_t tcb, uint8_t out[48])
{
    uint8_t base[48], d[48], buf[56];
    CHECK(mc_kdf_sev(secret, 32, "memcrypt-snp-vcek-root", NULL, 0, base, 48, NULL) == MC_OK);
    for (int i = 0; i < 8; i++) {
        unsigned v = (unsigned)(tcb >> (8 * i)) & 0xff;
        memcpy(d, base, 48);
        for (unsigned k = 0; k < 255 - v; k++)
            mc_sha384(d, 48, d, NULL);
        memset(buf, 0, 8);
        memcpy(buf + 8, d, 48);
        mc_sha384(buf, 56, base, NULL);
        mc_sha384(d, 48, out, NULL);
    }
}

static void test_vcek_derivation(void)
{
    uint64_t tcbs[] = {mc_snp_tcb_encode(MC_SNP_GEN_MILAN, 0, 3, 0, 8, 115), 0, 0xffffffffffffffffull,
                       mc_snp_tcb_encode(MC_SNP_GEN_MILAN, 0, 4, 0, 24, 219)};
    struct mc_snp_identity *b = make(MC_SNP_GEN_MILAN, SECRET_B, milan);
    uint8_t seen[16][48];
    int n = 0;
    for (size_t i = 0; i < sizeof tcbs / sizeof tcbs[0]; i++) {
        uint8_t s[48], r[48], s2[48];
        CHECK(mc_snp_identity_vcek_seed(milan, tcbs[i], s, NULL) == MC_OK);
        ref_vcek_seed(SECRET_A, tcbs[i], r);
        CHECK_MEM(s, r, 48);
        /* the key: P-384 from 56 bytes of KDF(seed, "sev-versioned-chip-endorsement-key") */
        uint8_t c[56], x[72], y[72], rx[72], ry[72];
        struct mc_pk *k = NULL;
        CHECK(mc_kdf_sev(r, 48, "sev-versioned-chip-endorsement-key", NULL, 0, c, 56, NULL) == MC_OK);
        CHECK(mc_p384_from_bits(c, 56, &k, NULL) == MC_OK && mc_p384_get_public_le72(k, rx, ry, NULL) == MC_OK);
        mc_pk_free(k);
        CHECK(mc_snp_identity_vcek_public(milan, tcbs[i], x, y, NULL) == MC_OK);
        CHECK_MEM(x, rx, 72);
        CHECK_MEM(y, ry, 72);
        /* another chip, same TCB: another seed */
        CHECK(mc_snp_identity_vcek_seed(b, tcbs[i], s2, NULL) == MC_OK);
        CHECK(memcmp(s, s2, 48) != 0);
        memcpy(seen[n++], s, 48);
    }
    /* every TCB byte matters: one step down in each byte gives a different VCEK */
    uint64_t base = tcbs[0] | 0x0101010101010101ull;
    uint8_t s0[48];
    CHECK(mc_snp_identity_vcek_seed(milan, base, s0, NULL) == MC_OK);
    memcpy(seen[n++], s0, 48);
    for (int byte = 0; byte < 8; byte++) {
        uint8_t s[48];
        CHECK(mc_snp_identity_vcek_seed(milan, base - (1ull << (8 * byte)), s, NULL) == MC_OK);
        memcpy(seen[n++], s, 48);
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            CHECK_MSG(memcmp(seen[i], seen[j], 48) != 0, "seeds %d and %d collide", i, j);
    /* the cache returns the same answers as a fresh derivation after eviction */
    uint8_t again[48];
    CHECK(mc_snp_identity_vcek_seed(milan, tcbs[0], again, NULL) == MC_OK);
    CHECK_MEM(again, seen[0], 48);
    mc_snp_identity_destroy(b);
}

static void test_params(void)
{
    struct mc_snp_identity *id = NULL;
    struct mc_snp_identity_params p = {.gen = MC_SNP_GEN_UNKNOWN, .chip_secret = SECRET_A, .roots_from = milan};
    CHECK(mc_snp_identity_create(&p, &id, NULL) == MC_E_INVAL && !id);
    p.gen = MC_SNP_GEN_TURIN; /* roots of another generation */
    CHECK(mc_snp_identity_create(&p, &id, NULL) == MC_E_INVAL && !id);
    p.gen = MC_SNP_GEN_MILAN;
    p.chip_secret = NULL;
    CHECK(mc_snp_identity_create(&p, &id, NULL) == MC_E_INVAL && !id);
    p.chip_secret = SECRET_A;
    p.stepping = 10;
    CHECK(mc_snp_identity_create(&p, &id, NULL) == MC_E_INVAL && !id);
    uint8_t cid[64];
    memset(cid, 0x5a, sizeof cid);
    struct mc_snp_identity_params t = {.gen = MC_SNP_GEN_TURIN, .chip_secret = SECRET_A, .chip_id = cid,
                                       .roots_from = turin};
    CHECK(mc_snp_identity_create(&t, &id, NULL) == MC_E_INVAL && !id); /* Turin: 8 bytes only */
    memset(cid + 8, 0, 56);
    CHECK(mc_snp_identity_create(&t, &id, NULL) == MC_OK);
    uint8_t got[64];
    mc_snp_identity_chip_id(id, got);
    CHECK_MEM(got, cid, 64);
    mc_snp_identity_destroy(id);
    /* derived CHIP_ID: 64 bytes on Milan, 8 + zeros on Turin */
    mc_snp_identity_chip_id(milan, got);
    CHECK(got[63] | got[62] | got[61]);
    mc_snp_identity_chip_id(turin, got);
    uint8_t z[56] = {0};
    CHECK_MEM(got + 8, z, 56);
    CHECK(got[0] | got[1] | got[2] | got[3]);
    CHECK_EQ_U64(mc_snp_identity_gen(turin), MC_SNP_GEN_TURIN);
}

/* ---- VLEK ---- */

static void test_vlek(void)
{
    const uint64_t tcb = mc_snp_tcb_encode(MC_SNP_GEN_MILAN, 0, 4, 0, 24, 219);
    static const uint8_t vseed[48] = "a cloud provider's VLEK root seed, 48 bytes....";
    static const uint8_t iv[12] = "fixed iv 12b";
    struct mc_snp_identity *b = make(MC_SNP_GEN_MILAN, SECRET_B, milan);
    uint8_t w[MC_SNP_VLEK_WRAPPED_LEN], wb[MC_SNP_VLEK_WRAPPED_LEN];
    struct mc_error e;
    mc_fw_status fw = MC_FW_SUCCESS;
    CHECK(mc_snp_vlek_wrap(milan, vseed, tcb, iv, w, &e) == MC_OK);
    CHECK(mc_snp_vlek_wrap(b, vseed, tcb, iv, wb, &e) == MC_OK);
    /* layout: IV at 0, TCB at 0x190, reserved qword zero */
    CHECK_MEM(w, iv, 12);
    CHECK_EQ_U64(mc_le64(w + 0x190), tcb);
    CHECK_EQ_U64(mc_le64(w + 0x198), 0);
    CHECK(!mc_snp_identity_vlek_loaded(milan));
    uint8_t s[48];
    CHECK(mc_snp_identity_vlek_seed(milan, s, NULL) == MC_E_STATE);
    /* wrong length, wrong TCB, another chip's wrapping */
    CHECK(mc_snp_identity_vlek_load(milan, w, sizeof w - 1, tcb, &fw, NULL) == MC_OK && fw == MC_FW_INVALID_PARAM);
    CHECK(mc_snp_identity_vlek_load(milan, w, sizeof w, tcb + 1, &fw, NULL) == MC_OK && fw == MC_FW_BAD_SVN);
    CHECK(mc_snp_identity_vlek_load(milan, wb, sizeof wb, tcb, &fw, &e) == MC_OK && fw == MC_FW_BAD_MEASUREMENT);
    CHECK(strstr(e.msg, "does not authenticate") != NULL);
    CHECK(!mc_snp_identity_vlek_loaded(milan));
    /* every authenticated byte: IV, wrapped seed, TCB (BAD_SVN first), reserved, tag */
    int bad = 0;
    for (size_t i = 0; i < sizeof w; i++) {
        uint8_t t[sizeof w];
        memcpy(t, w, sizeof w);
        t[i] ^= 0x01;
        mc_fw_status want = (i >= 0x190 && i < 0x198) ? MC_FW_BAD_SVN : MC_FW_BAD_MEASUREMENT;
        if (i >= 0x0C && i < 0x10)
            want = MC_FW_SUCCESS; /* not authenticated, not checked (as the firmware) */
        if (mc_snp_identity_vlek_load(milan, t, sizeof t, tcb, &fw, NULL) != MC_OK || fw != want)
            bad++;
        if (fw == MC_FW_SUCCESS)
            mc_snp_identity_vlek_clear(milan);
    }
    CHECK_EQ_U64(bad, 0);
    /* load, then a failed load keeps it */
    CHECK(mc_snp_identity_vlek_load(milan, w, sizeof w, tcb, &fw, &e) == MC_OK && fw == MC_FW_SUCCESS);
    CHECK(mc_snp_identity_vlek_loaded(milan) && mc_snp_identity_vlek_tcb(milan) == tcb);
    uint8_t s1[48], s2[48];
    CHECK(mc_snp_identity_vlek_seed(milan, s1, NULL) == MC_OK);
    CHECK(mc_snp_identity_vlek_load(milan, wb, sizeof wb, tcb, &fw, NULL) == MC_OK && fw == MC_FW_BAD_MEASUREMENT);
    CHECK(mc_snp_identity_vlek_seed(milan, s2, NULL) == MC_OK);
    CHECK_MEM(s1, s2, 48);
    /* both chips, loaded with their own wrapping, hold the same VLEK (one per provider) */
    CHECK(mc_snp_identity_vlek_load(b, wb, sizeof wb, tcb, &fw, NULL) == MC_OK && fw == MC_FW_SUCCESS);
    CHECK(mc_snp_identity_vlek_seed(b, s2, NULL) == MC_OK);
    CHECK_MEM(s1, s2, 48);
    uint8_t x1[72], y1[72], x2[72], y2[72];
    CHECK(mc_p384_get_public_le72(mc_snp_identity_vlek_key(milan), x1, y1, NULL) == MC_OK);
    CHECK(mc_p384_get_public_le72(mc_snp_identity_vlek_key(b), x2, y2, NULL) == MC_OK);
    CHECK_MEM(x1, x2, 72);
    /* the seed is stick 7 of the provider seed's hash sticks at the TCB; the key comes from it */
    uint8_t sticks[8][48];
    CHECK(mc_snp_hash_sticks(vseed, tcb, sticks, NULL) == MC_OK);
    CHECK_MEM(s1, sticks[7], 48);
    /* a random IV when none is given */
    uint8_t w2[MC_SNP_VLEK_WRAPPED_LEN];
    CHECK(mc_snp_vlek_wrap(milan, vseed, tcb, NULL, w2, NULL) == MC_OK && memcmp(w2, w, 12) != 0);
    CHECK(mc_snp_identity_vlek_load(b, w2, sizeof w2, tcb, &fw, NULL) == MC_OK && fw == MC_FW_BAD_MEASUREMENT);
    mc_snp_identity_vlek_clear(b);
    CHECK(!mc_snp_identity_vlek_loaded(b) && !mc_snp_identity_vlek_key(b) && mc_snp_identity_vlek_tcb(b) == 0);
    mc_snp_identity_destroy(b);
    /* the command buffer */
    uint8_t cmd[16] = {0x10, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x30, 0x12, 0, 0, 0, 0, 0};
    uint64_t pa = 0;
    mc_snp_vlek_load_cmd(cmd, &pa, &fw);
    CHECK(fw == MC_FW_SUCCESS && pa == 0x123000);
    for (int i = 0; i < 8; i++) {
        uint8_t c[16];
        memcpy(c, cmd, 16);
        c[i] ^= 0x40;
        mc_snp_vlek_load_cmd(c, &pa, &fw);
        CHECK_MSG(fw == MC_FW_INVALID_PARAM, "byte %d", i);
    }
}

/* ---- certificates ---- */

static X509 *der_x509(const uint8_t *d, size_t n)
{
    X509 *x = NULL;
    CHECK(mc_x509_load(d, n, "test", &x, NULL) == MC_OK);
    return x;
}

static void check_leaf(struct mc_snp_identity *id, uint64_t tcb, const char *product)
{
    uint8_t *d = NULL;
    size_t n = 0;
    struct mc_error e;
    CHECK_MSG(mc_snp_identity_vcek_cert(id, tcb, &d, &n, &e) == MC_OK, "%s", e.msg);
    X509 *x = der_x509(d, n);
    struct mc_snp_vcek_info info;
    CHECK_MSG(x && mc_snp_vcek_parse(x, &info, &e) == MC_OK, "%s", e.msg);
    CHECK_MSG(!strcmp(info.product, product), "%s", info.product);
    enum mc_snp_gen g = mc_snp_identity_gen(id);
    CHECK(info.gen == g && info.has_struct_version && info.struct_version == (g == MC_SNP_GEN_TURIN));
    uint8_t cid[64];
    mc_snp_identity_chip_id(id, cid);
    CHECK(info.hwid_len == (g == MC_SNP_GEN_TURIN ? 8u : 64u));
    CHECK_MEM(info.hwid, cid, info.hwid_len);
    for (int a = 1; a < MC_SNP_SPL_ARCS; a++) {
        int byte = mc_snp_spl_byte(g, a);
        if (byte >= 0) {
            CHECK_MSG(info.has_spl[a] && info.spl[a] == ((tcb >> (8 * byte)) & 0xff), "arc %d", a);
        }
    }
    CHECK(info.has_spl[9] == (g == MC_SNP_GEN_TURIN) && info.has_spl[4] == (g != MC_SNP_GEN_TURIN));
    char subj[512];
    mc_x509_subject_str(x, subj, sizeof subj);
    CHECK_MSG(strstr(subj, "OU=memcrypt EMULATED chip (not AMD)") && strstr(subj, "CN=SEV-VCEK") &&
                  !strstr(subj, "O=Advanced Micro Devices"),
              "%s", subj);
    /* the VCEK certificate's key is the VCEK at that TCB */
    uint8_t x1[72], y1[72];
    CHECK(mc_snp_identity_vcek_public(id, tcb, x1, y1, NULL) == MC_OK);
    X509_free(x);
    free(d);
}

static void test_certs(void)
{
    check_leaf(milan, mc_snp_tcb_encode(MC_SNP_GEN_MILAN, 0, 3, 0, 8, 115), "Milan-B0");
    check_leaf(turin, mc_snp_tcb_encode(MC_SNP_GEN_TURIN, 2, 1, 0, 2, 71), "Turin");
    struct mc_snp_identity_params p = {.gen = MC_SNP_GEN_MILAN, .stepping = 1, .chip_secret = SECRET_B,
                                       .roots_from = milan};
    struct mc_snp_identity *b1 = NULL;
    CHECK(mc_snp_identity_create(&p, &b1, NULL) == MC_OK);
    check_leaf(b1, 0, "Milan-B1");
    mc_snp_identity_destroy(b1);
    /* roots: names, serials like AMD's, marked */
    static const char *const cn[3] = {"ARK-Milan", "SEV-Milan", "SEV-VLEK-Milan"};
    static const uint64_t serial[3] = {0x10000, 0x10001, 0x10101};
    for (int i = 0; i < 3; i++) {
        uint8_t *d = NULL;
        size_t n = 0;
        CHECK(mc_snp_identity_root_cert(milan, (enum mc_snp_root)i, &d, &n, NULL) == MC_OK);
        X509 *x = der_x509(d, n);
        char c[64];
        mc_x509_subject_cn(x, c, sizeof c);
        CHECK_MSG(!strcmp(c, cn[i]), "%s", c);
        uint64_t sn = 0;
        CHECK(ASN1_INTEGER_get_uint64(&sn, X509_get0_serialNumber(x)) == 1 && sn == serial[i]);
        CHECK(EVP_PKEY_get_bits(X509_get0_pubkey(x)) == 4096);
        X509_free(x);
        free(d);
    }
    /* a VLEK certificate only when one is loaded */
    uint8_t *d = NULL;
    size_t n = 0;
    struct mc_snp_identity *c = make(MC_SNP_GEN_MILAN, SECRET_B, milan);
    CHECK(mc_snp_identity_vlek_cert(c, NULL, &d, &n, NULL) == MC_E_STATE && !d);
    static const uint8_t vseed[48] = "another VLEK root seed .........................";
    uint64_t tcb = mc_snp_tcb_encode(MC_SNP_GEN_MILAN, 0, 3, 0, 8, 115);
    uint8_t w[MC_SNP_VLEK_WRAPPED_LEN];
    mc_fw_status fw;
    CHECK(mc_snp_vlek_wrap(c, vseed, tcb, NULL, w, NULL) == MC_OK);
    CHECK(mc_snp_identity_vlek_load(c, w, sizeof w, tcb, &fw, NULL) == MC_OK && fw == MC_FW_SUCCESS);
    CHECK(mc_snp_identity_vlek_cert(c, "CN=example.org", &d, &n, NULL) == MC_OK);
    X509 *x = der_x509(d, n);
    struct mc_snp_vcek_info info;
    struct mc_error e;
    CHECK_MSG(x && mc_snp_vcek_parse(x, &info, &e) == MC_OK, "%s", e.msg);
    CHECK(!strcmp(info.product, "Milan") && info.hwid_len == 0 && info.has_csp_id &&
          !strcmp(info.csp_id, "CN=example.org") && info.spl[3] == 8 && info.spl[8] == 115);
    char cnb[64];
    mc_x509_subject_cn(x, cnb, sizeof cnb);
    CHECK(!strcmp(cnb, "SEV-VLEK"));
    X509_free(x);
    free(d);
    mc_snp_identity_destroy(c);
}

/* ---- the verifier: the emulated root through --roots, refused against AMD's ---- */

static void sign_report(struct mc_snp_identity *id, uint64_t tcb, bool vlek, uint8_t out[MC_SNP_REPORT_SIZE])
{
    struct mc_snp_report r;
    memset(&r, 0, sizeof r);
    enum mc_snp_gen g = mc_snp_identity_gen(id);
    r.version = 5;
    r.policy = 0x30000;
    r.signature_algo = 1;
    r.key_info = (vlek ? 1u : 0u) << 2;
    r.current_tcb = r.reported_tcb = r.committed_tcb = r.launch_tcb = tcb;
    r.cpuid_fam_id = g == MC_SNP_GEN_TURIN ? 0x1A : 0x19;
    r.cpuid_mod_id = g == MC_SNP_GEN_TURIN ? 0x02 : 0x01;
    r.cpuid_step = 1;
    if (!vlek)
        mc_snp_identity_chip_id(id, r.chip_id);
    memset(r.report_id_ma, 0xff, 32);
    mc_snp_report_encode(&r, out);
    const struct mc_pk *k = NULL;
    if (vlek)
        k = mc_snp_identity_vlek_key(id);
    else
        CHECK(mc_snp_identity_vcek_key(id, tcb, &k, NULL) == MC_OK);
    CHECK(k && mc_ecdsa_sign_le72(k, "SHA384", out, MC_SNP_REPORT_SIGNED_LEN, out + 0x2A0, out + 0x2E8, NULL) == MC_OK);
}

static void verify_dir(struct mc_snp_identity *id, uint64_t tcb, const char *sub)
{
    char dir[512], p[600];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, sub);
    struct mc_error e;
    CHECK_MSG(mc_snp_identity_export(id, dir, tcb, &e) == MC_OK, "%s", e.msg);
    /* a peer tool accepts the chain: openssl verify -CAfile ark -untrusted ask vcek */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "openssl verify -CAfile '%s/ark.pem' -untrusted '%s/ask.pem' '%s/vcek.pem' >/dev/null 2>&1",
             dir, dir, dir);
    CHECK_MSG(system(cmd) == 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "openssl verify -CAfile '%s/ark.pem' '%s/vcek.pem' >/dev/null 2>&1", dir, dir);
    CHECK_MSG(system(cmd) != 0, "the VCEK must not verify without the ASK: %s", cmd);
    uint8_t rep[MC_SNP_REPORT_SIZE];
    sign_report(id, tcb, false, rep);
    CHECK_MSG(snp_verify_exported(id, rep, dir, &e) == MC_OK, "%s: %s", sub, e.msg);
    struct mc_snp_report r;
    CHECK(mc_snp_report_decode(rep, sizeof rep, &r, NULL) == MC_OK);
    uint8_t *vcek = NULL;
    size_t n = 0;
    snprintf(p, sizeof p, "%s/vcek.der", dir);
    CHECK(mc_file_read(p, 1 << 16, &vcek, &n, NULL) == MC_OK);
    struct mc_snp_certs c = {.vcek = vcek, .vcek_len = n};
    struct mc_snp_result res;
    struct mc_snp_verifier *v = NULL;
    mc_status st;
    /* AMD's roots refuse it, naming the emulated root */
    CHECK(mc_snp_verifier_create(NULL, &v, NULL) == MC_OK);
    st = mc_snp_verify(v, &r, &c, NULL, &res, &e);
    CHECK_MSG(st == MC_E_VERIFY && strstr(e.msg, "EMULATED") && strstr(e.msg, "not AMD's"), "%s", e.msg);
    mc_snp_verifier_destroy(v);
    /* the certificate table the export wrote carries the same chain */
    uint8_t *tb = NULL;
    size_t tn = 0;
    snprintf(p, sizeof p, "%s/certtable.bin", dir);
    CHECK(mc_file_read(p, 1 << 16, &tb, &tn, NULL) == MC_OK);
    struct mc_snp_certtable t;
    CHECK(tb && mc_snp_certtable_parse(tb, tn, &t, NULL) == MC_OK && t.n == 3);
    struct mc_snp_certs tc;
    if (tb) {
        mc_snp_certtable_certs(&t, tb, false, &tc);
        CHECK(mc_snp_verifier_create(dir, &v, NULL) == MC_OK);
        CHECK(mc_snp_verify(v, &r, &tc, NULL, &res, &e) == MC_OK);
        mc_snp_verifier_destroy(v);
    }
    free(tb);
    free(vcek);
}

static void test_verifier(void)
{
    verify_dir(milan, mc_snp_tcb_encode(MC_SNP_GEN_MILAN, 0, 3, 0, 8, 115), "milan");
    verify_dir(turin, mc_snp_tcb_encode(MC_SNP_GEN_TURIN, 2, 1, 0, 2, 71), "turin");
    /* a VLEK-signed report through the ASVK */
    struct mc_snp_identity *c = make(MC_SNP_GEN_MILAN, SECRET_B, milan);
    uint64_t tcb = mc_snp_tcb_encode(MC_SNP_GEN_MILAN, 0, 4, 0, 24, 219);
    static const uint8_t vseed[48] = "VLEK seed for the verifier test ...............";
    uint8_t w[MC_SNP_VLEK_WRAPPED_LEN], rep[MC_SNP_REPORT_SIZE], *d = NULL, *ark = NULL, *asvk = NULL;
    size_t n = 0, na = 0, nv = 0;
    mc_fw_status fw;
    CHECK(mc_snp_vlek_wrap(c, vseed, tcb, NULL, w, NULL) == MC_OK);
    CHECK(mc_snp_identity_vlek_load(c, w, sizeof w, tcb, &fw, NULL) == MC_OK && fw == MC_FW_SUCCESS);
    sign_report(c, tcb, true, rep);
    CHECK(mc_snp_identity_vlek_cert(c, NULL, &d, &n, NULL) == MC_OK);
    CHECK(mc_snp_identity_root_cert(c, MC_SNP_ROOT_ARK, &ark, &na, NULL) == MC_OK);
    CHECK(mc_snp_identity_root_cert(c, MC_SNP_ROOT_ASVK, &asvk, &nv, NULL) == MC_OK);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/milan-vlek", tmpdir);
    struct mc_error e;
    CHECK(mc_snp_identity_export(c, dir, tcb, &e) == MC_OK);
    struct mc_snp_report r;
    CHECK(mc_snp_report_decode(rep, sizeof rep, &r, NULL) == MC_OK);
    struct mc_snp_certs cs = {d, n, asvk, nv, ark, na};
    struct mc_snp_result res;
    struct mc_snp_verifier *v = NULL;
    CHECK(mc_snp_verifier_create(dir, &v, NULL) == MC_OK);
    CHECK_MSG(mc_snp_verify(v, &r, &cs, NULL, &res, &e) == MC_OK, "%s", e.msg);
    mc_snp_verifier_destroy(v);
    CHECK(mc_snp_verifier_create(NULL, &v, NULL) == MC_OK);
    CHECK(mc_snp_verify(v, &r, &cs, NULL, &res, &e) == MC_E_VERIFY && strstr(e.msg, "EMULATED"));
    mc_snp_verifier_destroy(v);
    /* the exported folder has the VLEK too */
    char p[600];
    snprintf(p, sizeof p, "%s/vlek.der", dir);
    CHECK(access(p, R_OK) == 0);
    free(d);
    free(ark);
    free(asvk);
    mc_snp_identity_destroy(c);
}

/* ---- state blob ---- */

static mc_status reload(const uint8_t *b, size_t n, struct mc_snp_identity **out, struct mc_error *e)
{
    *out = NULL;
    mc_status st = mc_snp_identity_deserialize(b, n, out, e);
    CHECK((st == MC_OK) == (*out != NULL));
    return st;
}

/* b with field edits and a fresh checksum (to reach the checks behind it). */
static void fix_sum(uint8_t *b, size_t n) { mc_sha256(b, n - 32, b + n - 32, NULL); }

static void test_blob(void)
{
    struct mc_snp_identity *c = make(MC_SNP_GEN_MILAN, SECRET_B, milan);
    uint64_t tcb = mc_snp_tcb_encode(MC_SNP_GEN_MILAN, 0, 3, 0, 8, 115);
    static const uint8_t vseed[48] = "blob VLEK seed .................................";
    uint8_t w[MC_SNP_VLEK_WRAPPED_LEN];
    mc_fw_status fw;
    CHECK(mc_snp_vlek_wrap(c, vseed, tcb, NULL, w, NULL) == MC_OK);
    CHECK(mc_snp_identity_vlek_load(c, w, sizeof w, tcb, &fw, NULL) == MC_OK && fw == MC_FW_SUCCESS);
    uint8_t *b = NULL;
    size_t n = 0;
    struct mc_error e;
    CHECK_MSG(mc_snp_identity_serialize(c, &b, &n, &e) == MC_OK, "%s", e.msg);
    if (!b)
        return;
    struct mc_snp_identity *r = NULL;
    CHECK_MSG(reload(b, n, &r, &e) == MC_OK, "%s", e.msg);
    if (r) {
        uint8_t x1[72], y1[72], x2[72], y2[72], c1[64], c2[64];
        CHECK(mc_snp_identity_vcek_public(c, tcb, x1, y1, NULL) == MC_OK);
        CHECK(mc_snp_identity_vcek_public(r, tcb, x2, y2, NULL) == MC_OK);
        CHECK_MEM(x1, x2, 72);
        mc_snp_identity_chip_id(c, c1);
        mc_snp_identity_chip_id(r, c2);
        CHECK_MEM(c1, c2, 64);
        CHECK(mc_snp_identity_vlek_loaded(r) && mc_snp_identity_vlek_tcb(r) == tcb);
        CHECK(mc_p384_get_public_le72(mc_snp_identity_vlek_key(c), x1, y1, NULL) == MC_OK);
        CHECK(mc_p384_get_public_le72(mc_snp_identity_vlek_key(r), x2, y2, NULL) == MC_OK);
        CHECK_MEM(x1, x2, 72);
        uint8_t *d1, *d2;
        size_t n1, n2;
        CHECK(mc_snp_identity_root_cert(c, MC_SNP_ROOT_ARK, &d1, &n1, NULL) == MC_OK);
        CHECK(mc_snp_identity_root_cert(r, MC_SNP_ROOT_ARK, &d2, &n2, NULL) == MC_OK);
        CHECK(n1 == n2 && !memcmp(d1, d2, n1));
        free(d1);
        free(d2);
        /* serialize(deserialize(x)) == x */
        uint8_t *b2;
        size_t m;
        CHECK(mc_snp_identity_serialize(r, &b2, &m, NULL) == MC_OK && m == n && !memcmp(b, b2, n));
        free(b2);
        mc_snp_identity_destroy(r);
    }
    /* truncations, a flipped bit anywhere (checksum) */
    int fails = 0;
    for (size_t cut = 0; cut < n; cut += (cut < 0x220 ? 1 : 97))
        if (reload(b, cut, &r, NULL) != MC_E_FORMAT)
            fails++;
    for (size_t i = 0; i < n; i += 13) {
        b[i] ^= 0x10;
        if (reload(b, n, &r, NULL) != MC_E_FORMAT)
            fails++;
        b[i] ^= 0x10;
    }
    CHECK_EQ_U64(fails, 0);
    /* field edits behind a valid checksum */
    uint8_t *t = malloc(n);
    struct { size_t off; uint8_t val; const char *want; } edits[] = {
        {0x08, 2, "format version"}, {0x10, 0, "generation"}, {0x10, 4, "generation"}, {0x11, 10, "stepping"},
        {0x12, 3, "flag"}, {0x13, 1, "reserved"},
    };
    for (size_t i = 0; t && i < sizeof edits / sizeof edits[0]; i++) {
        memcpy(t, b, n);
        t[edits[i].off] = edits[i].val;
        fix_sum(t, n);
        CHECK_MSG(reload(t, n, &r, &e) == MC_E_FORMAT && strstr(e.msg, edits[i].want), "%zu: %s", i, e.msg);
    }
    /* Genoa in a Milan blob: the roots are named for Milan */
    memcpy(t, b, n);
    t[0x10] = 2;
    fix_sum(t, n);
    CHECK_MSG(reload(t, n, &r, &e) == MC_E_FORMAT && strstr(e.msg, "ARK-Milan"), "%s", e.msg);
    /* Turin with a 64-byte CHIP_ID */
    t[0x10] = 3;
    fix_sum(t, n);
    CHECK_MSG(reload(t, n, &r, &e) == MC_E_FORMAT && strstr(e.msg, "Turin"), "%s", e.msg);
    /* VLEK flag cleared while its bytes remain */
    memcpy(t, b, n);
    t[0x12] = 0;
    fix_sum(t, n);
    CHECK_MSG(reload(t, n, &r, &e) == MC_E_FORMAT && strstr(e.msg, "VLEK"), "%s", e.msg);
    /* roots: a length that points past the end, the ASK key in the ARK slot */
    memcpy(t, b, n);
    mc_put_le32(t + 0x1FC, 0xffff);
    fix_sum(t, n);
    CHECK_MSG(reload(t, n, &r, &e) == MC_E_FORMAT && strstr(e.msg, "length"), "%s", e.msg);
    {
        size_t o = 0x1FC, l_arkc = mc_le32(b + o), o_arkk = o + 4 + l_arkc, l_arkk = mc_le32(b + o_arkk);
        size_t o_askc = o_arkk + 4 + l_arkk, l_askc = mc_le32(b + o_askc), o_askk = o_askc + 4 + l_askc;
        size_t l_askk = mc_le32(b + o_askk);
        if (l_arkk == l_askk) { /* RSA-4096 keys of one size: swap them */
            memcpy(t, b, n);
            memcpy(t + o_arkk + 4, b + o_askk + 4, l_arkk);
            memcpy(t + o_askk + 4, b + o_arkk + 4, l_askk);
            fix_sum(t, n);
            CHECK_MSG(reload(t, n, &r, &e) == MC_E_FORMAT && strstr(e.msg, "does not belong"), "%s", e.msg);
        }
        /* a certificate byte changed inside the signed part */
        memcpy(t, b, n);
        t[o + 4 + 200] ^= 0x01;
        fix_sum(t, n);
        CHECK_MSG(reload(t, n, &r, &e) == MC_E_FORMAT, "%s", e.msg);
        /* trailing bytes before the checksum */
        uint8_t *u = malloc(n + 1);
        memcpy(u, b, n - 32);
        u[n - 32] = 0;
        mc_put_le32(u + 0x0C, (uint32_t)(n + 1));
        fix_sum(u, n + 1);
        CHECK_MSG(reload(u, n + 1, &r, &e) == MC_E_FORMAT && strstr(e.msg, "trailing"), "%s", e.msg);
        free(u);
    }
    /* save the blob as a fuzz seed when asked (scripts regenerate fuzz/corpus/fuzz_snp_identity) */
    const char *seed_out = getenv("MC_WRITE_IDENTITY_SEED");
    if (seed_out)
        mc_file_write_atomic(seed_out, b, n, NULL);
    free(t);
    mc_wipe(b, n);
    free(b);
    mc_snp_identity_destroy(c);
}

static void test_determinism(void)
{
    /* the same root seed gives the same roots (keys and, except for the PSS salt, certificates);
     * Milan's made from the same seed (and size) as Turin's, but for another product: other keys */
    struct mc_snp_identity *again = make(MC_SNP_GEN_TURIN, SECRET_B, NULL);
    struct mc_snp_identity *mseed = make_roots(MC_SNP_GEN_MILAN, SECRET_B, NULL, true);
    for (int i = 0; i < 3 && again && mseed; i++) {
        uint8_t *d1, *d2, *d3;
        size_t n1, n2, n3;
        CHECK(mc_snp_identity_root_cert(mseed, (enum mc_snp_root)i, &d3, &n3, NULL) == MC_OK);
        X509 *m = der_x509(d3, n3);
        CHECK(mc_snp_identity_root_cert(turin, (enum mc_snp_root)i, &d1, &n1, NULL) == MC_OK);
        CHECK(mc_snp_identity_root_cert(again, (enum mc_snp_root)i, &d2, &n2, NULL) == MC_OK);
        X509 *a = der_x509(d1, n1), *b = der_x509(d2, n2);
        CHECK(a && b && EVP_PKEY_eq(X509_get0_pubkey(a), X509_get0_pubkey(b)) == 1);
        CHECK(X509_NAME_cmp(X509_get_subject_name(a), X509_get_subject_name(b)) == 0);
        CHECK(m && EVP_PKEY_eq(X509_get0_pubkey(a), X509_get0_pubkey(m)) != 1);
        X509_free(a);
        X509_free(b);
        X509_free(m);
        free(d1);
        free(d2);
        free(d3);
    }
    /* a blob with roots of the chip's own (not the compiled-in ones) reloads: each stored key is
     * checked by signing with it */
    uint8_t *b = NULL;
    size_t n = 0;
    struct mc_snp_identity *r = NULL;
    struct mc_error e;
    CHECK(mseed && mc_snp_identity_serialize(mseed, &b, &n, NULL) == MC_OK);
    CHECK_MSG(b && reload(b, n, &r, &e) == MC_OK, "%s", e.msg);
    mc_snp_identity_destroy(r);
    free(b);
    mc_snp_identity_destroy(mseed);
    mc_snp_identity_destroy(again);
}

int main(void)
{
    mc_crypto_init();
    if (snp_tmpdir(tmpdir, sizeof tmpdir, "test_snp_identity"))
        return 1;
    milan = make(MC_SNP_GEN_MILAN, SECRET_A, NULL);
    turin = make(MC_SNP_GEN_TURIN, SECRET_A, NULL);
    if (!milan || !turin)
        return check_summary();
    RUN(test_vcek_derivation);
    RUN(test_params);
    RUN(test_vlek);
    RUN(test_certs);
    RUN(test_verifier);
    RUN(test_blob);
    RUN(test_determinism);
    mc_snp_identity_destroy(milan);
    mc_snp_identity_destroy(turin);
    snp_tmpdir_remove(tmpdir);
    return check_summary();
}
