/* memcrypt — the SEV hypervisor model: encrypted VMs (vCPUs sharing one ASID, nested page
 * tables, guest programs) on a board's hypervisor.
 */
#ifndef MEMCRYPT_VM_H
#define MEMCRYPT_VM_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/cpu.h>
#include <memcrypt/error.h>
#include <memcrypt/machine.h>
#include <memcrypt/mc.h>
#include <memcrypt/paging.h>

MC_BEGIN_DECLS

/* ---- The hypervisor ------------------------------------------------------------------------- */

/* A KVM-like hypervisor on one machine. A board (memcrypt/board.h) builds it on an SEV
 * platform: mc_board_vmm. It owns a pool of host physical memory from which it takes guest RAM,
 * nested page tables and VMSA pages; it allocates ASIDs within the profile's range (SEV-ES
 * guests below the minimum SEV ASID) and talks to the firmware only through the host driver's
 * mailbox (mc_board_fw: command buffers in the driver's page, C=0; small outputs in its data
 * area). */
struct mc_vmm;
MC_API struct mc_machine *mc_vmm_machine(struct mc_vmm *vmm);
/* Host physical memory from the pool (4 KiB aligned, zeroed through C=0). */
MC_API mc_status mc_vmm_alloc(struct mc_vmm *vmm, uint64_t size, uint64_t *spa, struct mc_error *err);

/* ---- Encrypted VMs --------------------------------------------------------------------------- */

struct mc_vm_config {
    unsigned vcpus;         /* 1..64, all sharing the VM's ASID */
    uint64_t mem_size;      /* guest RAM in bytes, multiple of 2 MiB, GPA 0..mem_size */
    uint32_t policy;        /* SEV guest policy (ES bit: SEV-ES guest) */
    const uint8_t *godh;    /* optional: guest owner's DH cert (0x824 bytes) ... */
    const uint8_t *session; /* ... and session blob (0x80 bytes); both or neither */
    bool encrypt_npt;       /* store the nested page tables with the host key (NPT C=1 in hCR3/entries) */
    /* SEV-SNP (the host ran mc_board_snp_enable and SNP_INIT): an SNP guest with snp_policy (SNP
     * ABI policy, u64) and the guest OS visible workarounds; `policy` and the session are unused. */
    bool snp;
    uint64_t snp_policy;
    uint8_t gosvw[16];
    bool receive;           /* migration target: RECEIVE_START instead of LAUNCH_START, with godh = the
                               sending platform's PDH cert and session = SEND_START's (both required) */
    bool no_sev;            /* a VM without an encryption context yet (what KVM has before KVM_SEV_INIT):
                               `vcpus` may be 0..64, mem_size must be 0, nothing else set; no ASID, no
                               firmware guest, its vCPUs cannot run (mc_vm_vcpu gives NULL) until it
                               receives a context: mc_vm_move_enc_context_from / mc_vm_copy_enc_context_from */
};

struct mc_vm;
struct mc_vcpu;

/* Create and LAUNCH_START a VM: allocate its RAM and nested page tables (GPA -> SPA, 2 MiB
 * pages, hypervisor-owned), pick a free ASID in the right range, LAUNCH_START (with the owner's
 * session when given) and ACTIVATE (flushing first when the firmware asks). Firmware refusals
 * come back as MC_E_FIRMWARE with the command and status named in err; *fw_status (may be NULL)
 * receives the last firmware status. */
MC_API mc_status mc_vm_create(struct mc_vmm *vmm, const struct mc_vm_config *cfg, struct mc_vm **out, uint32_t *fw_status,
                       struct mc_error *err);
/* DEACTIVATE + DECOMMISSION, free the ASID (dirty until the next WBINVD + DF_FLUSH). NULL is fine. */
MC_API void mc_vm_destroy(struct mc_vm *vm);

