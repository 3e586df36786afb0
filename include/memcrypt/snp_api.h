/* memcrypt — AMD SEV-SNP firmware ABI (doc 56860): command buffers and the data structures the
 * SNP commands read and write.
 *
 * The command IDs are in the one list of memcrypt/sev_api.h (MC_SEV_CMD_SNP_*): SNP commands go
 * through the same mailbox. Style as sev_api.h: every multi-byte field little-endian, structs
 * packed and pinned (_Static_assert on size and every offset), never cast over untrusted bytes —
 * code decodes with the LE helpers of memcrypt/bytes.h at offsetof(struct, field). Addresses in
 * SNP buffers are system physical addresses with bits 11:0 zero unless a field says otherwise
 * (PAGE_RECLAIM's bit 0 is the page size); the host's C-bit may be set and is ignored.
 */
#ifndef MEMCRYPT_SNP_API_H
#define MEMCRYPT_SNP_API_H

#include <memcrypt/api.h>

#include <stddef.h>
#include <stdint.h>

#include <memcrypt/sev_api.h>
#include <memcrypt/snp_report.h>

MC_BEGIN_DECLS

/* ---- States ----------------------------------------------------------------------------- */
enum mc_snp_pstate { MC_SNP_PSTATE_UNINIT = 0, MC_SNP_PSTATE_INIT = 1 };
enum mc_snp_gstate { MC_SNP_GSTATE_INIT = 0, MC_SNP_GSTATE_LAUNCH = 1, MC_SNP_GSTATE_RUNNING = 2 };
MC_API const char *mc_snp_pstate_name(uint32_t state);
MC_API const char *mc_snp_gstate_name(uint32_t state);

/* Guest policy bits: MC_SNP_POLICY_* in memcrypt/snp_report.h (checked by mc_snp_policy_check). */

/* ---- Sizes -------------------------------------------------------------------------------- */
#define MC_SNP_PAGE 0x1000u
#define MC_SNP_PAGE_2M 0x200000u
#define MC_SNP_VMSA_GPA 0xFFFFFFFFF000ull /* where KVM places VMSAs in the RMP (measured GPA) */
#define MC_SNP_RANGE_LIST_MAX 255u        /* RANGE entries in one page */
#define MC_SNP_CPUID_COUNT_MAX 64u
#define MC_SNP_SECRETS_VERSION 3u         /* secrets page layout version the firmware writes */
#define MC_SNP_LD_LEN 48u                 /* SHA-384 launch digest */

/* LAUNCH_UPDATE page types (also memcrypt/measure.h's enum mc_snp_page_type). */
#define MC_SNP_PT_NORMAL 1u
#define MC_SNP_PT_VMSA 2u
#define MC_SNP_PT_ZERO 3u
#define MC_SNP_PT_UNMEASURED 4u
#define MC_SNP_PT_SECRETS 5u
#define MC_SNP_PT_CPUID 6u

#define MC_SNP_PACKED __attribute__((packed))
#define MC_SNP_PIN(S, size) _Static_assert(sizeof(struct S) == (size), #S " size")
#define MC_SNP_OFF(S, f, off) _Static_assert(offsetof(struct S, f) == (off), #S "." #f " offset")

/* ---- Command buffers ---------------------------------------------------------------------- */

/* SNP_INIT_EX 0x085 (In) */
#define MC_SNP_INIT_EX_INIT_RMP 0x1u
#define MC_SNP_INIT_EX_LIST_PADDR_EN 0x2u
struct MC_SNP_PACKED mc_snp_init_ex {
    uint32_t flags;       /* In: bit0 INIT_RMP, bit1 LIST_PADDR_EN; later ABIs: bit2 RAPL_DIS,
                             bit3 CIPHERTEXT_HIDING_EN, bit4 TIO_EN */
    uint32_t rsvd;        /* In: 0 */
    uint64_t list_paddr;  /* In: RANGE_LIST of pages to make HV-Fixed */
    uint16_t max_snp_asid; /* In: later ABIs (ciphertext hiding); 0 */
    uint8_t rsvd2[0x2E];  /* In: 0 */
};
MC_SNP_PIN(mc_snp_init_ex, 0x40);
MC_SNP_OFF(mc_snp_init_ex, flags, 0x00);
MC_SNP_OFF(mc_snp_init_ex, rsvd, 0x04);
MC_SNP_OFF(mc_snp_init_ex, list_paddr, 0x08);
MC_SNP_OFF(mc_snp_init_ex, max_snp_asid, 0x10);
MC_SNP_OFF(mc_snp_init_ex, rsvd2, 0x12);

