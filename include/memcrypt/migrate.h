/* memcrypt — moving a running SEV / SEV-ES guest from one board to another (live migration).
 *
 * The source's firmware hands the guest's memory to a target platform it has authenticated:
 * SEND_START builds a transport session for the target's PDH (policy NOSEND / DOMAIN / SEV
 * checked there), every page leaves as a packet re-encrypted under the transport keys, and the
 * target's RECEIVE_START / RECEIVE_UPDATE_* / RECEIVE_FINISH put it into a new guest with a new
 * key. The hypervisors in between (and the stream file) only ever hold ciphertext. After a
 * successful send the source guest is gone (SEND_FINISH, DEACTIVATE, DECOMMISSION).
 *
 * The stream ("MCSEVMIG", version 1, every integer little-endian) is what travels, in one
 * process or through a file to another process later (as QEMU's migration to a file):
 *   header  00 magic "MCSEVMIG" · 08 u32 version (1) · 0C u32 kind (1 SEV, 2 SEV-ES; SNP will
 *           take a new kind) · 10 u32 header length (0x980 + 0x20 x vCPUs) · 14 u32 policy ·
 *           18 u64 guest memory bytes · 20 u32 vCPUs (1..64) · 24 u32 flags (bit0: extended
 *           packet headers) · 28 source PDH cert [0x824] · 84C session [0x80] · 8CC u64 page-
 *           table pool GPA · 8D4 u64 its length · 8DC u64 its next free offset · 8E4 pad to 0x980
 *           (zero) · 980 per vCPU: u64 CR0, CR3, CR4, EFER.
 *   records u32 type (1 DATA, 2 VMSA, 3 SHARED, 0xFF END) · u32 header length (DATA/VMSA: 0x34,
 *           or 0x64 with extended headers; SHARED/END: 0) · u64 where (GPA; vCPU for VMSA;
 *           END: the number of records before it) · u32 length · header · payload (DATA/VMSA:
 *           the firmware's ciphertext; SHARED: a page the guest shares with the hypervisor, in
 *           the clear, as it is in memory). END is last; nothing may follow it.
 * Every field is checked on reading (hostile input): a bad stream is MC_E_FORMAT with a sentence;
 * a firmware refusal (MAC, order, policy) is MC_E_FIRMWARE naming the command and status (the
 * status in err->fw_status); the
 * target guest is then destroyed before it ever ran, so a target has the source's exact memory
 * or no guest at all.
 */
#ifndef MEMCRYPT_MIGRATE_H
#define MEMCRYPT_MIGRATE_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/board.h>
#include <memcrypt/error.h>
#include <memcrypt/vm.h>

MC_BEGIN_DECLS

#define MC_MIGRATE_MAGIC "MCSEVMIG"
#define MC_MIGRATE_VERSION 1u
#define MC_MIGRATE_KIND_SEV 1u
#define MC_MIGRATE_KIND_SEV_ES 2u
#define MC_MIGRATE_HDR_FIXED 0x980u
#define MC_MIGRATE_REC_HDR 20u /* type, header length, where, length */
enum mc_migrate_rec { MC_MIGRATE_REC_DATA = 1, MC_MIGRATE_REC_VMSA = 2, MC_MIGRATE_REC_SHARED = 3, MC_MIGRATE_REC_END = 0xFF };

/* What the target publishes and the source's hypervisor passes to SEND_START: the PDH, the chain
 * PEK || OCA || CEK (the CEK signed by the ASK, as AMD's key server hands it out) and ASK || ARK. */
struct mc_migrate_target {
    uint8_t pdh[0x824];
    uint8_t chain[0x186C];
    uint8_t amd[0x2000];
    size_t amd_len;
};
/* PDH_CERT_EXPORT through dst's mailbox, and the ASK-signed CEK, ASK and ARK of its chip. */
MC_API mc_status mc_migrate_target_info(struct mc_board *dst, struct mc_migrate_target *t, struct mc_error *err);

struct mc_migrate_opts {
    uint32_t chunk;          /* bytes per data packet: 16..0x5000, multiple of 16; 0 = 4096 (a page, as QEMU) */
    bool spec_headers;       /* the spec's 0x34-byte headers only (no order / FINAL / measurement) */
    const uint64_t (*shared)[2]; /* GPA ranges [start, start+len) the guest shares with the hypervisor
                                    (4 KiB aligned): sent as SHARED records, not through the firmware */
    size_t nshared;
    bool keep_running;       /* mc_guest_save of an SEV-SNP guest: a checkpoint; the guest keeps running on
                                the board (SEV and SEV-ES guests leave it: MC_E_INVAL) */
};

