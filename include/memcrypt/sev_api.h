/* memcrypt — AMD SEV API (doc 55766): command IDs and command-buffer layouts.
 *
 * Every multi-byte field is little-endian. The structs below document and pin the byte
 * layout (_Static_assert on size and every offset); they are packed and never cast over
 * untrusted bytes: code decodes buffers with the LE helpers of memcrypt/bytes.h at
 * offsetof(struct, field). "In" fields are read by the firmware, "Out" fields written by it,
 * "In/Out" both. Reserved fields (rsvd*) must be zero where the spec says so.
 */
#ifndef MEMCRYPT_SEV_API_H
#define MEMCRYPT_SEV_API_H

#include <memcrypt/api.h>

#include <stddef.h>
#include <stdint.h>

MC_BEGIN_DECLS

/* ---- Command IDs (CmdResp bits 26:16) ------------------------------------------------- */
/* X(NAME, ID): every command the SEV API and the SEV-SNP ABI (doc 56860; the same mailbox and ID
 * space, SNP_* names as Linux spells them) define, in ID order — the one list of command names
 * and IDs. It makes enum mc_sev_cmd (MC_SEV_CMD_<NAME> = ID) and the names mc_sev_cmd_name
 * returns ("<NAME>"); the firmware's dispatch table names the commands it implements by NAME. */
#define MC_SEV_COMMANDS(X) \
    X(INIT, 0x001) \
    X(SHUTDOWN, 0x002) \
    X(PLATFORM_RESET, 0x003) \
    X(PLATFORM_STATUS, 0x004) \
    X(PEK_GEN, 0x005) \
    X(PEK_CSR, 0x006) \
    X(PEK_CERT_IMPORT, 0x007) \
    X(PDH_CERT_EXPORT, 0x008) \
    X(PDH_GEN, 0x009) \
    X(DF_FLUSH, 0x00A) \
    X(DOWNLOAD_FIRMWARE, 0x00B) \
    X(GET_ID, 0x00C) \
    X(INIT_EX, 0x00D) \
    X(NOP, 0x00E) \
    X(RING_BUFFER, 0x00F) \
    X(DECOMMISSION, 0x020) \
    X(ACTIVATE, 0x021) \
    X(DEACTIVATE, 0x022) \
    X(GUEST_STATUS, 0x023) \
    X(COPY, 0x024) \
    X(ACTIVATE_EX, 0x025) \
    X(LAUNCH_START, 0x030) \
    X(LAUNCH_UPDATE_DATA, 0x031) \
    X(LAUNCH_UPDATE_VMSA, 0x032) \
    X(LAUNCH_MEASURE, 0x033) \
    X(LAUNCH_SECRET, 0x034) \
    X(LAUNCH_FINISH, 0x035) \
    X(ATTESTATION, 0x036) \
    X(SEND_START, 0x040) \
    X(SEND_UPDATE_DATA, 0x041) \
    X(SEND_UPDATE_VMSA, 0x042) \
    X(SEND_FINISH, 0x043) \
    X(SEND_CANCEL, 0x044) \
    X(RECEIVE_START, 0x050) \
    X(RECEIVE_UPDATE_DATA, 0x051) \
    X(RECEIVE_UPDATE_VMSA, 0x052) \
    X(RECEIVE_FINISH, 0x053) \
    X(DBG_DECRYPT, 0x060) \
    X(DBG_ENCRYPT, 0x061) \
    X(SWAP_OUT, 0x070) \
    X(SWAP_IN, 0x071) \
    X(SNP_INIT, 0x081) \
    X(SNP_SHUTDOWN, 0x082) \
    X(SNP_PLATFORM_STATUS, 0x083) \
    X(SNP_DF_FLUSH, 0x084) \
    X(SNP_INIT_EX, 0x085) \
    X(SNP_SHUTDOWN_EX, 0x086) \
    X(SNP_DECOMMISSION, 0x090) \
    X(SNP_ACTIVATE, 0x091) \
    X(SNP_GUEST_STATUS, 0x092) \
    X(SNP_GCTX_CREATE, 0x093) \
    X(SNP_GUEST_REQUEST, 0x094) \
    X(SNP_ACTIVATE_EX, 0x095) \
    X(SNP_LAUNCH_START, 0x0A0) \
    X(SNP_LAUNCH_UPDATE, 0x0A1) \
    X(SNP_LAUNCH_FINISH, 0x0A2) \
    X(SNP_DBG_DECRYPT, 0x0B0) \
    X(SNP_DBG_ENCRYPT, 0x0B1) \
    X(SNP_PAGE_SWAP_OUT, 0x0C0) \
    X(SNP_PAGE_SWAP_IN, 0x0C1) \
    X(SNP_PAGE_MOVE, 0x0C2) \
    X(SNP_PAGE_MD_INIT, 0x0C3) \
    X(SNP_PAGE_SET_STATE, 0x0C6) \
    X(SNP_PAGE_RECLAIM, 0x0C7) \
    X(SNP_PAGE_UNSMASH, 0x0C8) \
    X(SNP_CONFIG, 0x0C9) \
    X(SNP_DOWNLOAD_FIRMWARE_EX, 0x0CA) \
    X(SNP_COMMIT, 0x0CB) \
    X(SNP_VLEK_LOAD, 0x0CD) \
    X(SNP_FEATURE_INFO, 0x0CE)

