/* SEV-SNP fixture factory: test ARK/ASK/ASVK (RSA-4096, RSASSA-PSS SHA-384 salt 48, like AMD's),
 * ECDSA P-384 VCEK/VLEK with every AMD extension, and signed attestation reports.
 * This module's job is making X.509 certificates, so it uses OpenSSL's X.509 API directly.
 *
 * Certificates come from the shared KDS builder (snp/kdscert.c), marked TEST in OU and O.
 * Determinism: with a seed, all randomness comes from a CTR-DRBG seeded by the seed (mc_rng):
 * keys from the project's deterministic generators (crypto/pk.h) on that DRBG, and PSS salts,
 * ECDSA nonces and random report fields from a private OpenSSL library context whose DRBGs are
 * TEST-RAND instances fed from it; the pools are refilled before each operation. Certificate dates are fixed, so the same seed gives the same bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memcrypt/fileio.h>
#include <memcrypt/snp_fixture.h>
#include <memcrypt/snp_verify.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "crypto/x509.h"
#include "snp/fixture_root.h"
#include "snp/kdscert.h"
#include "snp/vcek.h"

#define POOL_BYTES (64u << 10) /* PSS salts, ECDSA nonces and RSA blinding of one operation */
#define TEST_MARK MC_KDS_OU_TEST

/* Fixed dates: ARK/ASK 2024-01-01 .. 2049-01-01, VCEK 2024-01-01 .. 2034-01-01,
 * expired VCEK 2020-01-01 .. 2021-01-01. */
#define T_2020 1577836800L
#define T_2021 1609459200L
#define T_2024 1704067200L
#define T_2034 2019686400L
#define T_2049 2493072000L

struct fx {
    OSSL_LIB_CTX *lc;     /* NULL when not deterministic */
    OSSL_PROVIDER *prov;
    struct mc_rng *rng;   /* seeded, or OS */
    uint8_t *pool;
};

static mc_status ossl_err(struct mc_error *err, const char *what)
{
    char b[200];
    return mc_seterr(err, MC_E_CRYPTO, "%s failed: %s", what, mc_openssl_errstr(b, sizeof b));
}

static void fx_free(struct fx *f)
{
    if (f->pool) {
        mc_wipe(f->pool, POOL_BYTES);
        free(f->pool);
    }
    mc_rng_destroy(f->rng);
    OSSL_PROVIDER_unload(f->prov);
    OSSL_LIB_CTX_free(f->lc);
    memset(f, 0, sizeof *f);
}

static mc_status fx_init(struct fx *f, const uint8_t *seed, size_t seed_len, struct mc_error *err)
{
    memset(f, 0, sizeof *f);
    mc_status st = mc_rng_create(seed, seed ? seed_len : 0, &f->rng, err);
    if (st || !seed)
        return st;
    f->lc = OSSL_LIB_CTX_new();
    f->prov = f->lc ? OSSL_PROVIDER_load(f->lc, "default") : NULL;
    f->pool = malloc(POOL_BYTES);
    if (!f->lc || !f->prov || !f->pool) {
        fx_free(f);
        return mc_seterr(err, MC_E_NOMEM, "cannot set up a deterministic OpenSSL context");
    }
    if (!RAND_set_DRBG_type(f->lc, "TEST-RAND", NULL, NULL, NULL)) {
        fx_free(f);
        return ossl_err(err, "selecting TEST-RAND");
    }
    return MC_OK;
}

