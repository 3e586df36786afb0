/* Tests of the emulated platform identity: chain validity, CEK derivation rule, PEK_GEN /
 * PDH_GEN, PEK_CSR -> sign -> PEK_CERT_IMPORT with every failure code (state unchanged),
 * GET_ID, and the state blob (round trip, truncation, corruption, foreign files). */
#include <memcrypt/bytes.h>
#include <memcrypt/sev_identity.h>

#include "check.h"
#include "crypto/crypto.h"
#include "crypto/kdf.h"
#include "crypto/pk.h"
#include "sev/cert_key.h"

static struct mc_rng *rng_of(const char *s)
{
    struct mc_rng *r = NULL;
    mc_rng_create((const uint8_t *)s, strlen(s), &r, NULL);
    return r;
}

static void get(const struct mc_sev_identity *id, enum mc_sev_id_cert w, struct mc_sev_cert *c)
{
    uint8_t b[MC_SEV_CERT_LEN];
    size_t n = 0;
    CHECK(mc_sev_identity_cert(id, w, b, sizeof b, &n, NULL) == MC_OK && n == MC_SEV_CERT_LEN);
    CHECK(mc_sev_cert_parse(b, n, c, NULL) == MC_OK);
}

static void get_amd(const struct mc_sev_identity *id, enum mc_sev_id_cert w, struct mc_amd_cert *c)
{
    uint8_t b[MC_AMD_CERT_MAX_LEN];
    size_t n = 0;
    CHECK(mc_sev_identity_cert(id, w, b, sizeof b, &n, NULL) == MC_OK);
    CHECK(mc_amd_cert_parse(b, n, c, NULL) == MC_OK);
}

static void check_chain(const struct mc_sev_identity *id)
{
    struct mc_amd_cert ark, ask;
    struct mc_sev_cert cek, oca, pek, pdh;
    get_amd(id, MC_SEV_ID_ARK, &ark);
    get_amd(id, MC_SEV_ID_ASK, &ask);
    get(id, MC_SEV_ID_CEK, &cek);
    get(id, MC_SEV_ID_OCA, &oca);
    get(id, MC_SEV_ID_PEK, &pek);
    get(id, MC_SEV_ID_PDH, &pdh);
    CHECK(mc_amd_cert_is_emulated(&ark) && mc_amd_cert_is_emulated(&ask));
    CHECK(mc_sev_root_match_ark(&ark) == NULL);
    CHECK(mc_amd_cert_verify(&ark, &ark, NULL) == MC_OK);
    CHECK(mc_amd_cert_verify(&ask, &ark, NULL) == MC_OK);
    CHECK(mc_sev_cert_verify_by_ask(&cek, &ask, NULL) == MC_OK);
    CHECK(mc_sev_cert_verify(&oca, &oca, NULL) == MC_OK);
    CHECK(mc_sev_cert_verify(&pek, &oca, NULL) == MC_OK);
    CHECK(mc_sev_cert_verify(&pek, &cek, NULL) == MC_OK);
    CHECK(mc_sev_cert_verify(&pdh, &pek, NULL) == MC_OK);
    CHECK(pdh.algo == MC_SEV_ALGO_ECDH_SHA256 && pek.algo == MC_SEV_ALGO_ECDSA_SHA256);
    CHECK(pek.api_major == 0 && pek.api_minor == 24);
}