/* The stream's sink and source. read must deliver exactly len bytes; a short stream is
 * MC_E_FORMAT ("truncated"). */
typedef mc_status (*mc_migrate_write_fn)(void *ctx, const void *buf, size_t len, struct mc_error *err);
typedef mc_status (*mc_migrate_read_fn)(void *ctx, void *buf, size_t len, struct mc_error *err);

struct mc_migrate_stats {
    uint64_t packets, bytes, shared_bytes; /* firmware packets, their payload bytes, SHARED bytes */
    uint32_t last_fw_status;               /* of the last firmware command (0 = SUCCESS) */
};

/* Send *vm (a RUNNING guest on src) to the target t: SEND_START, every page of guest RAM (and each
 * vCPU's VMSA for SEV-ES) as a packet, SEND_FINISH; the stream goes to w. On success the source
 * guest is destroyed and *vm set to NULL. On failure after SEND_START the source cancels
 * (SEND_CANCEL) and the guest keeps running there. stats may be NULL. */
MC_API mc_status mc_migrate_send(struct mc_board *src, struct mc_vm **vm, const struct mc_migrate_target *t,
                          const struct mc_migrate_opts *o, mc_migrate_write_fn w, void *wctx,
                          struct mc_migrate_stats *stats, struct mc_error *err);
/* Receive a stream on dst: RECEIVE_START, every packet, RECEIVE_FINISH; *out is the guest,
 * RUNNING with the source's memory and vCPU state. On any failure no guest is left on dst. */
MC_API mc_status mc_migrate_receive(struct mc_board *dst, mc_migrate_read_fn r, void *rctx, struct mc_vm **out,
                             struct mc_migrate_stats *stats, struct mc_error *err);
/* Both in one process, packet by packet (no stream buffer): *vm moves from src to dst. */
MC_API mc_status mc_migrate(struct mc_board *src, struct mc_vm **vm, struct mc_board *dst, const struct mc_migrate_opts *o,
                     struct mc_vm **out, struct mc_migrate_stats *stats, struct mc_error *err);

/* ---- Saved guests ("memcrypt run --save", "memcrypt migrate --guest") --------------------------
 * A running guest saved so that another process on the same chip can continue it: as QEMU saves
 * an SEV guest to a file, the guest is migrated to its own platform (SEND_START toward the
 * platform's own PDH) and the stream kept; restoring is receiving it (RECEIVE_START with the
 * platform's PDH as the sender's), so only the chip that saved it can open it and the file holds
 * ciphertext only. The file ("MCSEVGST", every integer little-endian):
 *   00 magic "MCSEVGST" · 08 u32 version (1) · 0C u32 kind (1 SEV, 2 SEV-ES, 3 SEV-SNP) · 10 u32
 *   header length (0x80 + 16 x shared ranges) · 14 u32 shared ranges (at most 64) · 18 u64
 *   payload length · 20 platform name [32, NUL padded] · 40 GET_ID of the chip [64] · 80 shared
 *   ranges {u64 GPA, u64 length} · the payload: for kinds 1 and 2 the MCSEVMIG stream.
 * SEV-SNP (kind 3) has no SEND_*: the payload is what a hibernating platform keeps, the firmware's
 * export (memcrypt/psp.h "SEV-SNP guest hibernation"), every integer little-endian:
 *   00 magic "MCSNPHIB" · 08 u32 version (1) · 0C u32 vCPUs (1..64) · 10 u64 guest memory bytes
 *   · 18 u64 SNP guest policy · 20 u64 private page records (the firmware's) · 28 u64 shared page
 *   records · 30 u64 VMSA mask (bit n: vCPU n has a VMSA page) · 38 u64 page-table pool GPA · 40
 *   u64 its length · 48 u64 its next free offset · 50 u32 sealed context length (0x400) · 54 u32
 *   flags (bit 0: 58 names the secrets page) · 58 u64 the secrets page's GPA (where the launch put
 *   it, as QEMU knows it from OVMF's metadata) · 60..80 zero · 80 the sealed guest context [0x400]: IV [12], AES-256-GCM ciphertext [0x3E0], tag [16],
 *   zero; key derived from the chip secret (SEV KDF, label "memcrypt-snp-hibernate", context the
 *   platform name), additional data the 0x80 bytes above with 20..30 zeroed; it holds the context
 *   (policy, launch digest, VMPCKs and their message sequence numbers, VEK, VMRK, TCB, ID-block
 *   data and key digests, HOST_DATA, GOSVW, REPORT_ID), the SHA-384 of the private records, their
 *   count and the RAM's old host address · 480 records of 0x1020 bytes, the private ones first:
 *   00 u32 type (1 private page, 2 VMSA page, 3 shared page) · 04 u32 vCPU (VMSA) · 08 u64 GPA
 *   (private, shared: in guest RAM; VMSA: its RMP GPA) · 10 u64 the frame's old host address (0
 *   for shared) · 18 u32 flags (bit 0 Validated) · 1C VMPL0..3 permission masks [4] · 20 the
 *   frame [4096]: private and VMSA pages as DRAM held them (ciphertext under the guest's key,
 *   re-encrypted by the firmware from the old host address to the new one on restore), shared
 *   pages (ever written, not all zero) as the hypervisor reads them.
 * Only the chip that saved it opens the sealed context (another chip: MC_E_VERIFY); a change to
 * any private record or the header is MC_E_VERIFY; the restored guest keeps its ASID-independent
 * state (measurement, VMPCKs, sequence numbers) and continues where it stopped.
 * Everything is checked on loading (hostile input): MC_E_FORMAT with a sentence; a file saved on
 * another chip: MC_E_VERIFY naming it. */
