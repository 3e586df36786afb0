/* memcrypt — emulated DRAM: sparse physical memory.
 *
 * Only frames (4 KiB) that were written cost host memory; untouched memory reads as zero.
 * Address spaces up to 2^52 bytes, held as large sparse mappings (1 GiB chunks, frames found by
 * index). Optionally backed by a file that holds exactly what the DRAM chips hold (ciphertext
 * for encrypted lines), as a sparse file of the same size and the same layout.
 * The read/write functions here are the RAW PORT: what a bus snooper or a cold-boot attacker
 * sees. Everything else reaches DRAM through the memory controller (memcrypt/mc.h).
 */
#ifndef MEMCRYPT_DRAM_H
#define MEMCRYPT_DRAM_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

MC_BEGIN_DECLS

#define MC_FRAME_SIZE 4096u

struct mc_dram_config {
    uint64_t size;            /* bytes, multiple of 4 KiB, > 0, <= 2^52 */
    const char *backing_file; /* NULL: host memory only; else created/opened, sparse, size bytes */
};

struct mc_dram;

/* A backing file is created (mode 0600) or reopened; an existing file must be empty (it is then
 * sized) or exactly size bytes (its contents are kept: frames holding data count as touched).
 * File backing is limited to 2^46 bytes (MC_E_UNSUPPORTED). Not thread-safe. */
MC_API mc_status mc_dram_create(const struct mc_dram_config *cfg, struct mc_dram **out, struct mc_error *err);
MC_API void mc_dram_destroy(struct mc_dram *d);
MC_API uint64_t mc_dram_size(const struct mc_dram *d);
/* Number of 4 KiB frames that have host memory behind them. */
MC_API uint64_t mc_dram_frames_touched(const struct mc_dram *d);

/* Raw port. Any length and alignment; [pa, pa+len) must lie inside DRAM (else MC_E_RANGE,
 * nothing copied). */
MC_API mc_status mc_dram_read(struct mc_dram *d, uint64_t pa, void *buf, size_t len, struct mc_error *err);
MC_API mc_status mc_dram_write(struct mc_dram *d, uint64_t pa, const void *buf, size_t len, struct mc_error *err);
/* Flush the backing file (no-op without one). */
MC_API mc_status mc_dram_sync(struct mc_dram *d, struct mc_error *err);

/* Fast path for the memory controller: a pointer to the frame holding pa (pa >> 12), or NULL
 * when the frame was never written and alloc is false (it reads as zeros). With alloc true the
 * frame is created (zero-filled); NULL then means out of memory or out of range. */
MC_API uint8_t *mc_dram_frame(struct mc_dram *d, uint64_t pfn, bool alloc);

/* Fast path for runs: the host memory holding [pa, pa + *len) (pa and pa + *len inside DRAM,
 * unchecked), contiguous as far as the returned pointer goes: *len is shortened to the run it
 * covers (it ends at a 1 GiB boundary at the latest). write = true: the frames of the run are
 * created and counted as touched (NULL: out of memory or address space). write = false: NULL
 * when no frame of the run was ever written (the run reads as zeros); otherwise the bytes,
 * never-written frames among them reading as zeros. */
MC_API uint8_t *mc_dram_run(struct mc_dram *d, uint64_t pa, size_t *len, bool write);

MC_END_DECLS

#endif
