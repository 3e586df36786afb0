/* memcrypt — the `measure` command line (the reference calculator's flags), shared by the
 * `measure`, `measure diff` and `idblock` commands (internal header).
 *
 * Usage from a getopt_long loop: put MC_MEASURE_LONGOPTS into the option table; for every
 * option code c >= MC_MEASURE_OPT_BASE call mc_measure_req_opt(); after the loop call
 * mc_measure_req_finish() (checks the combination, loads the files, fills req->in).
 */
#ifndef MC_MEASURE_ARGS_H
#define MC_MEASURE_ARGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/measure.h>

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

#define MC_MEASURE_LONGOPTS                                                                               \
    {"mode", required_argument, NULL, MO_MODE}, {"vcpus", required_argument, NULL, MO_VCPUS},             \
        {"vcpu-type", required_argument, NULL, MO_VCPU_TYPE},                                             \
        {"vcpu-sig", required_argument, NULL, MO_VCPU_SIG},                                               \
        {"vcpu-family", required_argument, NULL, MO_VCPU_FAMILY},                                         \
        {"vcpu-model", required_argument, NULL, MO_VCPU_MODEL},                                           \
        {"vcpu-stepping", required_argument, NULL, MO_VCPU_STEPPING},                                     \
        {"vmm-type", required_argument, NULL, MO_VMM_TYPE}, {"ovmf", required_argument, NULL, MO_OVMF},   \
        {"kernel", required_argument, NULL, MO_KERNEL}, {"initrd", required_argument, NULL, MO_INITRD},   \
        {"append", required_argument, NULL, MO_APPEND},                                                   \
        {"guest-features", required_argument, NULL, MO_GUEST_FEATURES},                                   \
        {"output-format", required_argument, NULL, MO_OUTPUT_FORMAT},                                     \
        {"snp-ovmf-hash", required_argument, NULL, MO_OVMF_HASH},                                         \
        {"ovmf-hash", required_argument, NULL, MO_OVMF_HASH},                                             \
        {"dump-vmsa", optional_argument, NULL, MO_DUMP_VMSA}, {"svsm", required_argument, NULL, MO_SVSM}, \
        {"vars-size", required_argument, NULL, MO_VARS_SIZE},                                             \
        {"vars-file", required_argument, NULL, MO_VARS_FILE},                                             \
        {"vmsa-variant", required_argument, NULL, MO_VMSA_VARIANT}

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
