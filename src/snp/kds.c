/* The emulated AMD key server: deterministic RSA-4096 roots, certificates in AMD's KDS formats,
 * their storage. This module's job is X.509, so it uses OpenSSL's X.509 API directly. */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memcrypt/bytes.h>

#include "crypto/crypto.h"
#include "crypto/kdf.h"
#include "crypto/x509.h"
#include "snp/emu_roots.h"
#include "snp/kds.h"
#include "snp/kdscert.h"

/* 2024-01-01T00:00:00Z .. 2049-01-01T00:00:00Z for every emulated certificate (docs/snp-platform.md:
 * AMD's roots run 25 years and its VCEKs 7; a CI tool must not start failing in 2031). */
#define T_2024 1704067200L
#define T_2049 2493072000L
#define ITEM_MAX 8192u /* a root certificate or RSA-4096 private key DER is ~1.5-2.4 KiB */

static const char *const role_label[MC_KDS_NROOTS] = {"memcrypt-emulated-ark", "memcrypt-emulated-ask",
                                                       "memcrypt-emulated-asvk"};
static const char *const role_name[MC_KDS_NROOTS] = {"ARK", "ASK", "ASVK"};

void mc_kds_clear(struct mc_kds *k)
{
    if (!k)
        return;
    for (int i = 0; i < MC_KDS_NROOTS; i++) {
        mc_pk_free(k->key[i]);
        X509_free(k->cert[i]);
    }
    memset(k, 0, sizeof *k);
}

static EVP_PKEY *evp(const struct mc_pk *k) { return (EVP_PKEY *)mc_pk_evp(k); }

/* Certificates for t's three keys (ARK self-signed, ASK and ASVK signed by the ARK); *k = t on
 * success, t cleared on failure. */
static mc_status certify(struct mc_kds *k, struct mc_kds *t, mc_status st, struct mc_error *err)
{
    enum mc_snp_gen g = t->gen;
    if (!st)
        st = mc_kds_make_ca(NULL, MC_KDS_MARK_EMULATED, g, MC_KDS_ARK, evp(t->key[0]), NULL, evp(t->key[0]), T_2024,
                            T_2049, &t->cert[0], err);
    for (int i = 1; i < MC_KDS_NROOTS && !st; i++)
        st = mc_kds_make_ca(NULL, MC_KDS_MARK_EMULATED, g, (enum mc_kds_role)i, evp(t->key[i]), t->cert[0],
                            evp(t->key[0]), T_2024, T_2049, &t->cert[i], err);
    if (st) {
        mc_kds_clear(t);
        return st;
    }
    *k = *t;
    return MC_OK;
}

/* The CPU profile name of a generation (emu_roots.h's product). */
static const char *const emu_product[] = {[MC_SNP_GEN_MILAN] = "milan", [MC_SNP_GEN_GENOA] = "genoa",
                                          [MC_SNP_GEN_TURIN] = "turin"};

mc_status mc_kds_generate(struct mc_kds *k, enum mc_snp_gen g, const uint8_t *seed, size_t seed_len, unsigned bits,
                          struct mc_error *err)
{
    if (!k || !seed || seed_len < 16 || g < MC_SNP_GEN_MILAN || g > MC_SNP_GEN_TURIN || (bits != 2048 && bits != 4096))
        return mc_seterr(err, MC_E_INVAL,
                         "emulated KDS: a generation, a root seed of >= 16 bytes and 2048 or 4096 bits are needed");
    struct mc_kds t;
    memset(&t, 0, sizeof t);
    t.gen = g;
    mc_status st = MC_OK;
    uint8_t ctx = (uint8_t)g, rseed[48];
    for (int i = 0; i < MC_KDS_NROOTS && !st; i++) {
        struct mc_rng *rng = NULL;
        st = mc_kdf_sev(seed, seed_len, role_label[i], &ctx, 1, rseed, sizeof rseed, err);
        if (!st)
            st = mc_rng_create(rseed, sizeof rseed, &rng, err);
        if (!st)
            st = mc_rsa_generate(rng, bits, 65537, &t.key[i], err);
        mc_rng_destroy(rng);
    }
    mc_wipe(rseed, sizeof rseed);
    return certify(k, &t, st, err);
}

mc_status mc_kds_emulated(struct mc_kds *k, enum mc_snp_gen g, unsigned bits, struct mc_error *err)
{
    if (!k || g < MC_SNP_GEN_MILAN || g > MC_SNP_GEN_TURIN || (bits != 2048 && bits != 4096))
        return mc_seterr(err, MC_E_INVAL, "emulated KDS: a generation and 2048 or 4096 bits are needed");
    struct mc_kds t;
    memset(&t, 0, sizeof t);
    t.gen = g;
    mc_status st = MC_OK;
    for (int i = 0; i < MC_KDS_NROOTS && !st; i++)
        st = mc_emu_root_key(emu_product[g], (enum mc_emu_role)i, bits, &t.key[i], err);
    return certify(k, &t, st, err);
}

