/* `memcrypt run` (internal): what the SEV path (run.c) and the SEV-SNP path (run_snp.c) share —
 * the platform they boot, the firmware mailbox, host memory access, the files they read. */
#ifndef MC_RUN_INTERNAL_H
#define MC_RUN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/board.h>
#include <memcrypt/cpu.h>
#include <memcrypt/error.h>
#include <memcrypt/libvirt.h>
#include <memcrypt/run.h>
#include <memcrypt/vm.h>

struct mc_rng;

#define RUN_POOL_BASE (2ull << 20)

struct run {
    struct mc_board *b;
    struct mc_machine *m;
    struct mc_vmm *vmm;
    struct mc_vm *vm;
    struct mc_rng *owner_rng;
    struct mc_run_report *r;
    const struct mc_run_opts *o;
    const struct mc_lv_platform *facts;
};

double run_now(void);
#define RUN_OFF(S, f) offsetof(struct S, f)

/* Host access through the memory controller (C=0 unless spa carries the C-bit); bulk transfers as
 * streamed runs. */
mc_status run_host_rw(struct run *x, uint64_t spa, void *buf, size_t len, bool write, struct mc_error *err);
/* One firmware command through the host driver's mailbox. */
mc_status run_fw(struct run *x, uint32_t cmd, void *buf, size_t len, uint32_t *status, struct mc_error *err);
/* The machine, firmware and hypervisor of profile prof; the hypervisor's pool is pool_size bytes from
 * RUN_POOL_BASE; snp: the BIOS reserves an RMP covering DRAM. The owner's random source too. */
mc_status run_boot(struct run *x, const struct mc_cpu_profile *prof, const struct mc_lv_platform *facts, uint64_t pool_size,
                   bool snp, struct mc_error *err);
/* A file named for the message ("firmware: ..."). */
mc_status run_read_named(const char *path, const char *what, size_t max, uint8_t **buf, size_t *len, struct mc_error *err);
/* Save the running guest to o->save_path (memcrypt/migrate.h mc_guest_save; the guest leaves the
 * board); shared: the GPA ranges it shares with the hypervisor. */
mc_status run_save_guest(struct run *x, const uint64_t (*shared)[2], size_t nshared, struct mc_error *err);
/* Destroy the VM, the board and the owner's random source. */
void run_teardown(struct run *x);

/* The SEV-SNP launch of d (validated; fw = its firmware image, already read). */
mc_status run_snp(struct run *x, const struct mc_cpu_profile *prof, struct mc_lv_domain *d, const uint8_t *fw,
                  size_t fw_len, struct mc_error *err);

#endif
