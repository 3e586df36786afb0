/* OVMF footer GUID table and SEV metadata parser (see include/memcrypt/ovmf.h).
 *
 * Layout facts (OVMF ResetVector, QEMU pc_sysfw_ovmf.c, sev-snp-measure ovmf.py):
 *  - the table's footer entry ends 32 bytes before the end of the image:
 *    [.. entries ..][u16 table_size][footer GUID] then 32 bytes (reset vector code);
 *    table_size covers every entry plus the footer's own 18-byte trailer;
 *  - each entry, read backwards: [data][u16 size][GUID], size includes the 18-byte trailer;
 *  - the SEV metadata entry holds a u32 offset from the END of the image to the header
 *    {char[4] "ASEV", u32 size, u32 version = 1, u32 num_items} followed by num_items
 *    descriptors {u32 gpa, u32 size, u32 type}.
 */
#include <memcrypt/bytes.h>
#include <memcrypt/ovmf.h>

#include <stddef.h>
#include <string.h>

/* On-disk layouts, pinned for reference; decoding uses the LE helpers on the raw bytes. */
struct ovmf_table_trailer {
    uint8_t size[2];
    uint8_t guid[16];
};
_Static_assert(sizeof(struct ovmf_table_trailer) == 18, "footer table entry trailer is 18 bytes");
_Static_assert(offsetof(struct ovmf_table_trailer, guid) == 2, "GUID follows the u16 size");

struct ovmf_sev_metadata_header {
    char signature[4];
    uint32_t size;
    uint32_t version;
    uint32_t num_items;
};
_Static_assert(sizeof(struct ovmf_sev_metadata_header) == 16, "ASEV header is 16 bytes");
_Static_assert(offsetof(struct ovmf_sev_metadata_header, num_items) == 12, "num_items at 12");

struct ovmf_sev_metadata_desc {
    uint32_t gpa;
    uint32_t size;
    uint32_t type;
};
_Static_assert(sizeof(struct ovmf_sev_metadata_desc) == 12, "section descriptor is 12 bytes");
_Static_assert(offsetof(struct ovmf_sev_metadata_desc, type) == 8, "type at 8");

#define TRAILER 18u
#define FOOTER_GAP 32u /* bytes after the footer entry (reset vector) */

const char *mc_ovmf_section_name(uint32_t type)
{
    switch (type) {
    case MC_OVMF_SNP_SEC_MEM: return "SNP_SEC_MEM";
    case MC_OVMF_SNP_SECRETS: return "SNP_SECRETS";
    case MC_OVMF_CPUID: return "CPUID";
    case MC_OVMF_SVSM_CAA: return "SVSM_CAA";
    case MC_OVMF_SNP_KERNEL_HASHES: return "SNP_KERNEL_HASHES";
    default: return NULL;
    }
}

bool mc_ovmf_has_section(const struct mc_ovmf *o, uint32_t type)
{
    for (size_t i = 0; i < o->nsections; i++)
        if (o->sections[i].type == type)
            return true;
    return false;
}

enum known { K_RESET, K_HASHES, K_SECRET, K_METADATA, K_SVSM, K_COUNT };
static const struct {
    const char *guid;
    const char *name;
    size_t min_data;
} known_entries[K_COUNT] = {
    [K_RESET] = {MC_OVMF_GUID_SEV_ES_RESET_BLOCK, "SEV-ES reset block", 4},
    [K_HASHES] = {MC_OVMF_GUID_SEV_HASH_TABLE, "SEV hashes-table area", 8},
    [K_SECRET] = {MC_OVMF_GUID_SEV_SECRET, "SEV secret area", 8},
    [K_METADATA] = {MC_OVMF_GUID_SEV_METADATA, "SEV metadata pointer", 4},
    [K_SVSM] = {MC_OVMF_GUID_SVSM_INFO, "SVSM info block", 4},
};

static mc_status parse_table(struct mc_ovmf *o, struct mc_error *err)
{
    uint8_t footer_guid[16];
    mc_guid_parse(MC_OVMF_GUID_TABLE_FOOTER, footer_guid, NULL);
    if (o->size < FOOTER_GAP + TRAILER)
        return MC_OK; /* too small to hold a table: no table */
    size_t footer_at = o->size - FOOTER_GAP - TRAILER;
    if (memcmp(o->data + footer_at + 2, footer_guid, 16) != 0)
        return MC_OK; /* not an OVMF image with a GUID table */
    uint16_t full = mc_le16(o->data + footer_at);
    if (full < TRAILER)
        return mc_seterr(err, MC_E_FORMAT, "OVMF footer GUID table size %u is smaller than its own 18-byte footer",
                         full);
    size_t table_len = full - TRAILER;
    if (table_len > footer_at)
        return mc_seterr(err, MC_E_FORMAT,
                         "OVMF footer GUID table size %u points before the start of the %zu-byte image", full,
                         o->size);
    o->has_table = true;
    const uint8_t *base = o->data + footer_at - table_len;
    size_t left = table_len;
    bool seen[K_COUNT] = {0};
    uint8_t guids[K_COUNT][16];
    for (int k = 0; k < K_COUNT; k++)
        mc_guid_parse(known_entries[k].guid, guids[k], NULL);
    while (left >= TRAILER) {
        const uint8_t *tr = base + left - TRAILER;
        uint16_t esize = mc_le16(tr);
        if (esize < TRAILER)
            return mc_seterr(err, MC_E_FORMAT,
                             "OVMF footer GUID table entry at image offset 0x%zx has size %u, less than 18",
                             (size_t)(tr - o->data), esize);
        if (esize > left)
            return mc_seterr(err, MC_E_FORMAT,
                             "OVMF footer GUID table entry at image offset 0x%zx has size %u, beyond the table",
                             (size_t)(tr - o->data), esize);
        const uint8_t *edata = base + left - esize;
        size_t dlen = esize - TRAILER;
        for (int k = 0; k < K_COUNT; k++) {
            if (memcmp(tr + 2, guids[k], 16) != 0)
                continue;
            if (seen[k])
                return mc_seterr(err, MC_E_FORMAT, "OVMF footer GUID table lists the %s (%s) twice",
                                 known_entries[k].name, known_entries[k].guid);
            if (dlen < known_entries[k].min_data)
                return mc_seterr(err, MC_E_FORMAT, "OVMF %s entry holds %zu bytes, needs %zu",
                                 known_entries[k].name, dlen, known_entries[k].min_data);
            seen[k] = true;
            switch (k) {
            case K_RESET:
                o->has_reset_block = true;
                o->reset_eip = mc_le32(edata);
                break;
            case K_HASHES:
                o->has_hashes = true;
                o->hashes_gpa = mc_le32(edata);
                o->hashes_size = mc_le32(edata + 4);
                break;
            case K_SECRET:
                o->has_secret = true;
                o->secret_gpa = mc_le32(edata);
                o->secret_size = mc_le32(edata + 4);
                break;
            case K_METADATA:
                o->has_metadata = true;
                o->metadata_offset = mc_le32(edata);
                break;
            case K_SVSM:
                o->has_svsm_info = true;
                o->svsm_entry_offset = mc_le32(edata);
                break;
            }
        }
        left -= esize;
    }
    return MC_OK;
}