/* Refill the deterministic DRBGs with fresh seed-derived bytes (no-op with OS randomness). */
static mc_status fx_refill(struct fx *f, struct mc_error *err)
{
    if (!f->lc)
        return MC_OK;
    EVP_RAND_CTX *r[2] = {RAND_get0_private(f->lc), RAND_get0_public(f->lc)};
    for (int i = 0; i < 2; i++) {
        for (size_t off = 0; off < POOL_BYTES; off += 65536) {
            mc_status st = mc_rng_bytes(f->rng, f->pool + off, 65536, err);
            if (st)
                return st;
        }
        unsigned int strength = 256;
        OSSL_PARAM p[] = {
            OSSL_PARAM_construct_uint(OSSL_RAND_PARAM_STRENGTH, &strength),
            OSSL_PARAM_construct_octet_string(OSSL_RAND_PARAM_TEST_ENTROPY, f->pool, POOL_BYTES),
            OSSL_PARAM_construct_octet_string(OSSL_RAND_PARAM_TEST_NONCE, f->pool, 32),
            OSSL_PARAM_construct_end(),
        };
        if (!r[i])
            return ossl_err(err, "getting the deterministic DRBG");
        EVP_RAND_uninstantiate(r[i]);
        if (!EVP_RAND_instantiate(r[i], strength, 0, NULL, 0, p))
            return ossl_err(err, "seeding the deterministic DRBG");
    }
    return MC_OK;
}

/* Keys come from the project's deterministic generators (crypto/pk.h, the ones the emulated
 * chip's roots use) fed from the fixture's mc_rng: the same seed gives the same keys, and an
 * RSA-4096 pair costs about a second instead of the several seconds OpenSSL's SP 800-56B
 * generator spends drawing from the TEST-RAND pool. */
static mc_status keygen(struct fx *f, bool rsa, EVP_PKEY **out, struct mc_error *err)
{
    struct mc_pk *k = NULL;
    mc_status st = rsa ? mc_rsa_generate(f->rng, 4096, 65537, &k, err) : mc_p384_generate(f->rng, &k, err);
    if (st)
        return st;
    EVP_PKEY *p = (EVP_PKEY *)mc_pk_evp(k);
    if (!EVP_PKEY_up_ref(p)) {
        mc_pk_free(k);
        return ossl_err(err, rsa ? "RSA-4096 key generation" : "P-384 key generation");
    }
    mc_pk_free(k);
    *out = p;
    return MC_OK;
}

static mc_status write_pem_cert(struct mc_outset *os, const char *dir, const char *name, X509 *x,
                                struct mc_error *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    BUF_MEM *bm;
    if (!b || !PEM_write_bio_X509(b, x)) {
        BIO_free(b);
        return ossl_err(err, "PEM encoding");
    }
    BIO_get_mem_ptr(b, &bm);
    mc_status st = mc_outset_add_in(os, dir, name, (const uint8_t *)bm->data, bm->length, err);
    BIO_free(b);
    return st;
}

static mc_status write_der_cert(struct mc_outset *os, const char *dir, const char *name, X509 *x,
                                struct mc_error *err)
{
    uint8_t *der;
    size_t n;
    mc_status st = mc_x509_der(x, &der, &n, err);
    if (st)
        return st;
    st = mc_outset_add_in(os, dir, name, der, n, err);
    OPENSSL_free(der);
    return st;
}

/* Keys are new files (0600) or keep the mode of the file they replace. */
static mc_status write_key(struct mc_outset *os, const char *dir, const char *name, EVP_PKEY *k,
                           struct mc_error *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    BUF_MEM *bm;
    if (!b || !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) {
        BIO_free(b);
        return ossl_err(err, "PEM encoding a key");
    }
    BIO_get_mem_ptr(b, &bm);
    mc_status st = mc_outset_add_in(os, dir, name, (const uint8_t *)bm->data, bm->length, err);
    mc_wipe(bm->data, bm->length);
    BIO_free(b);
    return st;
}

static uint64_t default_tcb(enum mc_snp_gen g)
{
    switch (g) {
    case MC_SNP_GEN_TURIN: return mc_snp_tcb_encode(g, 0, 1, 0, 2, 71);
    case MC_SNP_GEN_GENOA: return mc_snp_tcb_encode(g, 0, 10, 0, 23, 84);
    default: return mc_snp_tcb_encode(g, 0, 3, 0, 8, 115);
    }
}

