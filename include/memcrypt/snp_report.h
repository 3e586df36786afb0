/* memcrypt — SEV-SNP attestation report (SNP ABI 56860, ATTESTATION_REPORT, 0x4A0 bytes).
 *
 * mc_snp_report_decode() validates and decodes the raw bytes of report versions 2, 3, 4 and 5 into
 * struct mc_snp_report (which also keeps a copy of the raw bytes for signature checks);
 * mc_snp_report_encode() is its inverse (used by the fixture factory). TCB_VERSION values are
 * decoded per CPU generation: Milan/Genoa {BL, TEE, -, -, -, -, SNP, UCODE}, Turin
 * {FMC, BL, TEE, SNP, -, -, -, UCODE}. All integers in the report are little-endian.
 */
#ifndef MEMCRYPT_SNP_REPORT_H
#define MEMCRYPT_SNP_REPORT_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

MC_BEGIN_DECLS

#define MC_SNP_REPORT_SIZE 0x4A0u
#define MC_SNP_REPORT_SIGNED_LEN 0x2A0u /* bytes 0x000..0x29F are signed */

/* Processor generation: picks the TCB layout, the product name and the AMD root. */
enum mc_snp_gen { MC_SNP_GEN_UNKNOWN = 0, MC_SNP_GEN_MILAN, MC_SNP_GEN_GENOA, MC_SNP_GEN_TURIN };

/* "Milan", "Genoa", "Turin" or "unknown". */
MC_API const char *mc_snp_gen_name(enum mc_snp_gen g);
/* Parse a product name, case-insensitive, ignoring a "-<stepping>" suffix ("Milan-B0" -> Milan).
 * Returns MC_SNP_GEN_UNKNOWN when not recognised. */
MC_API enum mc_snp_gen mc_snp_gen_parse(const char *name);
/* Generation from CPUID family/model (0x19 0x00-0x0F Milan; 0x19 0x10-0x1F, 0xA0-0xAF Genoa;
 * 0x1A 0x00-0x11 Turin); UNKNOWN otherwise. */
MC_API enum mc_snp_gen mc_snp_gen_from_cpuid(uint8_t family, uint8_t model);

/* A TCB_VERSION split into its security patch levels. has_fmc is true for Turin. */
struct mc_snp_tcb {
    uint64_t raw;
    bool has_fmc;
    uint8_t fmc, bootloader, tee, snp, microcode;
    uint8_t spl[8]; /* the raw bytes, index = byte position */
};
/* Decode raw with the layout of gen (UNKNOWN decodes as Milan/Genoa, the layout before Turin). */
MC_API void mc_snp_tcb_decode(uint64_t raw, enum mc_snp_gen gen, struct mc_snp_tcb *out);
/* Compose a TCB_VERSION from parts for gen (fmc ignored before Turin). */
MC_API uint64_t mc_snp_tcb_encode(enum mc_snp_gen gen, uint8_t fmc, uint8_t bl, uint8_t tee, uint8_t snp, uint8_t ucode);
/* Parse "bl=3,tee=0,snp=8,ucode=115[,fmc=0]" or a raw u64 ("0x7308000000000003").
 * Parts not given are 0. */
MC_API mc_status mc_snp_tcb_parse(const char *s, enum mc_snp_gen gen, uint64_t *out, struct mc_error *err);
/* The TCB an emulated chip of this generation ships with (the SPLs of real VCEKs; the emulated
 * firmware's current TCB). UNKNOWN gives Milan's. */
MC_API uint64_t mc_snp_tcb_factory(enum mc_snp_gen gen);
/* true when every named part of a is >= the same part of b (component-wise, per gen layout). */
MC_API bool mc_snp_tcb_ge(uint64_t a, uint64_t b, enum mc_snp_gen gen);

/* Signing key (KEY_INFO bits 4:2). */
enum { MC_SNP_SIGNER_VCEK = 0, MC_SNP_SIGNER_VLEK = 1, MC_SNP_SIGNER_NONE = 7 };

/* The files other tools hand reports out in (src/snp/container.c): the raw bytes, their hex text
 * (virtee/sev's test files), or an Azure vTPM HCL report ("HCLA", the report at 0x20, followed by
 * the runtime claims whose hash starts REPORT_DATA). */
