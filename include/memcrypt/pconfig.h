/* memcrypt — the PCONFIG instruction (0F 01 C5), leaf 0 MKTME_KEY_PROGRAM.
 *
 * PCONFIG programs one KeyID's entry in the MKTME key table of a `struct mc_tme`
 * (memcrypt/tme.h). The instruction reads MKTME_KEY_PROGRAM_STRUCT from emulated memory at the
 * linear address in RBX through a caller-supplied read function (the machine's data-read path,
 * which may raise #PF). Faults, VM exits and the status in RAX follow the pseudo-code of the
 * Intel memory encryption spec (336907) in this order:
 *   #UD (no PCONFIG / CPL > 0 / LOCK, REP, 66h or VEX prefix / non-root without PCONFIG_ENABLE)
 *   VM exit (non-root, PCONFIG_EXITING bit for the leaf set)
 *   #GP(0) (EAX != 0; TME_ACTIVATE not locked, not enabled or KEYID_BITS = 0; RBX not 256-byte
 *           aligned), then the structure read (#PF from the read function), then #GP(0) for
 *           reserved fields and for key bytes beyond the algorithm's key size
 *   RAX = INVALID_PROG_CMD, INVALID_KEYID, INVALID_ENC_ALG, DEVICE_BUSY, ENTROPY_ERROR, or 0.
 * Flags: success ZF = 0, failure ZF = 1; CF, PF, AF, OF, SF always cleared.
 */
#ifndef MEMCRYPT_PCONFIG_H
#define MEMCRYPT_PCONFIG_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/tme.h>

MC_BEGIN_DECLS

#define MC_PCONFIG_LEAF_MKTME_KEY_PROGRAM 0u
#define MC_PCONFIG_TARGET_MKTME 1u /* CPUID.1BH target identifier */

/* KEYID_CTRL[7:0] commands. */
enum mc_pconfig_cmd {
    MC_PCONFIG_KEYID_SET_KEY_DIRECT = 0,
    MC_PCONFIG_KEYID_SET_KEY_RANDOM = 1,
    MC_PCONFIG_KEYID_CLEAR_KEY = 2,
    MC_PCONFIG_KEYID_NO_ENCRYPT = 3,
};

/* RAX after MKTME_KEY_PROGRAM. */
enum mc_pconfig_status {
    MC_PCONFIG_PROG_SUCCESS = 0,
    MC_PCONFIG_INVALID_PROG_CMD = 1,
    MC_PCONFIG_ENTROPY_ERROR = 2,
    MC_PCONFIG_INVALID_KEYID = 3,
    MC_PCONFIG_INVALID_ENC_ALG = 4,
    MC_PCONFIG_DEVICE_BUSY = 5,
};
MC_API const char *mc_pconfig_status_name(uint64_t rax); /* "INVALID_KEYID", ...; never NULL */

/* MKTME_KEY_PROGRAM_STRUCT as bytes in memory (little-endian). 192 bytes are defined; the
 * structure is 256-byte aligned, so the type is 256 bytes (as Linux declares it). Decode with
 * mc_mktme_kp_decode, never by casting. */
#define MC_MKTME_KP_SIZE 192u
#define MC_MKTME_KP_ALIGN 256u
#define MC_MKTME_KEY_FIELD_SIZE 64u
struct mc_mktme_key_program_raw {
    uint8_t keyid[2];      /* 0: KeyID */
    uint8_t keyid_ctrl[4]; /* 2: [7:0] command, [23:8] algorithm (one-hot), [31:24] reserved */
    uint8_t reserved[58];  /* 6: must be 0 */
    uint8_t key_field_1[MC_MKTME_KEY_FIELD_SIZE]; /* 64: data key, or entropy for RANDOM */
    uint8_t key_field_2[MC_MKTME_KEY_FIELD_SIZE]; /* 128: tweak key, or entropy for RANDOM */
    uint8_t padding[64];   /* 192: not part of the structure; never read */
};

