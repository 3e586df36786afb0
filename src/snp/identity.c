/* The emulated chip's SEV-SNP identity: VCEK by AMD's hash-stick chain, VLEK load (SNP_VLEK_LOAD)
 * and wrap, CHIP_ID, certificates from the emulated KDS, persistence.
 *
 * Derivations (all SP 800-108 = mc_kdf_sev: HMAC-SHA-256, LE32 counter, label, 0x00, context,
 * LE32 bit length — the firmware's nist_kdf):
 *   VCEK hash-stick root   KDF(chip secret, "memcrypt-snp-vcek-root", 48 bytes)   (AMD: a fused
 *                          per-chip seed the boot ROM provides; ours comes from the chip secret)
 *   VCEK seed at TCB       stick 7 of mc_snp_hash_sticks(root, TCB)                (ASPFW vcek_hash)
 *   VCEK key               P-384 from KDF(seed, "sev-versioned-chip-endorsement-key", 56 bytes)
 *                          as extra random bits (ASPFW key_from_hash)
 *   VLEK wrapping key      KDF(VCEK seed at REPORTED_TCB, "vlek-wrapping-key", 32 bytes)
 *   VLEK key               P-384 from KDF(stick 7 of the unwrapped hashstick,
 *                          "sev-versioned-loaded-attestation-key", 56 bytes)
 *   CHIP_ID (default)      KDF(chip secret, "memcrypt-snp-chip-id", 64 bytes); Turin keeps 8
 *   emulated root seed     KDF(chip secret, "memcrypt-emulated-amd-root", 48 bytes) unless given
 * Labels without "memcrypt" are the ASPFW firmware's own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/snp_verify.h>

#include "crypto/crypto.h"
#include "crypto/hashctx.h"
#include "crypto/gcm.h"
#include "crypto/kdf.h"
#include "crypto/pk.h"
#include "crypto/x509.h"
#include "snp/identity.h"
#include "snp/kds.h"

#define NSTICKS 8
#define STICKS_LEN (NSTICKS * MC_SNP_SEED_LEN) /* 0x180: the wrapped VLEK */
#define VCEK_CACHE 4

/* SNP_VLEK_LOAD hashstick (digest §2.3, ASPFW vlek_wrapped_t). */
enum { VW_IV = 0x000, VW_RSVD = 0x00C, VW_SEED = 0x010, VW_TCB = 0x190, VW_RSVD2 = 0x198, VW_TAG = 0x1A0,
       VW_END = 0x1B0 };
_Static_assert(VW_RSVD == VW_IV + MC_GCM_IV_LEN && VW_SEED == VW_RSVD + 4, "VLEK hashstick layout");
_Static_assert(VW_TCB == VW_SEED + STICKS_LEN && VW_RSVD2 == VW_TCB + 8 && VW_TAG == VW_RSVD2 + 8, "VLEK hashstick layout");
_Static_assert(VW_END == VW_TAG + MC_GCM_TAG_LEN && VW_END == MC_SNP_VLEK_WRAPPED_LEN, "VLEK hashstick size");
/* SNP_VLEK_LOAD command buffer. */
enum { VL_LENGTH = 0x0, VL_VERSION = 0x4, VL_RSVD = 0x5, VL_PADDR = 0x8, VL_END = 0x10 };
_Static_assert(VL_VERSION == VL_LENGTH + 4 && VL_RSVD == VL_VERSION + 1 && VL_PADDR == VL_RSVD + 3, "VLEK_LOAD layout");
_Static_assert(VL_END == VL_PADDR + 8 && VL_END == MC_SNP_VLEK_LOAD_CMD_LEN, "VLEK_LOAD size");

struct vcek_slot {
    bool used;
    uint64_t tcb;
    unsigned last;
    uint8_t seed[MC_SNP_SEED_LEN];
    struct mc_pk *key;
    uint8_t *cert; /* the VCEK certificate at tcb (DER), issued on first use; NULL until then */
    size_t cert_len;
};

struct mc_snp_identity {
    enum mc_snp_gen gen;
    unsigned stepping;
    uint8_t secret[MC_SNP_SECRET_LEN];
    uint8_t chip_id[MC_SNP_CHIP_ID_LEN];
    uint8_t root[MC_SNP_SEED_LEN]; /* VCEK hash-stick root (derived from the secret) */
    struct mc_kds kds;
    bool vlek;
    uint64_t vlek_tcb;
    uint8_t vlek_sticks[NSTICKS][MC_SNP_SEED_LEN];
    struct mc_pk *vlek_key;
    struct vcek_slot cache[VCEK_CACHE];
    unsigned tick;
};

