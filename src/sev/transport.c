/* memcrypt — migration packets: the MAC prefix of SEND_UPDATE_* / RECEIVE_UPDATE_* (SEV API
 * §13 of the digest: HMAC-SHA256(TIK, 0x02 || FLAGS || IV || GUEST_LEN || TRANS_LEN || TRANS)) and
 * memcrypt's transfer measurement over the packet stream (memcrypt/sev_api.h). */
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/sev_session.h>

#include "crypto/crypto.h"

void mc_sev_packet_mac_prefix(uint8_t out[MC_SEV_PACKET_MAC_PREFIX], uint8_t ctx, uint32_t flags, const uint8_t iv[16],
                              uint32_t guest_len, uint32_t trans_len)
{
    out[0] = ctx;
    mc_put_le32(out + 1, flags);
    memcpy(out + 5, iv, 16);
    mc_put_le32(out + 21, guest_len);
    mc_put_le32(out + 25, trans_len);
}

void mc_sev_xfer_measure_msg(uint8_t msg[MC_SEV_XFER_MSG_LEN], uint32_t seq, uint32_t xflags, uint64_t where,
                             const uint8_t prev[32], const uint8_t mac[32])
{
    msg[0] = MC_SEV_PACKET_CTX_XFER;
    mc_put_le32(msg + 1, seq);
    mc_put_le32(msg + 5, xflags);
    mc_put_le64(msg + 9, where);
    memcpy(msg + 17, prev, 32);
    memcpy(msg + 49, mac, 32);
}

mc_status mc_sev_xfer_measure(const uint8_t tik[16], uint32_t seq, uint32_t xflags, uint64_t where,
                              const uint8_t prev[32], const uint8_t mac[32], uint8_t rm[32], struct mc_error *err)
{
    if (!tik || !prev || !mac || !rm)
        return mc_seterr(err, MC_E_INVAL, "transfer measurement: NULL argument");
    uint8_t msg[MC_SEV_XFER_MSG_LEN];
    mc_sev_xfer_measure_msg(msg, seq, xflags, where, prev, mac);
    return mc_hmac_sha256(tik, 16, msg, sizeof msg, rm, err);
}
