/* memcrypt — launch-channel session (LAUNCH_START blob) and GODH checks.
 * Construction: shared/spec/sev-api.md §9 (KDF and session), cross-checked with the KATs of
 * tests/data/sev-launch-kat.md. */
#include <stddef.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/sev_session.h>

#include "crypto/aes.h"
#include "crypto/crypto.h"
#include "crypto/kdf.h"

struct session_wire {
    uint8_t nonce[16];
    uint8_t wrap_tk[32];
    uint8_t wrap_iv[16];
    uint8_t wrap_mac[32];
    uint8_t policy_mac[32];
};
_Static_assert(sizeof(struct session_wire) == MC_SEV_SESSION_LEN, "session size");
_Static_assert(offsetof(struct session_wire, wrap_tk) == 0x10, "wrap_tk");
_Static_assert(offsetof(struct session_wire, wrap_iv) == 0x30, "wrap_iv");
_Static_assert(offsetof(struct session_wire, wrap_mac) == 0x40, "wrap_mac");
_Static_assert(offsetof(struct session_wire, policy_mac) == 0x60, "policy_mac");

#define SO(f) offsetof(struct session_wire, f)

const char *mc_sev_chan_result_name(enum mc_sev_chan_result r)
{
    switch (r) {
    case MC_SEV_CHAN_OK: return "ok";
    case MC_SEV_CHAN_BAD_LENGTH: return "bad length";
    case MC_SEV_CHAN_BAD_CERT: return "bad certificate";
    case MC_SEV_CHAN_BAD_MAC: return "bad MAC";
    case MC_SEV_CHAN_UNSUPPORTED: return "unsupported";
    case MC_SEV_CHAN_ERROR: return "internal error";
    }
    return "unknown";
}

void mc_sev_session_encode(const struct mc_sev_session *s, uint8_t out[MC_SEV_SESSION_LEN])
{
    memcpy(out + SO(nonce), s->nonce, 16);
    memcpy(out + SO(wrap_tk), s->wrap_tk, 32);
    memcpy(out + SO(wrap_iv), s->wrap_iv, 16);
    memcpy(out + SO(wrap_mac), s->wrap_mac, 32);
    memcpy(out + SO(policy_mac), s->policy_mac, 32);
}

void mc_sev_session_decode(const uint8_t in[MC_SEV_SESSION_LEN], struct mc_sev_session *s)
{
    memcpy(s->nonce, in + SO(nonce), 16);
    memcpy(s->wrap_tk, in + SO(wrap_tk), 32);
    memcpy(s->wrap_iv, in + SO(wrap_iv), 16);
    memcpy(s->wrap_mac, in + SO(wrap_mac), 32);
    memcpy(s->policy_mac, in + SO(policy_mac), 32);
}

/* MS, KEK, KIK from z and the nonce. */
static mc_status derive(const uint8_t *z, size_t zlen, const uint8_t nonce[16], uint8_t kek[16], uint8_t kik[16],
                        struct mc_error *err)
{
    uint8_t ms[16];
    mc_status rc = mc_kdf_sev(z, zlen, "sev-master-secret", nonce, 16, ms, sizeof ms, err);
    if (rc == MC_OK)
        rc = mc_kdf_sev(ms, sizeof ms, "sev-kek", NULL, 0, kek, 16, err);
    if (rc == MC_OK)
        rc = mc_kdf_sev(ms, sizeof ms, "sev-kik", NULL, 0, kik, 16, err);
    mc_wipe(ms, sizeof ms);
    return rc;
}

static mc_status policy_mac(const uint8_t tik[16], uint32_t policy, uint8_t out[32], struct mc_error *err)
{
    uint8_t p[4];
    mc_put_le32(p, policy);
    return mc_hmac_sha256(tik, 16, p, 4, out, err);
}

mc_status mc_sev_session_wrap(const uint8_t *z, size_t zlen, const uint8_t nonce[16], const uint8_t wrap_iv[16],
                              const struct mc_sev_tks *tks, uint32_t policy, struct mc_sev_session *out,
                              struct mc_error *err)
{
    if (!z || !zlen || !nonce || !wrap_iv || !tks || !out)
        return mc_seterr(err, MC_E_INVAL, "session wrap: NULL argument");
    uint8_t kek[16], kik[16], tk[32];
    struct mc_sev_session s;
    memcpy(s.nonce, nonce, 16);
    memcpy(s.wrap_iv, wrap_iv, 16);
    memcpy(tk, tks->tek, 16);
    memcpy(tk + 16, tks->tik, 16);
    mc_status rc = derive(z, zlen, nonce, kek, kik, err);
    if (rc == MC_OK)
        rc = mc_aes128_ctr(kek, wrap_iv, tk, s.wrap_tk, 32, err);
    if (rc == MC_OK)
        rc = mc_hmac_sha256(kik, 16, s.wrap_tk, 32, s.wrap_mac, err);
    if (rc == MC_OK)
        rc = policy_mac(tks->tik, policy, s.policy_mac, err);
    if (rc == MC_OK)
        *out = s;
    mc_wipe(kek, sizeof kek);
    mc_wipe(kik, sizeof kik);
    mc_wipe(tk, sizeof tk);
    return rc;
}