enum mc_sev_cmd {
#define MC_SEV_CMD_ENUM_(name, id) MC_SEV_CMD_##name = id,
    MC_SEV_COMMANDS(MC_SEV_CMD_ENUM_)
#undef MC_SEV_CMD_ENUM_
};

/* ---- Platform and guest states --------------------------------------------------------- */
enum mc_sev_pstate { MC_SEV_PSTATE_UNINIT = 0, MC_SEV_PSTATE_INIT = 1, MC_SEV_PSTATE_WORKING = 2 };
enum mc_sev_gstate {
    MC_SEV_GSTATE_UNINIT = 0,
    MC_SEV_GSTATE_LUPDATE = 1,
    MC_SEV_GSTATE_LSECRET = 2,
    MC_SEV_GSTATE_RUNNING = 3,
    MC_SEV_GSTATE_SUPDATE = 4,
    MC_SEV_GSTATE_RUPDATE = 5,
    MC_SEV_GSTATE_SENT = 6,
};

/* ---- Guest policy (u32) ---------------------------------------------------------------- */
#define MC_SEV_POLICY_NODBG (1u << 0)
#define MC_SEV_POLICY_NOKS (1u << 1)
#define MC_SEV_POLICY_ES (1u << 2)
#define MC_SEV_POLICY_NOSEND (1u << 3)
#define MC_SEV_POLICY_DOMAIN (1u << 4)
#define MC_SEV_POLICY_SEV (1u << 5)
#define MC_SEV_POLICY_RESERVED 0x0000FFC0u /* bits 6..15 must be zero */
#define MC_SEV_POLICY_API_MAJOR(p) (((p) >> 16) & 0xFFu)
#define MC_SEV_POLICY_API_MINOR(p) (((p) >> 24) & 0xFFu)

/* ---- Fixed sizes of data buffers -------------------------------------------------------- */
#define MC_SEV_CERT_LEN 0x824 /* one SEV certificate (same definition as memcrypt/sev_cert.h) */
#define MC_SEV_CHAIN_LEN 0x186C /* PEK || OCA || CEK */
#define MC_SEV_SESSION_LEN 0x80     /* LAUNCH_START session buffer */
#define MC_SEV_PKT_HDR_LEN 0x34u     /* LAUNCH_SECRET / SEND / RECEIVE packet header */
#define MC_SEV_MEASURE_LEN 0x30     /* MEASURE[32] || MNONCE[16] */
#define MC_SEV_REPORT_LEN 0xD0      /* ATTESTATION report */
#define MC_SEV_ID_LEN 0x40u          /* GET_ID, per socket */
#define MC_SEV_TRANSFER_MAX 0x5000u  /* largest LAUNCH_SECRET / SEND / RECEIVE transfer */
#define MC_SEV_NV_LEN 0x8000u        /* INIT_EX non-volatile area */
#define MC_SEV_TMR_LEN 0x100000u     /* SEV-ES trusted memory region */
#define MC_SEV_INIT_FLAG_ES 0x1u