static const char VCEK_LABEL[] = "sev-versioned-chip-endorsement-key";
static const char VLEK_LABEL[] = "sev-versioned-loaded-attestation-key";
static const char WRAP_LABEL[] = "vlek-wrapping-key";

mc_status mc_snp_hash_sticks(const uint8_t root[MC_SNP_SEED_LEN], uint64_t tcb, uint8_t sticks[8][MC_SNP_SEED_LEN],
                             struct mc_error *err)
{
    if (!root || !sticks)
        return mc_seterr(err, MC_E_INVAL, "hash stick: NULL argument");
    struct mc_hashctx *h = NULL;
    mc_status st = mc_hashctx_create("SHA384", &h, err);
    uint8_t base[MC_SNP_SEED_LEN], d[MC_SNP_SEED_LEN], zero[8] = {0};
    memcpy(base, root, sizeof base);
    for (int i = 0; i < NSTICKS && !st; i++) {
        unsigned v = (unsigned)(tcb >> (8 * i)) & 0xff;
        memcpy(d, base, sizeof d);
        for (unsigned k = 255; k > v && !st; k--) {
            st = mc_hashctx_update(h, d, sizeof d, err);
            if (!st)
                st = mc_hashctx_final(h, d, err);
        }
        if (!st && i < NSTICKS - 1) {
            st = mc_hashctx_update(h, zero, sizeof zero, err);
            if (!st)
                st = mc_hashctx_update(h, d, sizeof d, err);
            if (!st)
                st = mc_hashctx_final(h, base, err);
        }
        if (!st)
            st = mc_hashctx_update(h, d, sizeof d, err);
        if (!st)
            st = mc_hashctx_final(h, sticks[i], err);
    }
    mc_hashctx_destroy(h);
    mc_wipe(base, sizeof base);
    mc_wipe(d, sizeof d);
    if (st)
        mc_wipe(sticks, STICKS_LEN);
    return st;
}

static mc_status key_from_hash(const uint8_t seed[MC_SNP_SEED_LEN], const char *label, struct mc_pk **out,
                               struct mc_error *err)
{
    uint8_t c[MC_P384_LEN + 8];
    mc_status st = mc_kdf_sev(seed, MC_SNP_SEED_LEN, label, NULL, 0, c, sizeof c, err);
    if (!st)
        st = mc_p384_from_bits(c, sizeof c, out, err);
    mc_wipe(c, sizeof c);
    return st;
}

void mc_snp_identity_destroy(struct mc_snp_identity *id)
{
    if (!id)
        return;
    mc_kds_clear(&id->kds);
    mc_pk_free(id->vlek_key);
    for (int i = 0; i < VCEK_CACHE; i++) {
        mc_pk_free(id->cache[i].key);
        free(id->cache[i].cert);
    }
    mc_wipe(id, sizeof *id);
    free(id);
}

static bool gen_ok(enum mc_snp_gen g) { return g == MC_SNP_GEN_MILAN || g == MC_SNP_GEN_GENOA || g == MC_SNP_GEN_TURIN; }

static bool zero_bytes(const uint8_t *p, size_t n)
{
    uint8_t a = 0;
    for (size_t i = 0; i < n; i++)
        a |= p[i];
    return a == 0;
}

/* Everything derived from the chip secret (the root of the hash sticks). */
static mc_status derive_root(struct mc_snp_identity *id, struct mc_error *err)
{
    return mc_kdf_sev(id->secret, sizeof id->secret, "memcrypt-snp-vcek-root", NULL, 0, id->root, sizeof id->root, err);
}