/* ---- Intra-host migration and mirrors (KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM / _COPY_ENC_CONTEXT_FROM) ----
 *
 * Both work between two VMs of one hypervisor and call no firmware command, as in KVM: the
 * firmware guest (handle), its ASID and key stay as they are; what moves is which VM owns them.
 * Both take the two VMs' migration locks with a try-lock (KVM's migration_in_progress): a VM
 * already in a move or copy makes the other call fail with MC_E_BUSY at once, so two calls naming
 * the same VMs in opposite order never wait for each other. Refusals change nothing.
 *
 * mc_vm_move_enc_context_from(dst, src): dst (made with no_sev) takes src's encryption context
 * together with its guest: handle, ASID, policy, RAM and nested tables, vCPUs (registers, TLBs,
 * SEV-ES VMSAs), guest page-table state; dst's own vCPU count is replaced by src's. src is then
 * dead: every later operation on it is refused with MC_E_STATE (KVM marks it dead: EIO), only
 * mc_vm_destroy remains (it issues no firmware command). vCPU pointers taken from src are stale:
 * take them from dst. Refused: dst == src (MC_E_INVAL); dst or src dead (MC_E_STATE); dst has a
 * context already, SEV or SEV-ES (MC_E_INVAL); src has none (MC_E_INVAL); src is mirrored
 * (MC_E_BUSY, as the KVM selftest of intra-host migration asserts; a mirror itself may be moved,
 * dst becomes the mirror); SEV-ES: dst's vCPU count differs from src's, or a vCPU of src has no
 * VMSA yet (LAUNCH_UPDATE_VMSA) (MC_E_INVAL); SEV-SNP guests (MC_E_UNSUPPORTED).
 *
 * mc_vm_copy_enc_context_from(dst, src): dst (no_sev, no vCPUs yet) becomes a mirror of src: it
 * shares src's handle, ASID and key, RAM and nested tables; vCPUs added to it afterwards
 * (mc_vm_add_vcpu) run with src's ASID. A mirror cannot launch, measure, finish, take a secret
 * or migrate through the firmware (MC_E_INVAL: KVM allows a mirror only LAUNCH_UPDATE_VMSA,
 * GUEST_STATUS and the debug commands), cannot itself be mirrored, and while a VM has mirrors it
 * cannot be moved; mc_vm_destroy of a mirrored VM is deferred until its last mirror is destroyed
 * (KVM: the mirror holds a reference), then its firmware guest is decommissioned. Refused: dst ==
 * src, dst has a context, src has none or is a mirror, dst has vCPUs (MC_E_INVAL); dead VMs
 * (MC_E_STATE); SEV-SNP (MC_E_UNSUPPORTED). */
MC_API mc_status mc_vm_move_enc_context_from(struct mc_vm *dst, struct mc_vm *src, struct mc_error *err);
MC_API mc_status mc_vm_copy_enc_context_from(struct mc_vm *dst, struct mc_vm *src, struct mc_error *err);
/* Add a vCPU to a mirror (it runs with the shared ASID on the shared nested tables; *out may be
 * NULL) or to a VM made with no_sev (counted only: *out = NULL until it receives a context). Other
 * VMs keep the vCPUs they were created with (MC_E_STATE). At most 64 (MC_E_FULL). */
MC_API mc_status mc_vm_add_vcpu(struct mc_vm *vm, struct mc_vcpu **out, struct mc_error *err);
/* The VM whose context this mirror shares (NULL: not a mirror), and whether a VM is dead (its
 * context was moved away). */
MC_API struct mc_vm *mc_vm_mirror_of(const struct mc_vm *vm);
MC_API bool mc_vm_dead(const struct mc_vm *vm);

MC_API uint32_t mc_vm_handle(const struct mc_vm *vm);
MC_API uint32_t mc_vm_asid(const struct mc_vm *vm);
MC_API uint32_t mc_vm_policy(const struct mc_vm *vm);
MC_API uint64_t mc_vm_mem_size(const struct mc_vm *vm);
MC_API unsigned mc_vm_vcpus(const struct mc_vm *vm);
MC_API struct mc_vcpu *mc_vm_vcpu(struct mc_vm *vm, unsigned i);
MC_API uint32_t mc_vm_last_fw_status(const struct mc_vm *vm);