static void test_new_and_chain(void)
{
    struct mc_rng *r = rng_of("id-1");
    struct mc_sev_identity_params p = {0, 24, 15, 2048};
    struct mc_sev_identity *id = NULL;
    CHECK(mc_sev_identity_create(r, &p, &id, NULL) == MC_OK);
    if (!id)
        return;
    check_chain(id);
    CHECK(!mc_sev_identity_is_owned(id));
    /* Real AMD ASKs do not verify the emulated CEK. */
    size_t n;
    const struct mc_sev_root *roots = mc_sev_roots(&n);
    CHECK(n == 5);
    struct mc_sev_cert cek;
    get(id, MC_SEV_ID_CEK, &cek);
    for (size_t i = 0; i < n; i++) {
        struct mc_amd_cert ask;
        CHECK(mc_amd_cert_parse(roots[i].ask, roots[i].ask_len, &ask, NULL) == MC_OK);
        CHECK(mc_sev_cert_verify_by_ask(&cek, &ask, NULL) == MC_E_VERIFY);
    }
    /* PDH_CERT_EXPORT: PEK || OCA || CEK with the CEK unsigned. */
    uint8_t pdh[MC_SEV_CERT_LEN], chain[MC_SEV_CHAIN_LEN];
    mc_sev_identity_pdh_export(id, pdh, chain);
    struct mc_sev_cert c3;
    CHECK(mc_sev_cert_parse(chain + 2 * MC_SEV_CERT_LEN, MC_SEV_CERT_LEN, &c3, NULL) == MC_OK);
    CHECK(c3.usage == MC_SEV_USAGE_CEK && !mc_sev_cert_slot_used(&c3, 0) && !mc_sev_cert_slot_used(&c3, 1));
    /* PDH_GEN changes only the PDH; PEK_GEN changes OCA/PEK/PDH but not the CEK. */
    struct mc_sev_cert pek0, pdh0, pek1, pdh1, cek1;
    get(id, MC_SEV_ID_PEK, &pek0);
    get(id, MC_SEV_ID_PDH, &pdh0);
    CHECK(mc_sev_identity_pdh_gen(id, r, NULL) == MC_OK);
    get(id, MC_SEV_ID_PEK, &pek1);
    get(id, MC_SEV_ID_PDH, &pdh1);
    CHECK(!memcmp(pek0.pubkey, pek1.pubkey, MC_SEV_PUBKEY_LEN) && memcmp(pdh0.pubkey, pdh1.pubkey, MC_SEV_PUBKEY_LEN));
    CHECK(mc_sev_identity_pek_gen(id, r, NULL) == MC_OK);
    get(id, MC_SEV_ID_PEK, &pek1);
    get(id, MC_SEV_ID_CEK, &cek1);
    CHECK(memcmp(pek0.pubkey, pek1.pubkey, MC_SEV_PUBKEY_LEN) != 0 && !memcmp(cek.pubkey, cek1.pubkey, MC_SEV_PUBKEY_LEN));
    check_chain(id);
    /* GET_ID is stable for the chip. */
    uint8_t a[64], b[64];
    CHECK(mc_sev_identity_get_id(id, a, NULL) == MC_OK && mc_sev_identity_get_id(id, b, NULL) == MC_OK);
    CHECK_MEM(a, b, 64);
    mc_sev_identity_destroy(id);
    mc_rng_destroy(r);
}