mc_status mc_snp_identity_create(const struct mc_snp_identity_params *p, struct mc_snp_identity **out,
                              struct mc_error *err)
{
    if (!p || !out || !p->chip_secret)
        return mc_seterr(err, MC_E_INVAL, "SNP identity: parameters and a chip secret are required");
    if (!gen_ok(p->gen))
        return mc_seterr(err, MC_E_INVAL, "SNP identity: the generation must be Milan, Genoa or Turin");
    if (p->stepping > 9)
        return mc_seterr(err, MC_E_INVAL, "SNP identity: stepping %u is not 0..9", p->stepping);
    if (p->chip_id && p->gen == MC_SNP_GEN_TURIN && !zero_bytes(p->chip_id + 8, MC_SNP_CHIP_ID_LEN - 8))
        return mc_seterr(err, MC_E_INVAL, "SNP identity: a Turin CHIP_ID has 8 bytes (bytes 8..63 must be zero)");
    if (p->roots_from && p->roots_from->gen != p->gen)
        return mc_seterr(err, MC_E_INVAL, "SNP identity: the shared root is %s's, this chip is a %s",
                         mc_snp_gen_name(p->roots_from->gen), mc_snp_gen_name(p->gen));
    if (!p->roots_from && p->root_seed && p->root_seed_len < 16)
        return mc_seterr(err, MC_E_INVAL, "SNP identity: a root seed needs at least 16 bytes");
    unsigned bits = p->root_bits ? p->root_bits : 4096;
    if (bits != 2048 && bits != 4096)
        return mc_seterr(err, MC_E_INVAL, "SNP identity: emulated roots are RSA-4096 (or 2048 for tests), not %u", bits);
    struct mc_snp_identity *id = calloc(1, sizeof *id);
    if (!id)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    id->gen = p->gen;
    id->stepping = p->stepping;
    memcpy(id->secret, p->chip_secret, MC_SNP_SECRET_LEN);
    mc_status st = derive_root(id, err);
    if (!st && p->chip_id)
        memcpy(id->chip_id, p->chip_id, MC_SNP_CHIP_ID_LEN);
    else if (!st) {
        st = mc_kdf_sev(id->secret, sizeof id->secret, "memcrypt-snp-chip-id", NULL, 0, id->chip_id,
                        sizeof id->chip_id, err);
        if (id->gen == MC_SNP_GEN_TURIN)
            memset(id->chip_id + 8, 0, MC_SNP_CHIP_ID_LEN - 8);
    }
    if (!st && p->roots_from) {
        st = mc_kds_copy(&id->kds, &p->roots_from->kds, err);
    } else if (!st && p->root_seed) {
        st = mc_kds_generate(&id->kds, id->gen, p->root_seed, p->root_seed_len, bits, err);
    } else if (!st) {
        st = mc_kds_emulated(&id->kds, id->gen, bits, err); /* the generation's, as on a real chip */
    }
    if (st) {
        mc_snp_identity_destroy(id);
        return st;
    }
    *out = id;
    return MC_OK;
}

enum mc_snp_gen mc_snp_identity_gen(const struct mc_snp_identity *id) { return id ? id->gen : MC_SNP_GEN_UNKNOWN; }

void mc_snp_identity_chip_id(const struct mc_snp_identity *id, uint8_t out[MC_SNP_CHIP_ID_LEN])
{
    memcpy(out, id->chip_id, MC_SNP_CHIP_ID_LEN);
}

/* The cache slot for tcb, deriving the seed and key on a miss (least recently used slot). */
static mc_status vcek_slot(struct mc_snp_identity *id, uint64_t tcb, struct vcek_slot **out, struct mc_error *err)
{
    struct vcek_slot *s = NULL, *victim = &id->cache[0];
    for (int i = 0; i < VCEK_CACHE && !s; i++) {
        if (id->cache[i].used && id->cache[i].tcb == tcb)
            s = &id->cache[i];
        else if (!id->cache[i].used || (victim->used && id->cache[i].last < victim->last))
            victim = &id->cache[i];
    }
    if (!s) {
        uint8_t sticks[NSTICKS][MC_SNP_SEED_LEN];
        struct mc_pk *k = NULL;
        mc_status st = mc_snp_hash_sticks(id->root, tcb, sticks, err);
        if (!st)
            st = key_from_hash(sticks[NSTICKS - 1], VCEK_LABEL, &k, err);
        if (st) {
            mc_wipe(sticks, sizeof sticks);
            return st;
        }
        mc_pk_free(victim->key);
        free(victim->cert);
        victim->cert = NULL;
        victim->cert_len = 0;
        victim->key = k;
        victim->used = true;
        victim->tcb = tcb;
        memcpy(victim->seed, sticks[NSTICKS - 1], MC_SNP_SEED_LEN);
        mc_wipe(sticks, sizeof sticks);
        s = victim;
    }
    s->last = ++id->tick;
    *out = s;
    return MC_OK;
}

mc_status mc_snp_identity_vcek_seed(struct mc_snp_identity *id, uint64_t tcb, uint8_t seed[MC_SNP_SEED_LEN],
                                    struct mc_error *err)
{
    if (!id || !seed)
        return mc_seterr(err, MC_E_INVAL, "VCEK seed: NULL argument");
    struct vcek_slot *s;
    mc_status st = vcek_slot(id, tcb, &s, err);
    if (!st)
        memcpy(seed, s->seed, MC_SNP_SEED_LEN);
    return st;
}

