/* The fixture factory issuing under an existing test root (mc_snp_fixture_make_root_from):
 * the ARK and ASK are reused byte for byte and a report from the new VCEK verifies against the
 * old root; an ASVK is made under the existing ARK when the root has none; the same seed gives
 * the same bytes; every kind of bad root is refused with its file named and nothing written.
 * The existing root is examples/test-root (what `memcrypt fixtures --seed example` writes), so no
 * RSA-4096 key is made here except the one ASVK. */
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memcrypt/fileio.h>
#include <memcrypt/snp_fixture.h>
#include <memcrypt/snp_verify.h>

#include "check.h"
#include "snp_testlib.h"
#include "crypto/crypto.h"
#include "snp/kdscert.h"

#define ROOT MC_SOURCE_DIR "/examples/test-root"

static char tmpdir[512];
static const char *const root_files[] = {"ark.pem", "ark-key.pem", "ask.pem", "ask-key.pem", "vcek.der", "vcek.pem",
                                         "vcek-key.pem", "cert_chain.pem", "certtable.bin"};

static bool exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static bool same_file(const char *a, const char *b)
{
    uint8_t *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    bool same = mc_file_read(a, 1 << 20, &x, &nx, NULL) == MC_OK && mc_file_read(b, 1 << 20, &y, &ny, NULL) == MC_OK &&
                nx == ny && !memcmp(x, y, nx);
    free(x);
    free(y);
    return same;
}

