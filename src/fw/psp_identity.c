/* The firmware's platform identity: the SEV identity module (memcrypt/sev_identity.h: chip
 * secret, CEK, emulated ARK/ASK, OCA/PEK/PDH, session opening, report signing), created on
 * first use and kept serialised inside the sealed persistent state. This file maps its results
 * to firmware status codes and keeps the live object and the committed state in step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/sev_session.h>

#include "fw/psp_int.h"

/* HWERROR_PLATFORM for a step that failed with status cause (MC_OK: no status). A host allocation
 * that failed says "out of memory", as every firmware command does; any other cause is named. */
static uint32_t hw(struct mc_error *err, mc_status cause, const char *what)
{
    if (cause == MC_E_NOMEM)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "platform identity: out of memory (%s)", what);
    char why[MC_ERROR_MSG_MAX + 2] = "";
    if (err && cause != MC_OK)
        snprintf(why, sizeof why, ": %s", err->msg);
    return psp_fail(err, MC_FW_HWERROR_PLATFORM, "platform identity: %s failed%s", what, why);
}

/* Serialise psp->id into nv (ident bytes + owner flag). */
static uint32_t id_store(struct mc_psp *psp, struct psp_nv *nv, struct mc_error *err)
{
    uint8_t *b;
    size_t n;
    mc_status ss = mc_sev_identity_serialize(psp->id, &b, &n, err);
    if (ss != MC_OK)
        return hw(err, ss, "serialisation");
    uint32_t st = MC_FW_SUCCESS;
    if (n > PSP_IDENT_MAX) {
        st = hw(err, MC_OK, "storing (identity too large)");
    } else {
        memcpy(nv->ident, b, n);
        if (n < PSP_IDENT_MAX)
            mc_wipe(nv->ident + n, PSP_IDENT_MAX - n);
        nv->ident_len = (uint32_t)n;
        nv->owned = mc_sev_identity_is_owned(psp->id) ? 1 : 0;
    }
    mc_wipe(b, n);
    free(b);
    return st;
}

bool psp_id_blob_ok(const uint8_t *blob, size_t len, struct mc_error *err)
{
    struct mc_sev_identity *x;
    if (mc_sev_identity_deserialize(blob, len, &x, err) != MC_OK)
        return false;
    mc_sev_identity_destroy(x);
    return true;
}

uint32_t psp_id_reload(struct mc_psp *psp, struct mc_error *err)
{
    mc_sev_identity_destroy(psp->id);
    psp->id = NULL;
    psp->id_changed = false;
    if (psp->nv.ident_len == 0)
        return MC_FW_SUCCESS;
    mc_status st = mc_sev_identity_deserialize(psp->nv.ident, psp->nv.ident_len, &psp->id, err);
    if (st == MC_E_NOMEM) /* the host's failure, not the stored data's */
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory loading the stored platform identity");
    if (st != MC_OK)
        return psp_fail(err, MC_FW_SECURE_DATA_INVALID, "the stored platform identity is invalid%s%s",
                        err ? ": " : "", err ? err->msg : "");
    return MC_FW_SUCCESS;
}

uint32_t psp_id_get(struct mc_psp *psp, struct mc_error *err)
{
    if (psp->id)
        return MC_FW_SUCCESS;
    if (psp->nv.ident_len)
        return psp_id_reload(psp, err);
    /* First use on this chip: create the identity and persist it before anyone sees it. */
    struct mc_sev_identity_params p = {psp->cfg.api_major, psp->cfg.api_minor, psp->cfg.build,
                                       psp->cfg.root_bits ? psp->cfg.root_bits : 4096, psp->cfg.platform};
    struct psp_nv *n = malloc(sizeof *n);
    if (!n)
        return hw(err, MC_E_NOMEM, "allocation");
    memcpy(n, &psp->nv, sizeof *n);
    uint32_t st = MC_FW_SUCCESS;
    mc_status cs = mc_sev_identity_create(psp->rng, &p, &psp->id, err);
    if (cs != MC_OK)
        st = hw(err, cs, "creation");
    else if ((st = id_store(psp, n, err)) == MC_FW_SUCCESS) {
        struct mc_error why = {0};
        if (psp_nv_save(psp, n, &why) != MC_OK)
            st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "cannot persist the new platform identity: %s", why.msg);
        else
            memcpy(&psp->nv, n, sizeof *n);
    }
    if (st) {
        mc_sev_identity_destroy(psp->id);
        psp->id = NULL;
    }
    mc_wipe(n, sizeof *n);
    free(n);
    return st;
}