static void test_pek_import(void)
{
    struct mc_rng *r = rng_of("id-import");
    struct mc_sev_identity_params p = {0, 24, 15, 2048};
    struct mc_sev_identity *id = NULL;
    CHECK(mc_sev_identity_create(r, &p, &id, NULL) == MC_OK);
    if (!id)
        return;
    /* The external owner: its own OCA key signs the CSR. */
    struct mc_pk *ok = NULL;
    CHECK(mc_p384_generate(r, &ok, NULL) == MC_OK);
    struct mc_sev_cert oca, csr;
    CHECK(mc_sev_cert_init(&oca, MC_SEV_USAGE_OCA, MC_SEV_ALGO_ECDSA_SHA256, 0, 24, ok, NULL) == MC_OK);
    CHECK(mc_sev_cert_sign(&oca, 0, ok, MC_SEV_USAGE_OCA, MC_SEV_ALGO_ECDSA_SHA256, NULL) == MC_OK);
    uint8_t csr_b[MC_SEV_CERT_LEN], oca_b[MC_SEV_CERT_LEN], pek_b[MC_SEV_CERT_LEN];
    mc_sev_identity_pek_csr(id, csr_b);
    CHECK(mc_sev_cert_parse(csr_b, sizeof csr_b, &csr, NULL) == MC_OK);
    CHECK(!mc_sev_cert_slot_used(&csr, 0) && !mc_sev_cert_slot_used(&csr, 1));
    CHECK(mc_sev_cert_sign(&csr, 0, ok, MC_SEV_USAGE_OCA, MC_SEV_ALGO_ECDSA_SHA256, NULL) == MC_OK);
    mc_sev_cert_serialize(&csr, pek_b);
    mc_sev_cert_serialize(&oca, oca_b);

    uint8_t *before = NULL, *after = NULL;
    size_t bl = 0, al = 0;
    CHECK(mc_sev_identity_serialize(id, &before, &bl, NULL) == MC_OK);
    enum mc_sev_id_result res;
    /* Failures leave the identity byte-identical. */
    CHECK(mc_sev_identity_pek_import(id, r, pek_b, 0x823, oca_b, sizeof oca_b, &res, NULL) != MC_OK &&
          res == MC_SEV_ID_BAD_LENGTH);
    uint8_t bad[MC_SEV_CERT_LEN];
    memcpy(bad, oca_b, sizeof bad);
    bad[0x100] ^= 1; /* OCA self-signature broken (byte in the signed key area; may also be off-curve) */
    CHECK(mc_sev_identity_pek_import(id, r, pek_b, sizeof pek_b, bad, sizeof bad, &res, NULL) != MC_OK &&
          (res == MC_SEV_ID_BAD_SIGNATURE || res == MC_SEV_ID_INVALID_CERT));
    memcpy(bad, oca_b, sizeof bad);
    bad[0x41C] ^= 1; /* signature r */
    CHECK(mc_sev_identity_pek_import(id, r, pek_b, sizeof pek_b, bad, sizeof bad, &res, NULL) == MC_E_VERIFY &&
          res == MC_SEV_ID_BAD_SIGNATURE);
    CHECK(mc_sev_identity_pek_import(id, r, oca_b, sizeof oca_b, oca_b, sizeof oca_b, &res, NULL) != MC_OK &&
          res == MC_SEV_ID_INVALID_CERT); /* PEK slot holds an OCA */
    memcpy(bad, pek_b, sizeof bad);
    bad[0x5] ^= 1; /* body differs from our PEK (api_minor) */
    CHECK(mc_sev_identity_pek_import(id, r, bad, sizeof bad, oca_b, sizeof oca_b, &res, NULL) != MC_OK &&
          res == MC_SEV_ID_INVALID_CERT);
    memcpy(bad, pek_b, sizeof bad);
    bad[0x41C + 5] ^= 1;
    CHECK(mc_sev_identity_pek_import(id, r, bad, sizeof bad, oca_b, sizeof oca_b, &res, NULL) == MC_E_VERIFY &&
          res == MC_SEV_ID_BAD_SIGNATURE);
    CHECK(mc_sev_identity_serialize(id, &after, &al, NULL) == MC_OK);
    CHECK(bl == al && !memcmp(before, after, bl));
    free(after);
    /* Success: externally owned, OCA is the owner's, PEK carries both signatures, new PDH. */
    struct mc_sev_cert pdh0;
    get(id, MC_SEV_ID_PDH, &pdh0);
    CHECK(mc_sev_identity_pek_import(id, r, pek_b, sizeof pek_b, oca_b, sizeof oca_b, &res, NULL) == MC_OK &&
          res == MC_SEV_ID_OK);
    CHECK(mc_sev_identity_is_owned(id));
    struct mc_sev_cert oca2, pdh1;
    get(id, MC_SEV_ID_OCA, &oca2);
    get(id, MC_SEV_ID_PDH, &pdh1);
    CHECK(!memcmp(oca2.pubkey, oca.pubkey, MC_SEV_PUBKEY_LEN));
    CHECK(memcmp(pdh0.pubkey, pdh1.pubkey, MC_SEV_PUBKEY_LEN) != 0);
    check_chain(id);
    CHECK(mc_sev_identity_pek_import(id, r, pek_b, sizeof pek_b, oca_b, sizeof oca_b, &res, NULL) != MC_OK &&
          res == MC_SEV_ID_ALREADY_OWNED);
    /* State round trip of an owned platform; PEK_GEN makes it self-owned again. */
    uint8_t *s = NULL;
    size_t sl = 0;
    CHECK(mc_sev_identity_serialize(id, &s, &sl, NULL) == MC_OK);
    struct mc_sev_identity *id2 = NULL;
    CHECK(mc_sev_identity_deserialize(s, sl, &id2, NULL) == MC_OK);
    CHECK(id2 && mc_sev_identity_is_owned(id2));
    if (id2) {
        CHECK(mc_sev_identity_pek_gen(id2, r, NULL) == MC_OK && !mc_sev_identity_is_owned(id2));
        check_chain(id2);
    }
    mc_sev_identity_destroy(id2);
    free(s);
    free(before);
    mc_pk_free(ok);
    mc_sev_identity_destroy(id);
    mc_rng_destroy(r);
}

