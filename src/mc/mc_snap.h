/* memcrypt — snapshots of a memory controller (internal; memcrypt/board.h's mc_board_snapshot
 * uses them): platform, key bindings (engine slot handles, which the engine's own snapshot keeps
 * valid), every cache line with its tag, data and LRU age, and the statistics. */
#ifndef MC_MC_MC_SNAP_H
#define MC_MC_MC_SNAP_H

#include <memcrypt/mc.h>

struct memctl_snap;
mc_status memctl_snap_save(const struct memctl *mc, struct memctl_snap **out, struct mc_error *err);
mc_status memctl_snap_restore(struct memctl *mc, const struct memctl_snap *s, struct mc_error *err);
void memctl_snap_free(struct memctl_snap *s); /* wipes the copied plaintext lines */

#endif