/* The leaf (VCEK/VLEK) with AMD's extensions, signed with a deterministic PSS salt. */
static mc_status make_leaf(struct fx *f, enum mc_snp_gen g, bool vlek, const uint8_t chip_id[64], uint64_t tcb,
                           EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key, long nb, long na, X509 **out,
                           struct mc_error *err)
{
    struct mc_kds_leaf l = {.gen = g, .vlek = vlek, .stepping = 0, .tcb = tcb, .hwid = chip_id,
                            .csp_id = "CN=" TEST_MARK};
    mc_status st = fx_refill(f, err);
    return st ? st : mc_kds_make_leaf(f->lc, MC_KDS_MARK_TEST, &l, pub, issuer, issuer_key, nb, na, out, err);
}

static mc_status make_ca(struct fx *f, enum mc_snp_gen g, enum mc_kds_role role, EVP_PKEY *pub, X509 *issuer,
                         EVP_PKEY *issuer_key, X509 **out, struct mc_error *err)
{
    mc_status st = fx_refill(f, err);
    return st ? st : mc_kds_make_ca(f->lc, MC_KDS_MARK_TEST, g, role, pub, issuer, issuer_key, T_2024, T_2049, out, err);
}

/* issued must carry a signature issuer_key really made: a key file that passed as its
 * certificate's key (same public part) but signs garbage is caught here, before anything is
 * written. */
static mc_status check_signed(X509 *issued, X509 *issuer, const char *key_path, struct mc_error *err)
{
    ERR_clear_error();
    if (X509_verify(issued, X509_get0_pubkey(issuer)) == 1)
        return MC_OK;
    ERR_clear_error();
    return mc_seterr(err, MC_E_FORMAT, "%s does not sign for its certificate: what it signed does not verify", key_path);
}

/* A root into dir: every part fresh (root_dir NULL), or under the existing test root in root_dir
 * (its ARK always, its ASK/ASVK when it has one; the rest made here). One path for both, so a
 * root issued under another is written exactly as a fresh one. */