uint32_t psp_id_reset(struct mc_psp *psp, struct psp_nv *nv, struct mc_error *err)
{
    /* PLATFORM_RESET erases OCA, PEK, PDH and ownership; the chip-unique secret (and so the CEK)
     * is fused and survives: a fresh self-owned OCA/PEK/PDH as after PEK_GEN. Nothing to erase
     * when no identity was ever created. */
    if (!psp->id && psp->nv.ident_len == 0)
        return MC_FW_SUCCESS;
    return psp_id_pek_gen(psp, nv, err);
}

uint32_t psp_id_pek_gen(struct mc_psp *psp, struct psp_nv *nv, struct mc_error *err)
{
    uint32_t st = psp_id_get(psp, err);
    if (st)
        return st;
    psp->id_changed = true;
    mc_status gs = mc_sev_identity_pek_gen(psp->id, psp->rng, err);
    if (gs != MC_OK)
        return hw(err, gs, "PEK_GEN");
    return id_store(psp, nv, err);
}

uint32_t psp_id_pdh_gen(struct mc_psp *psp, struct psp_nv *nv, struct mc_error *err)
{
    uint32_t st = psp_id_get(psp, err);
    if (st)
        return st;
    psp->id_changed = true;
    mc_status gs = mc_sev_identity_pdh_gen(psp->id, psp->rng, err);
    if (gs != MC_OK)
        return hw(err, gs, "PDH_GEN");
    return id_store(psp, nv, err);
}

uint32_t psp_id_pek_import(struct mc_psp *psp, struct psp_nv *nv, const uint8_t pek[MC_SEV_CERT_LEN],
                           const uint8_t oca[MC_SEV_CERT_LEN], struct mc_error *err)
{
    uint32_t st = psp_id_get(psp, err);
    if (st)
        return st;
    enum mc_sev_id_result r = MC_SEV_ID_ERROR;
    if (mc_sev_identity_pek_import(psp->id, psp->rng, pek, MC_SEV_CERT_LEN, oca, MC_SEV_CERT_LEN, &r, err) != MC_OK) {
        static const uint32_t map[] = {
            [MC_SEV_ID_OK] = MC_FW_HWERROR_PLATFORM, [MC_SEV_ID_ALREADY_OWNED] = MC_FW_ALREADY_OWNED,
            [MC_SEV_ID_BAD_LENGTH] = MC_FW_INVALID_LENGTH, [MC_SEV_ID_INVALID_CERT] = MC_FW_INVALID_CERTIFICATE,
            [MC_SEV_ID_BAD_SIGNATURE] = MC_FW_BAD_SIGNATURE, [MC_SEV_ID_ERROR] = MC_FW_HWERROR_PLATFORM,
        };
        uint32_t fs = (unsigned)r < sizeof map / sizeof map[0] ? map[r] : MC_FW_HWERROR_PLATFORM;
        return psp_fail(err, fs, "PEK_CERT_IMPORT refused (%s)", mc_sev_id_result_name(r)); /* unchanged */
    }
    psp->id_changed = true;
    return id_store(psp, nv, err);
}

uint32_t psp_id_pek_csr(struct mc_psp *psp, uint8_t out[MC_SEV_CERT_LEN], struct mc_error *err)
{
    uint32_t st = psp_id_get(psp, err);
    if (!st)
        mc_sev_identity_pek_csr(psp->id, out);
    return st;
}

uint32_t psp_id_pdh_export(struct mc_psp *psp, uint8_t pdh[MC_SEV_CERT_LEN], uint8_t chain[MC_SEV_CHAIN_LEN],
                           struct mc_error *err)
{
    uint32_t st = psp_id_get(psp, err);
    if (!st)
        mc_sev_identity_pdh_export(psp->id, pdh, chain);
    return st;
}

uint32_t psp_id_get_id(struct mc_psp *psp, uint8_t out[MC_SEV_ID_LEN], struct mc_error *err)
{
    uint32_t st = psp_id_get(psp, err);
    mc_status gs = st ? MC_OK : mc_sev_identity_get_id(psp->id, out, err);
    if (gs != MC_OK)
        st = hw(err, gs, "GET_ID");
    return st;
}

