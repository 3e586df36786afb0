/* memcrypt — DMA: a device port that reads and writes physical memory through the memory
 * controller, as a bus-master device does.
 *
 * A device issues bus addresses. With SME a device that can emit the C-bit reaches encrypted
 * memory (the controller uses the host key); an address without the C-bit sees DRAM as it is
 * (ciphertext for encrypted pages). A device whose DMA mask cannot express the C-bit (e.g. a
 * 32-bit device) needs a bounce buffer: the CPU copies between the encrypted page and a C=0
 * buffer the device can reach (digest 2.4; Linux's SWIOTLB).
 * Like every requester, the device sees lines through the cache with its own tag: a line the
 * CPU wrote under the host key is visible to a C=0 device read only after it is written back.
 */
#ifndef MEMCRYPT_DMA_H
#define MEMCRYPT_DMA_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/mc.h>

MC_BEGIN_DECLS

/* The IOMMU's check of a device access (SEV-SNP: the RMP, memcrypt/rmp.h mc_rmp_check_dma): a
 * non-MC_OK return refuses the transfer before any byte moves. */
typedef mc_status (*mc_dma_check_fn)(void *ctx, uint64_t bus_addr, uint64_t len, bool write, struct mc_error *err);

struct mc_dma_port {
    struct memctl *mc;   /* borrowed */
    unsigned mask_bits;  /* DMA mask width: the device can emit address bits [mask_bits-1:0] */
    mc_dma_check_fn check; /* NULL: no IOMMU check (mc_dma_init) */
    void *check_ctx;
};

/* mask_bits in 24..64. */
MC_API mc_status mc_dma_init(struct mc_dma_port *port, struct memctl *mc, unsigned mask_bits, struct mc_error *err);
/* Put the device behind an IOMMU check (NULL removes it). */
MC_API void mc_dma_set_check(struct mc_dma_port *port, mc_dma_check_fn fn, void *ctx);
/* Can the device emit this bus address? */
MC_API bool mc_dma_reachable(const struct mc_dma_port *port, uint64_t bus_addr, uint64_t len);
/* Does this device need bounce buffers for encrypted memory (mask cannot reach the C-bit)? */
MC_API bool mc_dma_needs_bounce(const struct mc_dma_port *port);
/* Intel TME/MKTME: a device, like the CPU, puts the KeyID into the top physical-address bits
 * PA[M-1 : M-K] of its bus address, and the controller uses that KeyID's key (KeyID 0: the TME
 * key, or plaintext under bypass / in the exclusion range). The highest KeyID this device can
 * emit: 0 when TME is off or has no KeyID bits, or when the DMA mask stops below bit M-K;
 * otherwise the largest KeyID whose bits fit under the mask. */
MC_API uint32_t mc_dma_max_keyid(const struct mc_dma_port *port);
/* Device reads / writes. Bus address beyond the mask -> MC_E_RANGE; beyond the physical
 * width -> MC_E_FAULT (*fault set). */
MC_API mc_status mc_dma_read(struct mc_dma_port *port, uint64_t bus_addr, void *buf, size_t len, struct mc_fault *fault,
                      struct mc_error *err);
MC_API mc_status mc_dma_write(struct mc_dma_port *port, uint64_t bus_addr, const void *buf, size_t len, struct mc_fault *fault,
                       struct mc_error *err);

/* Bounce helpers, run by the host CPU through the controller (cached, host requester):
 * to_device copies len bytes from src (physical address as issued, e.g. with C=1) into the
 * bounce buffer at bounce (a C=0 address the device reaches); from_device copies back.
 * The bounce buffer is written back so the device (which snoops by its own tag) sees it. */
MC_API mc_status mc_dma_bounce_to_device(struct memctl *mc, uint64_t src, uint64_t bounce, size_t len, struct mc_error *err);
MC_API mc_status mc_dma_bounce_from_device(struct memctl *mc, uint64_t bounce, uint64_t dst, size_t len, struct mc_error *err);

MC_END_DECLS

#endif
