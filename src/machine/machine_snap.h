/* memcrypt — snapshots of a machine (internal; memcrypt/board.h's mc_board_snapshot uses them):
 * the host CPU's control registers, MSRs, MSR handlers and reset hooks, the DRBG (forked: see
 * crypto.h), the engine's key slots, DRAM and the memory controller with its cache. The host
 * CPU's TLB is flushed at both ends (a snapshot holds no translations; the CPU walks the
 * restored tables again). State kept in DRAM (page tables, an RMP) is restored with DRAM; a new
 * component of the machine that keeps state of its own needs its snapshot added here. */
#ifndef MC_MACHINE_MACHINE_SNAP_H
#define MC_MACHINE_MACHINE_SNAP_H

#include <memcrypt/machine.h>

struct mc_machine_snap;
mc_status mc_machine_snap_save(struct mc_machine *m, struct mc_machine_snap **out, struct mc_error *err);
mc_status mc_machine_snap_restore(struct mc_machine *m, const struct mc_machine_snap *s, struct mc_error *err);
void mc_machine_snap_free(struct mc_machine_snap *s);

#endif