/* Launch (the hypervisor's side, as KVM/QEMU do it). gpa ranges must lie in guest RAM.
 * launch_update: the host writes data as plaintext (C=0) into the guest's pages, flushes them,
 * then LAUNCH_UPDATE_DATA encrypts them in place and adds them to the launch digest. One
 * firmware command per chunk of at most `chunk` bytes (0 = whole range; the firmware accepts
 * any length). progress (may be NULL) is called after each chunk with bytes done / total. */
typedef void (*mc_vm_progress_fn)(void *ctx, uint64_t done, uint64_t total);
MC_API mc_status mc_vm_launch_update(struct mc_vm *vm, uint64_t gpa, const void *data, uint64_t len, uint64_t chunk,
                              mc_vm_progress_fn progress, void *pctx, struct mc_error *err);
/* SEV-ES: LAUNCH_UPDATE_VMSA of a 4 KiB VMSA image for vcpu i (kept in a hypervisor page). */
MC_API mc_status mc_vm_launch_update_vmsa(struct mc_vm *vm, unsigned i, const uint8_t vmsa[4096], struct mc_error *err);
/* LAUNCH_MEASURE: out = MEASURE || MNONCE (0x30 bytes). */
MC_API mc_status mc_vm_launch_measure(struct mc_vm *vm, uint8_t out[0x30], struct mc_error *err);
/* LAUNCH_SECRET of one packet (header 0x34 bytes, ciphertext len bytes) to guest address gpa. */
MC_API mc_status mc_vm_launch_secret(struct mc_vm *vm, const uint8_t hdr[0x34], const uint8_t *trans, uint32_t len,
                              uint64_t gpa, struct mc_error *err);
MC_API mc_status mc_vm_launch_finish(struct mc_vm *vm, struct mc_error *err);
/* ATTESTATION report (0xD0 bytes) for mnonce. */
MC_API mc_status mc_vm_attestation(struct mc_vm *vm, const uint8_t mnonce[16], uint8_t report[0xD0], struct mc_error *err);

/* ---- Migration (the hypervisor's side, as KVM's KVM_SEV_SEND_* / RECEIVE_*) ----------------
 * Source: SEND_START with the target's PDH (and, for the DOMAIN / SEV policy bits, its chain
 * PEK||OCA||CEK of 0x186C bytes and AMD's ASK||ARK) -> session (0x80); then one SEND_UPDATE per
 * packet, SEND_FINISH (or SEND_CANCEL: the guest runs on). Target: mc_vm_create with
 * cfg.receive, one RECEIVE_UPDATE per packet, RECEIVE_FINISH. Packets: data (where = GPA,
 * 16-byte aligned, len 16..0x5000, a multiple of 16) or, vmsa, a vCPU's VMSA (where = vCPU
 * index, len 4096). ext selects memcrypt's extended header (memcrypt/sev_api.h: 0x64 bytes, with
 * sequence, FINAL, where and transfer measurement) instead of the spec's 0x34 bytes; final marks the
 * last packet. hdr receives the header, trans the len bytes the firmware wrote (ciphertext). */
MC_API mc_status mc_vm_send_start(struct mc_vm *vm, const uint8_t pdh[0x824], const uint8_t *plat_chain,
                           const uint8_t *amd_chain, size_t amd_len, uint8_t session[0x80], struct mc_error *err);
MC_API mc_status mc_vm_send_update(struct mc_vm *vm, bool vmsa, uint64_t where, uint32_t len, bool ext, bool final,
                            uint8_t *hdr, uint8_t *trans, struct mc_error *err);
MC_API mc_status mc_vm_send_finish(struct mc_vm *vm, struct mc_error *err);
MC_API mc_status mc_vm_send_cancel(struct mc_vm *vm, struct mc_error *err);
MC_API mc_status mc_vm_receive_update(struct mc_vm *vm, bool vmsa, uint64_t where, const uint8_t *hdr, uint32_t hdr_len,
                               const uint8_t *trans, uint32_t len, struct mc_error *err);
