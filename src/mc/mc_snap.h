/* memcrypt — snapshots of a memory controller (internal; memcrypt/board.h's mc_board_snapshot
 * uses them): platform, key bindings (engine slot handles, which the engine's own snapshot keeps
 * valid), every cache line with its tag, data and LRU age, and the statistics. */
#ifndef MC_MC_MC_SNAP_H
#define MC_MC_MC_SNAP_H

#include <memcrypt/mc.h>

struct mc_ctl_snap;
mc_status mc_ctl_snap_save(const struct mc_ctl *mc, struct mc_ctl_snap **out, struct mc_error *err);
mc_status mc_ctl_snap_restore(struct mc_ctl *mc, const struct mc_ctl_snap *s, struct mc_error *err);
void mc_ctl_snap_free(struct mc_ctl_snap *s); /* wipes the copied plaintext lines */

#endif
