/* memcrypt — Intel TME / MKTME (TME-MK): the activation MSRs, the KeyID key table and the
 * KeyID bits of physical addresses.
 *
 * One `struct mc_tme` models one package's TME unit: IA32_TME_CAPABILITY (0x981, read-only),
 * IA32_TME_ACTIVATE (0x982), IA32_TME_EXCLUDE_MASK/BASE (0x983/0x984), MK_TME_CORE_ACTIVATE
 * (0x9FF) and IA32_MKTME_KEYID_PARTITIONING (0x87), plus the key table that PCONFIG writes
 * (memcrypt/pconfig.h). Keys do not live here: every key decision is handed to a backend (the
 * memory controller binding, or a test double), which imports the key into an engine slot.
 *
 * Faults are values: an MSR access that the architecture answers with #GP(0) returns
 * MC_E_FAULT and sets *ev; nothing changes on a fault. MC_E_NOTFOUND means "not a TME MSR"
 * so an MSR dispatcher can chain to the next handler.
 *
 * Facts: shared/spec/cpu-and-config.md §3 (Intel memory encryption spec 336907).
 */
#ifndef MEMCRYPT_TME_H
#define MEMCRYPT_TME_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/engine.h>
#include <memcrypt/error.h>

MC_BEGIN_DECLS

/* ---- MSR numbers ---- */
#define MC_MSR_IA32_MKTME_KEYID_PARTITIONING 0x087u
#define MC_MSR_IA32_TME_CAPABILITY 0x981u
#define MC_MSR_IA32_TME_ACTIVATE 0x982u
#define MC_MSR_IA32_TME_EXCLUDE_MASK 0x983u
#define MC_MSR_IA32_TME_EXCLUDE_BASE 0x984u
#define MC_MSR_MK_TME_CORE_ACTIVATE 0x9FFu

/* ---- IA32_TME_CAPABILITY (0x981) ---- */
#define MC_TME_CAP_AES_XTS_128 (1ull << 0)
#define MC_TME_CAP_AES_XTS_128_INTEGRITY (1ull << 1)
#define MC_TME_CAP_AES_XTS_256 (1ull << 2)
#define MC_TME_CAP_AES_XTS_256_INTEGRITY (1ull << 3)
#define MC_TME_CAP_BYPASS (1ull << 31)
#define MC_TME_CAP_MAX_KEYID_BITS_SHIFT 32
#define MC_TME_CAP_MAX_KEYID_BITS_MASK 0xFull
#define MC_TME_CAP_MAX_KEYS_SHIFT 36
#define MC_TME_CAP_MAX_KEYS_MASK 0x7FFFull
#define MC_TME_CAP_NM_ENCRYPTION_DISABLE (1ull << 51) /* meaning UNCONFIRMED; shown, not modelled */
#define MC_TME_CAP_IMPLICIT_BIT_MASK (1ull << 63)     /* meaning UNCONFIRMED; shown, not modelled */

/* ---- IA32_TME_ACTIVATE (0x982) ---- */
#define MC_TME_ACT_LOCK (1ull << 0)
#define MC_TME_ACT_ENABLE (1ull << 1)
#define MC_TME_ACT_KEY_SELECT (1ull << 2) /* 0 new random key, 1 restore saved key */
#define MC_TME_ACT_SAVE_KEY (1ull << 3)   /* save the key for standby */
#define MC_TME_ACT_POLICY_SHIFT 4
#define MC_TME_ACT_POLICY_MASK 0xFull
#define MC_TME_ACT_SGX_TEM (1ull << 8) /* semantics UNCONFIRMED: treated as reserved */
#define MC_TME_ACT_BYPASS (1ull << 31)
#define MC_TME_ACT_KEYID_BITS_SHIFT 32
#define MC_TME_ACT_KEYID_BITS_MASK 0xFull
#define MC_TME_ACT_TDX_KEYID_BITS_SHIFT 36 /* reserved: TDX is not modelled */
#define MC_TME_ACT_CRYPTO_ALGS_SHIFT 48
#define MC_TME_ACT_CRYPTO_ALGS_MASK 0xFFFFull

/* TME policy values (TME_ACTIVATE[7:4]) and MKTME algorithm bits (TME_ACTIVATE[63:48] and
 * PCONFIG KEYID_CTRL[23:8] use the same bit order). */
#define MC_TME_POLICY_AES_XTS_128 0u
#define MC_TME_POLICY_AES_XTS_128_INTEGRITY 1u
#define MC_TME_POLICY_AES_XTS_256 2u
#define MC_MKTME_ALG_AES_XTS_128 (1u << 0)
#define MC_MKTME_ALG_AES_XTS_128_INTEGRITY (1u << 1)
#define MC_MKTME_ALG_AES_XTS_256 (1u << 2)
#define MC_MKTME_ALG_AES_XTS_256_INTEGRITY (1u << 3)