/* RANGE_LIST (SNP_INIT_EX, SNP_PAGE_SET_STATE): header then RANGE[n], in one page */
struct MC_SNP_PACKED mc_snp_range_list {
    uint32_t n;    /* number of RANGE entries, <= 255 */
    uint32_t rsvd;
};
MC_SNP_PIN(mc_snp_range_list, 0x08);
MC_SNP_OFF(mc_snp_range_list, n, 0x00);
MC_SNP_OFF(mc_snp_range_list, rsvd, 0x04);
struct MC_SNP_PACKED mc_snp_range {
    uint64_t base;       /* SPA of the first page */
    uint32_t page_count; /* 4 KiB pages */
    uint32_t rsvd;
};
MC_SNP_PIN(mc_snp_range, 0x10);
MC_SNP_OFF(mc_snp_range, base, 0x00);
MC_SNP_OFF(mc_snp_range, page_count, 0x08);
MC_SNP_OFF(mc_snp_range, rsvd, 0x0C);

/* SNP_SHUTDOWN_EX 0x086 (In) */
#define MC_SNP_SHUTDOWN_IOMMU 0x1u
#define MC_SNP_SHUTDOWN_X86 0x2u
struct MC_SNP_PACKED mc_snp_shutdown_ex {
    uint32_t length; /* In: 8 */
    uint32_t flags;  /* In: bit0 IOMMU_SNP_SHUTDOWN, bit1 X86_SNP_SHUTDOWN */
};
MC_SNP_PIN(mc_snp_shutdown_ex, 0x08);
MC_SNP_OFF(mc_snp_shutdown_ex, length, 0x00);
MC_SNP_OFF(mc_snp_shutdown_ex, flags, 0x04);

/* One page address (SNP_PLATFORM_STATUS: status page; SNP_DECOMMISSION, SNP_GCTX_CREATE: GCTX;
 * SNP_PAGE_RECLAIM: page | bit0 page size; SNP_PAGE_UNSMASH: 2 MiB page) (In) */
struct MC_SNP_PACKED mc_snp_paddr {
    uint64_t paddr;
};
MC_SNP_PIN(mc_snp_paddr, 0x08);
MC_SNP_OFF(mc_snp_paddr, paddr, 0x00);

/* SNP_PLATFORM_STATUS output (written at status_paddr; must not cross a page) */
#define MC_SNP_PS_RMP_INIT 0x1u      /* byte 3 */
#define MC_SNP_PS_MASK_CHIP_ID 0x1u  /* flags */
#define MC_SNP_PS_MASK_CHIP_KEY 0x2u
#define MC_SNP_PS_VLEK_EN 0x4u
#define MC_SNP_PS_FEATURE_INFO 0x8u
struct MC_SNP_PACKED mc_snp_platform_status {
    uint8_t api_major;
    uint8_t api_minor;
    uint8_t state;        /* enum mc_snp_pstate */
    uint8_t rmp_init;     /* bit0 IS_RMP_INITIALIZED */
    uint32_t build;
    uint32_t flags;       /* bit0 MASK_CHIP_ID, bit1 MASK_CHIP_KEY, bit2 VLEK_EN, bit3 FEATURE_INFO */
    uint32_t guest_count;
    uint64_t current_tcb; /* TCB of the running firmware */
    uint64_t reported_tcb; /* SNP_CONFIG's, else the committed TCB */
};
MC_SNP_PIN(mc_snp_platform_status, 0x20);
MC_SNP_OFF(mc_snp_platform_status, api_major, 0x00);
MC_SNP_OFF(mc_snp_platform_status, api_minor, 0x01);
MC_SNP_OFF(mc_snp_platform_status, state, 0x02);
MC_SNP_OFF(mc_snp_platform_status, rmp_init, 0x03);
MC_SNP_OFF(mc_snp_platform_status, build, 0x04);
MC_SNP_OFF(mc_snp_platform_status, flags, 0x08);
MC_SNP_OFF(mc_snp_platform_status, guest_count, 0x0C);
MC_SNP_OFF(mc_snp_platform_status, current_tcb, 0x10);
MC_SNP_OFF(mc_snp_platform_status, reported_tcb, 0x18);