enum mc_snp_container { MC_SNP_CONTAINER_RAW = 0, MC_SNP_CONTAINER_HEX, MC_SNP_CONTAINER_AZURE_HCL };
struct mc_snp_container_info {
    enum mc_snp_container kind;
    size_t report_offset;        /* where the report starts (HCL: 0x20) */
    size_t runtime_len;          /* HCL: bytes of runtime claims */
    uint32_t hash_type;          /* HCL: 1 SHA-256, 2 SHA-384, 3 SHA-512 */
    bool has_runtime_hash;       /* HCL with a known hash type */
    uint8_t runtime_hash[64];
    size_t runtime_hash_len;
    bool runtime_bound;          /* REPORT_DATA starts with runtime_hash */
};
/* Copy the 0x4A0-byte report out of buf (any container above); info says which and, for HCL,
 * whether the runtime claims are bound into REPORT_DATA. Anything else -> MC_E_RANGE/FORMAT. */
MC_API mc_status mc_snp_report_unwrap(const uint8_t *buf, size_t len, uint8_t raw[MC_SNP_REPORT_SIZE],
                               struct mc_snp_container_info *info, struct mc_error *err);
MC_API const char *mc_snp_container_name(enum mc_snp_container k);

/* Policy bits (SNP ABI §4.3 / digest §2.5). */
#define MC_SNP_POLICY_SMT (1ull << 16)
#define MC_SNP_POLICY_RESERVED1 (1ull << 17)
#define MC_SNP_POLICY_MIGRATE_MA (1ull << 18)
#define MC_SNP_POLICY_DEBUG (1ull << 19)
#define MC_SNP_POLICY_SINGLE_SOCKET (1ull << 20)
#define MC_SNP_POLICY_PAGE_SWAP_DISABLE (1ull << 25)

struct mc_snp_report {
    uint32_t version;
    uint32_t guest_svn;
    uint64_t policy;
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint32_t vmpl;
    uint32_t signature_algo;
    uint64_t current_tcb;
    uint64_t platform_info;
    uint32_t key_info;          /* bit0 AUTHOR_KEY_EN, bit1 MASK_CHIP_KEY, bits 4:2 SIGNING_KEY */
    uint8_t report_data[64];
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint8_t id_key_digest[48];
    uint8_t author_key_digest[48];
    uint8_t report_id[32];
    uint8_t report_id_ma[32];
    uint64_t reported_tcb;
    uint8_t cpuid_fam_id, cpuid_mod_id, cpuid_step; /* version >= 3 */
    uint8_t chip_id[64];
    uint64_t committed_tcb;
    uint8_t current_build, current_minor, current_major;
    uint8_t committed_build, committed_minor, committed_major;
    uint64_t launch_tcb;
    uint64_t launch_mit_vector;  /* version >= 5 */
    uint64_t current_mit_vector; /* version >= 5 */
    uint8_t sig_r[72];           /* little-endian */
    uint8_t sig_s[72];
    bool reserved_nonzero;       /* a reserved field (signed area or signature padding) is not zero */
    uint8_t raw[MC_SNP_REPORT_SIZE];
};

/* Decode a report. len must be exactly MC_SNP_REPORT_SIZE (MC_E_RANGE otherwise); versions other
 * than 2..5 -> MC_E_UNSUPPORTED. out is written only on success. */
MC_API mc_status mc_snp_report_decode(const uint8_t *buf, size_t len, struct mc_snp_report *out, struct mc_error *err);
/* Encode every field of r into out (reserved bytes zero; ignores r->raw). */
MC_API void mc_snp_report_encode(const struct mc_snp_report *r, uint8_t out[MC_SNP_REPORT_SIZE]);

static inline unsigned mc_snp_report_signer(const struct mc_snp_report *r) { return (r->key_info >> 2) & 7u; }
/* Generation from the CPUID fields (version >= 3), else UNKNOWN. */
MC_API enum mc_snp_gen mc_snp_report_gen(const struct mc_snp_report *r);

/* Name of policy bit `bit` ("SMT", "DEBUG", ...) or NULL for reserved bits. */
MC_API const char *mc_snp_policy_bit_name(unsigned bit);
/* Policy bits the SNP firmware of ABI major.minor accepts (bits 0..20; bits 21..25 only on
 * firmware newer than 1.55, see src/snp/policy.c for the decision). */
MC_API uint64_t mc_snp_policy_valid_mask(uint8_t abi_major, uint8_t abi_minor);
/* SNP_LAUNCH_START's checks that need no guest context: bit 17 set, no bit the ABI treats as
 * reserved, SMT allowed when host SMT is on, the policy's minimum ABI <= the firmware's.
 * MC_E_UNSUPPORTED with a sentence naming POLICY_FAILURE otherwise. */
MC_API MC_MUST_CHECK mc_status mc_snp_policy_check(uint64_t policy, uint8_t abi_major, uint8_t abi_minor, bool host_smt,
                              struct mc_error *err);
/* Name of PLATFORM_INFO bit `bit` or NULL. */
MC_API const char *mc_snp_platform_bit_name(unsigned bit);

MC_END_DECLS

#endif