mc_status mc_kds_copy(struct mc_kds *dst, const struct mc_kds *src, struct mc_error *err)
{
    struct mc_kds t;
    memset(&t, 0, sizeof t);
    t.gen = src->gen;
    for (int i = 0; i < MC_KDS_NROOTS; i++) {
        mc_status st = mc_pk_dup(src->key[i], &t.key[i], err);
        if (st || !X509_up_ref(src->cert[i])) {
            mc_kds_clear(&t);
            return st ? st : mc_seterr(err, MC_E_CRYPTO, "sharing a root certificate failed");
        }
        t.cert[i] = src->cert[i];
    }
    *dst = t;
    return MC_OK;
}

mc_status mc_kds_cert_der(const struct mc_kds *k, int role, uint8_t **der, size_t *len, struct mc_error *err)
{
    if (!k || role < 0 || role >= MC_KDS_NROOTS || !k->cert[role] || !der || !len)
        return mc_seterr(err, MC_E_INVAL, "emulated KDS: no such root certificate");
    return mc_x509_der_malloc(k->cert[role], der, len, err);
}

mc_status mc_kds_crl_der(const struct mc_kds *k, uint8_t **der, size_t *len, struct mc_error *err)
{
    if (!k || !k->cert[0] || !k->key[0] || !der || !len)
        return mc_seterr(err, MC_E_INVAL, "emulated KDS: no ARK");
    return mc_kds_make_crl(NULL, k->cert[0], evp(k->key[0]), T_2024, T_2049, der, len, err);
}

mc_status mc_kds_issue(const struct mc_kds *k, bool vlek, unsigned stepping, uint64_t tcb, const uint8_t hwid[64],
                       const char *csp_id, const struct mc_pk *pub, uint8_t **der, size_t *len, struct mc_error *err)
{
    if (!k || !pub || !der || !len)
        return mc_seterr(err, MC_E_INVAL, "emulated KDS: NULL argument");
    struct mc_kds_leaf l = {.gen = k->gen, .vlek = vlek, .stepping = stepping, .tcb = tcb, .hwid = hwid,
                            .csp_id = csp_id};
    int issuer = vlek ? MC_KDS_ASVK : MC_KDS_ASK;
    X509 *x = NULL;
    mc_status st = mc_kds_make_leaf(NULL, MC_KDS_MARK_EMULATED, &l, evp(pub), k->cert[issuer], evp(k->key[issuer]),
                                    T_2024, T_2049, &x, err);
    if (!st)
        st = mc_x509_der_malloc(x, der, len, err);
    X509_free(x);
    return st;
}

size_t mc_kds_size(const struct mc_kds *k)
{
    (void)k;
    return MC_KDS_NROOTS * 2 * (4 + ITEM_MAX);
}

mc_status mc_kds_write(const struct mc_kds *k, uint8_t *out, size_t cap, size_t *used, struct mc_error *err)
{
    size_t o = 0;
    for (int i = 0; i < MC_KDS_NROOTS; i++) {
        uint8_t *item[2] = {NULL, NULL};
        size_t n[2] = {0, 0};
        mc_status st = mc_x509_der_malloc(k->cert[i], &item[0], &n[0], err);
        if (!st)
            st = mc_pk_private_der(k->key[i], &item[1], &n[1], err);
        for (int j = 0; j < 2 && !st; j++) {
            if (n[j] > ITEM_MAX || cap - o < 4 + n[j])
                st = mc_seterr(err, MC_E_RANGE, "emulated KDS: a stored item does not fit");
            else {
                mc_put_le32(out + o, (uint32_t)n[j]);
                memcpy(out + o + 4, item[j], n[j]);
                o += 4 + n[j];
            }
        }
        free(item[0]);
        if (item[1]) {
            mc_wipe(item[1], n[1]);
            free(item[1]);
        }
        if (st)
            return st;
    }
    *used = o;
    return MC_OK;
}

static mc_status bad(struct mc_error *err, const char *what, const char *why)
{
    return mc_seterr(err, MC_E_FORMAT, "the stored emulated %s %s", what, why);
}

/* One root: certificate (canonical DER, right name and marking, signed by the ARK or itself) and
 * its RSA key (4096 bits, or 2048 for tests; all three of one size). */
