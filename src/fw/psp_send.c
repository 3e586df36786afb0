/* SEND_START (migration, digest §13): every check the firmware makes before it builds the
 * transport session — the length query, NOSEND, the target's PDH, and with the SEV / DOMAIN
 * policy bits the target's certificate chains and API version. Building the session itself
 * needs a key agreement with this platform's PDH private key, which the identity module does
 * not offer yet: a SEND_START that passes every check answers UNSUPPORTED and changes nothing.
 * SEND_UPDATE_*, SEND_FINISH/CANCEL and RECEIVE_* are not implemented (INVALID_COMMAND). */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/sev_cert.h>

#include "fw/psp_cmds.h"
#include "fw/psp_int.h"

#define F(S, f) offsetof(struct S, f)

/* ASK || ARK sizes: a certificate is 0x40 + exponent + modulus + the signer's modulus. */
static bool amd_chain_len_ok(uint32_t n)
{
    return n == 0x340 + 0x340 || n == 0x440 + 0x640 || n == 0x540 + 0x340 || n == 0x640 + 0x640;
}

static uint32_t parse(const uint8_t *b, uint32_t usage, struct mc_sev_cert *c, const char *what, struct mc_error *err)
{
    if (mc_sev_cert_parse(b, MC_SEV_CERT_LEN, c, NULL) != MC_OK || c->usage != usage)
        return psp_fail(err, MC_FW_INVALID_CERTIFICATE, "SEND_START: the target's %s certificate is malformed", what);
    return MC_FW_SUCCESS;
}