/* SNP_ACTIVATE 0x091 (In) */
struct MC_SNP_PACKED mc_snp_activate {
    uint64_t gctx_paddr;
    uint32_t asid;
};
MC_SNP_PIN(mc_snp_activate, 0x0C);
MC_SNP_OFF(mc_snp_activate, gctx_paddr, 0x00);
MC_SNP_OFF(mc_snp_activate, asid, 0x08);

/* SNP_GUEST_STATUS 0x092 (In) */
struct MC_SNP_PACKED mc_snp_guest_status_cmd {
    uint64_t gctx_paddr;
    uint64_t status_paddr; /* output page, must not be crossed */
};
MC_SNP_PIN(mc_snp_guest_status_cmd, 0x10);
MC_SNP_OFF(mc_snp_guest_status_cmd, gctx_paddr, 0x00);
MC_SNP_OFF(mc_snp_guest_status_cmd, status_paddr, 0x08);

/* SNP_GUEST_STATUS output */
struct MC_SNP_PACKED mc_snp_guest_status {
    uint64_t policy;
    uint32_t asid;   /* 0 when none */
    uint8_t state;   /* enum mc_snp_gstate */
    uint8_t rsvd[3];
    uint32_t flags;  /* bit0 VCEK_DIS */
    uint32_t rsvd2;
    uint64_t rsvd3;
};
MC_SNP_PIN(mc_snp_guest_status, 0x20);
MC_SNP_OFF(mc_snp_guest_status, policy, 0x00);
MC_SNP_OFF(mc_snp_guest_status, asid, 0x08);
MC_SNP_OFF(mc_snp_guest_status, state, 0x0C);
MC_SNP_OFF(mc_snp_guest_status, flags, 0x10);
MC_SNP_OFF(mc_snp_guest_status, rsvd2, 0x14);
MC_SNP_OFF(mc_snp_guest_status, rsvd3, 0x18);

/* SNP_GUEST_REQUEST 0x094 (In) */
struct MC_SNP_PACKED mc_snp_guest_request {
    uint64_t gctx_paddr;
    uint64_t req_paddr; /* request message (header + payload) */
    uint64_t rsp_paddr; /* response message; a Firmware page */
};
MC_SNP_PIN(mc_snp_guest_request, 0x18);
MC_SNP_OFF(mc_snp_guest_request, gctx_paddr, 0x00);
MC_SNP_OFF(mc_snp_guest_request, req_paddr, 0x08);
MC_SNP_OFF(mc_snp_guest_request, rsp_paddr, 0x10);

/* SNP_ACTIVATE_EX 0x095 (In) */
struct MC_SNP_PACKED mc_snp_activate_ex {
    uint32_t length;    /* 0x20 */
    uint32_t rsvd;
    uint64_t gctx_paddr;
    uint32_t asid;
    uint32_t numids;    /* 1..1024 APIC IDs */
    uint64_t ids_paddr; /* numids u32 APIC IDs */
};
MC_SNP_PIN(mc_snp_activate_ex, 0x20);
MC_SNP_OFF(mc_snp_activate_ex, length, 0x00);
MC_SNP_OFF(mc_snp_activate_ex, rsvd, 0x04);
MC_SNP_OFF(mc_snp_activate_ex, gctx_paddr, 0x08);
MC_SNP_OFF(mc_snp_activate_ex, asid, 0x10);
MC_SNP_OFF(mc_snp_activate_ex, numids, 0x14);
MC_SNP_OFF(mc_snp_activate_ex, ids_paddr, 0x18);

