/* memcrypt — snapshots of the SEV firmware (internal; memcrypt/board.h's mc_board_snapshot uses
 * them): platform state, every guest (keys, running launch digest), ASID tables, the committed
 * persistent state, MMIO registers, and a copy of the live identity object (it always equals the
 * committed identity: a restore keeps the live one when the committed state is the snapshot's,
 * else installs a copy of the snapshot's). A firmware with a state file has no snapshots (MC_E_UNSUPPORTED): the
 * file is outside the platform and a restore could not take back what was written there.
 * Adding firmware state: a field of struct mc_psp is restored by the struct copy; memory the
 * firmware owns through a pointer needs its own copy in psp_snap.c (as the guests and the ASID
 * tables have), else a restore would share it with the snapshot. */
#ifndef MC_FW_PSP_SNAP_H
#define MC_FW_PSP_SNAP_H

#include <memcrypt/psp.h>

struct mc_psp_snap;
mc_status mc_psp_snap_save(const struct mc_psp *psp, struct mc_psp_snap **out, struct mc_error *err);
mc_status mc_psp_snap_restore(struct mc_psp *psp, const struct mc_psp_snap *s, struct mc_error *err);
void mc_psp_snap_free(struct mc_psp_snap *s); /* wipes the copied keys */

#endif
