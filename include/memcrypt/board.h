/* memcrypt — a board: one emulated platform, assembled from a CPU profile.
 *
 * The board owns
 *   - the machine (memcrypt/machine.h): engine, DRAM, memory controller with its cache, CPU state;
 *   - on AMD profiles with SEV: the Secure Processor running the SEV firmware (memcrypt/psp.h),
 *     wired to the memory controller through its memory port (every firmware access is an
 *     MEMCTL_REQ_PSP access with an explicit key domain; guest keys become engine slots bound to
 *     ASIDs), and the KVM-like hypervisor (memcrypt/vm.h) with its pool of host memory;
 *   - on Intel profiles: the package's TME/MKTME unit (memcrypt/tme.h), attached to the machine
 *     (its MSRs answer RDMSR/WRMSR, its keys become engine slots bound to KeyIDs).
 * One create/destroy pair builds and frees all of it, and there is one way to issue a firmware
 * command: mc_board_fw, the host driver's mailbox (the hypervisor uses it too).
 *
 * No global state: any number of boards may live in one process (migration needs two).
 */
#ifndef MEMCRYPT_BOARD_H
#define MEMCRYPT_BOARD_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/cpu.h>
#include <memcrypt/error.h>
#include <memcrypt/machine.h>
#include <memcrypt/pconfig.h>
#include <memcrypt/psp.h>
#include <memcrypt/rmp.h>
#include <memcrypt/tme.h>

MC_BEGIN_DECLS

struct mc_vmm;

#define MC_BOARD_POOL_BASE 0x200000ull /* default start of the hypervisor's pool (2 MiB) */
#define MC_BOARD_MBOX_PA 0x10000ull    /* the host driver's page on a board without hypervisor */
/* The host driver's page: the command buffer at offset 0 (at most MC_BOARD_CMD_MAX bytes, more
 * than any SEV or SNP command buffer needs), a data area for small firmware outputs after it. */
#define MC_BOARD_CMD_MAX 0x100u
#define MC_BOARD_DATA_OFF 0x100u

struct mc_board_config {
    /* The machine: platform (required), DRAM size and file, seed, BIOS settings, cache, TLB. */
    struct mc_machine_config machine;
    /* The SEV firmware. mc_board_config_init sets `firmware` when the profile has SEV and fills
     * `fw` from the profile: API version and build, ASID range (CPUID 8000_001F), SEV-ES, one
     * core, ARK/ASK size (2048-bit on Naples, else 4096), no state file. Change fields freely
     * before mc_board_create (state_path, num_cores, root_bits, max_guests, ...). */
    bool firmware;
    struct mc_psp_config fw;
    /* The hypervisor (needs the firmware): its host memory is [pool_base, pool_base + pool_size);
     * pool_size 0 means up to the end of DRAM. Without room for a pool (64 KiB) the board has no
     * hypervisor. */
    bool hypervisor;
    uint64_t pool_base, pool_size;
    /* The host driver's page (4 KiB aligned, in DRAM). 0: the first page of the pool (the
     * hypervisor takes the rest), or MC_BOARD_MBOX_PA on a board without hypervisor. An explicit
     * page must lie outside the pool. */
    uint64_t mbox_pa;
    /* Intel: attach the TME/MKTME unit (set by mc_board_config_init on Intel profiles). */
    bool tme;
    /* AMD with SEV-SNP: the RMP the BIOS reserves and programs into RMP_BASE/RMP_END. 0: none
     * (SNP cannot be enabled); MC_BOARD_RMP_AUTO: the smallest RMP covering DRAM (mc_rmp_size_for),
     * at the top of DRAM, 1 MiB aligned; else that many bytes (a 1 MiB multiple) at the top. The
     * hypervisor's default pool then ends below it; an explicit pool must not overlap it. */
    uint64_t rmp_size;
};
#define MC_BOARD_RMP_AUTO UINT64_MAX