#define MC_SEV_PACKED __attribute__((packed))
#define MC_SEV_PIN(S, size) _Static_assert(sizeof(struct S) == (size), #S " size")
#define MC_SEV_OFF(S, f, off) _Static_assert(offsetof(struct S, f) == (off), #S "." #f " offset")

/* INIT 0x001 (In) */
struct MC_SEV_PACKED mc_sev_init {
    uint32_t flags;     /* In: bit0 = SEV-ES */
    uint32_t rsvd;      /* In: 0 */
    uint64_t tmr_paddr; /* In */
    uint32_t tmr_len;   /* In */
};
MC_SEV_PIN(mc_sev_init, 0x14);
MC_SEV_OFF(mc_sev_init, flags, 0x00);
MC_SEV_OFF(mc_sev_init, rsvd, 0x04);
MC_SEV_OFF(mc_sev_init, tmr_paddr, 0x08);
MC_SEV_OFF(mc_sev_init, tmr_len, 0x10);

/* INIT_EX 0x00D (In) */
struct MC_SEV_PACKED mc_sev_init_ex {
    uint32_t length;    /* In: 0x24 */
    uint32_t flags;     /* In */
    uint64_t tmr_paddr; /* In */
    uint32_t tmr_len;   /* In */
    uint32_t rsvd;      /* In: 0 */
    uint64_t nv_paddr;  /* In: 0 = SPI store */
    uint32_t nv_len;    /* In: 32 KiB */
};
MC_SEV_PIN(mc_sev_init_ex, 0x24);
MC_SEV_OFF(mc_sev_init_ex, length, 0x00);
MC_SEV_OFF(mc_sev_init_ex, flags, 0x04);
MC_SEV_OFF(mc_sev_init_ex, tmr_paddr, 0x08);
MC_SEV_OFF(mc_sev_init_ex, tmr_len, 0x10);
MC_SEV_OFF(mc_sev_init_ex, rsvd, 0x14);
MC_SEV_OFF(mc_sev_init_ex, nv_paddr, 0x18);
MC_SEV_OFF(mc_sev_init_ex, nv_len, 0x20);

/* PLATFORM_STATUS 0x004 (Out) */
struct MC_SEV_PACKED mc_sev_platform_status {
    uint8_t api_major;    /* Out */
    uint8_t api_minor;    /* Out */
    uint8_t state;        /* Out: enum mc_sev_pstate */
    uint8_t owner;        /* Out: bit0 = externally owned */
    uint16_t config;      /* Out: bit0 = SEV-ES initialised */
    uint8_t rsvd;         /* Out: 0 */
    uint8_t build;        /* Out */
    uint32_t guest_count; /* Out */
};
MC_SEV_PIN(mc_sev_platform_status, 0x0C);
MC_SEV_OFF(mc_sev_platform_status, api_major, 0x00);
MC_SEV_OFF(mc_sev_platform_status, api_minor, 0x01);
MC_SEV_OFF(mc_sev_platform_status, state, 0x02);
MC_SEV_OFF(mc_sev_platform_status, owner, 0x03);
MC_SEV_OFF(mc_sev_platform_status, config, 0x04);
MC_SEV_OFF(mc_sev_platform_status, rsvd, 0x06);
MC_SEV_OFF(mc_sev_platform_status, build, 0x07);
MC_SEV_OFF(mc_sev_platform_status, guest_count, 0x08);