static mc_status parse_metadata(struct mc_ovmf *o, struct mc_error *err)
{
    if (!o->has_metadata)
        return MC_OK;
    uint32_t off = o->metadata_offset;
    if (off < 16 || off > o->size)
        return mc_seterr(err, MC_E_FORMAT,
                         "OVMF SEV metadata offset 0x%x (from the end) points outside the %zu-byte image", off,
                         o->size);
    const uint8_t *h = o->data + (o->size - off);
    if (memcmp(h, "ASEV", 4) != 0)
        return mc_seterr(err, MC_E_FORMAT, "OVMF SEV metadata at offset 0x%zx lacks the 'ASEV' signature",
                         o->size - off);
    uint32_t len = mc_le32(h + 4), version = mc_le32(h + 8), num = mc_le32(h + 12);
    if (version != 1)
        return mc_seterr(err, MC_E_FORMAT, "OVMF SEV metadata version %u is not supported (expected 1)", version);
    if (num > MC_OVMF_MAX_SECTIONS)
        return mc_seterr(err, MC_E_RANGE, "OVMF SEV metadata lists %u sections (at most %d accepted)", num,
                         MC_OVMF_MAX_SECTIONS);
    if (len < 16 + 12ull * num || len > off)
        return mc_seterr(err, MC_E_FORMAT,
                         "OVMF SEV metadata length %u does not fit %u sections inside the image", len, num);
    for (uint32_t i = 0; i < num; i++) {
        const uint8_t *d = h + 16 + 12 * i;
        struct mc_ovmf_section s = {mc_le32(d), mc_le32(d + 4), mc_le32(d + 8)};
        const char *name = mc_ovmf_section_name(s.type);
        if ((s.gpa & 0xfff) || (s.size & 0xfff))
            return mc_seterr(err, MC_E_ALIGN,
                             "OVMF SEV metadata section %u (%s) gpa 0x%x size 0x%x is not 4 KiB aligned", i,
                             name ? name : "unknown type", s.gpa, s.size);
        if ((uint64_t)s.gpa + s.size > MC_OVMF_FOUR_GB)
            return mc_seterr(err, MC_E_RANGE, "OVMF SEV metadata section %u gpa 0x%x size 0x%x wraps past 4 GiB",
                             i, s.gpa, s.size);
        /* One-page sections occupy a page even when the table says size 0. */
        uint64_t end_i = (uint64_t)s.gpa + (s.size ? s.size : 0x1000);
        for (uint32_t j = 0; j < i; j++) {
            const struct mc_ovmf_section *p = &o->sections[j];
            uint64_t end_j = (uint64_t)p->gpa + (p->size ? p->size : 0x1000);
            if (s.gpa < end_j && p->gpa < end_i)
                return mc_seterr(err, MC_E_FORMAT,
                                 "OVMF SEV metadata sections %u (gpa 0x%x) and %u (gpa 0x%x) overlap", j, p->gpa,
                                 i, s.gpa);
        }
        o->sections[o->nsections++] = s;
    }
    return MC_OK;
}

mc_status mc_ovmf_parse(const uint8_t *data, size_t size, uint64_t end_gpa, struct mc_ovmf *out,
                        struct mc_error *err)
{
    if (!data || !out)
        return mc_seterr(err, MC_E_INVAL, "no OVMF image given");
    if (size == 0)
        return mc_seterr(err, MC_E_FORMAT, "the OVMF image is empty");
    if (size > MC_OVMF_MAX_SIZE)
        return mc_seterr(err, MC_E_RANGE, "the OVMF image is %zu bytes, larger than the %u-byte limit", size,
                         MC_OVMF_MAX_SIZE);
    if (end_gpa > MC_OVMF_FOUR_GB || size > end_gpa)
        return mc_seterr(err, MC_E_RANGE, "an image of %zu bytes cannot end at guest address 0x%llx", size,
                         (unsigned long long)end_gpa);
    struct mc_ovmf o;
    memset(&o, 0, sizeof o);
    o.data = data;
    o.size = size;
    o.gpa = end_gpa - size;
    mc_status st = parse_table(&o, err);
    if (st == MC_OK)
        st = parse_metadata(&o, err);
    if (st != MC_OK)
        return st;
    *out = o;
    return MC_OK;
}
