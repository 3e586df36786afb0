/* Fuzz target: the OVMF footer GUID table / SEV metadata parser, and the launch-measurement
 * paths that consume what it returns (SNP, SEV-ES and an SVSM-style image ending elsewhere). */
#include <stdint.h>
#include <string.h>

#include <memcrypt/measure.h>
#include <memcrypt/ovmf.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mc_ovmf o;
    struct mc_error e;
    if (size > (1u << 20))
        return 0;
    mc_status st = mc_ovmf_parse(data, size, MC_OVMF_FOUR_GB, &o, &e);
    if (st == MC_OK) {
        /* Every section the parser accepted is aligned and below 4 GiB. */
        for (size_t i = 0; i < o.nsections; i++)
            if ((o.sections[i].gpa & 0xfff) || (uint64_t)o.sections[i].gpa + o.sections[i].size > MC_OVMF_FOUR_GB)
                __builtin_trap();
        static const uint8_t kernel[16] = "kernel";
        uint8_t d[MC_MEASURE_MAX_DIGEST];
        size_t n;
        struct mc_measure_input in = {.mode = MC_MEASURE_SNP, .ovmf = data, .ovmf_len = size, .vcpus = 2,
                                      .vcpu_sig = 0xa00f11, .guest_features = 0x21};
        mc_measure(&in, d, &n, &e);
        in.has_kernel = true;
        in.kernel = kernel;
        in.kernel_len = sizeof kernel;
        in.append = "console=ttyS0";
        mc_measure(&in, d, &n, &e);
        in.vmm = MC_VMM_EC2;
        mc_measure(&in, d, &n, &e);
        in.mode = MC_MEASURE_SEV_ES;
        mc_measure(&in, d, &n, &e);
    } else if (e.msg[0] == 0) {
        __builtin_trap(); /* every refusal carries a message */
    }
    /* The same bytes as a COCONUT-SVSM image below a small OVMF (snp:svsm mode). */
    static const uint8_t small_ovmf[4096];
    uint8_t d[MC_MEASURE_MAX_DIGEST];
    size_t n;
    struct mc_measure_input sv = {.mode = MC_MEASURE_SNP_SVSM, .ovmf = small_ovmf, .ovmf_len = sizeof small_ovmf,
                                  .vcpus = 2, .vcpu_sig = 0x800f12, .svsm = data, .svsm_len = size,
                                  .vars_size = 0x84000};
    mc_measure(&sv, d, &n, &e);
    return 0;
}