/* PEK_CSR 0x006, GET_ID 0x00C, DOWNLOAD_FIRMWARE 0x00B: address + length */
struct MC_SEV_PACKED mc_sev_addr_len {
    uint64_t paddr; /* In */
    uint32_t len;   /* In/Out (PEK_CSR, GET_ID), In (DOWNLOAD_FIRMWARE) */
};
MC_SEV_PIN(mc_sev_addr_len, 0x0C);
MC_SEV_OFF(mc_sev_addr_len, paddr, 0x00);
MC_SEV_OFF(mc_sev_addr_len, len, 0x08);

/* PEK_CERT_IMPORT 0x007 (In) */
struct MC_SEV_PACKED mc_sev_pek_cert_import {
    uint64_t pek_paddr; /* In */
    uint32_t pek_len;   /* In: 0x824 */
    uint32_t rsvd;      /* In */
    uint64_t oca_paddr; /* In */
    uint32_t oca_len;   /* In: 0x824 */
};
MC_SEV_PIN(mc_sev_pek_cert_import, 0x1C);
MC_SEV_OFF(mc_sev_pek_cert_import, pek_paddr, 0x00);
MC_SEV_OFF(mc_sev_pek_cert_import, pek_len, 0x08);
MC_SEV_OFF(mc_sev_pek_cert_import, rsvd, 0x0C);
MC_SEV_OFF(mc_sev_pek_cert_import, oca_paddr, 0x10);
MC_SEV_OFF(mc_sev_pek_cert_import, oca_len, 0x18);

/* PDH_CERT_EXPORT 0x008 (In/Out) */
struct MC_SEV_PACKED mc_sev_pdh_cert_export {
    uint64_t pdh_paddr;   /* In */
    uint32_t pdh_len;     /* In/Out */
    uint32_t rsvd;        /* In */
    uint64_t chain_paddr; /* In */
    uint32_t chain_len;   /* In/Out */
};
MC_SEV_PIN(mc_sev_pdh_cert_export, 0x1C);
MC_SEV_OFF(mc_sev_pdh_cert_export, pdh_paddr, 0x00);
MC_SEV_OFF(mc_sev_pdh_cert_export, pdh_len, 0x08);
MC_SEV_OFF(mc_sev_pdh_cert_export, rsvd, 0x0C);
MC_SEV_OFF(mc_sev_pdh_cert_export, chain_paddr, 0x10);
MC_SEV_OFF(mc_sev_pdh_cert_export, chain_len, 0x18);

/* DECOMMISSION 0x020, DEACTIVATE 0x022, LAUNCH_FINISH 0x035, SEND_FINISH 0x043,
 * SEND_CANCEL 0x044, RECEIVE_FINISH 0x053 (In) */
struct MC_SEV_PACKED mc_sev_handle {
    uint32_t handle; /* In */
};
MC_SEV_PIN(mc_sev_handle, 0x04);
MC_SEV_OFF(mc_sev_handle, handle, 0x00);

/* ACTIVATE 0x021 (In) */
struct MC_SEV_PACKED mc_sev_activate {
    uint32_t handle; /* In */
    uint32_t asid;   /* In */
};
MC_SEV_PIN(mc_sev_activate, 0x08);
MC_SEV_OFF(mc_sev_activate, handle, 0x00);
MC_SEV_OFF(mc_sev_activate, asid, 0x04);

/* GUEST_STATUS 0x023 (In/Out) */
struct MC_SEV_PACKED mc_sev_guest_status {
    uint32_t handle; /* In */
    uint32_t policy; /* Out */
    uint32_t asid;   /* Out: 0 if none */
    uint8_t state;   /* Out: enum mc_sev_gstate */
};
MC_SEV_PIN(mc_sev_guest_status, 0x0D);
MC_SEV_OFF(mc_sev_guest_status, handle, 0x00);
MC_SEV_OFF(mc_sev_guest_status, policy, 0x04);
MC_SEV_OFF(mc_sev_guest_status, asid, 0x08);
MC_SEV_OFF(mc_sev_guest_status, state, 0x0C);