/* SNP_LAUNCH_START 0x0A0 (In) */
#define MC_SNP_LS_MA_EN 0x1u
#define MC_SNP_LS_IMI_EN 0x2u
struct MC_SNP_PACKED mc_snp_launch_start {
    uint64_t gctx_paddr;
    uint64_t policy;
    uint64_t ma_gctx_paddr;    /* migration agent's GCTX (MA_EN) */
    uint32_t flags;            /* bit0 MA_EN, bit1 IMI_EN */
    uint32_t desired_tsc_khz;  /* Secure TSC frequency (kHz, as Linux names it) */
    uint8_t gosvw[16];         /* guest OS visible workarounds */
};
MC_SNP_PIN(mc_snp_launch_start, 0x30);
MC_SNP_OFF(mc_snp_launch_start, gctx_paddr, 0x00);
MC_SNP_OFF(mc_snp_launch_start, policy, 0x08);
MC_SNP_OFF(mc_snp_launch_start, ma_gctx_paddr, 0x10);
MC_SNP_OFF(mc_snp_launch_start, flags, 0x18);
MC_SNP_OFF(mc_snp_launch_start, desired_tsc_khz, 0x1C);
MC_SNP_OFF(mc_snp_launch_start, gosvw, 0x20);

/* SNP_LAUNCH_UPDATE 0x0A1 (In) */
#define MC_SNP_LU_PAGE_2M 0x1u
#define MC_SNP_LU_TYPE(f) (((f) >> 1) & 0x7u)
#define MC_SNP_LU_IMI_PAGE 0x10u
struct MC_SNP_PACKED mc_snp_launch_update {
    uint64_t gctx_paddr;
    uint32_t flags;      /* bit0 PAGE_SIZE (2 MiB), bits 3:1 PAGE_TYPE, bit4 IMI_PAGE */
    uint32_t rsvd;
    uint64_t page_paddr;
    uint32_t perms;      /* bits 7:0 reserved, 15:8 VMPL1, 23:16 VMPL2, 31:24 VMPL3 permissions */
    uint32_t rsvd2;
};
MC_SNP_PIN(mc_snp_launch_update, 0x20);
MC_SNP_OFF(mc_snp_launch_update, gctx_paddr, 0x00);
MC_SNP_OFF(mc_snp_launch_update, flags, 0x08);
MC_SNP_OFF(mc_snp_launch_update, rsvd, 0x0C);
MC_SNP_OFF(mc_snp_launch_update, page_paddr, 0x10);
MC_SNP_OFF(mc_snp_launch_update, perms, 0x18);
MC_SNP_OFF(mc_snp_launch_update, rsvd2, 0x1C);

/* PAGE_INFO: what LAUNCH_UPDATE hashes for every 4 KiB chunk (LD = SHA-384(PAGE_INFO)). The VMPL
 * permission bytes follow AMD's firmware source (0x64 reserved, 0x65..0x67 VMPL1..3). */
struct MC_SNP_PACKED mc_snp_page_info {
    uint8_t digest_cur[48];
    uint8_t contents[48];
    uint16_t length;   /* 0x70 */
    uint8_t page_type;
    uint8_t imi_page;  /* bit0 */
    uint8_t rsvd;
    uint8_t vmpl1_perms;
    uint8_t vmpl2_perms;
    uint8_t vmpl3_perms;
    uint64_t gpa;
};
MC_SNP_PIN(mc_snp_page_info, 0x70);
MC_SNP_OFF(mc_snp_page_info, digest_cur, 0x00);
MC_SNP_OFF(mc_snp_page_info, contents, 0x30);
MC_SNP_OFF(mc_snp_page_info, length, 0x60);
MC_SNP_OFF(mc_snp_page_info, page_type, 0x62);
MC_SNP_OFF(mc_snp_page_info, imi_page, 0x63);
MC_SNP_OFF(mc_snp_page_info, rsvd, 0x64);
MC_SNP_OFF(mc_snp_page_info, vmpl1_perms, 0x65);
MC_SNP_OFF(mc_snp_page_info, vmpl2_perms, 0x66);
MC_SNP_OFF(mc_snp_page_info, vmpl3_perms, 0x67);
MC_SNP_OFF(mc_snp_page_info, gpa, 0x68);

