/* The guest owner's side of a legacy SEV launch (see owner.h).
 * GODH certificate: usage PDH (0x1003), algo ECDH-SHA256 (0x0003), curve P-384, unsigned
 * (sev-api.md §9.2: the firmware checks version/usage/algo/curve/point only). */
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/ovmf.h>
#include <memcrypt/sev_cert.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "run/owner.h"
#include "sev/cert_key.h"

mc_status mc_run_owner_session(struct mc_rng *rng, const uint8_t *pdh, size_t pdh_len, const struct mc_sev_tks *tks,
                               uint32_t policy, uint8_t api_major, uint8_t api_minor,
                               uint8_t godh_out[0x824], uint8_t session_out[MC_SEV_SESSION_LEN],
                               struct mc_error *err)
{
    struct mc_sev_cert pdh_cert, godh;
    mc_status st = mc_sev_cert_parse(pdh, pdh_len, &pdh_cert, err);
    if (st)
        return st;
    if (pdh_cert.usage != MC_SEV_USAGE_PDH ||
        (pdh_cert.algo != MC_SEV_ALGO_ECDH_SHA256 && pdh_cert.algo != MC_SEV_ALGO_ECDH_SHA384))
        return mc_seterr(err, MC_E_FORMAT, "the platform's PDH certificate is not an ECDH key (usage 0x%x, algo 0x%x)",
                         pdh_cert.usage, pdh_cert.algo);
    struct mc_pk *pdh_key = NULL, *mine = NULL;
    uint8_t z[MC_P384_LEN], nonce[16], iv[16];
    struct mc_sev_session s;
    if ((st = mc_sev_cert_get_pubkey(&pdh_cert, &pdh_key, err)) || (st = mc_p384_generate(rng, &mine, err)) ||
        (st = mc_sev_cert_init(&godh, MC_SEV_USAGE_PDH, MC_SEV_ALGO_ECDH_SHA256, api_major, api_minor, mine, err)) ||
        (st = mc_ecdh_p384(mine, pdh_key, z, err)) || (st = mc_rng_bytes(rng, nonce, sizeof nonce, err)) ||
        (st = mc_rng_bytes(rng, iv, sizeof iv, err)) ||
        (st = mc_sev_session_wrap(z, sizeof z, nonce, iv, tks, policy, &s, err)))
        goto out;
    mc_sev_cert_serialize(&godh, godh_out);
    mc_sev_session_encode(&s, session_out);
out:
    mc_wipe(z, sizeof z);
    mc_wipe(&s, sizeof s);
    mc_pk_free(pdh_key);
    mc_pk_free(mine);
    return st;
}

bool mc_run_secret_lookup(const uint8_t *table, size_t table_len, const uint8_t *guid, const uint8_t **data,
                          size_t *len, uint8_t guid_out[16])
{
    uint8_t head[16];
    if (mc_guid_parse("1e74f542-71dd-4d66-963e-ef4287ff173b", head, NULL) != MC_OK) /* efi_secret table header */
        return false;
    if (table_len < 20 || memcmp(table, head, 16) != 0)
        return false;
    uint32_t total = mc_le32(table + 16);
    if (total < 20 || total > table_len)
        return false;
    size_t off = 20;
    while (off + 20 <= total) {
        uint32_t elen = mc_le32(table + off + 16);
        if (elen < 20 || elen > total - off)
            return false;
        if (!guid || !memcmp(table + off, guid, 16)) {
            if (guid_out)
                memcpy(guid_out, table + off, 16);
            *data = table + off + 20;
            *len = elen - 20;
            return true;
        }
        off += elen;
    }
    return false;
}
