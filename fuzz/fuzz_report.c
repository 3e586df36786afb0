/* Fuzz target: the SEV-SNP attestation report decoder and TCB decoding. A decoded report must
 * re-encode to the same bytes whenever its reserved fields are zero. The same input also goes
 * through the container unwrapper (hex text, Azure HCL blob) and, when that finds a report,
 * through the decoder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/snp_report.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mc_snp_report r;
    struct mc_error e;
    uint8_t raw[MC_SNP_REPORT_SIZE];
    struct mc_snp_container_info ci;
    if (mc_snp_report_unwrap(data, size, raw, &ci, &e) == MC_OK) {
        if (ci.kind == MC_SNP_CONTAINER_AZURE_HCL && ci.report_offset != 0x20)
            abort();
        if (ci.runtime_hash_len > sizeof ci.runtime_hash)
            abort();
        (void)mc_snp_report_decode(raw, sizeof raw, &r, &e);
    }
    if (mc_snp_report_decode(data, size, &r, &e) != MC_OK)
        return 0;
    if (r.version < 2 || r.version > 5)
        abort();
    enum mc_snp_gen g = mc_snp_report_gen(&r);
    struct mc_snp_tcb t;
    mc_snp_tcb_decode(r.reported_tcb, g, &t);
    if (t.microcode != (uint8_t)(r.reported_tcb >> 56))
        abort();
    mc_snp_tcb_decode(r.current_tcb, MC_SNP_GEN_TURIN, &t);
    if (!t.has_fmc || t.fmc != (uint8_t)r.current_tcb)
        abort();
    (void)mc_snp_tcb_ge(r.reported_tcb, r.committed_tcb, g);
    for (unsigned b = 0; b < 64; b++) {
        (void)mc_snp_policy_bit_name(b);
        (void)mc_snp_platform_bit_name(b);
    }
    if (!r.reserved_nonzero) {
        uint8_t back[MC_SNP_REPORT_SIZE];
        mc_snp_report_encode(&r, back);
        if (memcmp(back, data, MC_SNP_REPORT_SIZE) != 0)
            abort();
    }
    return 0;
}