/* SNP_LAUNCH_FINISH 0x0A2 (In) */
#define MC_SNP_LF_ID_BLOCK_EN 0x1ull
#define MC_SNP_LF_AUTH_KEY_EN 0x2ull
#define MC_SNP_LF_VCEK_DIS 0x4ull
struct MC_SNP_PACKED mc_snp_launch_finish {
    uint64_t gctx_paddr;
    uint64_t id_block_paddr; /* 0x60-byte ID block (memcrypt/idblock.h) */
    uint64_t id_auth_paddr;  /* 0x1000-byte ID authentication information */
    uint64_t flags;          /* bit0 ID_BLOCK_EN, bit1 AUTH_KEY_EN, bit2 VCEK_DISABLED */
    uint8_t host_data[32];
};
MC_SNP_PIN(mc_snp_launch_finish, 0x40);
MC_SNP_OFF(mc_snp_launch_finish, gctx_paddr, 0x00);
MC_SNP_OFF(mc_snp_launch_finish, id_block_paddr, 0x08);
MC_SNP_OFF(mc_snp_launch_finish, id_auth_paddr, 0x10);
MC_SNP_OFF(mc_snp_launch_finish, flags, 0x18);
MC_SNP_OFF(mc_snp_launch_finish, host_data, 0x20);

/* SNP_DBG_DECRYPT 0x0B0, SNP_DBG_ENCRYPT 0x0B1 (In): one 4 KiB page */
struct MC_SNP_PACKED mc_snp_dbg {
    uint64_t gctx_paddr;
    uint64_t src_paddr;
    uint64_t dst_paddr;
};
MC_SNP_PIN(mc_snp_dbg, 0x18);
MC_SNP_OFF(mc_snp_dbg, gctx_paddr, 0x00);
MC_SNP_OFF(mc_snp_dbg, src_paddr, 0x08);
MC_SNP_OFF(mc_snp_dbg, dst_paddr, 0x10);

/* SNP_PAGE_MOVE 0x0C2 (In) */
struct MC_SNP_PACKED mc_snp_page_move {
    uint64_t gctx_paddr;
    uint32_t flags;  /* bit0 PAGE_SIZE (2 MiB) */
    uint32_t rsvd;
    uint64_t src_paddr;
    uint64_t dst_paddr;
};
MC_SNP_PIN(mc_snp_page_move, 0x20);
MC_SNP_OFF(mc_snp_page_move, gctx_paddr, 0x00);
MC_SNP_OFF(mc_snp_page_move, flags, 0x08);
MC_SNP_OFF(mc_snp_page_move, rsvd, 0x0C);
MC_SNP_OFF(mc_snp_page_move, src_paddr, 0x10);
MC_SNP_OFF(mc_snp_page_move, dst_paddr, 0x18);

/* SNP_PAGE_MD_INIT 0x0C3 (In) */
struct MC_SNP_PACKED mc_snp_md_init {
    uint64_t gctx_paddr;
    uint64_t page_paddr; /* Firmware page to become a metadata page */
};
MC_SNP_PIN(mc_snp_md_init, 0x10);
MC_SNP_OFF(mc_snp_md_init, gctx_paddr, 0x00);
MC_SNP_OFF(mc_snp_md_init, page_paddr, 0x08);