MC_API mc_status mc_vm_receive_finish(struct mc_vm *vm, struct mc_error *err);
/* Does vCPU i have a VMSA page (SEV-ES: LAUNCH_UPDATE_VMSA or RECEIVE_UPDATE_VMSA happened)? */
MC_API bool mc_vm_has_vmsa(const struct mc_vm *vm, unsigned i);
/* What the hypervisor holds of a running guest besides its memory: each vCPU's paging registers
 * (for SEV-ES these stand for the VMSA's, which travel encrypted) and the guest kernel's
 * page-table pool (memcrypt/guest.h). Set checks every value against the VM (MC_E_RANGE). */
struct mc_vm_guest_state {
    uint64_t pt_pool_gpa, pt_pool_len, pt_next;
    struct mc_paging_regs regs[64];
};
MC_API void mc_vm_get_guest_state(const struct mc_vm *vm, struct mc_vm_guest_state *st);
MC_API mc_status mc_vm_set_guest_state(struct mc_vm *vm, const struct mc_vm_guest_state *st, struct mc_error *err);

/* Nested paging: translate a GPA (C-bit stripped) through the VM's NPT. *spa receives the
 * system physical address as issued (with the NPT's C-bit); a missing mapping gives
 * MC_E_FAULT with an #NPF in *fault (error code + MC_NPF_FINAL, addr = gpa). */
MC_API mc_status mc_vm_npt_translate(struct mc_vm *vm, uint64_t gpa, unsigned acc, uint64_t *spa, struct mc_fault *fault,
                              struct mc_error *err);
/* Remove the NPT mapping of one 2 MiB region (the hypervisor's view; for #NPF tests), then
 * mc_vm_tlb_flush. */
MC_API mc_status mc_vm_npt_unmap(struct mc_vm *vm, uint64_t gpa, struct mc_error *err);
/* Map the 4 KiB page at gpa to host page spa (splitting its 2 MiB mapping into 4 KiB pages first),
 * then mc_vm_tlb_flush: what a hypervisor that remaps guest memory does (SNP: the guest then
 * faults instead of reading the other page). */
MC_API mc_status mc_vm_npt_remap(struct mc_vm *vm, uint64_t gpa, uint64_t spa, struct mc_error *err);
/* nCR3 as issued (with the C-bit when the tables are encrypted): where the NPT lives. */
MC_API uint64_t mc_vm_npt_root(const struct mc_vm *vm);
/* The hypervisor's TLB invalidation after it edits the NPT (VMCB TLB_CONTROL "flush this guest"
 * on every vCPU: every translation derived from this VM's nCR3). The model's own NPT edits
 * (mc_vm_npt_unmap) call it; a hypervisor that edits the tables itself and forgets keeps its
 * vCPUs on the old translations they cached, as on hardware. */
MC_API void mc_vm_tlb_flush(struct mc_vm *vm);

/* The one access path of vCPU v (memcrypt/lcpu.h): INVLPGA, ASID flushes, statistics. */
MC_API struct mc_lcpu *mc_vcpu_cpu(struct mc_vcpu *v);
/* Install an access-check hook (memcrypt/lcpu.h) on every vCPU: where SEV-SNP's RMP check goes.
 * On a host with SNP enabled (memcrypt/board.h mc_board_snp_enable) the vCPUs of VMs created
 * afterwards carry the RMP check already. */
MC_API void mc_vm_set_check(struct mc_vm *vm, mc_access_check_fn fn, void *ctx);
/* SEV-SNP active on every vCPU of the VM (VMSA SEV_FEATURES.SNPActive): their accesses then meet
 * the guest RMP checks (private pages must be the guest's and validated) and they may execute
 * PVALIDATE / RMPADJUST (memcrypt/guest.h). */
MC_API void mc_vm_set_snp(struct mc_vm *vm, bool snp);
/* The platform's RMP unit (NULL without SEV-SNP). */
MC_API struct mc_rmp *mc_vm_rmp(struct mc_vm *vm);

/* What the hypervisor sees: read guest RAM through a host mapping (C=0 -> ciphertext of private
 * pages, plaintext of shared ones). */