mc_status mc_sev_session_generate(struct mc_rng *rng, const uint8_t *z, size_t zlen, uint32_t policy,
                             uint8_t session[MC_SEV_SESSION_LEN], struct mc_sev_tks *tks, struct mc_error *err)
{
    if (!rng || !session || !tks)
        return mc_seterr(err, MC_E_INVAL, "session: NULL argument");
    struct mc_sev_tks t;
    struct mc_sev_session s;
    uint8_t nonce[16], iv[16];
    mc_status rc = mc_rng_bytes(rng, t.tek, 16, err);
    if (rc == MC_OK)
        rc = mc_rng_bytes(rng, t.tik, 16, err);
    if (rc == MC_OK)
        rc = mc_rng_bytes(rng, nonce, 16, err);
    if (rc == MC_OK)
        rc = mc_rng_bytes(rng, iv, 16, err);
    if (rc == MC_OK)
        rc = mc_sev_session_wrap(z, zlen, nonce, iv, &t, policy, &s, err);
    if (rc == MC_OK) {
        mc_sev_session_encode(&s, session);
        *tks = t;
    }
    mc_wipe(&t, sizeof t);
    return rc;
}

mc_status mc_sev_session_unwrap(const uint8_t *z, size_t zlen, const struct mc_sev_session *s, uint32_t policy,
                                struct mc_sev_tks *tks, enum mc_sev_chan_result *why, struct mc_error *err)
{
    enum mc_sev_chan_result dummy;
    if (!why)
        why = &dummy;
    *why = MC_SEV_CHAN_ERROR;
    if (!z || !zlen || !s || !tks)
        return mc_seterr(err, MC_E_INVAL, "session unwrap: NULL argument");
    uint8_t kek[16], kik[16], mac[32], tk[32];
    mc_status rc = derive(z, zlen, s->nonce, kek, kik, err);
    if (rc == MC_OK)
        rc = mc_hmac_sha256(kik, 16, s->wrap_tk, 32, mac, err);
    if (rc == MC_OK && !mc_ct_equal(mac, s->wrap_mac, 32)) {
        *why = MC_SEV_CHAN_BAD_MAC;
        rc = mc_seterr(err, MC_E_VERIFY, "session WRAP_MAC does not verify (wrong PDH or tampered blob)");
    }
    if (rc == MC_OK)
        rc = mc_aes128_ctr(kek, s->wrap_iv, s->wrap_tk, tk, 32, err);
    if (rc == MC_OK)
        rc = policy_mac(tk + 16, policy, mac, err);
    if (rc == MC_OK && !mc_ct_equal(mac, s->policy_mac, 32)) {
        *why = MC_SEV_CHAN_BAD_MAC;
        rc = mc_seterr(err, MC_E_VERIFY, "session POLICY_MAC does not match policy 0x%x", policy);
    }
    if (rc == MC_OK) {
        memcpy(tks->tek, tk, 16);
        memcpy(tks->tik, tk + 16, 16);
        *why = MC_SEV_CHAN_OK;
    }
    mc_wipe(kek, sizeof kek);
    mc_wipe(kik, sizeof kik);
    mc_wipe(tk, sizeof tk);
    mc_wipe(mac, sizeof mac);
    return rc;
}

mc_status mc_sev_godh_check(const uint8_t *cert, size_t len, struct mc_sev_cert *out, enum mc_sev_chan_result *why,
                            struct mc_error *err)
{
    enum mc_sev_chan_result dummy;
    if (!why)
        why = &dummy;
    *why = MC_SEV_CHAN_BAD_CERT;
    if (!cert || !out)
        return mc_seterr(err, MC_E_INVAL, "GODH check: NULL argument");
    if (len != MC_SEV_CERT_LEN) {
        *why = MC_SEV_CHAN_BAD_LENGTH;
        return mc_seterr(err, MC_E_FORMAT, "GODH certificate must be %u bytes, got %zu", MC_SEV_CERT_LEN, len);
    }
    /* The firmware does not look at the signature slots of a GODH: check a copy with them
     * cleared, so only version, usage, algorithm and key are judged. */
    uint8_t tmp[MC_SEV_CERT_LEN];
    memcpy(tmp, cert, sizeof tmp);
    memset(tmp + MC_SEV_CERT_SIGNED_LEN, 0, sizeof tmp - MC_SEV_CERT_SIGNED_LEN);
    mc_put_le32(tmp + 0x414, MC_SEV_USAGE_INVALID);
    mc_put_le32(tmp + 0x61C, MC_SEV_USAGE_INVALID);
    struct mc_sev_cert c;
    mc_status rc = mc_sev_cert_parse(tmp, sizeof tmp, &c, err);
    if (rc != MC_OK)
        return rc;
    if (c.usage != MC_SEV_USAGE_PDH || c.algo != MC_SEV_ALGO_ECDH_SHA256)
        return mc_seterr(err, MC_E_FORMAT, "GODH certificate must be usage PDH with ECDH-SHA256, got %s/%s",
                         mc_sev_usage_name(c.usage), mc_sev_algo_name(c.algo));
    *out = c;
    *why = MC_SEV_CHAN_OK;
    return MC_OK;
}

mc_status mc_sev_launch_measure(const uint8_t tik[16], uint8_t api_major, uint8_t api_minor, uint8_t build,
                                uint32_t policy, const uint8_t ld[32], const uint8_t mnonce[16], uint8_t measure[32],
                                struct mc_error *err)
{
    if (!tik || !ld || !mnonce || !measure)
        return mc_seterr(err, MC_E_INVAL, "LAUNCH_MEASURE: NULL argument");
    uint8_t msg[4 + 4 + 32 + 16];
    size_t n = 0;
    /* API >= 0.17 prefixes a context byte 0x04 and the firmware version (SEV API §6.5). */
    if (api_major > 0 || api_minor >= 17) {
        msg[n++] = 0x04;
        msg[n++] = api_major;
        msg[n++] = api_minor;
        msg[n++] = build;
    }
    mc_put_le32(msg + n, policy);
    n += 4;
    memcpy(msg + n, ld, 32);
    n += 32;
    memcpy(msg + n, mnonce, 16);
    n += 16;
    return mc_hmac_sha256(tik, 16, msg, n, measure, err);
}
