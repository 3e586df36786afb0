/* memcrypt — a transport channel's keys held ready (internal header): AES-128-CTR under one key
 * and HMAC-SHA256 under another, each an OpenSSL context keyed once and re-initialised per message
 * (the migration packets of a guest use the same TEK/TIK thousands of times). */
#ifndef MC_CRYPTO_CHAN_H
#define MC_CRYPTO_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

struct mc_chan;
mc_status mc_chan_create(const uint8_t tek[16], const uint8_t tik[16], struct mc_chan **out, struct mc_error *err);
void mc_chan_destroy(struct mc_chan *c); /* NULL is fine */
/* out = AES-128-CTR(TEK, iv)(in); in and out may be the same buffer. */
mc_status mc_chan_ctr(struct mc_chan *c, const uint8_t iv[16], const uint8_t *in, uint8_t *out, size_t len,
                      struct mc_error *err);
/* out = HMAC-SHA256(TIK, a || b). */
mc_status mc_chan_mac(struct mc_chan *c, const void *a, size_t an, const void *b, size_t bn, uint8_t out[32],
                      struct mc_error *err);

#endif
