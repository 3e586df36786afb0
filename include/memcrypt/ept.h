/* memcrypt — Intel EPT (extended page tables) for VMs with MKTME KeyIDs.
 *
 * A VMM gives each VM its KeyIDs through EPT: the host-physical address in a leaf EPT entry
 * carries the KeyID bits (PA[M-1 : M-K], memcrypt/tme.h), so the memory controller encrypts the
 * VM's memory with that KeyID's key. The guest cannot choose a KeyID: its own page tables
 * produce guest-physical addresses, which MKTME does not interpret; EPT translates the whole
 * GPA (a GPA with "KeyID-looking" high bits is just an unmapped GPA -> EPT violation).
 *
 * The tables live in emulated DRAM (a page pool given at creation), written by the VMM through
 * KeyID 0 (4 levels, 4 KiB mappings created; 2 MiB and 1 GiB leaves are honoured when walking).
 * The VM's vCPUs are CPUs of the one access path (memcrypt/lcpu.h) with EPT nesting: their TLBs
 * cache guest-physical and combined translations tagged with the VPID and the EPTP, and the
 * core page walker (memcrypt/paging.h) walks both the guest's tables and EPT (MC_PT_EPT).
 *
 * Faults are values (struct mc_fault, memcrypt/mc.h):
 *   EPT violation       -> kind MC_FAULT_NPF (the model's nested-fault kind), addr = GPA,
 *                          error_code = exit qualification: bit 0 read, 1 write, 2 fetch,
 *                          bits 3/4/5 = the translation's effective R/W/X; plus
 *                          MC_NPF_FINAL (final GPA) or MC_NPF_TABLE (guest table walk).
 *   EPT misconfiguration-> kind MC_FAULT_NPF with MC_PF_RSVD set in error_code (an entry with
 *                          bits at/above MAXPHYADDR, or write without read).
 */
#ifndef MEMCRYPT_EPT_H
#define MEMCRYPT_EPT_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/mc.h>
#include <memcrypt/paging.h>

MC_BEGIN_DECLS

/* MC_EPT_R/W/X/PS and MC_EPT_MISCONFIG: memcrypt/paging.h (the walker reads EPT entries). */

struct mc_machine;
struct mc_tme;
struct mc_ept;
struct mc_lcpu;

#define MC_EPT_MAX_VCPUS 16u

/* Create an empty EPT whose tables use [pool_base, pool_base + 4096*pool_pages) of host
 * physical memory (KeyID 0, 4 KiB aligned, inside DRAM; the VMM must not hand it to a VM).
 * t (attached to m) supplies the KeyID bit layout. Both are borrowed. */
MC_API mc_status mc_ept_create(struct mc_machine *m, struct mc_tme *t, uint64_t pool_base, unsigned pool_pages,
                        struct mc_ept **out, struct mc_error *err);
MC_API void mc_ept_destroy(struct mc_ept *e); /* NULL is fine; the tables stay in DRAM */

/* EPTP: PML4 address | memory type WB (6) | page-walk length - 1 (3) << 3. */
MC_API uint64_t mc_ept_eptp(const struct mc_ept *e);

/* A vCPU of this VM (VPID vpid > 0) on the one access path: guest-virtual accesses through
 * mc_lcpu_access after mc_lcpu_set_regs. Owned by the EPT (freed by mc_ept_destroy); vCPU 0
 * (VPID 1) exists from creation and serves mc_ept_read/write. */
MC_API mc_status mc_ept_add_vcpu(struct mc_ept *e, uint16_t vpid, struct mc_lcpu **out, struct mc_error *err);
/* INVEPT (single context) on every vCPU of this EPT: drops every translation derived from it.
 * mc_ept_map/unmap call it when they change a present entry; a VMM that writes EPT entries
 * itself must call it, or its vCPUs keep using what they cached (as on hardware). */
MC_API void mc_ept_invept(struct mc_ept *e);

/* Map the 4 KiB guest page gpa to host page pa with KeyID keyid and permissions perms
 * (MC_EPT_R/W/X, R required when W). Remapping an existing entry replaces it and does INVEPT
 * (the caller does the cache flushes the spec asks for). MC_E_RANGE for out-of-range gpa/pa/keyid,
 * MC_E_FULL when the pool is exhausted; nothing is changed on failure. */
MC_API mc_status mc_ept_map(struct mc_ept *e, uint64_t gpa, uint64_t pa, uint32_t keyid, uint64_t perms,
                     struct mc_error *err);
/* The same for the 4 KiB pages of [gpa, gpa + len) -> [pa, pa + len) (len a non-zero 4 KiB
 * multiple): each leaf table's share of the range is written in one run through the controller
 * (the tables end up byte for byte as len / 4096 calls of mc_ept_map in ascending order leave
 * them), one INVEPT when a present entry was replaced. Nothing is changed on failure of the
 * checks (range, KeyID, pool, a large mapping in the way). */
MC_API mc_status mc_ept_map_range(struct mc_ept *e, uint64_t gpa, uint64_t pa, uint64_t len, uint32_t keyid,
                                  uint64_t perms, struct mc_error *err);
MC_API mc_status mc_ept_unmap(struct mc_ept *e, uint64_t gpa, struct mc_error *err);

/* The VMM's software walk of EPT (no TLB): translate gpa for an access acc (MC_PG_WRITE /
 * MC_PG_FETCH, 0 = read). *hpa = the host physical address as issued (KeyID bits included). */
MC_API mc_status mc_ept_translate(struct mc_ept *e, uint64_t gpa, unsigned acc, uint64_t *hpa, struct mc_fault *fault,
                           struct mc_error *err);

/* The VM's memory accesses at guest-physical addresses through vCPU 0 (any length; every page
 * through EPT, then through the memory controller with the KeyID EPT supplied; a fault on any
 * page changes no memory). */
MC_API mc_status mc_ept_read(struct mc_ept *e, uint64_t gpa, void *buf, size_t len, struct mc_fault *fault,
                      struct mc_error *err);
MC_API mc_status mc_ept_write(struct mc_ept *e, uint64_t gpa, const void *buf, size_t len, struct mc_fault *fault,
                       struct mc_error *err);

/* Guest-virtual -> guest-physical with the guest's own paging registers (its CR3 is a GPA):
 * loads them into vCPU 0 (MOV CR3), walks stage 1 with each table entry fetched through EPT
 * (stage 2); the final GPA is not translated. */
MC_API mc_status mc_ept_guest_translate(struct mc_ept *e, const struct mc_paging_regs *guest, uint64_t va, unsigned acc,
                                 uint64_t *gpa, struct mc_fault *fault, struct mc_error *err);

MC_END_DECLS

#endif