/* ---- IA32_TME_EXCLUDE_MASK / BASE (0x983 / 0x984) ---- */
#define MC_TME_EXCL_ENABLE (1ull << 11)

/* An architectural event raised by an MSR access or PCONFIG. */
enum mc_tme_event_kind {
    MC_TME_EV_NONE = 0,
    MC_TME_EV_UD,     /* #UD */
    MC_TME_EV_GP,     /* #GP(0) */
    MC_TME_EV_PF,     /* #PF (from the structure read; addr and error_code set) */
    MC_TME_EV_VMEXIT, /* VM exit with exit reason PCONFIG (VMX non-root only) */
};

struct mc_tme_event {
    enum mc_tme_event_kind kind;
    uint32_t error_code; /* 0 for #GP(0); the #PF error code */
    uint64_t addr;       /* #PF: the faulting linear address */
};

MC_API const char *mc_tme_event_name(enum mc_tme_event_kind k); /* "#GP(0)", "#UD", ...; never NULL */

/* What the CPU profile enumerates (fixed for the life of the object). */
struct mc_tme_config {
    bool tme;                /* CPUID.(7,0):ECX[13]: MSRs 0x981-0x984 exist */
    bool pconfig;            /* CPUID.(7,0):EDX[18]: PCONFIG exists, leaf 0x1B lists target 1 */
    unsigned maxphyaddr;     /* CPUID 0x80000008 EAX[7:0], 36..52 */
    uint64_t capability;     /* IA32_TME_CAPABILITY value */
    bool save_key_supported; /* TME_ACTIVATE bit 3 may be set (else it is reserved) */
};

/* How a KeyID's accesses are handled (the key table's ENCRYPTION_MODE). */
enum mc_keyid_mode {
    MC_KEYID_MODE_TME = 0,    /* the KeyID-0 behaviour: TME key, or plaintext under bypass */
    MC_KEYID_MODE_ENCRYPT,    /* this KeyID's own key */
    MC_KEYID_MODE_NO_ENCRYPT, /* never encrypted */
};

/* The memory-controller side. Every function may be NULL (then the decision is only
 * recorded). A function that fails must leave its own state unchanged; the TME model then
 * returns that status and changes nothing either. Key bytes are borrowed for the call and
 * wiped by the caller afterwards; key = data key || tweak key (engine layout).
 *   platform_key:  IA32_TME_ACTIVATE is about to read `activate` (enabled, locked): KeyID 0 gets
 *                  the platform key (c, key), every KeyID starts with TME behaviour; with bypass
 *                  (activate bit 31) KeyID 0 is not encrypted. The exclusion MSRs are final by
 *                  then (mc_tme_exclusion). Called with c = MC_CIPHER_NONE, key NULL and
 *                  activate 0 when TME is switched off by a reset.
 *   program_keyid: KeyID keyid (>= 1) now has mode; key/keylen only for MC_KEYID_MODE_ENCRYPT. */
struct mc_tme_backend {
    void *ctx;
    mc_status (*platform_key)(void *ctx, enum mc_cipher c, const uint8_t *key, size_t keylen, uint64_t activate,
                              struct mc_error *err);
    mc_status (*program_keyid)(void *ctx, uint32_t keyid, enum mc_keyid_mode mode, enum mc_cipher c,
                               const uint8_t *key, size_t keylen, struct mc_error *err);
};

struct mc_tme;
struct mc_rng;

/* Create the unit in its reset state (unlocked, TME off). cfg is validated: maxphyaddr in
 * 36..52, capability reserved bits clear, MAX_KEYID_BITS <= 15 and < maxphyaddr - 12,
 * integrity algorithms refused (MC_E_UNSUPPORTED: not modelled). rng is the CPU's hardware
 * RNG (borrowed); backend is copied (may be NULL). */
MC_API mc_status mc_tme_create(const struct mc_tme_config *cfg, struct mc_rng *rng, const struct mc_tme_backend *backend,
                        struct mc_tme **out, struct mc_error *err);
/* Wipes the saved standby key and frees. NULL is fine. */
MC_API void mc_tme_destroy(struct mc_tme *t);
MC_API const struct mc_tme_config *mc_tme_get_config(const struct mc_tme *t);

/* Is msr one of the MSRs this model answers (independently of CPUID)? */
MC_API bool mc_tme_is_msr(uint32_t msr);
/* RDMSR / WRMSR. MC_OK; MC_E_FAULT with *ev = #GP(0) (state unchanged); MC_E_NOTFOUND when
 * msr is not a TME MSR; a backend error is passed through (state unchanged). */