mc_status mc_snp_identity_vcek_key(struct mc_snp_identity *id, uint64_t tcb, const struct mc_pk **key,
                                   struct mc_error *err)
{
    if (!id || !key)
        return mc_seterr(err, MC_E_INVAL, "VCEK: NULL argument");
    struct vcek_slot *s;
    mc_status st = vcek_slot(id, tcb, &s, err);
    if (!st)
        *key = s->key;
    return st;
}

mc_status mc_snp_identity_vcek_public(struct mc_snp_identity *id, uint64_t tcb, uint8_t x[72], uint8_t y[72],
                                      struct mc_error *err)
{
    const struct mc_pk *k = NULL; /* set whenever the call succeeds */
    mc_status st = mc_snp_identity_vcek_key(id, tcb, &k, err);
    return st ? st : mc_p384_get_public_le72(k, x, y, err);
}

const struct mc_pk *mc_snp_identity_vlek_key(const struct mc_snp_identity *id) { return id && id->vlek ? id->vlek_key : NULL; }
bool mc_snp_identity_vlek_loaded(const struct mc_snp_identity *id) { return id && id->vlek; }
uint64_t mc_snp_identity_vlek_tcb(const struct mc_snp_identity *id) { return id && id->vlek ? id->vlek_tcb : 0; }

void mc_snp_identity_vlek_clear(struct mc_snp_identity *id)
{
    if (!id)
        return;
    mc_pk_free(id->vlek_key);
    id->vlek_key = NULL;
    id->vlek = false;
    id->vlek_tcb = 0;
    mc_wipe(id->vlek_sticks, sizeof id->vlek_sticks);
}

mc_status mc_snp_identity_vlek_seed(const struct mc_snp_identity *id, uint8_t seed[MC_SNP_SEED_LEN], struct mc_error *err)
{
    if (!id || !seed)
        return mc_seterr(err, MC_E_INVAL, "VLEK seed: NULL argument");
    if (!id->vlek)
        return mc_seterr(err, MC_E_STATE, "no VLEK is loaded");
    memcpy(seed, id->vlek_sticks[NSTICKS - 1], MC_SNP_SEED_LEN);
    return MC_OK;
}

static mc_status wrapping_key(struct mc_snp_identity *id, uint64_t tcb, uint8_t key[MC_GCM_KEY_LEN], struct mc_error *err)
{
    struct vcek_slot *s;
    mc_status st = vcek_slot(id, tcb, &s, err);
    return st ? st : mc_kdf_sev(s->seed, MC_SNP_SEED_LEN, WRAP_LABEL, NULL, 0, key, MC_GCM_KEY_LEN, err);
}

void mc_snp_vlek_load_cmd(const uint8_t cmd[MC_SNP_VLEK_LOAD_CMD_LEN], uint64_t *wrapped_paddr, mc_fw_status *fw)
{
    /* ASPFW snp_mcmd_vlek_load: length, version 0 and the three reserved bytes, else INVALID_PARAM. */
    bool ok = cmd && mc_le32(cmd + VL_LENGTH) == MC_SNP_VLEK_LOAD_CMD_LEN && cmd[VL_VERSION] == 0 &&
              zero_bytes(cmd + VL_RSVD, 3);
    if (ok && wrapped_paddr)
        *wrapped_paddr = mc_le64(cmd + VL_PADDR);
    if (fw)
        *fw = ok ? MC_FW_SUCCESS : MC_FW_INVALID_PARAM;
}