static mc_status read_root(struct mc_kds *t, int i, const uint8_t *cd, size_t cn, const uint8_t *kd, size_t kn,
                           struct mc_error *err)
{
    const char *what = role_name[i];
    if (cn >= 10 && !memcmp(cd, "-----BEGIN", 10))
        return bad(err, what, "certificate is not DER");
    if (mc_x509_load(cd, cn, what, &t->cert[i], NULL) != MC_OK)
        return bad(err, what, "certificate does not parse");
    uint8_t *re = NULL;
    size_t rn = 0;
    bool canon = mc_x509_der(t->cert[i], &re, &rn, NULL) == MC_OK && rn == cn && !memcmp(re, cd, cn);
    OPENSSL_free(re);
    if (!canon)
        return bad(err, what, "certificate is not in canonical DER");
    char want[64], have[64];
    const char *prod = mc_snp_gen_name(t->gen);
    snprintf(want, sizeof want, i == MC_KDS_ARK ? "ARK-%s" : i == MC_KDS_ASK ? "SEV-%s" : "SEV-VLEK-%s", prod);
    mc_x509_subject_cn(t->cert[i], have, sizeof have);
    if (strcmp(want, have))
        return mc_seterr(err, MC_E_FORMAT, "the stored emulated %s is named '%s', not '%s'", what, have, want);
    if (mc_kds_mark_of(X509_get_subject_name(t->cert[i])) != MC_KDS_MARK_EMULATED)
        return bad(err, what, "is not marked as memcrypt's EMULATED root");
    unsigned bits = i == MC_KDS_ARK ? 0 : mc_pk_rsa_bits(t->key[MC_KDS_ARK]);
    mc_status st = mc_pk_from_private_der(kd, kn, MC_PK_RSA, &t->key[i], NULL);
    if (st == MC_E_NOMEM)
        return mc_seterr(err, MC_E_NOMEM, "out of memory reading the stored emulated %s", what);
    if (st != MC_OK ||
        (mc_pk_rsa_bits(t->key[i]) != 4096 && mc_pk_rsa_bits(t->key[i]) != 2048) ||
        (bits && mc_pk_rsa_bits(t->key[i]) != bits))
        return bad(err, what, "private key is not an RSA-4096 (or -2048) key of the ARK's size");
    /* The key must be the certificate's (public parts equal) and work: a PSS signature made with
     * it verifies with the certificate's key (cheaper than OpenSSL's RSA pairwise check, which
     * re-tests the primes: ~300 ms per RSA-4096 key). A key that is byte for byte the generation's
     * fixed emulated root compiled into this program (what a chip without a root seed of its own
     * stores) is the key mc_kds_emulated signs with unchecked: only its pairing is checked, which
     * spares every process that loads a chip three RSA private-key operations. */
    EVP_PKEY *pk = evp(t->key[i]);
    int pair = X509_check_private_key(t->cert[i], pk) == 1;
    ERR_clear_error();
    static const char probe[] = "memcrypt emulated root key check";
    uint8_t sig[512];
    size_t sl = 0;
    if (pair && !mc_emu_root_is(emu_product[t->gen], (enum mc_emu_role)i, mc_pk_rsa_bits(t->key[i]), kd, kn)) {
        struct mc_pk *pub = NULL;
        uint8_t nb[512], eb[8];
        size_t nl = 0, el = 0;
        st = mc_rsa_pss_sign(t->key[i], "SHA384", 48, probe, sizeof probe, sig, sizeof sig, &sl, NULL);
        if (!st)
            st = mc_rsa_get_public(t->key[i], nb, sizeof nb, &nl, eb, sizeof eb, &el, NULL);
        if (!st)
            st = mc_rsa_from_public(nb, nl, eb, el, &pub, NULL);
        if (!st)
            st = mc_rsa_pss_verify(pub, "SHA384", 48, probe, sizeof probe, sig, sl, NULL);
        mc_pk_free(pub);
        if (st == MC_E_NOMEM)
            return mc_seterr(err, MC_E_NOMEM, "out of memory checking the stored emulated %s", what);
        pair = st == MC_OK;
    }
    if (!pair)
        return bad(err, what, "private key does not belong to its certificate");
    X509 *signer = i == MC_KDS_ARK ? t->cert[i] : t->cert[MC_KDS_ARK];
    int ok = X509_check_issued(signer, t->cert[i]) == X509_V_OK && X509_verify(t->cert[i], X509_get0_pubkey(signer)) == 1;
    ERR_clear_error();
    if (!ok)
        return bad(err, what, i == MC_KDS_ARK ? "ARK is not validly self-signed" : "certificate is not signed by the ARK");
    return MC_OK;
}

mc_status mc_kds_read(struct mc_kds *k, enum mc_snp_gen g, const uint8_t *buf, size_t len, size_t *used,
                      struct mc_error *err)
{
    if (!k || !buf || !used || g < MC_SNP_GEN_MILAN || g > MC_SNP_GEN_TURIN)
        return mc_seterr(err, MC_E_INVAL, "emulated KDS: bad arguments");
    struct mc_kds t;
    memset(&t, 0, sizeof t);
    t.gen = g;
    size_t o = 0;
    mc_status st = MC_OK;
    for (int i = 0; i < MC_KDS_NROOTS && !st; i++) {
        const uint8_t *item[2] = {NULL, NULL};
        size_t n[2] = {0, 0};
        for (int j = 0; j < 2 && !st; j++) {
            if (len - o < 4) {
                st = bad(err, role_name[i], "is truncated");
                break;
            }
            n[j] = mc_le32(buf + o);
            if (n[j] == 0 || n[j] > ITEM_MAX || n[j] > len - o - 4) {
                st = bad(err, role_name[i], "has an impossible length");
                break;
            }
            item[j] = buf + o + 4;
            o += 4 + n[j];
        }
        if (!st)
            st = read_root(&t, i, item[0], n[0], item[1], n[1], err);
    }
    if (st) {
        mc_kds_clear(&t);
        return st;
    }
    *k = t;
    *used = o;
    return MC_OK;
}