/* COPY 0x024 (In) */
struct MC_SEV_PACKED mc_sev_copy {
    uint32_t handle;    /* In */
    uint32_t length;    /* In: multiple of 4 KiB */
    uint64_t src_paddr; /* In */
    uint64_t dst_paddr; /* In */
};
MC_SEV_PIN(mc_sev_copy, 0x18);
MC_SEV_OFF(mc_sev_copy, handle, 0x00);
MC_SEV_OFF(mc_sev_copy, length, 0x04);
MC_SEV_OFF(mc_sev_copy, src_paddr, 0x08);
MC_SEV_OFF(mc_sev_copy, dst_paddr, 0x10);

/* ACTIVATE_EX 0x025 (In) */
struct MC_SEV_PACKED mc_sev_activate_ex {
    uint32_t ex_len;    /* In: 0x18 */
    uint32_t handle;    /* In */
    uint32_t asid;      /* In */
    uint32_t numids;    /* In: 1..1024 */
    uint64_t ids_paddr; /* In: numids u32 APIC IDs */
};
MC_SEV_PIN(mc_sev_activate_ex, 0x18);
MC_SEV_OFF(mc_sev_activate_ex, ex_len, 0x00);
MC_SEV_OFF(mc_sev_activate_ex, handle, 0x04);
MC_SEV_OFF(mc_sev_activate_ex, asid, 0x08);
MC_SEV_OFF(mc_sev_activate_ex, numids, 0x0C);
MC_SEV_OFF(mc_sev_activate_ex, ids_paddr, 0x10);

/* LAUNCH_START 0x030 and RECEIVE_START 0x050 (In/Out) */
struct MC_SEV_PACKED mc_sev_launch_start {
    uint32_t handle;        /* In/Out: in 0 = new key, else share that guest's key; out = new handle */
    uint32_t policy;        /* In */
    uint64_t dh_cert_paddr; /* In: 0 = no secure channel (LAUNCH_START only) */
    uint32_t dh_cert_len;   /* In: 0x824 */
    uint32_t rsvd;          /* In */
    uint64_t session_paddr; /* In */
    uint32_t session_len;   /* In: 0x80 */
};
MC_SEV_PIN(mc_sev_launch_start, 0x24);
MC_SEV_OFF(mc_sev_launch_start, handle, 0x00);
MC_SEV_OFF(mc_sev_launch_start, policy, 0x04);
MC_SEV_OFF(mc_sev_launch_start, dh_cert_paddr, 0x08);
MC_SEV_OFF(mc_sev_launch_start, dh_cert_len, 0x10);
MC_SEV_OFF(mc_sev_launch_start, rsvd, 0x14);
MC_SEV_OFF(mc_sev_launch_start, session_paddr, 0x18);
MC_SEV_OFF(mc_sev_launch_start, session_len, 0x20);

/* LAUNCH_UPDATE_DATA 0x031, LAUNCH_UPDATE_VMSA 0x032 (In) */
struct MC_SEV_PACKED mc_sev_launch_update {
    uint32_t handle; /* In */
    uint32_t rsvd;   /* In */
    uint64_t paddr;  /* In: 16-byte aligned */
    uint32_t len;    /* In: non-zero multiple of 16 (VMSA: 4096) */
};
MC_SEV_PIN(mc_sev_launch_update, 0x14);
MC_SEV_OFF(mc_sev_launch_update, handle, 0x00);
MC_SEV_OFF(mc_sev_launch_update, rsvd, 0x04);
MC_SEV_OFF(mc_sev_launch_update, paddr, 0x08);
MC_SEV_OFF(mc_sev_launch_update, len, 0x10);