/* SNP_PAGE_SET_STATE 0x0C6 (In) */
struct MC_SNP_PACKED mc_snp_page_set_state {
    uint32_t length;     /* 0x10 */
    uint32_t rsvd;
    uint64_t list_paddr; /* RANGE_LIST of 2 MiB-aligned ranges to make HV-Fixed */
};
MC_SNP_PIN(mc_snp_page_set_state, 0x10);
MC_SNP_OFF(mc_snp_page_set_state, length, 0x00);
MC_SNP_OFF(mc_snp_page_set_state, rsvd, 0x04);
MC_SNP_OFF(mc_snp_page_set_state, list_paddr, 0x08);

/* SNP_CONFIG 0x0C9 (In) */
#define MC_SNP_CONFIG_MASK_CHIP_ID 0x1u
#define MC_SNP_CONFIG_MASK_CHIP_KEY 0x2u
struct MC_SNP_PACKED mc_snp_config {
    uint64_t reported_tcb; /* 0: the committed TCB */
    uint32_t flags;        /* bit0 MASK_CHIP_ID, bit1 MASK_CHIP_KEY */
    uint8_t rsvd[0x34];
};
MC_SNP_PIN(mc_snp_config, 0x40);
MC_SNP_OFF(mc_snp_config, reported_tcb, 0x00);
MC_SNP_OFF(mc_snp_config, flags, 0x08);
MC_SNP_OFF(mc_snp_config, rsvd, 0x0C);

/* SNP_COMMIT 0x0CB (In) */
struct MC_SNP_PACKED mc_snp_commit {
    uint32_t length; /* 4 */
};
MC_SNP_PIN(mc_snp_commit, 0x04);
MC_SNP_OFF(mc_snp_commit, length, 0x00);

/* SNP_VLEK_LOAD 0x0CD (In); the wrapped VLEK ("hashstick", 0x1B0 bytes) is memcrypt/snp_identity.h's */
struct MC_SNP_PACKED mc_snp_vlek_load {
    uint32_t length;      /* 0x10 */
    uint8_t version;      /* VLEK_WRAPPED_VERSION: 0 */
    uint8_t rsvd[3];
    uint64_t wrapped_paddr;
};
MC_SNP_PIN(mc_snp_vlek_load, 0x10);
MC_SNP_OFF(mc_snp_vlek_load, length, 0x00);
MC_SNP_OFF(mc_snp_vlek_load, version, 0x04);
MC_SNP_OFF(mc_snp_vlek_load, rsvd, 0x05);
MC_SNP_OFF(mc_snp_vlek_load, wrapped_paddr, 0x08);

/* SNP_FEATURE_INFO 0x0CE (In) and its output */
struct MC_SNP_PACKED mc_snp_feature_info_cmd {
    uint32_t length;  /* 0x10 */
    uint32_t ecx_in;  /* sub-function */
    uint64_t out_paddr;
};
MC_SNP_PIN(mc_snp_feature_info_cmd, 0x10);
MC_SNP_OFF(mc_snp_feature_info_cmd, length, 0x00);
MC_SNP_OFF(mc_snp_feature_info_cmd, ecx_in, 0x04);
MC_SNP_OFF(mc_snp_feature_info_cmd, out_paddr, 0x08);
struct MC_SNP_PACKED mc_snp_feature_info {
    uint32_t eax, ebx, ecx, edx;
};
MC_SNP_PIN(mc_snp_feature_info, 0x10);
MC_SNP_OFF(mc_snp_feature_info, eax, 0x00);
MC_SNP_OFF(mc_snp_feature_info, ebx, 0x04);
MC_SNP_OFF(mc_snp_feature_info, ecx, 0x08);
MC_SNP_OFF(mc_snp_feature_info, edx, 0x0C);
/* Sub-function 0: EBX bit0 legacy SEV commands; ECX bit0 VLEK, bit1 X86_SNP_SHUTDOWN.
 * Sub-function 1: EAX = guest message types supported (bit per MSG_*_REQ type). */
#define MC_SNP_FI0_EBX_SEV_LEGACY 0x1u
#define MC_SNP_FI0_ECX_VLEK 0x1u
#define MC_SNP_FI0_ECX_X86_SNP_SHUTDOWN 0x2u