mc_status mc_snp_identity_vlek_load(struct mc_snp_identity *id, const uint8_t *w, size_t len, uint64_t reported_tcb,
                                    mc_fw_status *fw, struct mc_error *err)
{
    mc_fw_status dummy;
    if (!fw)
        fw = &dummy;
    *fw = MC_FW_INVALID_PARAM;
    if (!id || !w)
        return mc_seterr(err, MC_E_INVAL, "VLEK_LOAD: NULL argument");
    if (len != MC_SNP_VLEK_WRAPPED_LEN) {
        mc_seterr(err, MC_E_FORMAT, "VLEK_LOAD: a wrapped VLEK is 0x1B0 bytes, not %zu", len);
        return MC_OK;
    }
    /* The firmware checks the TCB against REPORTED_TCB first (BAD_SVN), then unwraps with the
     * key of the VCEK at REPORTED_TCB, authenticating the TCB and its reserved qword (AAD =
     * bytes 0x190..0x19F); a tag mismatch is BAD_MEASUREMENT. Bytes 0x0C..0x0F are neither
     * checked nor authenticated by the firmware, and are not here. */
    uint64_t tcb = mc_le64(w + VW_TCB);
    if (tcb != reported_tcb) {
        *fw = MC_FW_BAD_SVN;
        mc_seterr(err, MC_E_VERIFY, "VLEK_LOAD: the VLEK is for TCB 0x%016llx, the platform reports 0x%016llx",
                  (unsigned long long)tcb, (unsigned long long)reported_tcb);
        return MC_OK;
    }
    uint8_t key[MC_GCM_KEY_LEN], sticks[NSTICKS][MC_SNP_SEED_LEN];
    struct mc_pk *vk = NULL;
    mc_status st = wrapping_key(id, reported_tcb, key, err);
    if (st)
        return st;
    struct mc_error ge;
    st = mc_aes256_gcm_open(key, w + VW_IV, w + VW_TCB, 16, w + VW_SEED, STICKS_LEN, w + VW_TAG, &sticks[0][0], &ge);
    mc_wipe(key, sizeof key);
    if (st == MC_E_VERIFY) {
        *fw = MC_FW_BAD_MEASUREMENT;
        mc_seterr(err, MC_E_VERIFY, "VLEK_LOAD: the wrapped VLEK does not authenticate (not wrapped for this chip "
                                    "at this TCB, or altered)");
        return MC_OK;
    }
    if (st)
        return mc_seterr(err, st, "VLEK_LOAD: %s", ge.msg);
    st = key_from_hash(sticks[NSTICKS - 1], VLEK_LABEL, &vk, err);
    if (st) {
        mc_wipe(sticks, sizeof sticks);
        return st;
    }
    mc_snp_identity_vlek_clear(id);
    id->vlek = true;
    id->vlek_tcb = tcb;
    id->vlek_key = vk;
    memcpy(id->vlek_sticks, sticks, sizeof sticks);
    mc_wipe(sticks, sizeof sticks);
    *fw = MC_FW_SUCCESS;
    return MC_OK;
}

mc_status mc_snp_vlek_wrap(struct mc_snp_identity *chip, const uint8_t vlek_seed[MC_SNP_SEED_LEN], uint64_t tcb,
                           const uint8_t *iv, uint8_t out[MC_SNP_VLEK_WRAPPED_LEN], struct mc_error *err)
{
    if (!chip || !vlek_seed || !out)
        return mc_seterr(err, MC_E_INVAL, "VLEK wrap: NULL argument");
    uint8_t w[MC_SNP_VLEK_WRAPPED_LEN] = {0}, key[MC_GCM_KEY_LEN], sticks[NSTICKS][MC_SNP_SEED_LEN];
    mc_status st = MC_OK;
    if (iv) {
        memcpy(w + VW_IV, iv, MC_GCM_IV_LEN);
    } else {
        struct mc_rng *r = NULL;
        st = mc_rng_create(NULL, 0, &r, err);
        if (!st)
            st = mc_rng_bytes(r, w + VW_IV, MC_GCM_IV_LEN, err);
        mc_rng_destroy(r);
    }
    mc_put_le64(w + VW_TCB, tcb);
    if (!st)
        st = mc_snp_hash_sticks(vlek_seed, tcb, sticks, err);
    if (!st)
        st = wrapping_key(chip, tcb, key, err);
    if (!st)
        st = mc_aes256_gcm_seal(key, w + VW_IV, w + VW_TCB, 16, &sticks[0][0], STICKS_LEN, w + VW_SEED, w + VW_TAG, err);
    mc_wipe(key, sizeof key);
    mc_wipe(sticks, sizeof sticks);
    if (!st)
        memcpy(out, w, sizeof w);
    return st;
}

/* ---- certificates ---- */

mc_status mc_snp_identity_root_cert(const struct mc_snp_identity *id, enum mc_snp_root which, uint8_t **der,
                                    size_t *len, struct mc_error *err)
{
    if (!id)
        return mc_seterr(err, MC_E_INVAL, "root certificate: NULL identity");
    return mc_kds_cert_der(&id->kds, (int)which, der, len, err);
}

mc_status mc_snp_identity_crl(const struct mc_snp_identity *id, uint8_t **der, size_t *len, struct mc_error *err)
{
    if (!id)
        return mc_seterr(err, MC_E_INVAL, "CRL: NULL identity");
    return mc_kds_crl_der(&id->kds, der, len, err);
}

/* Issued once per TCB and kept in the TCB's slot: a run asks for it several times (the certificate
 * table the guest gets, the owner's folder, its copy of the table), each an RSA-4096 signature by
 * the ASK; every caller now gets the same bytes. */