/* LAUNCH_MEASURE 0x033 (In/Out) */
struct MC_SEV_PACKED mc_sev_launch_measure {
    uint32_t handle;        /* In */
    uint32_t rsvd;          /* In */
    uint64_t measure_paddr; /* In */
    uint32_t measure_len;   /* In/Out: >= 0x30 */
};
MC_SEV_PIN(mc_sev_launch_measure, 0x14);
MC_SEV_OFF(mc_sev_launch_measure, handle, 0x00);
MC_SEV_OFF(mc_sev_launch_measure, rsvd, 0x04);
MC_SEV_OFF(mc_sev_launch_measure, measure_paddr, 0x08);
MC_SEV_OFF(mc_sev_launch_measure, measure_len, 0x10);

/* Transport layout: LAUNCH_SECRET 0x034, SEND_UPDATE_DATA/VMSA 0x041/0x042,
 * RECEIVE_UPDATE_DATA/VMSA 0x051/0x052 */
struct MC_SEV_PACKED mc_sev_transport {
    uint32_t handle;      /* In */
    uint32_t rsvd1;       /* In */
    uint64_t hdr_paddr;   /* In */
    uint32_t hdr_len;     /* In (In/Out for SEND) */
    uint32_t rsvd2;       /* In */
    uint64_t guest_paddr; /* In */
    uint32_t guest_len;   /* In */
    uint32_t rsvd3;       /* In */
    uint64_t trans_paddr; /* In */
    uint32_t trans_len;   /* In */
};
MC_SEV_PIN(mc_sev_transport, 0x34);
MC_SEV_OFF(mc_sev_transport, handle, 0x00);
MC_SEV_OFF(mc_sev_transport, rsvd1, 0x04);
MC_SEV_OFF(mc_sev_transport, hdr_paddr, 0x08);
MC_SEV_OFF(mc_sev_transport, hdr_len, 0x10);
MC_SEV_OFF(mc_sev_transport, rsvd2, 0x14);
MC_SEV_OFF(mc_sev_transport, guest_paddr, 0x18);
MC_SEV_OFF(mc_sev_transport, guest_len, 0x20);
MC_SEV_OFF(mc_sev_transport, rsvd3, 0x24);
MC_SEV_OFF(mc_sev_transport, trans_paddr, 0x28);
MC_SEV_OFF(mc_sev_transport, trans_len, 0x30);

/* ATTESTATION 0x036 (In/Out) */
struct MC_SEV_PACKED mc_sev_attestation {
    uint32_t handle;       /* In */
    uint32_t rsvd;         /* In */
    uint64_t report_paddr; /* In */
    uint8_t mnonce[16];    /* In */
    uint32_t len;          /* In/Out: >= 0xD0 */
};
MC_SEV_PIN(mc_sev_attestation, 0x24);
MC_SEV_OFF(mc_sev_attestation, handle, 0x00);
MC_SEV_OFF(mc_sev_attestation, rsvd, 0x04);
MC_SEV_OFF(mc_sev_attestation, report_paddr, 0x08);
MC_SEV_OFF(mc_sev_attestation, mnonce, 0x10);
MC_SEV_OFF(mc_sev_attestation, len, 0x20);