MC_API mc_status mc_tme_rdmsr(struct mc_tme *t, uint32_t msr, uint64_t *val, struct mc_tme_event *ev, struct mc_error *err);
MC_API mc_status mc_tme_wrmsr(struct mc_tme *t, uint32_t msr, uint64_t val, struct mc_tme_event *ev, struct mc_error *err);

/* Cold reset: MSRs back to reset values, key table cleared, saved key wiped. */
MC_API mc_status mc_tme_reset(struct mc_tme *t, struct mc_error *err);
/* Resume from standby: like reset, but a key saved with TME_ACTIVATE[3] survives so that a
 * WRMSR with key select = 1 can restore it. */
MC_API mc_status mc_tme_standby_resume(struct mc_tme *t, struct mc_error *err);

/* Test/fault-injection hooks (explicit state of this object, no globals). */
MC_API void mc_tme_inject_rng_failures(struct mc_tme *t, unsigned n); /* the next n RNG draws fail */
/* Simulate another logical processor holding the PCONFIG key-table write lock. */
MC_API void mc_tme_hold_key_table_lock(struct mc_tme *t, bool held);

/* ---- On a machine ----
 * A board (memcrypt/board.h) built from an Intel profile attaches the package's unit to its
 * machine: the unit adopts what the BIOS programmed, answers the machine's RDMSR/WRMSR for 0x87
 * and 0x981-0x9FF, resets with the machine (mc_machine_reset, mc_machine_standby_resume keeps a
 * key saved with TME_ACTIVATE[3]), and its keys become engine slots bound to KeyIDs in the
 * memory controller. Save key support comes from the profile (mc_cpu_profile.tme_save_key). */

/* ---- State queries ---- */
MC_API bool mc_tme_locked(const struct mc_tme *t);
MC_API bool mc_tme_enabled(const struct mc_tme *t);       /* locked and enabled */
MC_API bool mc_tme_bypass(const struct mc_tme *t);        /* enabled with bypass for KeyID 0 */
MC_API enum mc_cipher mc_tme_platform_cipher(const struct mc_tme *t); /* NONE when not enabled */
MC_API unsigned mc_tme_keyid_bits(const struct mc_tme *t); /* K, 0 when MKTME is not active */
MC_API uint32_t mc_tme_num_keyids(const struct mc_tme *t); /* usable KeyIDs >= 1: min(2^K-1, MAX_KEYS) */
MC_API uint32_t mc_tme_allowed_algs(const struct mc_tme *t); /* TME_ACTIVATE[63:48] when active */
/* The key-table entry of keyid (1..num_keyids); MC_E_RANGE otherwise. */
MC_API mc_status mc_tme_keyid_entry(const struct mc_tme *t, uint32_t keyid, enum mc_keyid_mode *mode, enum mc_cipher *c,
                             struct mc_error *err);

/* ---- KeyIDs in physical addresses: KeyID = PA[M-1 : M-K] ---- */
MC_API unsigned mc_tme_keyid_shift(const struct mc_tme *t); /* M - K */
MC_API uint32_t mc_tme_pa_keyid(const struct mc_tme *t, uint64_t pa);
MC_API uint64_t mc_tme_pa_strip(const struct mc_tme *t, uint64_t pa);
/* pa (no KeyID bits, < 2^(M-K)) with keyid (< 2^K) placed; MC_E_RANGE otherwise. */
MC_API mc_status mc_tme_pa_compose(const struct mc_tme *t, uint64_t pa, uint32_t keyid, uint64_t *out,
                            struct mc_error *err);
/* The exclusion range as programmed: enable bit, and base/mask limited to bits [M-1:12]. */
MC_API void mc_tme_exclusion(const struct mc_tme *t, bool *enable, uint64_t *base, uint64_t *mask);
/* Is the stripped address inside the TME exclusion range (enabled, TME on)? */
MC_API bool mc_tme_excluded(const struct mc_tme *t, uint64_t pa);

/* How the memory controller must treat one access to a full physical address. */
enum mc_tme_route_kind {
    MC_TME_ROUTE_PLAIN = 0, /* not encrypted: TME off, bypass, exclusion range, NO_ENCRYPT */
    MC_TME_ROUTE_PLATFORM,  /* the TME platform key (KeyID 0, or a KeyID in TME mode) */
    MC_TME_ROUTE_KEYID,     /* the KeyID's own key */
};
struct mc_tme_route {
    enum mc_tme_route_kind kind;
    uint32_t keyid;   /* KeyID bits of the address */
    uint64_t pa;      /* address with the KeyID bits removed (DRAM address, XTS tweak) */
};
MC_API void mc_tme_route(const struct mc_tme *t, uint64_t pa, struct mc_tme_route *out);
MC_API const char *mc_tme_route_name(enum mc_tme_route_kind k);

MC_END_DECLS

#endif