/* The decoded structure. */
struct mc_mktme_key_program {
    uint16_t keyid;
    uint8_t command;   /* KEYID_CTRL[7:0] */
    uint16_t alg;      /* KEYID_CTRL[23:8], bit 0 = AES-XTS-128 ... (MC_MKTME_ALG_*) */
    uint8_t ctrl_rsvd; /* KEYID_CTRL[31:24] */
    uint8_t key_field_1[MC_MKTME_KEY_FIELD_SIZE];
    uint8_t key_field_2[MC_MKTME_KEY_FIELD_SIZE];
    bool rsvd_nonzero; /* some byte of 6..63 is non-zero */
};
/* Decode the first 192 bytes of buf (len >= 192, else MC_E_FORMAT). */
MC_API mc_status mc_mktme_kp_decode(const uint8_t *buf, size_t len, struct mc_mktme_key_program *out, struct mc_error *err);
/* Encode into 192 bytes (reserved bytes zero; ctrl_rsvd and rsvd_nonzero are encoded as given:
 * rsvd_nonzero sets byte 6 to 1, for tests of the #GP path). */
MC_API void mc_mktme_kp_encode(const struct mc_mktme_key_program *kp, uint8_t out[MC_MKTME_KP_SIZE]);

/* Prefix bits of the PCONFIG instruction (decode information). */
#define MC_PCONFIG_PFX_LOCK (1u << 0)
#define MC_PCONFIG_PFX_REP (1u << 1)    /* F2 or F3 */
#define MC_PCONFIG_PFX_OPSIZE (1u << 2) /* 66 */
#define MC_PCONFIG_PFX_VEX (1u << 3)
#define MC_PCONFIG_PFX_SEG (1u << 4)    /* segment override: ignored */
#define MC_PCONFIG_PFX_ADDR (1u << 5)   /* 67: ignored */
#define MC_PCONFIG_PFX_REX (1u << 6)    /* ignored */

/* RFLAGS bits touched by PCONFIG. */
#define MC_RFLAGS_CF (1ull << 0)
#define MC_RFLAGS_PF (1ull << 2)
#define MC_RFLAGS_AF (1ull << 4)
#define MC_RFLAGS_ZF (1ull << 6)
#define MC_RFLAGS_SF (1ull << 7)
#define MC_RFLAGS_OF (1ull << 11)

/* The executing logical processor: In: everything; Out: rax, rflags (only when the
 * instruction completes, i.e. mc_pconfig returns MC_OK). */
struct mc_pconfig_cpu {
    unsigned cpl;
    unsigned prefixes;               /* MC_PCONFIG_PFX_* */
    bool vmx_nonroot;
    bool vmcs_pconfig_enable;        /* secondary processor-based control bit 27 */
    uint64_t vmcs_pconfig_exiting;   /* the 64-bit PCONFIG-exiting bitmap (VMCS 0x203E/0x203F) */
    uint64_t rax, rbx, rcx, rdx;
    uint64_t rflags;
};

/* Read len bytes at linear address la (DS-based). Return MC_OK, or MC_E_FAULT with *ev set
 * (normally #PF with the address and error code); any other status is a C-level error. */
typedef mc_status (*mc_pconfig_read_fn)(void *ctx, uint64_t la, void *buf, size_t len, struct mc_tme_event *ev,
                                        struct mc_error *err);

/* Execute PCONFIG on the package whose TME unit is t.
 * MC_OK: the instruction completed; cpu->rax holds the status, cpu->rflags the flags.
 * MC_E_FAULT: *ev holds #UD, #GP(0), #PF or a VM exit; cpu and the key table are unchanged.
 * Other: a C-level error (e.g. the backend could not import the key); nothing changed. */
MC_API mc_status mc_pconfig(struct mc_tme *t, struct mc_pconfig_cpu *cpu, mc_pconfig_read_fn read, void *read_ctx,
                     struct mc_tme_event *ev, struct mc_error *err);

/* PCONFIG on a board's host CPU, with the structure read through the host's paging:
 * mc_board_pconfig (memcrypt/board.h). */

/* CPUID.(EAX=1BH, ECX=subleaf) for this unit: subleaf 0 lists target 1 (MKTME) when PCONFIG is
 * enumerated; every other subleaf is invalid (all zero). */
MC_API void mc_pconfig_cpuid_1b(const struct mc_tme *t, uint32_t subleaf, uint32_t out[4]);

MC_END_DECLS

#endif