/* SEND_START 0x040 (In/Out) */
struct MC_SEV_PACKED mc_sev_send_start {
    uint32_t handle;           /* In */
    uint32_t policy;           /* Out */
    uint64_t pdh_cert_paddr;   /* In: target PDH */
    uint32_t pdh_cert_len;     /* In */
    uint32_t rsvd1;            /* In */
    uint64_t plat_certs_paddr; /* In: target PEK || OCA || CEK */
    uint32_t plat_certs_len;   /* In */
    uint32_t rsvd2;            /* In */
    uint64_t amd_certs_paddr;  /* In: ASK || ARK */
    uint32_t amd_certs_len;    /* In */
    uint32_t rsvd3;            /* In */
    uint64_t session_paddr;    /* In: output buffer */
    uint32_t session_len;      /* In/Out: 0x80 */
};
MC_SEV_PIN(mc_sev_send_start, 0x44);
MC_SEV_OFF(mc_sev_send_start, handle, 0x00);
MC_SEV_OFF(mc_sev_send_start, policy, 0x04);
MC_SEV_OFF(mc_sev_send_start, pdh_cert_paddr, 0x08);
MC_SEV_OFF(mc_sev_send_start, pdh_cert_len, 0x10);
MC_SEV_OFF(mc_sev_send_start, rsvd1, 0x14);
MC_SEV_OFF(mc_sev_send_start, plat_certs_paddr, 0x18);
MC_SEV_OFF(mc_sev_send_start, plat_certs_len, 0x20);
MC_SEV_OFF(mc_sev_send_start, rsvd2, 0x24);
MC_SEV_OFF(mc_sev_send_start, amd_certs_paddr, 0x28);
MC_SEV_OFF(mc_sev_send_start, amd_certs_len, 0x30);
MC_SEV_OFF(mc_sev_send_start, rsvd3, 0x34);
MC_SEV_OFF(mc_sev_send_start, session_paddr, 0x38);
MC_SEV_OFF(mc_sev_send_start, session_len, 0x40);

/* DBG_DECRYPT 0x060, DBG_ENCRYPT 0x061 (In) */
struct MC_SEV_PACKED mc_sev_dbg {
    uint32_t handle;    /* In */
    uint32_t rsvd;      /* In */
    uint64_t src_paddr; /* In: 16-byte aligned */
    uint64_t dst_paddr; /* In: 16-byte aligned */
    uint32_t len;       /* In: multiple of 16 */
};
MC_SEV_PIN(mc_sev_dbg, 0x1C);
MC_SEV_OFF(mc_sev_dbg, handle, 0x00);
MC_SEV_OFF(mc_sev_dbg, rsvd, 0x04);
MC_SEV_OFF(mc_sev_dbg, src_paddr, 0x08);
MC_SEV_OFF(mc_sev_dbg, dst_paddr, 0x10);
MC_SEV_OFF(mc_sev_dbg, len, 0x18);

/* ---- Data buffers referenced by commands ---------------------------------------------- */

/* Session buffer (LAUNCH_START / SEND_START / RECEIVE_START) */
struct MC_SEV_PACKED mc_sev_session_layout {
    uint8_t nonce[16];
    uint8_t wrap_tk[32]; /* wrapped TEK || TIK */
    uint8_t wrap_iv[16];
    uint8_t wrap_mac[32];
    uint8_t policy_mac[32];
};
MC_SEV_PIN(mc_sev_session_layout, 0x80);
MC_SEV_OFF(mc_sev_session_layout, nonce, 0x00);
MC_SEV_OFF(mc_sev_session_layout, wrap_tk, 0x10);
MC_SEV_OFF(mc_sev_session_layout, wrap_iv, 0x30);
MC_SEV_OFF(mc_sev_session_layout, wrap_mac, 0x40);
MC_SEV_OFF(mc_sev_session_layout, policy_mac, 0x60);

/* Packet header (LAUNCH_SECRET, SEND/RECEIVE_UPDATE_*) */
struct MC_SEV_PACKED mc_sev_packet_hdr {
    uint32_t flags; /* bit0 = COMPRESSED */
    uint8_t iv[16];
    uint8_t mac[32];
};
MC_SEV_PIN(mc_sev_packet_hdr, 0x34);
MC_SEV_OFF(mc_sev_packet_hdr, flags, 0x00);
MC_SEV_OFF(mc_sev_packet_hdr, iv, 0x04);
MC_SEV_OFF(mc_sev_packet_hdr, mac, 0x14);