uint32_t psp_id_unwrap_session(struct mc_psp *psp, const uint8_t godh[MC_SEV_CERT_LEN],
                               const uint8_t session[MC_SEV_SESSION_LEN], uint32_t policy, uint8_t tek[16],
                               uint8_t tik[16], struct mc_error *err)
{
    uint32_t st = psp_id_get(psp, err);
    if (st)
        return st;
    struct mc_sev_tks tks;
    enum mc_sev_chan_result why = MC_SEV_CHAN_ERROR;
    mc_status os = mc_sev_identity_open_session(psp->id, godh, MC_SEV_CERT_LEN, session, MC_SEV_SESSION_LEN, policy,
                                                &tks, &why, err);
    if (os == MC_E_NOMEM)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory opening the launch session");
    if (os != MC_OK) {
        static const uint32_t map[] = {
            [MC_SEV_CHAN_OK] = MC_FW_HWERROR_PLATFORM, [MC_SEV_CHAN_BAD_LENGTH] = MC_FW_INVALID_LENGTH,
            [MC_SEV_CHAN_BAD_CERT] = MC_FW_INVALID_CERTIFICATE, [MC_SEV_CHAN_BAD_MAC] = MC_FW_BAD_MEASUREMENT,
            [MC_SEV_CHAN_UNSUPPORTED] = MC_FW_UNSUPPORTED, [MC_SEV_CHAN_ERROR] = MC_FW_HWERROR_PLATFORM,
        };
        uint32_t fs = (unsigned)why < sizeof map / sizeof map[0] ? map[why] : MC_FW_HWERROR_PLATFORM;
        return psp_fail(err, fs, "the launch session was refused (%s)", mc_sev_chan_result_name(why));
    }
    memcpy(tek, tks.tek, 16);
    memcpy(tik, tks.tik, 16);
    mc_wipe(&tks, sizeof tks);
    return MC_FW_SUCCESS;
}

uint32_t psp_id_make_session(struct mc_psp *psp, const uint8_t peer_pdh[MC_SEV_CERT_LEN], uint32_t policy,
                             uint8_t session[MC_SEV_SESSION_LEN], uint8_t tek[16], uint8_t tik[16],
                             struct mc_error *err)
{
    uint32_t st = psp_id_get(psp, err);
    if (st)
        return st;
    struct mc_sev_tks tks;
    enum mc_sev_chan_result why = MC_SEV_CHAN_ERROR;
    mc_status ms = mc_sev_identity_make_session(psp->id, psp->rng, peer_pdh, MC_SEV_CERT_LEN, policy, session, &tks,
                                                &why, err);
    if (ms == MC_E_NOMEM)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory making the transport session");
    if (ms != MC_OK) {
        uint32_t fs = why == MC_SEV_CHAN_BAD_CERT     ? MC_FW_INVALID_CERTIFICATE
                      : why == MC_SEV_CHAN_BAD_LENGTH ? MC_FW_INVALID_LENGTH
                                                      : MC_FW_HWERROR_PLATFORM;
        return psp_fail(err, fs, "the transport session toward the target was not made (%s)",
                        mc_sev_chan_result_name(why));
    }
    memcpy(tek, tks.tek, 16);
    memcpy(tik, tks.tik, 16);
    mc_wipe(&tks, sizeof tks);
    return MC_FW_SUCCESS;
}

uint32_t psp_id_attest(struct mc_psp *psp, const uint8_t mnonce[16], const uint8_t ld[32], uint32_t policy,
                       uint8_t report[MC_SEV_REPORT_LEN], struct mc_error *err)
{
    uint32_t st = psp_id_get(psp, err);
    mc_status as = st ? MC_OK : mc_sev_identity_attest(psp->id, mnonce, ld, policy, report, err);
    if (as != MC_OK)
        st = hw(err, as, "report signing");
    return st;
}

const struct mc_sev_identity *mc_psp_identity(struct mc_psp *psp, struct mc_error *err)
{
    if (!psp) {
        mc_seterr(err, MC_E_INVAL, "mc_psp_identity needs a firmware");
        return NULL;
    }
    return psp_id_get(psp, err) == MC_FW_SUCCESS ? psp->id : NULL;
}

uint32_t psp_id_oca_cert(struct mc_psp *psp, uint8_t out[MC_SEV_CERT_LEN], struct mc_error *err)
{
    uint32_t st = psp_id_get(psp, err);
    size_t n;
    mc_status cs = st ? MC_OK : mc_sev_identity_cert(psp->id, MC_SEV_ID_OCA, out, MC_SEV_CERT_LEN, &n, err);
    if (!st && (cs != MC_OK || n != MC_SEV_CERT_LEN))
        st = hw(err, cs, "reading the OCA certificate");
    return st;
}