static void test_state_blob(void)
{
    struct mc_rng *r = rng_of("id-state");
    struct mc_sev_identity_params p = {0, 23, 3, 2048};
    struct mc_sev_identity *id = NULL;
    CHECK(mc_sev_identity_create(r, &p, &id, NULL) == MC_OK);
    if (!id)
        return;
    uint8_t *s = NULL, *s2 = NULL;
    size_t sl = 0, sl2 = 0;
    CHECK(mc_sev_identity_serialize(id, &s, &sl, NULL) == MC_OK);
    struct mc_sev_identity *back = NULL;
    CHECK(mc_sev_identity_deserialize(s, sl, &back, NULL) == MC_OK);
    CHECK(back && mc_sev_identity_serialize(back, &s2, &sl2, NULL) == MC_OK && sl2 == sl && !memcmp(s, s2, sl));
    uint8_t a[64], b[64];
    CHECK(back && mc_sev_identity_get_id(id, a, NULL) == MC_OK && mc_sev_identity_get_id(back, b, NULL) == MC_OK &&
          !memcmp(a, b, 64));
    uint8_t maj, min, bld;
    if (back) {
        mc_sev_identity_version(back, &maj, &min, &bld);
        CHECK(maj == 0 && min == 23 && bld == 3);
    }
    mc_sev_identity_destroy(back);
    free(s2);
    /* Every truncation and a flip in each region is refused with MC_E_FORMAT. */
    struct mc_error e;
    unsigned refused = 0, tried = 0;
    for (size_t cut = 0; cut < sl; cut += 97, tried++)
        refused += mc_sev_identity_deserialize(s, cut, &back, &e) == MC_E_FORMAT;
    for (size_t off = 0; off < sl; off += 61, tried++) {
        s[off] ^= 0x10;
        refused += mc_sev_identity_deserialize(s, sl, &back, &e) == MC_E_FORMAT;
        s[off] ^= 0x10;
    }
    CHECK_MSG(refused == tried, "%u of %u", refused, tried);
    CHECK(mc_sev_identity_deserialize((const uint8_t *)"PK\x03\x04 not ours", 16, &back, &e) == MC_E_FORMAT);
    CHECK(strstr(e.msg, "magic") != NULL);
    /* A blob whose checksum is recomputed after tampering with a key is still refused. */
    size_t pek_priv = sl - 32 - 2 * 48;
    s[pek_priv + 10] ^= 1;
    CHECK(mc_sha256(s, sl - 32, s + sl - 32, NULL) == MC_OK);
    CHECK(mc_sev_identity_deserialize(s, sl, &back, &e) == MC_E_FORMAT);
    free(s);
    mc_sev_identity_destroy(id);
    mc_rng_destroy(r);
}

/* The CEK follows the SEV API rule: a CUK whose derived key we can recompute here. */
static void test_cek_rule(void)
{
    struct mc_rng *r = rng_of("id-cek");
    struct mc_sev_identity_params p = {0, 24, 1, 2048};
    struct mc_sev_identity *id = NULL;
    CHECK(mc_sev_identity_create(r, &p, &id, NULL) == MC_OK);
    if (!id)
        return;
    /* The CUK is the first 32 bytes drawn from the rng (documented order). */
    struct mc_rng *r2 = rng_of("id-cek");
    uint8_t cuk[32], seed[32], c[56];
    CHECK(mc_rng_bytes(r2, cuk, 32, NULL) == MC_OK);
    CHECK(mc_sha256(cuk, 32, seed, NULL) == MC_OK);
    CHECK(mc_kdf_sev(seed, 32, "sev-chip-endorsement-key", NULL, 0, c, 56, NULL) == MC_OK);
    struct mc_pk *k = NULL;
    CHECK(mc_p384_from_bits(c, 56, &k, NULL) == MC_OK);
    struct mc_sev_cert want, cek;
    CHECK(mc_sev_cert_init(&want, MC_SEV_USAGE_CEK, MC_SEV_ALGO_ECDSA_SHA256, 0, 24, k, NULL) == MC_OK);
    get(id, MC_SEV_ID_CEK, &cek);
    CHECK_MEM(want.pubkey, cek.pubkey, MC_SEV_PUBKEY_LEN);
    mc_pk_free(k);
    mc_sev_identity_destroy(id);
    mc_rng_destroy(r);
    mc_rng_destroy(r2);
}

int main(void)
{
    RUN(test_new_and_chain);
    RUN(test_pek_import);
    RUN(test_state_blob);
    RUN(test_cek_rule);
    return check_summary();
}
