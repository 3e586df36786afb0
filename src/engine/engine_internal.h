/* memcrypt engine — entry points for tests and tools that choose the implementation
 * (internal header; the public API is memcrypt/engine.h). */
#ifndef MC_ENGINE_INTERNAL_H
#define MC_ENGINE_INTERNAL_H

#include <memcrypt/engine.h>

/* mc_xts_lines_impl (mc_xts_lines on a chosen implementation) is public: memcrypt/engine.h. */

/* Known-answer entry point: one IEEE 1619 data unit of len bytes (whole 16-byte blocks,
 * 16 .. 2^24 bytes) with a raw 16-byte tweak block, on a chosen implementation. Unlike every
 * other entry point it accepts equal key halves (IEEE 1619-2007 vector 1 uses them); OpenSSL,
 * and therefore MC_IMPL_PORTABLE, still refuses them with MC_E_CRYPTO. */
mc_status mc_xts_unit_impl(enum mc_engine_impl impl, enum mc_cipher c, const uint8_t *key, size_t keylen,
                           const uint8_t tweak[16], int decrypt, const uint8_t *in, uint8_t *out, size_t len,
                           struct mc_error *err);

/* Snapshots (memcrypt/board.h's mc_board_snapshot). A snapshot holds the slot table and its own
 * copy of every used slot's key material (wiped when freed). Restoring does nothing when no slot
 * changed since this snapshot was taken or last restored, else rebuilds the slots whose (in use,
 * generation) differ from the snapshot, so handles are what they were; on failure (out of
 * memory) the engine is left partly restored. */
struct mc_engine_snap;
mc_status mc_engine_snap_save(struct mc_engine *e, struct mc_engine_snap **out, struct mc_error *err);
mc_status mc_engine_snap_restore(struct mc_engine *e, const struct mc_engine_snap *s, struct mc_error *err);
void mc_engine_snap_free(struct mc_engine_snap *s);

#endif
