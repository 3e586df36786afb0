/* memcrypt — LAUNCH_SECRET packets and the OVMF / Linux efi_secret table.
 * Construction: shared/spec/sev-api.md §11. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/sev_session.h>

#include "crypto/aes.h"
#include "crypto/crypto.h"

struct secret_hdr_wire {
    uint8_t flags[4];
    uint8_t iv[16];
    uint8_t mac[32];
};
_Static_assert(sizeof(struct secret_hdr_wire) == MC_SEV_SECRET_HDR_LEN, "packet header size");
_Static_assert(offsetof(struct secret_hdr_wire, iv) == 0x04, "iv");
_Static_assert(offsetof(struct secret_hdr_wire, mac) == 0x14, "mac");

#define FLAG_COMPRESSED 1u

void mc_sev_secret_hdr_encode(const struct mc_sev_secret_hdr *h, uint8_t out[MC_SEV_SECRET_HDR_LEN])
{
    mc_put_le32(out + offsetof(struct secret_hdr_wire, flags), h->flags);
    memcpy(out + offsetof(struct secret_hdr_wire, iv), h->iv, 16);
    memcpy(out + offsetof(struct secret_hdr_wire, mac), h->mac, 32);
}

void mc_sev_secret_hdr_decode(const uint8_t in[MC_SEV_SECRET_HDR_LEN], struct mc_sev_secret_hdr *h)
{
    h->flags = mc_le32(in + offsetof(struct secret_hdr_wire, flags));
    memcpy(h->iv, in + offsetof(struct secret_hdr_wire, iv), 16);
    memcpy(h->mac, in + offsetof(struct secret_hdr_wire, mac), 32);
}

/* HMAC(TIK, 0x01 || LE32(flags) || iv || LE32(guest_len) || LE32(trans_len) || trans [|| measure]). */
static mc_status packet_mac(const uint8_t tik[16], uint32_t flags, const uint8_t iv[16], uint32_t guest_len,
                            const uint8_t *trans, uint32_t trans_len, const uint8_t *measure, uint8_t mac[32],
                            struct mc_error *err)
{
    size_t n = 1 + 4 + 16 + 4 + 4 + (size_t)trans_len + (measure ? 32 : 0);
    uint8_t *m = malloc(n);
    if (!m)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    size_t o = 0;
    m[o++] = 0x01;
    mc_put_le32(m + o, flags);
    o += 4;
    memcpy(m + o, iv, 16);
    o += 16;
    mc_put_le32(m + o, guest_len);
    o += 4;
    mc_put_le32(m + o, trans_len);
    o += 4;
    memcpy(m + o, trans, trans_len);
    o += trans_len;
    if (measure)
        memcpy(m + o, measure, 32);
    mc_status rc = mc_hmac_sha256(tik, 16, m, n, mac, err);
    free(m);
    return rc;
}

static bool len_ok(size_t len) { return len && len % 16 == 0 && len <= MC_SEV_SECRET_MAX; }

mc_status mc_sev_secret_seal(const struct mc_sev_tks *tks, bool api_17, const uint8_t iv[16], const uint8_t *plain,
                             size_t len, const uint8_t *measure, struct mc_sev_secret_hdr *hdr, uint8_t *trans,
                             struct mc_error *err)
{
    if (!tks || !iv || !plain || !hdr || !trans || (api_17 && !measure))
        return mc_seterr(err, MC_E_INVAL, "secret seal: NULL argument");
    if (!len_ok(len))
        return mc_seterr(err, MC_E_RANGE, "secret length %zu must be a non-zero multiple of 16 up to %u", len,
                         MC_SEV_SECRET_MAX);
    struct mc_sev_secret_hdr h;
    h.flags = 0;
    memcpy(h.iv, iv, 16);
    mc_status rc = mc_aes128_ctr(tks->tek, iv, plain, trans, len, err);
    if (rc == MC_OK)
        rc = packet_mac(tks->tik, 0, iv, (uint32_t)len, trans, (uint32_t)len, api_17 ? measure : NULL, h.mac, err);
    if (rc == MC_OK)
        *hdr = h;
    return rc;
}

