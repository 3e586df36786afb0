/* Where an SNP attestation report sits in the files other tools hand out (see snp_report.h):
 * the raw 0x4A0 bytes; hex text of them (virtee/sev's report_milan.hex); an Azure vTPM "HCL
 * report" (the HCLA blob an Azure confidential VM's vTPM holds at NV index 0x1400001).
 *
 * Azure HCL layout (checked against the two real blobs in tests/data/amd/snp-reports/azure-*):
 *   0x00 "HCLA", u32 version, u32 report size (header + hardware report + runtime data),
 *        u32 request type (2 = SNP), u32 status, 12 reserved bytes
 *   0x20 the SNP report (0x4A0 bytes)
 *   0x4C0 IGVM request data: u32 data size, u32 version, u32 report type, u32 hash type
 *        (1 SHA-256, 2 SHA-384, 3 SHA-512), u32 variable-data size, then the runtime claims
 *        (JSON: the vTPM's keys); REPORT_DATA starts with the hash of those claims.
 * Trailing zero bytes after the report size are the NV index's padding. */
#include <ctype.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/snp_report.h>

#include "crypto/crypto.h"
#include "crypto/hashctx.h"

#define HCL_HDR 0x20u
#define HCL_REQ (HCL_HDR + MC_SNP_REPORT_SIZE)
#define HCL_REQ_FIXED 20u

const char *mc_snp_container_name(enum mc_snp_container k)
{
    switch (k) {
    case MC_SNP_CONTAINER_RAW: return "raw report";
    case MC_SNP_CONTAINER_HEX: return "hex text of a report";
    case MC_SNP_CONTAINER_AZURE_HCL: return "Azure vTPM HCL report";
    }
    return "?";
}

static mc_status unwrap_hcl(const uint8_t *b, size_t len, uint8_t raw[MC_SNP_REPORT_SIZE],
                            struct mc_snp_container_info *in, struct mc_error *err)
{
    if (len < HCL_REQ + HCL_REQ_FIXED)
        return mc_seterr(err, MC_E_FORMAT, "an Azure HCL report must hold the 0x20-byte header, the 0x4A0-byte SNP "
                                           "report and the request data; this one is %zu bytes",
                         len);
    uint32_t total = mc_le32(b + 8), type = mc_le32(b + 12);
    if (type != 2)
        return mc_seterr(err, MC_E_UNSUPPORTED, "the HCL report's request type is %u, not 2 (SEV-SNP)", type);
    if (total < HCL_REQ + HCL_REQ_FIXED || total > len)
        return mc_seterr(err, MC_E_FORMAT, "the HCL report says it is %u bytes, the file has %zu", total, len);
    uint32_t dsize = mc_le32(b + HCL_REQ), htype = mc_le32(b + HCL_REQ + 12), vsize = mc_le32(b + HCL_REQ + 16);
    if (dsize != HCL_REQ_FIXED + (uint64_t)vsize || HCL_REQ + (uint64_t)dsize != total)
        return mc_seterr(err, MC_E_FORMAT, "the HCL request data sizes (%u, runtime data %u) do not add up to the "
                                           "report size %u",
                         dsize, vsize, total);
    for (size_t i = total; i < len; i++)
        if (b[i])
            return mc_seterr(err, MC_E_FORMAT, "the HCL report has non-zero bytes after its %u bytes", total);
    memcpy(raw, b + HCL_HDR, MC_SNP_REPORT_SIZE);
    in->kind = MC_SNP_CONTAINER_AZURE_HCL;
    in->report_offset = HCL_HDR;
    in->runtime_len = vsize;
    in->hash_type = htype;
    const char *alg = htype == 1 ? "SHA256" : htype == 2 ? "SHA384" : htype == 3 ? "SHA512" : NULL;
    if (!alg)
        return MC_OK; /* an unknown hash type: shown, not checked */
    struct mc_hashctx *d = NULL;
    mc_status st = mc_hashctx_create(alg, &d, err);
    if (!st)
        st = mc_hashctx_update(d, b + HCL_REQ + HCL_REQ_FIXED, vsize, err);
    if (!st)
        st = mc_hashctx_final(d, in->runtime_hash, err);
    size_t n = d ? mc_hashctx_size(d) : 0;
    mc_hashctx_destroy(d);
    if (st)
        return st;
    in->runtime_hash_len = n;
    in->has_runtime_hash = true;
    in->runtime_bound = mc_ct_equal(in->runtime_hash, raw + 0x50, n);
    return MC_OK;
}

mc_status mc_snp_report_unwrap(const uint8_t *b, size_t len, uint8_t raw[MC_SNP_REPORT_SIZE],
                               struct mc_snp_container_info *info, struct mc_error *err)
{
    if (!b || !raw || !info)
        return mc_seterr(err, MC_E_INVAL, "report unwrap: NULL argument");
    memset(info, 0, sizeof *info);
    if (len == MC_SNP_REPORT_SIZE) {
        memcpy(raw, b, len);
        return MC_OK;
    }
    if (len >= 4 && !memcmp(b, "HCLA", 4))
        return unwrap_hcl(b, len, raw, info, err);
    /* Hex text: hex digits and whitespace only, 2 x 0x4A0 digits. */
    size_t digits = 0;
    bool text = len > 0;
    for (size_t i = 0; i < len && text; i++) {
        if (isxdigit(b[i]))
            digits++;
        else if (!isspace(b[i]))
            text = false;
    }
    if (text && digits == 2 * MC_SNP_REPORT_SIZE) {
        size_t k = 0;
        int hi = -1;
        for (size_t i = 0; i < len; i++) {
            if (!isxdigit(b[i]))
                continue;
            int v = isdigit(b[i]) ? b[i] - '0' : (tolower(b[i]) - 'a' + 10);
            if (hi < 0)
                hi = v;
            else {
                raw[k++] = (uint8_t)(hi << 4 | v);
                hi = -1;
            }
        }
        info->kind = MC_SNP_CONTAINER_HEX;
        return MC_OK;
    }
    if (text && digits)
        return mc_seterr(err, MC_E_RANGE, "the file is hex text of %zu bytes; an SNP attestation report is %u bytes",
                         digits / 2, MC_SNP_REPORT_SIZE);
    return mc_seterr(err, MC_E_RANGE,
                     "an SNP attestation report is %u bytes, this file is %zu bytes (%s) and is neither its hex text "
                     "nor an Azure HCL report (\"HCLA\", report at 0x20)",
                     MC_SNP_REPORT_SIZE, len, len < MC_SNP_REPORT_SIZE ? "truncated" : "oversized");
}
