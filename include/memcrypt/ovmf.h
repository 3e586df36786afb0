/* memcrypt — OVMF firmware image parsing for SEV / SEV-ES / SEV-SNP launch measurement.
 *
 * An OVMF (or COCONUT-SVSM) flash image carries, just below its last 32 bytes, a "footer GUID
 * table" (OVMF ResetVector): entries `data ‖ u16 size ‖ GUID` walked backwards from the table
 * footer GUID. Entries used here: the SEV-ES AP reset block, the SEV hashes-table area (QEMU
 * direct kernel boot), the SEV secret area, the OVMF SEV metadata pointer and the SVSM info
 * block. The SEV metadata ("ASEV") lists the sections the VMM must add to the guest before
 * launch (SNP_SEC_MEM, SNP_SECRETS, CPUID, SVSM_CAA, SNP_KERNEL_HASHES).
 *
 * mc_ovmf_parse() validates everything it reads: lengths that point outside the file, entries
 * shorter than their data, duplicated GUIDs, bad metadata signature or version, misaligned or
 * overlapping sections are refused with a sentence naming the problem. The parsed object
 * borrows the image bytes (no copy); keep them alive while using it.
 */
#ifndef MEMCRYPT_OVMF_H
#define MEMCRYPT_OVMF_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

MC_BEGIN_DECLS

/* Images larger than this are refused (the x86 flash window below 4 GiB is 16 MiB in QEMU;
 * the limit leaves room for SVSM images). */
#define MC_OVMF_MAX_SIZE (64u << 20)
#define MC_OVMF_MAX_SECTIONS 64
#define MC_OVMF_FOUR_GB 0x100000000ull

/* SEV metadata section types (OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm, QEMU sev.c). */
enum mc_ovmf_section_type {
    MC_OVMF_SNP_SEC_MEM = 1,
    MC_OVMF_SNP_SECRETS = 2,
    MC_OVMF_CPUID = 3,
    MC_OVMF_SVSM_CAA = 4,
    MC_OVMF_SNP_KERNEL_HASHES = 0x10,
};

struct mc_ovmf_section {
    uint32_t gpa;
    uint32_t size;
    uint32_t type; /* enum mc_ovmf_section_type, or an unknown value as found in the image */
};

struct mc_ovmf {
    const uint8_t *data; /* borrowed image bytes */
    size_t size;
    uint64_t gpa; /* where the image starts: end_gpa - size */

    bool has_table; /* footer GUID table present */
    bool has_reset_block;
    uint32_t reset_eip; /* SEV-ES AP reset address */
    bool has_hashes;
    uint32_t hashes_gpa, hashes_size; /* SEV hashes-table area */
    bool has_secret;
    uint32_t secret_gpa, secret_size;
    bool has_svsm_info;
    uint32_t svsm_entry_offset; /* SVSM entry point, offset from the image base */
    bool has_metadata;
    uint32_t metadata_offset; /* metadata header at size - metadata_offset */
    size_t nsections;
    struct mc_ovmf_section sections[MC_OVMF_MAX_SECTIONS];
};

/* Parse an image that ends at guest physical address end_gpa (MC_OVMF_FOUR_GB for OVMF).
 * In: data/size (borrowed). Out: *out filled on success; untouched on failure. */
MC_API mc_status mc_ovmf_parse(const uint8_t *data, size_t size, uint64_t end_gpa, struct mc_ovmf *out,
                        struct mc_error *err);

/* True when the metadata lists a section of this type. */
MC_API bool mc_ovmf_has_section(const struct mc_ovmf *o, uint32_t type);

/* "SNP_SEC_MEM", ... or NULL for an unknown type. */
MC_API const char *mc_ovmf_section_name(uint32_t type);

/* Well-known GUIDs in the footer table, as text. */
#define MC_OVMF_GUID_TABLE_FOOTER "96b582de-1fb2-45f7-baea-a366c55a082d"
#define MC_OVMF_GUID_SEV_ES_RESET_BLOCK "00f771de-1a7e-4fcb-890e-68c77e2fb44e"
#define MC_OVMF_GUID_SEV_HASH_TABLE "7255371f-3a3b-4b04-927b-1da6efa8d454"
#define MC_OVMF_GUID_SEV_SECRET "4c2eb361-7d9b-4cc3-8081-127c90d3d294"
#define MC_OVMF_GUID_SEV_METADATA "dc886566-984a-4798-a75e-5585a7bf67cc"
#define MC_OVMF_GUID_SVSM_INFO "a789a612-0597-4c4b-a49f-cbb1fe9d1ddd"


MC_END_DECLS

#endif
