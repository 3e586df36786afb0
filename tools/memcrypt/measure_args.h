/* memcrypt CLI — the `measure` options (the reference calculator's flags), shared by the
 * `measure`, `measure diff` and `idblock` commands.
 *
 * Put MC_MEASURE_OPTS into the command's option table; for every option id in
 * [MC_MEASURE_OPT_BASE, MC_MEASURE_OPT_END) call mc_measure_req_opt(); after the options call
 * mc_measure_req_finish() (checks the combination, loads the files, fills req->in).
 */
#ifndef MC_MEASURE_ARGS_H
#define MC_MEASURE_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/measure.h>

#include "cli.h"

enum {
    MC_MEASURE_OPT_BASE = 1000,
    MO_MODE = MC_MEASURE_OPT_BASE,
    MO_VCPUS,
    MO_VCPU_TYPE,
    MO_VCPU_SIG,
    MO_VCPU_FAMILY,
    MO_VCPU_MODEL,
    MO_VCPU_STEPPING,
    MO_VMM_TYPE,
    MO_OVMF,
    MO_KERNEL,
    MO_INITRD,
    MO_APPEND,
    MO_GUEST_FEATURES,
    MO_OUTPUT_FORMAT,
    MO_OVMF_HASH,
    MO_DUMP_VMSA,
    MO_SVSM,
    MO_VARS_SIZE,
    MO_VARS_FILE,
    MO_VMSA_VARIANT,
    MC_MEASURE_OPT_END
};

/* The entries of an option table (struct mc_opt) for the measure flags. */
#define MC_MEASURE_OPTS                                                                                               \
    {"mode", 0, "MODE", "sev, seves, snp, snp:ovmf-hash or snp:svsm (required)", MO_MODE, 0},                        \
        {"ovmf", 0, "PATH", "OVMF image (required)", MO_OVMF, MC_OPT_FILE},                                            \
        {"vcpus", 0, "N", "number of vCPUs (1..4096; not for sev)", MO_VCPUS, 0},                                      \
        {"vcpu-type", 0, "NAME",                                                                                       \
         "EPYC, EPYC-v1..v5, EPYC-IBPB, EPYC-Rome[-v1..v5], EPYC-Milan[-v1..v3],\n"                                   \
         "EPYC-Genoa[-v1,-v2], EPYC-Turin[-v1]",                                                                      \
         MO_VCPU_TYPE, 0},                                                                                             \
        {"vcpu-sig", 0, "VALUE", "CPUID(1).EAX signature instead of a type", MO_VCPU_SIG, 0},                          \
        {"vcpu-family", 0, "F", "the signature from its parts: family ...", MO_VCPU_FAMILY, 0},                        \
        {"vcpu-model", 0, "M", "... model ...", MO_VCPU_MODEL, 0},                                                     \
        {"vcpu-stepping", 0, "S", "... and stepping", MO_VCPU_STEPPING, 0},                                           \
        {"vmm-type", 0, "TYPE", "QEMU (default), ec2 or gce", MO_VMM_TYPE, 0},                                         \
        {"guest-features", 0, "VALUE", "SNP SEV_FEATURES (default 0x1; Linux >= 6.6 KVM uses 0x21)",                   \
         MO_GUEST_FEATURES, 0},                                                                                        \
        {"vmsa-variant", 0, "LIST",                                                                                    \
         "host-stack VMSA differences, comma-separated (default qemu: today's\n"                                      \
         "QEMU/KVM, MXCSR 0x1F80 / FCW 0x37F): zero-fpu (= sevctl: older KVM, FPU\n"                                  \
         "fields 0), debug-swap (KVM 6.5-6.9 set SEV_FEATURES DebugSwap for\n"                                        \
         "SEV-ES), ec2-rdx0 (EC2 with RDX 0 as the Rust sev crate; default 0x600)",                                    \
         MO_VMSA_VARIANT, 0},                                                                                          \
        {"kernel", 0, "PATH", "direct kernel boot (kernel-hashes table): the kernel ...", MO_KERNEL, MC_OPT_FILE},      \
        {"initrd", 0, "PATH", "... its initrd ...", MO_INITRD, MC_OPT_FILE},                                           \
        {"append", 0, "CMDLINE", "... and its command line", MO_APPEND, 0},                                            \
        {"snp-ovmf-hash", 0, "HASH", "start from a precomputed snp:ovmf-hash", MO_OVMF_HASH, 0},                       \
        {"ovmf-hash", 0, "HASH", NULL, MO_OVMF_HASH, 0},                                                               \
        {"svsm", 0, "PATH", "snp:svsm mode: the SVSM image ...", MO_SVSM, MC_OPT_FILE},                                \
        {"vars-size", 0, "SIZE", "... and the OVMF_VARS size ...", MO_VARS_SIZE, 0},                                   \
        {"vars-file", 0, "PATH", "... or the OVMF_VARS file", MO_VARS_FILE, MC_OPT_FILE},                              \
        {"output-format", 0, "FMT", "hex (default) or base64", MO_OUTPUT_FORMAT, 0},                                   \
        {"dump-vmsa", 0, "DIR", "write the measured VMSA pages to DIR/vmsa<N>.bin (default: .)", MO_DUMP_VMSA,         \
         MC_OPT_OPTIONAL | MC_OPT_DIR}

struct mc_measure_req {
    struct mc_measure_input in; /* filled by mc_measure_req_finish */
    bool have_mode;
    const char *ovmf_path, *kernel_path, *initrd_path, *append, *svsm_path, *vars_file;
    bool have_vcpus, have_vars_size;
    uint64_t vcpus, vcpu_sig, family, model, stepping, vars_size;
    bool have_family, have_model, have_stepping;
    const char *vcpu_type;
    bool base64;
    bool have_ovmf_hash;
    uint8_t ovmf_hash[48];
    bool dump_vmsa;
    const char *dump_dir;
    /* loaded file contents (owned); firmware images are read-only file mappings */
    uint8_t *ovmf_buf, *kernel_buf, *initrd_buf, *svsm_buf;
    size_t ovmf_len, kernel_len, initrd_len, svsm_len;
    bool ovmf_mapped, svsm_mapped;
};

void mc_measure_req_init(struct mc_measure_req *r);
/* Handle one option; MC_E_INVAL (usage error) with a message on a bad value. */
mc_status mc_measure_req_opt(struct mc_measure_req *r, int code, const char *arg, struct mc_error *err);
/* Check the combination (MC_E_INVAL = usage error) and load the files (MC_E_IO ...). */
mc_status mc_measure_req_finish(struct mc_measure_req *r, struct mc_error *err);
void mc_measure_req_free(struct mc_measure_req *r);

#endif