/* memcrypt's migration-header extension (NOT in AMD's API; docs/sev-firmware.md "Migration").
 * A host that gives SEND_UPDATE_* / RECEIVE_UPDATE_* a header buffer of at least 0x64 bytes
 * gets, after the spec's 0x34-byte header, a trailer that makes the packet stream ordered and
 * closed: seq (1, 2, ...), xflags (bit0 FINAL: the sender's last packet) and where (the guest
 * address or vCPU the host says the packet belongs to) — on SEND both are inputs the host puts in
 * the header buffer, bound as given — and the running transfer measurement
 *   RM(seq) = HMAC-SHA256(TIK, 0x05 || LE32(seq) || LE32(xflags) || LE64(where) || RM(seq-1) || MAC),
 *   RM(0) = 0^32.
 * A receiver in this mode refuses a packet out of order, replayed, after FINAL, or whose RM differs
 * (BAD_MEASUREMENT), and RECEIVE_FINISH refuses a stream without its FINAL packet. A host using the
 * spec's 0x34 bytes sees exactly AMD's behaviour. Context byte 0x05 is unused by AMD (0x01-0x04). */
struct MC_SEV_PACKED mc_sev_packet_hdr_ext {
    struct mc_sev_packet_hdr hdr;
    uint32_t seq;
    uint32_t xflags;
    uint64_t where;
    uint8_t rm[32];
};
MC_SEV_PIN(mc_sev_packet_hdr_ext, 0x64);
MC_SEV_OFF(mc_sev_packet_hdr_ext, hdr, 0x00);
MC_SEV_OFF(mc_sev_packet_hdr_ext, seq, 0x34);
MC_SEV_OFF(mc_sev_packet_hdr_ext, xflags, 0x38);
MC_SEV_OFF(mc_sev_packet_hdr_ext, where, 0x3C);
MC_SEV_OFF(mc_sev_packet_hdr_ext, rm, 0x44);
#define MC_SEV_PKT_HDR_EXT_LEN 0x64u
#define MC_SEV_PKT_XFLAG_FINAL 0x1u

/* LAUNCH_MEASURE output */
struct MC_SEV_PACKED mc_sev_measurement {
    uint8_t measure[32];
    uint8_t mnonce[16];
};
MC_SEV_PIN(mc_sev_measurement, 0x30);
MC_SEV_OFF(mc_sev_measurement, measure, 0x00);
MC_SEV_OFF(mc_sev_measurement, mnonce, 0x20);

/* ATTESTATION report */
struct MC_SEV_PACKED mc_sev_attestation_report {
    uint8_t mnonce[16];
    uint8_t launch_digest[32];
    uint32_t policy;
    uint32_t sig_usage; /* PEK usage 0x1002 */
    uint32_t sig_algo;  /* PEK algo 0x0002 */
    uint32_t rsvd;
    uint8_t sig_r[72]; /* little-endian, zero-padded */
    uint8_t sig_s[72];
};
MC_SEV_PIN(mc_sev_attestation_report, 0xD0);
MC_SEV_OFF(mc_sev_attestation_report, mnonce, 0x00);
MC_SEV_OFF(mc_sev_attestation_report, launch_digest, 0x10);
MC_SEV_OFF(mc_sev_attestation_report, policy, 0x30);
MC_SEV_OFF(mc_sev_attestation_report, sig_usage, 0x34);
MC_SEV_OFF(mc_sev_attestation_report, sig_algo, 0x38);
MC_SEV_OFF(mc_sev_attestation_report, rsvd, 0x3C);
MC_SEV_OFF(mc_sev_attestation_report, sig_r, 0x40);
MC_SEV_OFF(mc_sev_attestation_report, sig_s, 0x88);

/* Spec name of a command ("LAUNCH_START"); "UNKNOWN" for IDs not in the table. Never NULL. */
MC_API const char *mc_sev_cmd_name(uint32_t cmd);
MC_API const char *mc_sev_pstate_name(uint32_t state);
MC_API const char *mc_sev_gstate_name(uint32_t state);

MC_END_DECLS

#endif