mc_status mc_snp_identity_vcek_cert(struct mc_snp_identity *id, uint64_t tcb, uint8_t **der, size_t *len,
                                    struct mc_error *err)
{
    if (!id || !der || !len)
        return mc_seterr(err, MC_E_INVAL, "VCEK certificate: NULL argument");
    struct vcek_slot *s;
    mc_status st = vcek_slot(id, tcb, &s, err);
    if (!st && !s->cert)
        st = mc_kds_issue(&id->kds, false, id->stepping, tcb, id->chip_id, NULL, s->key, &s->cert, &s->cert_len, err);
    if (st)
        return st;
    if (!(*der = malloc(s->cert_len)))
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    memcpy(*der, s->cert, s->cert_len);
    *len = s->cert_len;
    return MC_OK;
}

mc_status mc_snp_identity_vlek_cert(const struct mc_snp_identity *id, const char *csp_id, uint8_t **der, size_t *len,
                                    struct mc_error *err)
{
    if (!id)
        return mc_seterr(err, MC_E_INVAL, "VLEK certificate: NULL identity");
    if (!id->vlek)
        return mc_seterr(err, MC_E_STATE, "no VLEK is loaded, so there is no VLEK certificate");
    return mc_kds_issue(&id->kds, true, 0, id->vlek_tcb, NULL, csp_id ? csp_id : "memcrypt emulated CSP",
                        id->vlek_key, der, len, err);
}

mc_status mc_snp_identity_certtable(struct mc_snp_identity *id, uint64_t tcb, bool vlek, uint8_t **out,
                                    size_t *out_len, struct mc_error *err)
{
    if (!id || !out || !out_len)
        return mc_seterr(err, MC_E_INVAL, "certificate table: NULL argument");
    uint8_t *leaf = NULL, *inter = NULL, *ark = NULL;
    size_t nl = 0, ni = 0, na = 0;
    mc_status st = vlek ? mc_snp_identity_vlek_cert(id, NULL, &leaf, &nl, err) : mc_snp_identity_vcek_cert(id, tcb, &leaf, &nl, err);
    if (!st)
        st = mc_snp_identity_root_cert(id, vlek ? MC_SNP_ROOT_ASVK : MC_SNP_ROOT_ASK, &inter, &ni, err);
    if (!st)
        st = mc_snp_identity_root_cert(id, MC_SNP_ROOT_ARK, &ark, &na, err);
    if (!st) {
        struct mc_snp_certs c = {leaf, nl, inter, ni, ark, na};
        st = mc_snp_certtable_build(&c, vlek, out, out_len, err);
    }
    free(leaf);
    free(inter);
    free(ark);
    return st;
}

/* name.pem, and name.der when der_too, into the output set. */
static mc_status add_cert(struct mc_outset *os, const char *dir, const char *name, const uint8_t *der, size_t n,
                          bool der_too, struct mc_error *err)
{
    char fn[64];
    uint8_t *pem = NULL;
    size_t pn = 0;
    mc_status st = mc_x509_der_to_pem(der, n, &pem, &pn, err);
    if (!st) {
        snprintf(fn, sizeof fn, "%s.pem", name);
        st = mc_outset_add_in(os, dir, fn, pem, pn, err);
    }
    if (!st && der_too) {
        snprintf(fn, sizeof fn, "%s.der", name);
        st = mc_outset_add_in(os, dir, fn, der, n, err);
    }
    free(pem);
    return st;
}