MC_API mc_status mc_vm_host_read(struct mc_vm *vm, uint64_t gpa, void *buf, size_t len, struct mc_error *err);
MC_API mc_status mc_vm_host_write(struct mc_vm *vm, uint64_t gpa, const void *buf, size_t len, struct mc_error *err);
/* What a bus snooper sees: the DRAM bytes behind guest RAM (after the caches are written back). */
MC_API mc_status mc_vm_dram_read(struct mc_vm *vm, uint64_t gpa, void *buf, size_t len, struct mc_error *err);

/* ---- SEV-SNP VMs (KVM's order) ------------------------------------------------------------------
 * mc_vm_create with cfg->snp: a guest context page (RMPUPDATE to Firmware), SNP_GCTX_CREATE,
 * SNP_LAUNCH_START (policy, GOSVW), SNP_ACTIVATE with an SEV-ES ASID (WBINVD + DF_FLUSH and a retry
 * when the firmware asks), the firmware response page for guest requests; the vCPUs are SNP-active.
 * Guest RAM starts as Hypervisor pages (shared): a page becomes private when the launch puts it
 * there or the guest asks (GHCB page-state change) and the hypervisor RMPUPDATEs it.
 * mc_vm_destroy: SNP_DECOMMISSION, every page the hypervisor assigned given back (PAGE_RECLAIM
 * where the firmware still holds it, RMPUPDATE to Hypervisor). */
MC_API bool mc_vm_is_snp(const struct mc_vm *vm);
/* Host physical address of guest RAM's first byte (guest RAM is one contiguous, 2 MiB aligned
 * host range). */
MC_API uint64_t mc_vm_mem_spa(const struct mc_vm *vm);
MC_API uint64_t mc_vm_snp_gctx(const struct mc_vm *vm); /* the guest context page (host physical) */
MC_API uint64_t mc_vm_snp_vmsa(const struct mc_vm *vm, unsigned i); /* vCPU i's VMSA page (host physical; 0: none) */
/* GHCB AP Creation (docs/snp-platform.md): true when vCPU i runs from a VMSA page the guest made in
 * its RAM (*gpa, may be NULL), not the launched one. */
MC_API bool mc_vm_snp_guest_vmsa(const struct mc_vm *vm, unsigned i, uint64_t *gpa);
/* INIT delivered to vCPU i (what the guest's INIT-SIPI through the APIC makes KVM do): an
 * AP_CREATE_ON_INIT request waiting for it takes effect (the vCPU runs from that VMSA from its next
 * entry). Nothing else of INIT is modelled; a no-op without a waiting request. */
MC_API mc_status mc_vm_vcpu_init(struct mc_vm *vm, unsigned i, struct mc_error *err);
/* Where the launch put the secrets page (the first SNP_LAUNCH_UPDATE of type SECRETS; QEMU knows it
 * from OVMF's metadata): true and *gpa (may be NULL) when there is one. Kept by a saved guest. */
MC_API bool mc_vm_snp_secrets(const struct mc_vm *vm, uint64_t *gpa);
/* SNP_LAUNCH_UPDATE of the 4 KiB pages of [gpa, gpa + len) (page aligned) as page `type`
 * (MC_SNP_PT_*, memcrypt/snp_api.h): data (len bytes; NULL for ZERO and SECRETS pages) is written
 * as plaintext through the host mapping and flushed, the page becomes Pre-Guest (RMPUPDATE:
 * assigned, ASID, GPA, immutable), then LAUNCH_UPDATE encrypts, measures and validates it.
 * perms: VMPL1-3 permission masks in bits 15:8, 23:16, 31:24. A CPUID page the firmware corrects
 * fails with INVALID_PARAM (the firmware wrote the corrected table back into the page, as QEMU
 * reads it). Firmware refusals: MC_E_FIRMWARE, the status in err->fw_status and mc_vm_last_fw_status. */
MC_API mc_status mc_vm_snp_launch_update(struct mc_vm *vm, uint64_t gpa, const void *data, uint64_t len, unsigned type,
                                  uint32_t perms, struct mc_error *err);
