/* memcrypt — reusable hash contexts with snapshots (internal; libcrypto SHA-2, see hashctx.c).
 *
 * Used by the launch-measurement code: one context per running digest, reused for many pages
 * without re-fetching the algorithm, and "peek" to read the digest of a stream so far (the
 * running SEV / SEV-ES launch digest shown in transcripts) without ending it.
 */
#ifndef MC_CRYPTO_HASHCTX_H
#define MC_CRYPTO_HASHCTX_H

#include <stddef.h>
#include <stdint.h>

#include <memcrypt/crypto.h>
#include <memcrypt/error.h>

/* The multi-part hash API (mc_hashctx_create/update/peek/final/oneshot/free) is public:
 * memcrypt/crypto.h. */

/* A second context in the same state (the stream so far continues independently in each). */
mc_status mc_hashctx_dup(const struct mc_hashctx *h, struct mc_hashctx **out, struct mc_error *err);


/* SHA-384 of each 4 KiB page of data (npages pages) into out[i], computed by up to `threads`
 * threads (1 = in the caller's thread); a page equal to the one before it is compared, not
 * hashed again. Used for the contents hashes of SNP NORMAL pages. */
mc_status mc_sha384_pages(const uint8_t *data, size_t npages, uint8_t (*out)[48], unsigned threads,
                          struct mc_error *err);

#endif