mc_status mc_snp_identity_export_set(struct mc_snp_identity *id, struct mc_outset *os, const char *dir, uint64_t tcb,
                                     struct mc_error *err)
{
    if (!id || !os || !dir)
        return mc_seterr(err, MC_E_INVAL, "export: NULL argument");
    static const char *const names[3] = {"ark", "ask", "asvk"};
    uint8_t *der[5] = {0}, *chain = NULL, *tbl = NULL;
    size_t n[5] = {0}, tn = 0;
    mc_status st = mc_outset_dir(os, dir, 0755, err);
    for (int i = 0; i < 3 && !st; i++)
        st = mc_snp_identity_root_cert(id, (enum mc_snp_root)i, &der[i], &n[i], err);
    if (!st)
        st = mc_snp_identity_vcek_cert(id, tcb, &der[3], &n[3], err);
    if (!st && id->vlek)
        st = mc_snp_identity_vlek_cert(id, NULL, &der[4], &n[4], err);
    for (int i = 0; i < 3 && !st; i++)
        st = add_cert(os, dir, names[i], der[i], n[i], false, err);
    if (!st)
        st = add_cert(os, dir, "vcek", der[3], n[3], true, err);
    if (!st && id->vlek)
        st = add_cert(os, dir, "vlek", der[4], n[4], true, err);
    if (!st) {
        /* cert_chain.pem: ASK then ARK, like KDS's /vcek/v1/<Product>/cert_chain. */
        uint8_t *p1 = NULL, *p2 = NULL;
        size_t l1 = 0, l2 = 0;
        st = mc_x509_der_to_pem(der[1], n[1], &p1, &l1, err);
        if (!st)
            st = mc_x509_der_to_pem(der[0], n[0], &p2, &l2, err);
        if (!st && !(chain = malloc(l1 + l2)))
            st = mc_seterr(err, MC_E_NOMEM, "out of memory");
        if (!st) {
            memcpy(chain, p1, l1);
            memcpy(chain + l1, p2, l2);
            st = mc_outset_add_in(os, dir, "cert_chain.pem", chain, l1 + l2, err);
        }
        free(p1);
        free(p2);
    }
    if (!st)
        st = mc_snp_identity_certtable(id, tcb, false, &tbl, &tn, err);
    if (!st)
        st = mc_outset_add_in(os, dir, "certtable.bin", tbl, tn, err);
    for (int i = 0; i < 5; i++)
        free(der[i]);
    free(chain);
    free(tbl);
    return st;
}

mc_status mc_snp_identity_export(struct mc_snp_identity *id, const char *dir, uint64_t tcb, struct mc_error *err)
{
    struct mc_outset *os = NULL;
    mc_status st = mc_outset_create(&os, err);
    if (!st)
        st = mc_snp_identity_export_set(id, os, dir, tcb, err);
    if (!st)
        st = mc_outset_commit(os, err);
    mc_outset_destroy(os);
    return st;
}

/* ---- state blob --------------------------------------------------------------------------------
 * 000 magic "MCSNPID\0" · 008 u32 format version (1) · 00C u32 total length · 010 u8 generation
 * (1 Milan, 2 Genoa, 3 Turin), u8 stepping, u8 flags (bit0 VLEK loaded), u8 reserved (0) ·
 * 014 chip secret[32] · 034 CHIP_ID[64] · 074 u64 VLEK TCB · 07C VLEK hash sticks[0x180] (zero
 * without a VLEK) · 1FC the emulated roots (kds.h: ARK, ASK, ASVK; each u32 length + certificate
 * DER, u32 length + private key DER) · SHA-256 of everything before it. Integers little-endian. */

static const uint8_t blob_magic[8] = {'M', 'C', 'S', 'N', 'P', 'I', 'D', 0};
#define BLOB_VERSION 1u
enum { B_MAGIC = 0x000, B_VERSION = 0x008, B_LEN = 0x00C, B_GEN = 0x010, B_STEP = 0x011, B_FLAGS = 0x012,
       B_RSVD = 0x013, B_SECRET = 0x014, B_CHIP = 0x034, B_VTCB = 0x074, B_STICKS = 0x07C, B_ROOTS = 0x1FC };
_Static_assert(B_CHIP == B_SECRET + MC_SNP_SECRET_LEN && B_VTCB == B_CHIP + MC_SNP_CHIP_ID_LEN, "blob layout");
_Static_assert(B_STICKS == B_VTCB + 8 && B_ROOTS == B_STICKS + STICKS_LEN, "blob layout");

mc_status mc_snp_identity_serialize(const struct mc_snp_identity *id, uint8_t **buf, size_t *len, struct mc_error *err)
{
    if (!id || !buf || !len)
        return mc_seterr(err, MC_E_INVAL, "identity serialize: NULL argument");
    size_t cap = B_ROOTS + mc_kds_size(&id->kds) + MC_SHA256_LEN, used = 0;
    uint8_t *b = calloc(1, cap);
    if (!b)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    memcpy(b + B_MAGIC, blob_magic, 8);
    mc_put_le32(b + B_VERSION, BLOB_VERSION);
    b[B_GEN] = (uint8_t)(id->gen - MC_SNP_GEN_MILAN + 1);
    b[B_STEP] = (uint8_t)id->stepping;
    b[B_FLAGS] = id->vlek ? 1 : 0;
    memcpy(b + B_SECRET, id->secret, MC_SNP_SECRET_LEN);
    memcpy(b + B_CHIP, id->chip_id, MC_SNP_CHIP_ID_LEN);
    if (id->vlek) {
        mc_put_le64(b + B_VTCB, id->vlek_tcb);
        memcpy(b + B_STICKS, id->vlek_sticks, STICKS_LEN);
    }
    mc_status st = mc_kds_write(&id->kds, b + B_ROOTS, cap - B_ROOTS - MC_SHA256_LEN, &used, err);
    size_t o = B_ROOTS + used;
    if (!st) {
        mc_put_le32(b + B_LEN, (uint32_t)(o + MC_SHA256_LEN));
        st = mc_sha256(b, o, b + o, err);
    }
    if (st) {
        mc_wipe(b, cap);
        free(b);
        return st;
    }
    *buf = b;
    *len = o + MC_SHA256_LEN;
    return MC_OK;
}