/* ---- Data the firmware writes into guest pages -------------------------------------------- */

/* The secrets page (LAUNCH_UPDATE type SECRETS), version 3 as AMD's 1.55 firmware writes it. */
struct MC_SNP_PACKED mc_snp_secrets_page {
    uint32_t version;
    uint32_t flags;          /* bit0 IMI_EN */
    uint32_t fms;            /* CPUID Fn0000_0001 EAX of the host */
    uint32_t rsvd;
    uint8_t gosvw[16];
    uint8_t vmpck[4][32];
    uint8_t guest_os[0x60];  /* guest OS area (Linux keeps its sequence numbers here) */
    uint8_t vmsa_tweak_bitmap[0x40];
    uint8_t rsvd2[0x20];     /* reserved for the guest OS (SVSM fields) */
    uint32_t tsc_factor;
    uint8_t rsvd3[0x1000 - 0x164];
};
MC_SNP_PIN(mc_snp_secrets_page, 0x1000);
MC_SNP_OFF(mc_snp_secrets_page, version, 0x000);
MC_SNP_OFF(mc_snp_secrets_page, flags, 0x004);
MC_SNP_OFF(mc_snp_secrets_page, fms, 0x008);
MC_SNP_OFF(mc_snp_secrets_page, gosvw, 0x010);
MC_SNP_OFF(mc_snp_secrets_page, vmpck, 0x020);
MC_SNP_OFF(mc_snp_secrets_page, guest_os, 0x0A0);
MC_SNP_OFF(mc_snp_secrets_page, vmsa_tweak_bitmap, 0x100);
MC_SNP_OFF(mc_snp_secrets_page, rsvd2, 0x140);
MC_SNP_OFF(mc_snp_secrets_page, tsc_factor, 0x160);
MC_SNP_OFF(mc_snp_secrets_page, rsvd3, 0x164);

/* The CPUID page (LAUNCH_UPDATE type CPUID) and MSG_CPUID_REQ: header then up to 64 entries. */
struct MC_SNP_PACKED mc_snp_cpuid_hdr {
    uint32_t count;
    uint32_t rsvd;
    uint64_t rsvd2;
};
MC_SNP_PIN(mc_snp_cpuid_hdr, 0x10);
MC_SNP_OFF(mc_snp_cpuid_hdr, count, 0x00);
MC_SNP_OFF(mc_snp_cpuid_hdr, rsvd, 0x04);
MC_SNP_OFF(mc_snp_cpuid_hdr, rsvd2, 0x08);
struct MC_SNP_PACKED mc_snp_cpuid_entry {
    uint32_t eax_in;
    uint32_t ecx_in;
    uint64_t xcr0_in;
    uint64_t xss_in;
    uint32_t eax, ebx, ecx, edx;
    uint64_t rsvd;
};
MC_SNP_PIN(mc_snp_cpuid_entry, 0x30);
MC_SNP_OFF(mc_snp_cpuid_entry, eax_in, 0x00);
MC_SNP_OFF(mc_snp_cpuid_entry, ecx_in, 0x04);
MC_SNP_OFF(mc_snp_cpuid_entry, xcr0_in, 0x08);
MC_SNP_OFF(mc_snp_cpuid_entry, xss_in, 0x10);
MC_SNP_OFF(mc_snp_cpuid_entry, eax, 0x18);
MC_SNP_OFF(mc_snp_cpuid_entry, ebx, 0x1C);
MC_SNP_OFF(mc_snp_cpuid_entry, ecx, 0x20);
MC_SNP_OFF(mc_snp_cpuid_entry, edx, 0x24);
MC_SNP_OFF(mc_snp_cpuid_entry, rsvd, 0x28);
_Static_assert(sizeof(struct mc_snp_cpuid_hdr) + MC_SNP_CPUID_COUNT_MAX * sizeof(struct mc_snp_cpuid_entry) <= 0x1000,
               "the CPUID table fits one page");

MC_END_DECLS

#endif
