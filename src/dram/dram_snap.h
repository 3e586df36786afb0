/* memcrypt — snapshots of a DRAM (internal; memcrypt/board.h's mc_board_snapshot uses them).
 *
 * A snapshot copies every frame that exists (was ever written). From then on the DRAM records
 * which frames are handed out for writing, so restoring the latest snapshot (or the one last
 * restored) visits only those: frames that existed are copied back, frames written since are
 * freed (they read as zeros again). Restoring another snapshot compares every frame. A
 * file-backed DRAM has no snapshots (MC_E_UNSUPPORTED): the file is its state. */
#ifndef MC_DRAM_DRAM_SNAP_H
#define MC_DRAM_DRAM_SNAP_H

#include <memcrypt/dram.h>

struct mc_dram_snap;
mc_status mc_dram_snap_save(struct mc_dram *d, struct mc_dram_snap **out, struct mc_error *err);
mc_status mc_dram_snap_restore(struct mc_dram *d, const struct mc_dram_snap *s, struct mc_error *err);
void mc_dram_snap_free(struct mc_dram_snap *s);

#endif