PSP_HANDLER(psp_cmd_send_start)
{
    uint32_t ses_len = mc_le32(buf + F(mc_sev_send_start, session_len));
    mc_put_le32(buf + F(mc_sev_send_start, session_len), MC_SEV_SESSION_LEN);
    if (ses_len != MC_SEV_SESSION_LEN)
        return psp_fail(err, MC_FW_INVALID_LENGTH, "SEND_START: the session buffer must be 0x80 bytes");
    if (g->policy & MC_SEV_POLICY_NOSEND)
        return psp_fail(err, MC_FW_POLICY_FAILURE, "SEND_START refused: guest %u policy has NOSEND", g->handle);
    if (mc_le32(buf + F(mc_sev_send_start, pdh_cert_len)) != MC_SEV_CERT_LEN)
        return psp_fail(err, MC_FW_INVALID_LENGTH, "SEND_START: the target PDH certificate must be 0x824 bytes");
    enum mc_psp_dom dom;
    uint64_t spa;
    uint32_t st = psp_host_addr(psp, mc_le64(buf + F(mc_sev_send_start, session_paddr)), MC_SEV_SESSION_LEN, &dom,
                                &spa, err);
    if (st)
        return st;
    uint8_t *mem = malloc(MC_SEV_CERT_LEN + MC_SEV_CHAIN_LEN + 0xC80);
    struct mc_sev_cert *c = malloc(4 * sizeof *c); /* PDH, PEK, OCA, CEK */
    struct mc_amd_cert *amd = malloc(2 * sizeof *amd); /* ASK, ARK */
    if (!mem || !c || !amd) {
        free(mem);
        free(c);
        free(amd);
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    }
    uint8_t *pdh = mem, *chain = mem + MC_SEV_CERT_LEN, *amdb = chain + MC_SEV_CHAIN_LEN;
    st = psp_host_read(psp, mc_le64(buf + F(mc_sev_send_start, pdh_cert_paddr)), pdh, MC_SEV_CERT_LEN, err);
    if (!st)
        st = parse(pdh, MC_SEV_USAGE_PDH, &c[0], "PDH", err);
    if (!st && c[0].algo != MC_SEV_ALGO_ECDH_SHA256 && c[0].algo != MC_SEV_ALGO_ECDH_SHA384)
        st = psp_fail(err, MC_FW_INVALID_CERTIFICATE, "SEND_START: the target PDH is not an ECDH key");
    bool sev = g->policy & MC_SEV_POLICY_SEV, domain = g->policy & MC_SEV_POLICY_DOMAIN;
    if (!st && (sev || domain)) {
        if (mc_le32(buf + F(mc_sev_send_start, plat_certs_len)) != MC_SEV_CHAIN_LEN)
            st = psp_fail(err, MC_FW_INVALID_LENGTH, "SEND_START: the target chain PEK||OCA||CEK must be 0x186C bytes");
        if (!st)
            st = psp_host_read(psp, mc_le64(buf + F(mc_sev_send_start, plat_certs_paddr)), chain, MC_SEV_CHAIN_LEN,
                               err);
        if (!st)
            st = parse(chain, MC_SEV_USAGE_PEK, &c[1], "PEK", err);
        if (!st)
            st = parse(chain + MC_SEV_CERT_LEN, MC_SEV_USAGE_OCA, &c[2], "OCA", err);
        if (!st)
            st = parse(chain + 2 * MC_SEV_CERT_LEN, MC_SEV_USAGE_CEK, &c[3], "CEK", err);
        if (!st && mc_sev_cert_verify(&c[0], &c[1], NULL) != MC_OK)
            st = psp_fail(err, MC_FW_BAD_SIGNATURE, "SEND_START: the target PDH is not signed by its PEK");
    }
    if (!st && domain) {
        uint8_t own[MC_SEV_CERT_LEN];
        if (mc_sev_cert_verify(&c[1], &c[2], NULL) != MC_OK || mc_sev_cert_verify(&c[2], &c[2], NULL) != MC_OK)
            st = psp_fail(err, MC_FW_BAD_SIGNATURE, "SEND_START: the target PEK is not signed by a valid OCA");
        else if ((st = psp_id_oca_cert(psp, own, err)) == MC_FW_SUCCESS &&
                 memcmp(own, chain + MC_SEV_CERT_LEN, MC_SEV_CERT_LEN) != 0)
            st = psp_fail(err, MC_FW_POLICY_FAILURE, "SEND_START refused (DOMAIN): the target has another owner (OCA)");
    }
    if (!st && sev) {
        uint32_t n = mc_le32(buf + F(mc_sev_send_start, amd_certs_len));
        if (!amd_chain_len_ok(n))
            st = psp_fail(err, MC_FW_INVALID_LENGTH, "SEND_START: 0x%x is not the size of an ASK||ARK chain", n);
        if (!st)
            st = psp_host_read(psp, mc_le64(buf + F(mc_sev_send_start, amd_certs_paddr)), amdb, n, err);
        if (!st && mc_amd_chain_parse(amdb, n, &amd[0], &amd[1], NULL) != MC_OK)
            st = psp_fail(err, MC_FW_INVALID_CERTIFICATE, "SEND_START: the ASK||ARK chain is malformed");
        /* AMD's firmware compares the ARK with a fused hash. The emulator accepts AMD's real roots
         * and memcrypt's emulated roots (marked "MEMCRYPT-EMU"), since every emulated chip has one. */
        if (!st && !mc_sev_root_match_ark(&amd[1]) && !mc_amd_cert_is_emulated(&amd[1]))
            st = psp_fail(err, MC_FW_INVALID_CERTIFICATE, "SEND_START: the ARK is neither AMD's nor an emulated root");
        if (!st && (mc_amd_cert_verify(&amd[1], &amd[1], NULL) != MC_OK ||
                    mc_amd_cert_verify(&amd[0], &amd[1], NULL) != MC_OK ||
                    mc_sev_cert_verify_by_ask(&c[3], &amd[0], NULL) != MC_OK ||
                    mc_sev_cert_verify(&c[1], &c[3], NULL) != MC_OK))
            st = psp_fail(err, MC_FW_BAD_SIGNATURE, "SEND_START: the chain PEK <- CEK <- ASK <- ARK does not verify");
        uint32_t want = (MC_SEV_POLICY_API_MAJOR(g->policy) << 8) | MC_SEV_POLICY_API_MINOR(g->policy);
        if (!st && (((uint32_t)c[1].api_major << 8) | c[1].api_minor) < want)
            st = psp_fail(err, MC_FW_POLICY_FAILURE, "SEND_START refused (SEV): the target firmware is API %u.%u, the "
                                                     "policy needs %u.%u",
                          c[1].api_major, c[1].api_minor, MC_SEV_POLICY_API_MAJOR(g->policy),
                          MC_SEV_POLICY_API_MINOR(g->policy));
    }
    if (!st)
        st = psp_fail(err, MC_FW_UNSUPPORTED,
                      "SEND_START: every check passed, but building the transport session toward the target is not "
                      "implemented yet (migration)");
    free(mem);
    free(c);
    free(amd);
    return st;
}