static mc_status bad_blob(struct mc_error *err, const char *why)
{
    return mc_seterr(err, MC_E_FORMAT, "SNP identity state is unusable: %s", why);
}

mc_status mc_snp_identity_deserialize(const uint8_t *buf, size_t len, struct mc_snp_identity **out,
                                      struct mc_error *err)
{
    if (!buf || !out)
        return mc_seterr(err, MC_E_INVAL, "identity deserialize: NULL argument");
    if (len < 8 || memcmp(buf, blob_magic, 8) != 0)
        return bad_blob(err, "not a memcrypt SNP identity (bad magic)");
    if (len < B_ROOTS + MC_SHA256_LEN)
        return bad_blob(err, "truncated");
    if (mc_le32(buf + B_VERSION) != BLOB_VERSION)
        return bad_blob(err, "unsupported format version");
    if (mc_le32(buf + B_LEN) != len)
        return bad_blob(err, "the length field does not match the size (truncated or padded)");
    uint8_t h[MC_SHA256_LEN];
    if (mc_sha256(buf, len - MC_SHA256_LEN, h, err) != MC_OK)
        return MC_E_CRYPTO;
    if (!mc_ct_equal(h, buf + len - MC_SHA256_LEN, MC_SHA256_LEN))
        return bad_blob(err, "checksum mismatch (corrupted)");
    if (buf[B_GEN] < 1 || buf[B_GEN] > 3)
        return bad_blob(err, "unknown processor generation");
    if (buf[B_STEP] > 9)
        return bad_blob(err, "stepping out of range");
    if (buf[B_FLAGS] & ~1u || buf[B_RSVD])
        return bad_blob(err, "unknown flag bits or a non-zero reserved byte");
    enum mc_snp_gen g = (enum mc_snp_gen)(MC_SNP_GEN_MILAN + buf[B_GEN] - 1);
    if (g == MC_SNP_GEN_TURIN && !zero_bytes(buf + B_CHIP + 8, MC_SNP_CHIP_ID_LEN - 8))
        return bad_blob(err, "a Turin CHIP_ID has 8 bytes, the rest must be zero");
    bool vlek = buf[B_FLAGS] & 1;
    if (!vlek && !zero_bytes(buf + B_VTCB, 8 + STICKS_LEN))
        return bad_blob(err, "VLEK bytes are present but no VLEK is marked loaded");
    struct mc_snp_identity *id = calloc(1, sizeof *id);
    if (!id)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    id->gen = g;
    id->stepping = buf[B_STEP];
    memcpy(id->secret, buf + B_SECRET, MC_SNP_SECRET_LEN);
    memcpy(id->chip_id, buf + B_CHIP, MC_SNP_CHIP_ID_LEN);
    size_t used = 0, end = len - MC_SHA256_LEN;
    struct mc_error ke;
    mc_status st = derive_root(id, err);
    mc_status kst = st ? st : mc_kds_read(&id->kds, g, buf + B_ROOTS, end - B_ROOTS, &used, &ke);
    if (!st && kst == MC_E_NOMEM)
        st = mc_seterr(err, MC_E_NOMEM, "%s", ke.msg);
    else if (!st && kst != MC_OK)
        st = bad_blob(err, ke.msg);
    if (!st && B_ROOTS + used != end)
        st = bad_blob(err, "trailing bytes after the emulated roots");
    if (!st && vlek) {
        id->vlek = true;
        id->vlek_tcb = mc_le64(buf + B_VTCB);
        memcpy(id->vlek_sticks, buf + B_STICKS, STICKS_LEN);
        st = key_from_hash(id->vlek_sticks[NSTICKS - 1], VLEK_LABEL, &id->vlek_key, err);
    }
    if (st) {
        mc_snp_identity_destroy(id);
        return st;
    }
    *out = id;
    return MC_OK;
}