/* Defaults for `platform`: machine defaults (64 MiB DRAM, OS seed, the profile's BIOS), the
 * firmware and hypervisor when the profile has SEV, the TME unit on Intel, the pool from 2 MiB
 * to the end of DRAM, the driver's page at its start. MC_E_NOTFOUND (with the list of names)
 * for an unknown platform. */
MC_API mc_status mc_board_config_init(struct mc_board_config *cfg, const char *platform, struct mc_error *err);

struct mc_board;

/* Build everything the configuration asks for, in this order: machine (platform keys from its
 * DRBG), firmware (loads or creates its state file; without one, a chip secret from the DRBG),
 * hypervisor, TME unit. A failure frees what was built and leaves *out NULL. */
MC_API mc_status mc_board_create(const struct mc_board_config *cfg, struct mc_board **out, struct mc_error *err);
/* Frees hypervisor, firmware (secrets wiped), machine, TME unit. VMs made on the board's
 * hypervisor must be destroyed first. NULL is fine. */
MC_API void mc_board_destroy(struct mc_board *b);

MC_API struct mc_machine *mc_board_machine(struct mc_board *b);
MC_API const struct mc_cpu_profile *mc_board_profile(const struct mc_board *b);
MC_API struct mc_psp *mc_board_psp(struct mc_board *b); /* NULL without firmware */
MC_API struct mc_vmm *mc_board_vmm(struct mc_board *b); /* NULL without hypervisor */
MC_API struct mc_tme *mc_board_tme(struct mc_board *b); /* NULL without a TME unit */
/* The RMP unit (memcrypt/rmp.h): present on every board whose CPU has SEV-SNP. */
MC_API struct mc_rmp *mc_board_rmp(struct mc_board *b);

/* ---- SEV-SNP ------------------------------------------------------------------------------ */

/* Linux's SNP host bring-up (snp_rmptable_init): the BIOS-reserved RMP is zeroed through the
 * host's C=0 view (frames never written already read as zero and stay untouched), WBINVD on every
 * core, SYSCFG.MFDM set, then SYSCFG.SNP_EN and VMPL_EN (when the CPU has VMPLs). From then on the
 * RMP checks run on the host CPU and on the hypervisor's vCPUs (VMs created afterwards); the
 * firmware's SNP_INIT comes next. MC_E_UNSUPPORTED without SEV-SNP, MC_E_STATE when the BIOS
 * reserved no RMP, MC_E_FAULT when the CPU refuses a step (#GP, message in err). Idempotent once
 * SNP is on. */
MC_API mc_status mc_board_snp_enable(struct mc_board *b, struct mc_error *err);
/* The SNP platform bring-up of the Linux ccp driver: mc_board_snp_enable, HWCR.SMMLOCK (the BIOS's
 * lock; set here when the modelled BIOS left it clear), SNP_INIT, WBINVD on every core and
 * DF_FLUSH. Firmware refusals: MC_E_FIRMWARE with the status in *fw_status. */
MC_API mc_status mc_board_snp_init(struct mc_board *b, uint32_t *fw_status, struct mc_error *err);
/* SNP_PLATFORM_STATUS into the host page `page` (4 KiB aligned, in DRAM, a Hypervisor page); out
 * receives its 0x20 bytes (struct mc_snp_platform_status of memcrypt/snp_api.h). Once SNP is INIT
 * the firmware writes only Firmware pages, so the page is made one (RMPUPDATE) and given back
 * afterwards (SNP_PAGE_RECLAIM, RMPUPDATE to Hypervisor), as Linux does. */
MC_API mc_status mc_board_snp_status(struct mc_board *b, uint64_t page, uint8_t out[0x20], uint32_t *fw_status,
                                     struct mc_error *err);
/* The same for any SNP command whose output goes to a host page (SNP_FEATURE_INFO, ...): buf (len
 * bytes) already names `page`; out receives out_len bytes of it. */
MC_API mc_status mc_board_snp_out_cmd(struct mc_board *b, uint32_t cmd, void *buf, size_t len, uint64_t page, void *out,
                                      size_t out_len, uint32_t *fw_status, struct mc_error *err);
