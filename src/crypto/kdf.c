/* memcrypt — NIST SP 800-108 counter-mode KDF with HMAC-SHA256 (OpenSSL HMAC underneath). */
#include "crypto/kdf.h"

#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>

#include "crypto/crypto.h"

mc_status mc_kdf_ctr_hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *before, size_t before_len,
                                 const uint8_t *after, size_t after_len, unsigned counter_bits,
                                 enum mc_kdf_endian counter_endian, uint8_t *out, size_t outlen,
                                 struct mc_error *err)
{
    if ((!key && keylen) || (!before && before_len) || (!after && after_len) || !out || outlen == 0)
        return mc_seterr(err, MC_E_INVAL, "KDF: bad argument");
    if (counter_bits != 8 && counter_bits != 16 && counter_bits != 24 && counter_bits != 32)
        return mc_seterr(err, MC_E_INVAL, "KDF: counter width must be 8, 16, 24 or 32 bits");
    size_t blocks = (outlen + MC_SHA256_LEN - 1) / MC_SHA256_LEN;
    if (blocks > 255 || before_len > (1u << 20) || after_len > (1u << 20))
        return mc_seterr(err, MC_E_RANGE, "KDF: output or input too long");
    size_t cb = counter_bits / 8, mlen = before_len + cb + after_len;
    uint8_t *msg = malloc(mlen ? mlen : 1);
    if (!msg)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    if (before_len)
        memcpy(msg, before, before_len);
    if (after_len)
        memcpy(msg + before_len + cb, after, after_len);
    mc_status rc = MC_OK;
    uint8_t k[MC_SHA256_LEN];
    for (size_t i = 1; i <= blocks && rc == MC_OK; i++) {
        uint8_t *c = msg + before_len;
        for (size_t j = 0; j < cb; j++) {
            unsigned shift = (unsigned)(counter_endian == MC_KDF_BE ? (cb - 1 - j) : j) * 8;
            c[j] = (uint8_t)(i >> shift);
        }
        rc = mc_hmac_sha256(key, keylen, msg, mlen, k, err);
        if (rc == MC_OK) {
            size_t off = (i - 1) * MC_SHA256_LEN, n = outlen - off < MC_SHA256_LEN ? outlen - off : MC_SHA256_LEN;
            memcpy(out + off, k, n);
        }
    }
    mc_wipe(k, sizeof k);
    mc_wipe(msg, mlen);
    free(msg);
    if (rc != MC_OK)
        mc_wipe(out, outlen);
    return rc;
}

mc_status mc_kdf_sev(const uint8_t *key, size_t keylen, const char *label, const uint8_t *ctx, size_t ctxlen,
                     uint8_t *out, size_t outlen, struct mc_error *err)
{
    if (!label || (!ctx && ctxlen) || outlen == 0 || outlen > 8160)
        return mc_seterr(err, MC_E_INVAL, "SEV KDF: bad argument");
    size_t ll = strlen(label);
    if (ll > 256 || ctxlen > 4096)
        return mc_seterr(err, MC_E_RANGE, "SEV KDF: label or context too long");
    size_t n = ll + 1 + ctxlen + 4;
    uint8_t *after = malloc(n);
    if (!after)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    memcpy(after, label, ll);
    after[ll] = 0;
    if (ctxlen)
        memcpy(after + ll + 1, ctx, ctxlen);
    mc_put_le32(after + ll + 1 + ctxlen, (uint32_t)(outlen * 8));
    mc_status rc = mc_kdf_ctr_hmac_sha256(key, keylen, NULL, 0, after, n, 32, MC_KDF_LE, out, outlen, err);
    mc_wipe(after, n);
    free(after);
    return rc;
}