#define MC_GUEST_FILE_MAGIC "MCSEVGST"
#define MC_GUEST_FILE_VERSION 1u
#define MC_GUEST_FILE_HDR 0x80u
#define MC_GUEST_FILE_MAX_SHARED 64u
#define MC_GUEST_KIND_SNP 3u
#define MC_GUEST_SNP_HDR 0x80u
#define MC_GUEST_SNP_SEALED 0x400u
#define MC_GUEST_SNP_REC 0x1020u
struct mc_guest_file_info {
    uint32_t kind;
    char platform[32];
    uint8_t chip_id[64];
    uint64_t shared[MC_GUEST_FILE_MAX_SHARED][2];
    size_t nshared;
    uint64_t mem_size;
    uint32_t vcpus, policy; /* policy: the SEV policy, or the SNP policy's low 32 bits */
};
/* Save *vm (RUNNING on b) into *file (malloc'd, *len bytes); the guest leaves b (*vm = NULL), or,
 * SEV-SNP with o->keep_running, keeps running (a checkpoint). On failure the guest keeps running.
 * o->shared names the guest's shared pages (SEV, SEV-ES; kept in the header for SNP). */
MC_API mc_status mc_guest_save(struct mc_board *b, struct mc_vm **vm, const struct mc_migrate_opts *o, uint8_t **file,
                        size_t *len, struct mc_error *err);
/* Check a saved guest's header and stream header without a board (info may be NULL). */
MC_API mc_status mc_guest_file_info(const uint8_t *file, size_t len, struct mc_guest_file_info *info, struct mc_error *err);
/* Continue a saved guest on b (the chip that saved it): *out RUNNING. info (may be NULL) gets the
 * header, incl. the shared ranges to pass on at the next save or migration. */
MC_API mc_status mc_guest_restore(struct mc_board *b, const uint8_t *file, size_t len, struct mc_vm **out,
                           struct mc_guest_file_info *info, struct mc_error *err);

/* A growable in-memory stream, for callers who keep or alter it (mc_migrate_write_fn /
 * mc_migrate_read_fn compatible). */
struct mc_migrate_buf {
    uint8_t *data;
    size_t len, cap, pos; /* pos: read position */
};
MC_API mc_status mc_migrate_buf_write(void *ctx, const void *buf, size_t len, struct mc_error *err);
MC_API mc_status mc_migrate_buf_read(void *ctx, void *buf, size_t len, struct mc_error *err);
MC_API void mc_migrate_buf_free(struct mc_migrate_buf *b);

MC_END_DECLS

#endif
