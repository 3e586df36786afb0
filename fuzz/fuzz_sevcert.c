/* Fuzz target: the legacy SEV certificate parser, the AMD ARK/ASK parser (single and ASK||ARK
 * chain), the GODH check, the attestation-report decoder and the identity state decoder.
 * Whatever parses must serialize back to the same bytes; nothing may crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/sev_cert.h>
#include <memcrypt/sev_identity.h>
#include <memcrypt/sev_session.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mc_error e;
    struct mc_sev_cert c;
    if (mc_sev_cert_parse(data, size, &c, &e) == MC_OK) {
        uint8_t out[MC_SEV_CERT_LEN];
        mc_sev_cert_serialize(&c, out);
        if (memcmp(out, data, MC_SEV_CERT_LEN) != 0)
            abort();
        /* Self-signature path on arbitrary keys: a verdict, never a crash. */
        if ((unsigned)mc_sev_cert_verify(&c, &c, &e) >= MC_E__COUNT)
            abort();
    }
    enum mc_sev_chan_result why;
    if ((unsigned)mc_sev_godh_check(data, size, &c, &why, &e) >= MC_E__COUNT)
        abort();
    struct mc_amd_cert a, b;
    if (mc_amd_cert_parse(data, size, &a, &e) == MC_OK) {
        uint8_t out[MC_AMD_CERT_MAX_LEN];
        size_t n = 0;
        if (mc_amd_cert_serialize(&a, out, sizeof out, &n, &e) != MC_OK || n != size || memcmp(out, data, n) != 0)
            abort();
        if ((unsigned)mc_amd_cert_verify(&a, &a, &e) >= MC_E__COUNT) /* a verdict, never a crash */
            abort();
    }
    if (mc_amd_chain_parse(data, size, &a, &b, &e) == MC_OK && (unsigned)mc_amd_cert_verify(&a, &b, &e) >= MC_E__COUNT)
        abort();
    struct mc_sev_report r;
    mc_sev_report_decode(data, size, &r, &e);
    struct mc_sev_identity *id = NULL;
    if (mc_sev_identity_deserialize(data, size, &id, &e) == MC_OK) {
        uint8_t *s = NULL;
        size_t n = 0;
        if (mc_sev_identity_serialize(id, &s, &n, &e) != MC_OK || n != size || memcmp(s, data, n) != 0)
            abort();
        free(s);
        mc_sev_identity_destroy(id);
    }
    return 0;
}