/* SNP_LAUNCH_UPDATE of vCPU i's VMSA: a hypervisor page (the image written as plaintext), made a
 * Pre-Guest page at GPA 0xFFFFFFFFF000 (KVM's INITIAL_VMSA_GPA), measured as a VMSA page; from
 * then on the vCPU's state lives in that guest-owned page. */
MC_API mc_status mc_vm_snp_launch_vmsa(struct mc_vm *vm, unsigned i, const uint8_t vmsa[4096], struct mc_error *err);
/* SNP_LAUNCH_FINISH: id_block (0x60 bytes) and id_auth (0x1000 bytes) both or neither, flags
 * (bit0 ID_BLOCK_EN is set when they are given; bit1 AUTH_KEY_EN; bit2 VCEK_DISABLED), host_data
 * (32 bytes, NULL = zero). */
MC_API mc_status mc_vm_snp_launch_finish(struct mc_vm *vm, const uint8_t *id_block, const uint8_t *id_auth, uint64_t flags,
                                  const uint8_t *host_data, struct mc_error *err);
/* The extended-report certificate table this VM's guests get with an extended guest request
 * (what SNP_SET_EXT_CONFIG / KVM's per-VM certificates give the host): a copy of blob (len bytes,
 * at most 16 pages; NULL/0 removes it). */
MC_API mc_status mc_vm_snp_set_certs(struct mc_vm *vm, const uint8_t *blob, size_t len, struct mc_error *err);

/* GHCB results the hypervisor gives back (SW_EXITINFO2 of a guest request: VMM error << 32 |
 * firmware status). */
#define MC_GHCB_VMM_ERR_INVALID_LEN 1u
#define MC_GHCB_VMM_ERR_BUSY 2u
#define MC_GHCB_VMM_ERR_GENERIC 0xFFFFFFFFu
/* The hypervisor's side of a guest request exit (VMGEXIT 0x80000011 / 0x80000012), as KVM does
 * it: the request page at req_gpa (shared) is copied into the hypervisor's page, SNP_GUEST_REQUEST
 * is issued with this VM's guest context and the firmware's response page, the response page is
 * copied to rsp_gpa. certs_gpa/certs_npages (ext) : the certificate table goes there; too few
 * pages -> VMM error INVALID_LEN, *npages_needed set, no firmware command. *exitinfo2 receives
 * what the guest sees; MC_OK whenever the guest resumes. */
MC_API mc_status mc_vm_snp_guest_request(struct mc_vm *vm, uint64_t req_gpa, uint64_t rsp_gpa, bool ext, uint64_t certs_gpa,
                                  uint64_t *npages, uint64_t *exitinfo2, struct mc_error *err);
/* A hostile hypervisor's chance to act between its handling of a VMGEXIT and the guest's resumption
 * (rewrite shared pages, replay old answers, remap pages): fn runs after every exit the hypervisor
 * handled, with the exit code (SW_EXITCODE, or the MSR protocol's request code). NULL removes it. */
typedef void (*mc_vm_exit_hook_fn)(void *ctx, struct mc_vm *vm, struct mc_vcpu *v, uint64_t exit_code);
MC_API void mc_vm_set_exit_hook(struct mc_vm *vm, mc_vm_exit_hook_fn fn, void *ctx);
/* The guest asked to terminate (GHCB MSR protocol 0x100): *reason = reason set << 8 | reason. */
MC_API bool mc_vm_terminated(const struct mc_vm *vm, uint64_t *reason);

/* The ASID the hypervisor puts in the VMCB for VMRUN (normally mc_vm_asid). A wrong value runs
 * the guest with another key: its memory reads back as garbage, as on hardware. VMRUN checks:
 * 0 or above the profile's ASID count -> the guest cannot run (MC_E_STATE, "VMEXIT_INVALID").
 * The vCPUs' TLB entries are tagged with the ASID: a change flushes nothing, and entries made
 * under another ASID are never used. */
MC_API void mc_vm_set_vmcb_asid(struct mc_vm *vm, uint32_t asid);

MC_END_DECLS

#endif
