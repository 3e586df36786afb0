/* memcrypt — the legacy SEV ATTESTATION report (0xD0 bytes): codec and PEK-signature check.
 * Layout: shared/spec/sev-api.md §7 and §10 (report signed by the PEK over bytes 0x00-0x33,
 * ECDSA P-384 with SHA-256, r and s little-endian in 72-byte fields). */
#include <stddef.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/sev_session.h>

#include "crypto/pk.h"
#include "sev/cert_key.h"

struct report_wire {
    uint8_t mnonce[16];
    uint8_t launch_digest[32];
    uint8_t policy[4];
    uint8_t sig_usage[4];
    uint8_t sig_algo[4];
    uint8_t reserved[4];
    uint8_t sig_r[72];
    uint8_t sig_s[72];
};
_Static_assert(sizeof(struct report_wire) == MC_SEV_REPORT_LEN, "report size");
_Static_assert(offsetof(struct report_wire, launch_digest) == 0x10, "launch_digest");
_Static_assert(offsetof(struct report_wire, policy) == 0x30, "policy");
_Static_assert(offsetof(struct report_wire, sig_usage) == 0x34, "sig_usage");
_Static_assert(offsetof(struct report_wire, sig_algo) == 0x38, "sig_algo");
_Static_assert(offsetof(struct report_wire, reserved) == 0x3C, "reserved");
_Static_assert(offsetof(struct report_wire, sig_r) == 0x40, "sig_r");
_Static_assert(offsetof(struct report_wire, sig_s) == 0x88, "sig_s");

#define RO(f) offsetof(struct report_wire, f)
#define REPORT_SIGNED_LEN RO(sig_usage)

void mc_sev_report_encode(const struct mc_sev_report *r, uint8_t out[MC_SEV_REPORT_LEN])
{
    memset(out, 0, MC_SEV_REPORT_LEN);
    memcpy(out + RO(mnonce), r->mnonce, 16);
    memcpy(out + RO(launch_digest), r->launch_digest, 32);
    mc_put_le32(out + RO(policy), r->policy);
    mc_put_le32(out + RO(sig_usage), r->sig_usage);
    mc_put_le32(out + RO(sig_algo), r->sig_algo);
    memcpy(out + RO(sig_r), r->sig_r, 72);
    memcpy(out + RO(sig_s), r->sig_s, 72);
}

mc_status mc_sev_report_decode(const uint8_t *in, size_t len, struct mc_sev_report *r, struct mc_error *err)
{
    if (!in || !r)
        return mc_seterr(err, MC_E_INVAL, "report: NULL argument");
    if (len != MC_SEV_REPORT_LEN)
        return mc_seterr(err, MC_E_FORMAT, "attestation report must be 0x%x bytes, got %zu", MC_SEV_REPORT_LEN, len);
    if (mc_le32(in + RO(reserved)) != 0)
        return mc_seterr(err, MC_E_FORMAT, "attestation report reserved word at 0x3C is not zero");
    memcpy(r->mnonce, in + RO(mnonce), 16);
    memcpy(r->launch_digest, in + RO(launch_digest), 32);
    r->policy = mc_le32(in + RO(policy));
    r->sig_usage = mc_le32(in + RO(sig_usage));
    r->sig_algo = mc_le32(in + RO(sig_algo));
    memcpy(r->sig_r, in + RO(sig_r), 72);
    memcpy(r->sig_s, in + RO(sig_s), 72);
    return MC_OK;
}

mc_status mc_sev_report_verify(const uint8_t *report, size_t len, const struct mc_sev_cert *pek, struct mc_error *err)
{
    struct mc_sev_report r;
    mc_status rc = mc_sev_report_decode(report, len, &r, err);
    if (rc != MC_OK)
        return rc;
    if (!pek || pek->usage != MC_SEV_USAGE_PEK)
        return mc_seterr(err, MC_E_INVAL, "report verify needs a PEK certificate");
    if (r.sig_usage != MC_SEV_USAGE_PEK || r.sig_algo != pek->algo ||
        (r.sig_algo != MC_SEV_ALGO_ECDSA_SHA256 && r.sig_algo != MC_SEV_ALGO_ECDSA_SHA384))
        return mc_seterr(err, MC_E_VERIFY, "report signer %s/%s does not match the PEK (%s)",
                         mc_sev_usage_name(r.sig_usage), mc_sev_algo_name(r.sig_algo), mc_sev_algo_name(pek->algo));
    struct mc_pk *k = NULL;
    rc = mc_sev_cert_get_pubkey(pek, &k, err);
    if (rc != MC_OK)
        return rc;
    /* r and s: LE72 with bytes 48..71 zero (the helper refuses other padding as MC_E_VERIFY) */
    rc = mc_ecdsa_verify_le72(k, r.sig_algo == MC_SEV_ALGO_ECDSA_SHA384 ? "SHA384" : "SHA256", report,
                              REPORT_SIGNED_LEN, r.sig_r, r.sig_s, err);
    mc_pk_free(k);
    if (rc == MC_E_VERIFY)
        mc_seterr(err, MC_E_VERIFY, "attestation report signature does not verify with this PEK");
    return rc;
}