static mc_status make_root(const char *dir, const char *root_dir, const struct mc_snp_fixture_root_opts *o,
                           const char *tcb_spec, struct mc_snp_fixture_root_info *info, struct mc_error *err)
{
    if (!dir || !o)
        return mc_seterr(err, MC_E_INVAL, "no output folder or options");
    if (o->gen != MC_SNP_GEN_UNKNOWN && o->gen != MC_SNP_GEN_MILAN && o->gen != MC_SNP_GEN_GENOA &&
        o->gen != MC_SNP_GEN_TURIN)
        return mc_seterr(err, MC_E_INVAL, "unknown generation");
    if (root_dir) {
        struct stat a, b;
        if (stat(dir, &a) == 0 && stat(root_dir, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
            return mc_seterr(err, MC_E_INVAL, "%s is the existing root itself: write the new one to another folder", dir);
    }
    struct fx f;
    mc_status st = fx_init(&f, o->seed, o->seed_len, err);
    if (st)
        return st;
    struct mc_outset *os = NULL;
    struct mc_fx_root r;
    memset(&r, 0, sizeof r);
    EVP_PKEY *leaf_k = NULL;
    X509 *leaf = NULL;
    uint8_t chip[64] = {0};
    const char *inter = o->vlek ? "asvk" : "ask", *leafn = o->vlek ? "vlek" : "vcek";
    char ark_key_path[4096] = "", inter_key_path[4096] = "";
    uint8_t *tbl = NULL, *d1 = NULL, *d2 = NULL, *d3 = NULL;
    enum mc_snp_gen g = o->gen == MC_SNP_GEN_UNKNOWN ? MC_SNP_GEN_MILAN : o->gen;
    bool new_inter = true;
    if (root_dir) {
        if ((st = mc_fx_root_load(f.lc, root_dir, o->vlek, &r, err)))
            goto out;
        if (o->gen != MC_SNP_GEN_UNKNOWN && o->gen != r.gen) {
            st = mc_seterr(err, MC_E_INVAL, "the root in %s is %s (its ARK is ARK-%s), not %s: a root issues "
                           "certificates of its own generation only (give no generation to take the root's)",
                           root_dir, mc_snp_gen_name(r.gen), mc_snp_gen_name(r.gen), mc_snp_gen_name(o->gen));
            goto out;
        }
        g = r.gen;
        new_inter = r.inter == NULL;
        snprintf(ark_key_path, sizeof ark_key_path, "%s/ark-key.pem", root_dir);
        snprintf(inter_key_path, sizeof inter_key_path, "%s/%s-key.pem", root_dir, inter);
    }
    if (info) {
        info->gen = g;
        info->new_intermediate = new_inter;
    }
    uint64_t tcb = o->has_tcb ? o->tcb : default_tcb(g);
    if (tcb_spec && (st = mc_snp_tcb_parse(tcb_spec, g, &tcb, err)))
        goto out;
    if (o->has_chip_id && g == MC_SNP_GEN_TURIN) {
        for (int i = 8; i < 64; i++)
            if (o->chip_id[i]) {
                st = mc_seterr(err, MC_E_INVAL, "a Turin chip_id has 8 bytes (the rest must be zero)");
                goto out;
            }
    }
    if ((st = mc_outset_create(&os, err)) || (st = mc_outset_dir(os, dir, 0755, err)))
        goto out;
    if (o->has_chip_id)
        memcpy(chip, o->chip_id, 64);
    else if ((st = mc_rng_bytes(f.rng, chip, g == MC_SNP_GEN_TURIN ? 8 : 64, err)))
        goto out;
    if ((!r.ark && (st = keygen(&f, true, &r.ark_key, err))) || (!r.inter && (st = keygen(&f, true, &r.inter_key, err))) ||
        (st = keygen(&f, false, &leaf_k, err)))
        goto out;
    if (!r.ark && (st = make_ca(&f, g, MC_KDS_ARK, r.ark_key, NULL, r.ark_key, &r.ark, err)))
        goto out;
    if (!r.inter) {
        if ((st = make_ca(&f, g, o->vlek ? MC_KDS_ASVK : MC_KDS_ASK, r.inter_key, r.ark, r.ark_key, &r.inter, err)))
            goto out;
        if (root_dir && (st = check_signed(r.inter, r.ark, ark_key_path, err)))
            goto out;
    }
    if ((st = make_leaf(&f, g, o->vlek, chip, tcb, leaf_k, r.inter, r.inter_key, T_2024, T_2034, &leaf, err)))
        goto out;
    if (root_dir && !new_inter && (st = check_signed(leaf, r.inter, inter_key_path, err)))
        goto out;
    char name[64];
    if ((st = write_pem_cert(os, dir, "ark.pem", r.ark, err)) || (st = write_key(os, dir, "ark-key.pem", r.ark_key, err)))
        goto out;
    snprintf(name, sizeof name, "%s.pem", inter);
    if ((st = write_pem_cert(os, dir, name, r.inter, err)))
        goto out;
    snprintf(name, sizeof name, "%s-key.pem", inter);
    if ((st = write_key(os, dir, name, r.inter_key, err)))
        goto out;
    snprintf(name, sizeof name, "%s.der", leafn);
    if ((st = write_der_cert(os, dir, name, leaf, err)))
        goto out;
    snprintf(name, sizeof name, "%s.pem", leafn);
    if ((st = write_pem_cert(os, dir, name, leaf, err)))
        goto out;
    snprintf(name, sizeof name, "%s-key.pem", leafn);
    if ((st = write_key(os, dir, name, leaf_k, err)))
        goto out;
    /* cert_chain.pem: intermediate then ARK, like AMD's KDS cert_chain. */
    {
        BIO *b = BIO_new(BIO_s_mem());
        BUF_MEM *bm;
        if (!b || !PEM_write_bio_X509(b, r.inter) || !PEM_write_bio_X509(b, r.ark)) {
            BIO_free(b);
            st = ossl_err(err, "PEM encoding");
            goto out;
        }
        BIO_get_mem_ptr(b, &bm);
        st = mc_outset_add_in(os, dir, "cert_chain.pem", (const uint8_t *)bm->data, bm->length, err);
        BIO_free(b);
        if (st)
            goto out;
    }
    {
        size_t n1, n2, n3, tn;
        if ((st = mc_x509_der(leaf, &d1, &n1, err)) || (st = mc_x509_der(r.inter, &d2, &n2, err)) ||
            (st = mc_x509_der(r.ark, &d3, &n3, err)))
            goto out;
        struct mc_snp_certs c = {d1, n1, d2, n2, d3, n3};
        if ((st = mc_snp_certtable_build(&c, o->vlek, &tbl, &tn, err)))
            goto out;
        st = mc_outset_add_in(os, dir, "certtable.bin", tbl, tn, err);
    }
    if (!st)
        st = mc_outset_commit(os, err);
out:
    mc_outset_destroy(os);
    free(tbl);
    OPENSSL_free(d1);
    OPENSSL_free(d2);
    OPENSSL_free(d3);
    X509_free(leaf);
    EVP_PKEY_free(leaf_k);
    mc_fx_root_clear(&r);
    fx_free(&f);
    return st;
}

mc_status mc_snp_fixture_make_root(const char *dir, const struct mc_snp_fixture_root_opts *o, struct mc_error *err)
{
    return make_root(dir, NULL, o, NULL, NULL, err);
}

mc_status mc_snp_fixture_make_root_from(const char *dir, const char *root_dir, const struct mc_snp_fixture_root_opts *o,
                                        const char *tcb_spec, struct mc_snp_fixture_root_info *info,
                                        struct mc_error *err)
{
    if (!root_dir)
        return mc_seterr(err, MC_E_INVAL, "no existing root folder");
    return make_root(dir, root_dir, o, tcb_spec, info, err);
}

int mc_snp_negative_parse(const char *s)
{
    static const char *const n[] = {"none", "wrong-hwid", "expired", "bad-signature", "tcb-mismatch"};
    for (int i = 0; i < 5; i++)
        if (s && !strcmp(s, n[i]))
            return i;
    return -1;
}

static mc_status read_key(struct fx *f, const char *path, EVP_PKEY **out, struct mc_error *err)
{
    uint8_t *buf;
    size_t n;
    mc_status st = mc_file_read(path, MC_FX_FILE_MAX, &buf, &n, err);
    if (st)
        return st;
    st = mc_fx_read_key(f->lc, path, buf, n, out, err);
    mc_wipe(buf, n);
    free(buf);
    return st;
}

static bool file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

mc_status mc_snp_fixture_make_report(const struct mc_snp_fixture_report_opts *o, uint8_t out[MC_SNP_REPORT_SIZE],
                                     struct mc_error *err)
{
    if (!o || !o->key_dir || !out)
        return mc_seterr(err, MC_E_INVAL, "no key folder or output");
    uint32_t version = o->version ? o->version : 5;
    if (version < 2 || version > 5)
        return mc_seterr(err, MC_E_INVAL, "report version %u is not one of 2, 3, 4, 5", version);
    if (o->vmpl > 3)
        return mc_seterr(err, MC_E_INVAL, "VMPL %u is not 0..3", o->vmpl);
    if (o->negative == MC_SNP_NEG_EXPIRED && !o->expired_cert_out)
        return mc_seterr(err, MC_E_INVAL, "the expired fixture needs a path for the expired certificate");
    char p_cert[4096], p_key[4096];
    bool vlek = false;
    snprintf(p_cert, sizeof p_cert, "%s/vcek.der", o->key_dir);
    if (!file_exists(p_cert)) {
        snprintf(p_cert, sizeof p_cert, "%s/vlek.der", o->key_dir);
        vlek = true;
        if (!file_exists(p_cert))
            return mc_seterr(err, MC_E_NOTFOUND, "%s has neither vcek.der nor vlek.der (make one with `memcrypt fixtures`)",
                             o->key_dir);
    }
    snprintf(p_key, sizeof p_key, "%s/%s-key.pem", o->key_dir, vlek ? "vlek" : "vcek");
    struct fx f;
    mc_status st = fx_init(&f, o->seed, o->seed_len, err);
    if (st)
        return st;
    X509 *cert = NULL, *ask = NULL, *expired = NULL;
    EVP_PKEY *key = NULL, *ask_key = NULL;
    EVP_MD_CTX *m = NULL;
    ECDSA_SIG *sig = NULL;
    unsigned char *der = NULL;
    struct mc_snp_vcek_info info;
    if ((st = mc_x509_load_file(p_cert, vlek ? "VLEK" : "VCEK", &cert, err)) || (st = mc_snp_vcek_parse(cert, &info, err)) ||
        (st = read_key(&f, p_key, &key, err)))
        goto out;
    if (X509_check_private_key(cert, key) != 1) {
        st = mc_seterr(err, MC_E_FORMAT, "%s does not belong to %s", p_key, p_cert);
        goto out;
    }
    if (vlek && o->negative == MC_SNP_NEG_WRONG_HWID) {
        st = mc_seterr(err, MC_E_INVAL, "a VLEK carries no hwID, so there is no wrong-hwid fixture for it; use a VCEK folder");
        goto out;
    }
    enum mc_snp_gen g = info.gen;
    struct mc_snp_report r;
    memset(&r, 0, sizeof r);
    r.version = version;
    r.guest_svn = o->guest_svn;
    r.policy = o->has_policy ? o->policy : 0x30000;
    r.vmpl = o->vmpl;
    r.signature_algo = 1;
    r.platform_info = 0x3; /* SMT_EN, TSME_EN */
    r.key_info = (uint32_t)(vlek ? MC_SNP_SIGNER_VLEK : MC_SNP_SIGNER_VCEK) << 2;
    if (o->has_report_data)
        memcpy(r.report_data, o->report_data, 64);
    if (o->has_measurement)
        memcpy(r.measurement, o->measurement, 48);
    if (o->has_host_data)
        memcpy(r.host_data, o->host_data, 32);
    if (o->has_id_key_digest)
        memcpy(r.id_key_digest, o->id_key_digest, 48);
    if ((st = mc_rng_bytes(f.rng, r.report_id, 32, err)))
        goto out;
    memset(r.report_id_ma, 0xff, 32);
    uint64_t tcb = 0;
    for (int a = 1; a < MC_SNP_SPL_ARCS; a++) {
        int byte = mc_snp_spl_byte(g, a);
        if (info.has_spl[a] && byte >= 0)
            tcb |= (uint64_t)info.spl[a] << (8 * byte);
    }
    if (o->has_tcb)
        tcb = o->tcb;
    if (o->tcb_spec && (st = mc_snp_tcb_parse(o->tcb_spec, g, &tcb, err)))
        goto out;
    if (o->negative == MC_SNP_NEG_TCB_MISMATCH) {
        int sb = mc_snp_spl_byte(g, 3); /* snpSPL one above the certificate's */
        tcb = (tcb & ~(0xffull << (8 * sb))) | ((uint64_t)((uint8_t)((tcb >> (8 * sb)) + 1)) << (8 * sb));
    }
    r.reported_tcb = r.current_tcb = r.committed_tcb = r.launch_tcb = tcb;
    if (version >= 3) {
        r.cpuid_fam_id = g == MC_SNP_GEN_TURIN ? 0x1A : 0x19;
        r.cpuid_mod_id = g == MC_SNP_GEN_TURIN ? 0x02 : g == MC_SNP_GEN_GENOA ? 0x11 : 0x01;
        r.cpuid_step = 1;
    }
    if (o->has_chip_id)
        memcpy(r.chip_id, o->chip_id, 64);
    else if (!vlek)
        memcpy(r.chip_id, info.hwid, info.hwid_len);
    if (o->negative == MC_SNP_NEG_WRONG_HWID)
        r.chip_id[0] ^= 0x01;
    r.current_major = r.committed_major = 1;
    r.current_minor = r.committed_minor = 55;
    uint8_t buf[MC_SNP_REPORT_SIZE];
    mc_snp_report_encode(&r, buf);
    /* ECDSA P-384 over SHA-384 of bytes 0x000..0x29F; r and s little-endian, 72 bytes each. */
    if ((st = fx_refill(&f, err)))
        goto out;
    size_t dlen = 0;
    m = EVP_MD_CTX_new();
    if (!m || EVP_DigestSignInit_ex(m, NULL, "SHA384", f.lc, NULL, key, NULL) <= 0 ||
        EVP_DigestSign(m, NULL, &dlen, buf, MC_SNP_REPORT_SIGNED_LEN) <= 0 || !(der = OPENSSL_malloc(dlen)) ||
        EVP_DigestSign(m, der, &dlen, buf, MC_SNP_REPORT_SIGNED_LEN) <= 0) {
        st = ossl_err(err, "ECDSA signing");
        goto out;
    }
    const unsigned char *pp = der;
    sig = d2i_ECDSA_SIG(NULL, &pp, (long)dlen);
    const BIGNUM *sr = NULL, *ss = NULL;
    if (sig)
        ECDSA_SIG_get0(sig, &sr, &ss);
    if (!sig || BN_bn2lebinpad(sr, buf + 0x2A0, 72) != 72 || BN_bn2lebinpad(ss, buf + 0x2E8, 72) != 72) {
        st = ossl_err(err, "encoding the signature");
        goto out;
    }
    if (o->negative == MC_SNP_NEG_BAD_SIGNATURE)
        buf[0x2A0] ^= 0x01;
    if (o->negative == MC_SNP_NEG_EXPIRED) {
        /* The same key, certified by the ASK/ASVK for 2020-01-01 .. 2021-01-01. */
        char p_ask[4096], p_askk[4096];
        snprintf(p_ask, sizeof p_ask, "%s/%s.pem", o->key_dir, vlek ? "asvk" : "ask");
        snprintf(p_askk, sizeof p_askk, "%s/%s-key.pem", o->key_dir, vlek ? "asvk" : "ask");
        if ((st = mc_x509_load_file(p_ask, vlek ? "ASVK" : "ASK", &ask, err)) || (st = read_key(&f, p_askk, &ask_key, err)))
            goto out;
        uint8_t chip[64] = {0};
        memcpy(chip, info.hwid, info.hwid_len);
        if ((st = make_leaf(&f, g, vlek, chip, tcb, key, ask, ask_key, T_2020, T_2021, &expired, err)))
            goto out;
        uint8_t *ed;
        size_t en;
        if ((st = mc_x509_der(expired, &ed, &en, err)))
            goto out;
        st = o->outputs ? mc_outset_add(o->outputs, o->expired_cert_out, ed, en, err)
                        : mc_file_write_atomic(o->expired_cert_out, ed, en, err);
        OPENSSL_free(ed);
        if (st)
            goto out;
    }
    memcpy(out, buf, MC_SNP_REPORT_SIZE);
out:
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(m);
    X509_free(cert);
    X509_free(ask);
    X509_free(expired);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ask_key);
    fx_free(&f);
    return st;
}