static void path(char *buf, size_t n, const char *dir, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

/* Sign a report with dir's VCEK/VLEK and verify it against the roots in roots_dir. */
static mc_status sign_and_verify(const char *dir, const char *leaf, const char *roots_dir, struct mc_snp_report *r,
                                 struct mc_error *e)
{
    struct mc_snp_fixture_report_opts ro = {.key_dir = dir, .seed = (const uint8_t *)"r", .seed_len = 1};
    uint8_t rep[MC_SNP_REPORT_SIZE], *cert = NULL;
    size_t cn = 0;
    char p[600];
    path(p, sizeof p, dir, leaf);
    mc_status st = mc_snp_fixture_make_report(&ro, rep, e);
    if (!st)
        st = mc_snp_report_decode(rep, sizeof rep, r, e);
    if (!st)
        st = mc_file_read(p, 1 << 16, &cert, &cn, e);
    struct mc_snp_verifier *v = NULL;
    if (!st)
        st = mc_snp_verifier_create(roots_dir, &v, e);
    if (!st) {
        struct mc_snp_certs c = {.vcek = cert, .vcek_len = cn};
        struct mc_snp_policy pol;
        memset(&pol, 0, sizeof pol);
        struct mc_snp_result res;
        st = mc_snp_verify(v, r, &c, &pol, &res, e);
        if (!st && !res.ok)
            st = mc_seterr(e, MC_E_FORMAT, "the report from %s does not verify against %s", dir, roots_dir);
    }
    mc_snp_verifier_destroy(v);
    free(cert);
    return st;
}

/* A new VCEK under the example root: its ARK and ASK reused byte for byte, the new TCB in the
 * certificate, a report from it verifying against the old root; the same seed the same bytes. */
static void test_reuse_ask(void)
{
    char a[600], b[600], c[600], p1[700], p2[700];
    path(a, sizeof a, tmpdir, "upd");
    path(b, sizeof b, tmpdir, "upd2");
    path(c, sizeof c, tmpdir, "upd3");
    struct mc_snp_fixture_root_opts o = {.seed = (const uint8_t *)"update", .seed_len = 6};
    struct mc_snp_fixture_root_info info = {.new_intermediate = true};
    struct mc_error e;
    CHECK_MSG(mc_snp_fixture_make_root_from(a, ROOT, &o, "bl=3,tee=0,snp=9,ucode=115", &info, &e) == MC_OK, "%s", e.msg);
    CHECK(info.gen == MC_SNP_GEN_MILAN && !info.new_intermediate);
    for (size_t i = 0; i < sizeof root_files / sizeof *root_files; i++) {
        path(p1, sizeof p1, ROOT, root_files[i]);
        path(p2, sizeof p2, a, root_files[i]);
        CHECK_MSG(exists(p2), "%s", p2);
        bool reused = i < 4 || !strcmp(root_files[i], "cert_chain.pem"); /* ASK then ARK */
        CHECK_MSG(same_file(p1, p2) == reused, "%s %s", root_files[i], reused ? "differs" : "is the old one");
    }
    struct mc_snp_report r;
    CHECK_MSG(sign_and_verify(a, "vcek.der", ROOT, &r, &e) == MC_OK, "%s", e.msg);
    CHECK_EQ_U64(r.reported_tcb, mc_snp_tcb_encode(MC_SNP_GEN_MILAN, 0, 3, 0, 9, 115));
    /* the same seed again, with the generation given (the root's): every byte the same */
    o.gen = MC_SNP_GEN_MILAN;
    CHECK_MSG(mc_snp_fixture_make_root_from(b, ROOT, &o, "bl=3,tee=0,snp=9,ucode=115", NULL, &e) == MC_OK, "%s", e.msg);
    for (size_t i = 0; i < sizeof root_files / sizeof *root_files; i++) {
        path(p1, sizeof p1, a, root_files[i]);
        path(p2, sizeof p2, b, root_files[i]);
        CHECK_MSG(same_file(p1, p2), "%s not reproducible", root_files[i]);
    }
    /* another chip (seed) under the same root: another VCEK key and hwID */
    o.seed = (const uint8_t *)"chip3";
    o.seed_len = 5;
    CHECK_MSG(mc_snp_fixture_make_root_from(c, ROOT, &o, NULL, NULL, &e) == MC_OK, "%s", e.msg);
    path(p1, sizeof p1, a, "vcek-key.pem");
    path(p2, sizeof p2, c, "vcek-key.pem");
    CHECK(!same_file(p1, p2));
    struct mc_snp_report r3;
    CHECK_MSG(sign_and_verify(c, "vcek.der", ROOT, &r3, &e) == MC_OK, "%s", e.msg);
    CHECK(memcmp(r.chip_id, r3.chip_id, 64) != 0);
    /* the new folder is a root in its own right: issue under it again */
    path(c, sizeof c, tmpdir, "upd4");
    CHECK_MSG(mc_snp_fixture_make_root_from(c, a, &o, NULL, NULL, &e) == MC_OK, "%s", e.msg);
    CHECK_MSG(sign_and_verify(c, "vcek.der", ROOT, &r3, &e) == MC_OK, "%s", e.msg);
}

/* A VLEK under the example root (a VCEK root): a new RSA-4096 ASVK signed by its ARK. */
static void test_new_asvk(void)
{
    char d[600], p1[700], p2[700];
    path(d, sizeof d, tmpdir, "vlek");
    struct mc_snp_fixture_root_opts o = {.vlek = true, .seed = (const uint8_t *)"vlek", .seed_len = 4};
    struct mc_snp_fixture_root_info info;
    struct mc_error e;
    CHECK_MSG(mc_snp_fixture_make_root_from(d, ROOT, &o, NULL, &info, &e) == MC_OK, "%s", e.msg);
    CHECK(info.gen == MC_SNP_GEN_MILAN && info.new_intermediate);
    path(p1, sizeof p1, ROOT, "ark.pem");
    path(p2, sizeof p2, d, "ark.pem");
    CHECK(same_file(p1, p2));
    path(p1, sizeof p1, ROOT, "ark-key.pem");
    path(p2, sizeof p2, d, "ark-key.pem");
    CHECK(same_file(p1, p2));
    static const char *const want[] = {"asvk.pem", "asvk-key.pem", "vlek.der", "vlek.pem", "vlek-key.pem", "cert_chain.pem",
                                       "certtable.bin"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        path(p2, sizeof p2, d, want[i]);
        CHECK_MSG(exists(p2), "%s", p2);
    }
    path(p2, sizeof p2, d, "ask.pem");
    CHECK(!exists(p2));
    struct mc_snp_report r;
    CHECK_MSG(sign_and_verify(d, "vlek.der", d, &r, &e) == MC_OK, "%s", e.msg);
    CHECK(mc_snp_report_signer(&r) == MC_SNP_SIGNER_VLEK);
    /* ... and issuing another VLEK under that root reuses its ASVK */
    char d2[600];
    path(d2, sizeof d2, tmpdir, "vlek2");
    o.seed = (const uint8_t *)"vlek2";
    o.seed_len = 5;
    CHECK_MSG(mc_snp_fixture_make_root_from(d2, d, &o, NULL, &info, &e) == MC_OK, "%s", e.msg);
    CHECK(!info.new_intermediate);
    path(p1, sizeof p1, d, "asvk.pem");
    path(p2, sizeof p2, d2, "asvk.pem");
    CHECK(same_file(p1, p2));
    CHECK_MSG(sign_and_verify(d2, "vlek.der", d, &r, &e) == MC_OK, "%s", e.msg);
}

/* ---- refusals ---------------------------------------------------------------------------- */

static unsigned bad_n;

/* A copy of the example root's ARK and ASK files in a fresh folder. */
static void copy_root(char *dir, size_t n)
{
    snprintf(dir, n, "%s/bad%u", tmpdir, ++bad_n);
    mkdir(dir, 0700);
    for (int i = 0; i < 4; i++) {
        char s[700], d[700];
        uint8_t *b = NULL;
        size_t len = 0;
        path(s, sizeof s, ROOT, root_files[i]);
        path(d, sizeof d, dir, root_files[i]);
        if (mc_file_read(s, 1 << 16, &b, &len, NULL) != MC_OK || mc_file_write_atomic(d, b, len, NULL) != MC_OK)
            fprintf(stderr, "cannot copy %s\n", s);
        free(b);
    }
}

static void put(const char *dir, const char *name, const void *data, size_t len)
{
    char p[700];
    path(p, sizeof p, dir, name);
    if (mc_file_write_atomic(p, data, len, NULL) != MC_OK)
        fprintf(stderr, "cannot write %s\n", p);
}

static void put_file(const char *dir, const char *name, const char *src)
{
    uint8_t *b = NULL;
    size_t len = 0;
    if (mc_file_read(src, 1 << 16, &b, &len, NULL) != MC_OK)
        fprintf(stderr, "cannot read %s\n", src);
    put(dir, name, b, len);
    free(b);
}

static void drop(const char *dir, const char *name)
{
    char p[700];
    path(p, sizeof p, dir, name);
    unlink(p);
}

/* Issuing under root must fail with want, a message holding `names`, and no output folder. */
static void refused_(int line, const char *root, bool vlek, enum mc_snp_gen gen, mc_status want, const char *names)
{
    char out[600];
    snprintf(out, sizeof out, "%s/out%d", tmpdir, line);
    struct mc_snp_fixture_root_opts o = {.vlek = vlek, .gen = gen, .seed = (const uint8_t *)"x", .seed_len = 1};
    struct mc_error e;
    e.msg[0] = 0;
    mc_status st = mc_snp_fixture_make_root_from(out, root, &o, NULL, NULL, &e);
    CHECK_MSG(st == want, "line %d: status %d, want %d: %s", line, st, want, e.msg);
    CHECK_MSG(strstr(e.msg, names) != NULL, "line %d: '%s' does not name '%s'", line, e.msg, names);
    CHECK_MSG(!exists(out), "line %d: %s was written", line, out);
    /* nothing else beside it either (no staging folder left) */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -q '^\\.out%d'", tmpdir, line);
    CHECK_MSG(system(cmd) != 0, "line %d: a temporary folder was left", line);
}
#define REFUSED(root, vlek, gen, want, names) refused_(__LINE__, root, vlek, gen, want, names)

static EVP_PKEY *load_key(const char *file)
{
    FILE *f = fopen(file, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    return k;
}

static X509 *load_cert(const char *file)
{
    FILE *f = fopen(file, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    return x;
}

/* Write what b holds to dir/name and free b. */
static void put_bio(const char *dir, const char *name, BIO *b)
{
    char *p = NULL;
    long n = b ? BIO_get_mem_data(b, &p) : 0;
    put(dir, name, p, n > 0 ? (size_t)n : 0);
    BIO_free(b);
}

static void put_cert(const char *dir, const char *name, X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    put_bio(dir, name, b);
}

static void put_key(const char *dir, const char *name, EVP_PKEY *k, const EVP_CIPHER *enc)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, enc, NULL, 0, NULL, (void *)"secret");
    put_bio(dir, name, b);
}

/* An RSA key with k's public part (n, e) but other private exponents (d, and d mod p-1 and
 * d mod q-1 for the CRT path and its fallback): it passes as the certificate's key (the public
 * parts match) and signs garbage. */
static EVP_PKEY *wrong_d(EVP_PKEY *k)
{
    static const char *const names[] = {OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
                                        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
                                        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
                                        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    BIGNUM *v[8] = {0};
    EVP_PKEY *out = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *ps = NULL;
    bool ok = c && bld;
    for (int i = 0; i < 8 && ok; i++)
        ok = EVP_PKEY_get_bn_param(k, names[i], &v[i]) && (i < 2 || i > 6 || i == 3 || i == 4 || BN_add_word(v[i], 2)) &&
             OSSL_PARAM_BLD_push_BN(bld, names[i], v[i]);
    if (ok && (ps = OSSL_PARAM_BLD_to_param(bld)) && EVP_PKEY_fromdata_init(c) > 0)
        EVP_PKEY_fromdata(c, &out, EVP_PKEY_KEYPAIR, ps);
    OSSL_PARAM_free(ps);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(c);
    for (int i = 0; i < 8; i++)
        BN_free(v[i]);
    return out;
}

static void test_refusals(void)
{
    char d[600], p[700], emu[600];
    /* no folder, a file for a folder, the output folder being the root itself */
    path(d, sizeof d, tmpdir, "missing");
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_NOTFOUND, d);
    path(p, sizeof p, ROOT, "ark.pem");
    REFUSED(p, false, MC_SNP_GEN_UNKNOWN, MC_E_INVAL, "is not a folder");
    struct mc_snp_fixture_root_opts o = {.seed = (const uint8_t *)"x", .seed_len = 1};
    CHECK(mc_snp_fixture_make_root_from(ROOT, ROOT, &o, NULL, NULL, NULL) == MC_E_INVAL);
    CHECK(mc_snp_fixture_make_root_from(d, NULL, &o, NULL, NULL, NULL) == MC_E_INVAL);
    CHECK(mc_snp_fixture_make_root_from(d, ROOT, NULL, NULL, NULL, NULL) == MC_E_INVAL);
    /* a conflicting generation */
    REFUSED(ROOT, false, MC_SNP_GEN_GENOA, MC_E_INVAL, "is Milan (its ARK is ARK-Milan), not Genoa");
    REFUSED(ROOT, true, MC_SNP_GEN_TURIN, MC_E_INVAL, "not Turin");
    /* missing files */
    copy_root(d, sizeof d);
    drop(d, "ark.pem");
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_NOTFOUND, "ark.pem is missing");
    copy_root(d, sizeof d);
    drop(d, "ark-key.pem");
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_NOTFOUND, "ark-key.pem is missing");
    REFUSED(d, true, MC_SNP_GEN_UNKNOWN, MC_E_NOTFOUND, "ark-key.pem is missing"); /* the ASVK would need it */
    copy_root(d, sizeof d);
    drop(d, "ask-key.pem");
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_NOTFOUND, "ask-key.pem is missing");
    copy_root(d, sizeof d);
    drop(d, "ask.pem");
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_NOTFOUND, "ask-key.pem is there but");
    /* truncated or empty certificates, a garbage or encrypted key */
    uint8_t *b = NULL;
    size_t n = 0;
    path(p, sizeof p, ROOT, "ark.pem");
    CHECK(mc_file_read(p, 1 << 16, &b, &n, NULL) == MC_OK);
    copy_root(d, sizeof d);
    put(d, "ark.pem", b, n / 2);
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_FORMAT, "ark.pem: the test ARK is not a PEM certificate");
    copy_root(d, sizeof d);
    put(d, "ark.pem", b, 0);
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_FORMAT, "ark.pem");
    free(b);
    path(p, sizeof p, ROOT, "ask.pem");
    CHECK(mc_file_read(p, 1 << 16, &b, &n, NULL) == MC_OK);
    copy_root(d, sizeof d);
    put(d, "ask.pem", b, n - 40);
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_FORMAT, "ask.pem: the test ASK is not a PEM certificate");
    free(b);
    copy_root(d, sizeof d);
    put(d, "ark-key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 58);
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_FORMAT, "ark-key.pem is not a PEM private key");
    path(p, sizeof p, ROOT, "ark-key.pem");
    EVP_PKEY *ark_k = load_key(p);
    path(p, sizeof p, ROOT, "ask-key.pem");
    EVP_PKEY *ask_k = load_key(p);
    path(p, sizeof p, ROOT, "ark.pem");
    X509 *ark = load_cert(p);
    CHECK(ark_k && ask_k && ark);
    copy_root(d, sizeof d);
    put_key(d, "ask-key.pem", ask_k, EVP_aes_256_cbc());
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_FORMAT, "ask-key.pem is not a PEM private key");
    /* mismatched keys: the ARK's key as the ASK's, the VCEK's as the ARK's */
    copy_root(d, sizeof d);
    path(p, sizeof p, ROOT, "ark-key.pem");
    put_file(d, "ask-key.pem", p);
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_FORMAT, "ask-key.pem is not the private key of");
    copy_root(d, sizeof d);
    path(p, sizeof p, ROOT, "vcek-key.pem");
    put_file(d, "ark-key.pem", p);
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_FORMAT, "ark-key.pem is not the private key of");
    /* a key with the certificate's public part that does not sign for it */
    EVP_PKEY *bad = wrong_d(ask_k);
    CHECK(bad != NULL);
    copy_root(d, sizeof d);
    put_key(d, "ask-key.pem", bad, NULL);
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_FORMAT, "ask-key.pem does not sign for its certificate");
    EVP_PKEY_free(bad);
    /* foreign roots: AMD's real ARK and ASK, an emulated chip's ARK */
    copy_root(d, sizeof d);
    put_file(d, "ark.pem", MC_TEST_DATA "/amd/snp-ca/ark-milan.pem");
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_FORMAT, "ark.pem is not a memcrypt TEST ROOT ARK");
    copy_root(d, sizeof d);
    put_file(d, "ask.pem", MC_TEST_DATA "/amd/snp-ca/ask-milan.pem");
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_FORMAT, "ask.pem is not a memcrypt TEST ROOT ASK");
    path(emu, sizeof emu, tmpdir, "emu");
    struct mc_snp_fixture_chip_opts co = {.gen = MC_SNP_GEN_MILAN, .seed = (const uint8_t *)"e", .seed_len = 1};
    CHECK(mc_snp_fixture_make_chip(emu, &co, NULL) == MC_OK);
    copy_root(d, sizeof d);
    path(p, sizeof p, emu, "ark.pem");
    put_file(d, "ark.pem", p);
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_FORMAT, "EMULATED chip");
    /* marked TEST but not a chain: an ASK signed by its own key, an ASK of another generation,
     * an ASK where the ASVK belongs */
    X509 *x = NULL;
    CHECK(mc_kds_make_ca(NULL, MC_KDS_MARK_TEST, MC_SNP_GEN_MILAN, MC_KDS_ASK, ask_k, ark, ask_k, 1704067200L,
                         2493072000L, &x, NULL) == MC_OK);
    copy_root(d, sizeof d);
    put_cert(d, "ask.pem", x);
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_FORMAT, "ask.pem: the ASK does not chain to the ARK in");
    X509_free(x);
    x = NULL;
    CHECK(mc_kds_make_ca(NULL, MC_KDS_MARK_TEST, MC_SNP_GEN_GENOA, MC_KDS_ASK, ask_k, ark, ark_k, 1704067200L,
                         2493072000L, &x, NULL) == MC_OK);
    copy_root(d, sizeof d);
    put_cert(d, "ask.pem", x);
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_FORMAT, "the ASK's common name 'SEV-Genoa' is not SEV-Milan");
    X509_free(x);
    copy_root(d, sizeof d);
    path(p, sizeof p, ROOT, "ask.pem");
    put_file(d, "asvk.pem", p);
    path(p, sizeof p, ROOT, "ask-key.pem");
    put_file(d, "asvk-key.pem", p);
    REFUSED(d, true, MC_SNP_GEN_UNKNOWN, MC_E_FORMAT, "the ASVK's common name 'SEV-Milan' is not SEV-VLEK-Milan");
    /* the ASK as the ARK (not self-issued, not ARK-Milan) */
    copy_root(d, sizeof d);
    path(p, sizeof p, ROOT, "ask.pem");
    put_file(d, "ark.pem", p);
    path(p, sizeof p, ROOT, "ask-key.pem");
    put_file(d, "ark-key.pem", p);
    REFUSED(d, false, MC_SNP_GEN_UNKNOWN, MC_E_FORMAT, "the ARK's common name 'SEV-Milan' is not ARK-");
    EVP_PKEY_free(ark_k);
    EVP_PKEY_free(ask_k);
    X509_free(ark);
}

int main(void)
{
    mc_crypto_init();
    if (snp_tmpdir(tmpdir, sizeof tmpdir, "test_snp_fixture"))
        return 1;
    RUN(test_reuse_ask);
    RUN(test_new_asvk);
    RUN(test_refusals);
    snp_tmpdir_remove(tmpdir);
    return check_summary();
}
