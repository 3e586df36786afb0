/* memcrypt — SEV-SNP ID block and ID authentication information (SNP ABI 56860, LAUNCH_FINISH).
 *
 * The guest owner signs an ID block (expected launch digest, family/image IDs, guest SVN,
 * policy) with an ECDSA P-384 "ID key"; optionally an "author key" signs the ID key. The
 * firmware checks both at LAUNCH_FINISH and reports SHA-384 digests of the two public-key
 * structures (ID_KEY_DIGEST, AUTHOR_KEY_DIGEST) in every attestation report.
 * Integers are little-endian; ECDSA R/S and QX/QY are little-endian, zero padded to 72 bytes.
 */
#ifndef MEMCRYPT_IDBLOCK_H
#define MEMCRYPT_IDBLOCK_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

MC_BEGIN_DECLS

#define MC_ID_BLOCK_LEN 0x60
#define MC_ID_AUTH_LEN 0x1000
#define MC_SNP_ECDSA_PUBKEY_LEN 0x404
#define MC_SNP_ECDSA_SIG_LEN 0x200
#define MC_SNP_ALGO_ECDSA_P384_SHA384 1
#define MC_SNP_CURVE_P384 2
#define MC_ID_BLOCK_VERSION 1
#define MC_SNP_DEFAULT_POLICY 0x30000ull /* SMT allowed + reserved bit 17 */

struct mc_id_block {
    uint8_t ld[48];        /* expected launch digest */
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint32_t version;      /* MC_ID_BLOCK_VERSION */
    uint32_t guest_svn;
    uint64_t policy;       /* must equal the launch policy */
};

MC_API void mc_id_block_encode(const struct mc_id_block *b, uint8_t out[MC_ID_BLOCK_LEN]);
MC_API void mc_id_block_decode(const uint8_t in[MC_ID_BLOCK_LEN], struct mc_id_block *b);

/* Build and sign the ID authentication structure for an encoded ID block.
 * id_pem: the ID key (PEM, P-384 private); author_pem: optional author key (NULL = none, then
 * AUTH_KEY_ALGO and the author fields stay zero). */
MC_API mc_status mc_id_auth_sign(const uint8_t block[MC_ID_BLOCK_LEN], const uint8_t *id_pem, size_t id_pem_len,
                          const uint8_t *author_pem, size_t author_pem_len, uint8_t auth[MC_ID_AUTH_LEN],
                          struct mc_error *err);

struct mc_id_auth_result {
    bool author_key;                 /* an author key is present and its signature verified */
    uint8_t id_key_digest[48];       /* SHA-384 of the 0x404-byte ID_KEY structure */
    uint8_t author_key_digest[48];   /* zero when no author key */
};

/* Check a pair as LAUNCH_FINISH does: ID_KEY_ALGO = 1, curve P-384, a valid point, the ID block
 * signature; with author_key_en (LAUNCH_FINISH AUTH_KEY_EN) also AUTH_KEY_ALGO = 1, the author
 * key's curve and point, and its signature over ID_KEY; without it the author fields are ignored.
 * MC_E_VERIFY (with the reason) when a check fails. */
MC_API MC_MUST_CHECK mc_status mc_id_auth_verify(const uint8_t block[MC_ID_BLOCK_LEN], const uint8_t auth[MC_ID_AUTH_LEN],
                            bool author_key_en, struct mc_id_auth_result *res, struct mc_error *err);
/* AUTH_KEY_ALGO of an ID auth structure (non-zero when it carries an author key). */
MC_API uint32_t mc_id_auth_author_algo(const uint8_t auth[MC_ID_AUTH_LEN]);

/* SHA-384 of the SNP public-key structure of a PEM key (private or public): the ID_KEY_DIGEST /
 * AUTHOR_KEY_DIGEST an attestation report shows for it. */
MC_API mc_status mc_snp_key_digest_pem(const uint8_t *pem, size_t len, uint8_t digest[48], struct mc_error *err);

MC_END_DECLS

#endif