/* The firmware configuration in force (NULL without firmware). */
MC_API const struct mc_psp_config *mc_board_fw_config(const struct mc_board *b);

/* ---- The host driver's mailbox ------------------------------------------------------------ */

/* Issue firmware command `cmd` as the host's SEV driver does: buf (len bytes, at most
 * MC_BOARD_CMD_MAX; len 0 for commands without a buffer) is written to the driver's page
 * through the memory controller (C=0), its lines are written back from the caches, the mailbox
 * is rung, and the buffer is copied back into buf (the firmware writes results there).
 * *fw_status (may be NULL) receives the firmware status (0xFFFF when no command was issued).
 * Returns MC_OK on SUCCESS; a firmware failure is MC_E_FIRMWARE with the status in *fw_status
 * and err->fw_status and "<COMMAND>: <STATUS>: <why>" in err->msg; MC_E_UNSUPPORTED on a board
 * without firmware. */
MC_API mc_status mc_board_fw(struct mc_board *b, uint32_t cmd, void *buf, size_t len, uint32_t *fw_status,
                      struct mc_error *err);
/* The driver's data area: host physical address (C=0) of 4096 - MC_BOARD_DATA_OFF bytes in
 * the driver's page, where small firmware outputs (LAUNCH_MEASURE, ATTESTATION reports) may be
 * placed; read them before the next command. 0 without firmware. */
MC_API uint64_t mc_board_fw_data(const struct mc_board *b);
/* WBINVD on every core: the machine's caches are written back and dropped, and the firmware
 * learns that each of its num_cores cores did so (DF_FLUSH waits for that). */
MC_API mc_status mc_board_wbinvd(struct mc_board *b, struct mc_error *err);
/* What Linux does after INIT and before reusing ASIDs: WBINVD on every core, then DF_FLUSH. */
MC_API mc_status mc_board_df_flush(struct mc_board *b, uint32_t *fw_status, struct mc_error *err);

/* ---- Snapshots ------------------------------------------------------------------------------ */

/* A snapshot holds the whole platform: the machine (CPU registers and MSRs, the DRBG, the
 * engine's key slots, DRAM, the memory controller with its cache), the firmware (platform and
 * guest states, guest keys, running launch digests, ASID tables, the committed persistent state),
 * the hypervisor's pool and ASIDs, the TME unit. Restoring puts all of it back, so the same
 * commands then give the same results: a fuzzer prepares a platform once and runs every input
 * from it. A restore costs what changed (DRAM frames written since; the cache and the small
 * tables are copied whole); a snapshot can be restored any number of times.
 * Taking a snapshot forks the DRBG (see crypto.h: deterministic from then on, and every restore
 * replays the same stream) and flushes the TLB. MC_E_UNSUPPORTED with a file-backed DRAM or a
 * firmware state file (files lie outside the platform); MC_E_STATE while VMs are alive. A failed
 * restore (out of memory) leaves the board unusable: destroy it. */
struct mc_board_snapshot;
MC_API mc_status mc_board_snapshot(struct mc_board *b, struct mc_board_snapshot **out, struct mc_error *err);
MC_API mc_status mc_board_restore(struct mc_board *b, const struct mc_board_snapshot *s, struct mc_error *err);
MC_API void mc_board_snapshot_free(struct mc_board_snapshot *s); /* wipes the copied keys and plaintext */

/* ---- Intel: PCONFIG on the board's host CPU ----------------------------------------------- */

/* PCONFIG with the structure read at linear address cpu->rbx through the host's paging and
 * memory controller (a #PF from the walk is returned as MC_TME_EV_PF); see mc_pconfig for the
 * results. MC_E_UNSUPPORTED on a board without a TME unit. */
MC_API mc_status mc_board_pconfig(struct mc_board *b, struct mc_pconfig_cpu *cpu, struct mc_tme_event *ev,
                           struct mc_error *err);

MC_END_DECLS

#endif