mc_status mc_sev_secret_open(const struct mc_sev_tks *tks, bool api_17, const uint8_t *hdr, size_t hdr_len,
                             const uint8_t *trans, size_t trans_len, size_t guest_len, const uint8_t *measure,
                             uint8_t *plain, enum mc_sev_chan_result *why, struct mc_error *err)
{
    enum mc_sev_chan_result dummy;
    if (!why)
        why = &dummy;
    *why = MC_SEV_CHAN_ERROR;
    if (!tks || !hdr || !trans || !plain || (api_17 && !measure))
        return mc_seterr(err, MC_E_INVAL, "secret open: NULL argument");
    if (hdr_len != MC_SEV_SECRET_HDR_LEN || guest_len != trans_len || !len_ok(trans_len)) {
        *why = MC_SEV_CHAN_BAD_LENGTH;
        return mc_seterr(err, MC_E_RANGE,
                         "LAUNCH_SECRET lengths invalid (header %zu, guest %zu, transport %zu; need 0x34 and equal "
                         "non-zero multiples of 16 up to 0x%x)",
                         hdr_len, guest_len, trans_len, MC_SEV_SECRET_MAX);
    }
    struct mc_sev_secret_hdr h;
    mc_sev_secret_hdr_decode(hdr, &h);
    uint8_t mac[32];
    mc_status rc = packet_mac(tks->tik, h.flags, h.iv, (uint32_t)guest_len, trans, (uint32_t)trans_len,
                              api_17 ? measure : NULL, mac, err);
    if (rc != MC_OK)
        return rc;
    bool mac_ok = mc_ct_equal(mac, h.mac, 32);
    mc_wipe(mac, sizeof mac); /* the valid MAC for these bytes: a forgery if it leaked */
    if (!mac_ok) {
        *why = MC_SEV_CHAN_BAD_MAC;
        return mc_seterr(err, MC_E_VERIFY, "LAUNCH_SECRET packet MAC does not verify");
    }
    if (h.flags & FLAG_COMPRESSED) {
        *why = MC_SEV_CHAN_UNSUPPORTED;
        return mc_seterr(err, MC_E_UNSUPPORTED, "LAUNCH_SECRET with the COMPRESSED flag is not supported");
    }
    rc = mc_aes128_ctr(tks->tek, h.iv, trans, plain, trans_len, err);
    if (rc == MC_OK)
        *why = MC_SEV_CHAN_OK;
    else
        mc_wipe(plain, trans_len); /* no partial plaintext on failure */
    return rc;
}

/* ---- efi_secret table ----------------------------------------------------------------------- */



#define SECRET_TABLE_GUID "1e74f542-71dd-4d66-963e-ef4287ff173b"

mc_status mc_sev_secret_table_build(const struct mc_sev_secret_entry *e, size_t n, enum mc_sev_secret_pad pad,
                                    uint8_t *out, size_t cap, size_t *outlen, struct mc_error *err)
{
    if ((!e && n) || !out || !outlen)
        return mc_seterr(err, MC_E_INVAL, "secret table: NULL argument");
    size_t total = 20;
    for (size_t i = 0; i < n; i++) {
        if ((!e[i].data && e[i].len) || e[i].len > MC_SEV_SECRET_MAX)
            return mc_seterr(err, MC_E_RANGE, "secret entry %zu is too large", i);
        total += 20 + e[i].len;
        if (total > MC_SEV_SECRET_MAX)
            return mc_seterr(err, MC_E_RANGE, "secret table exceeds %u bytes", MC_SEV_SECRET_MAX);
    }
    /* libvirt's virt-qemu-sev-validate pads 16 - len % 16 bytes, a whole block of zeros when the
     * table is already aligned; sevctl pads to the next multiple of 16 only. */
    size_t padded = pad == MC_SEV_SECRET_PAD_LIBVIRT ? total + (16 - total % 16) : (total + 15) & ~(size_t)15;
    if (padded > MC_SEV_SECRET_MAX)
        return mc_seterr(err, MC_E_RANGE, "secret table exceeds %u bytes", MC_SEV_SECRET_MAX);
    if (cap < padded)
        return mc_seterr(err, MC_E_RANGE, "secret table needs %zu bytes", padded);
    memset(out, 0, padded);
    mc_guid_parse(SECRET_TABLE_GUID, out, NULL);
    mc_put_le32(out + 16, (uint32_t)total);
    size_t o = 20;
    for (size_t i = 0; i < n; i++) {
        memcpy(out + o, e[i].guid, 16);
        mc_put_le32(out + o + 16, (uint32_t)(20 + e[i].len));
        if (e[i].len)
            memcpy(out + o + 20, e[i].data, e[i].len);
        o += 20 + e[i].len;
    }
    *outlen = padded;
    return MC_OK;
}
