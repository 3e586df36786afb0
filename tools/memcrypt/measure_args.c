/* The `measure` command line, with the reference calculator's flags and checks
 * (virtee/sev-snp-measure cli.py), see measure_args.h. */
#include "measure_args.h"

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/ovmf.h>
#include <memcrypt/vmsa.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_BLOB (2ull << 30) /* kernel / initrd files up to 2 GiB */
#define STREAM_TIMEOUT_MS 30000u

void mc_measure_req_init(struct mc_measure_req *r)
{
    memset(r, 0, sizeof *r);
    r->in.guest_features = 0x1; /* the reference's default: SNPActive only */
    r->in.vmm = MC_VMM_QEMU;
}

static mc_status num(const char *opt, const char *arg, uint64_t *v, struct mc_error *err)
{
    struct mc_error e;
    if (mc_parse_u64(arg, v, &e) != MC_OK)
        return mc_seterr(err, MC_E_INVAL, "--%s: %s", opt, e.msg);
    return MC_OK;
}

mc_status mc_measure_req_opt(struct mc_measure_req *r, int code, const char *arg, struct mc_error *err)
{
    struct mc_error e;
    switch (code) {
    case MO_MODE:
        if (mc_measure_mode_parse(arg, &r->in.mode, &e) != MC_OK)
            return mc_seterr(err, MC_E_INVAL, "--mode: %s", e.msg);
        r->have_mode = true;
        return MC_OK;
    case MO_VCPUS:
        r->have_vcpus = true;
        return num("vcpus", arg, &r->vcpus, err);
    case MO_VCPU_TYPE:
        r->vcpu_type = arg;
        return MC_OK;
    case MO_VCPU_SIG:
        return num("vcpu-sig", arg, &r->vcpu_sig, err);
    case MO_VCPU_FAMILY:
        r->have_family = true;
        return num("vcpu-family", arg, &r->family, err);
    case MO_VCPU_MODEL:
        r->have_model = true;
        return num("vcpu-model", arg, &r->model, err);
    case MO_VCPU_STEPPING:
        r->have_stepping = true;
        return num("vcpu-stepping", arg, &r->stepping, err);
    case MO_VMM_TYPE:
        if (mc_vmm_type_parse(arg, &r->in.vmm, &e) != MC_OK)
            return mc_seterr(err, MC_E_INVAL, "--vmm-type: %s", e.msg);
        return MC_OK;
    case MO_OVMF:
        r->ovmf_path = arg;
        return MC_OK;
    case MO_KERNEL:
        r->kernel_path = arg;
        return MC_OK;
    case MO_INITRD:
        r->initrd_path = arg;
        return MC_OK;
    case MO_APPEND:
        r->append = arg;
        return MC_OK;
    case MO_GUEST_FEATURES:
        return num("guest-features", arg, &r->in.guest_features, err);
    case MO_OUTPUT_FORMAT:
        if (!strcmp(arg, "hex"))
            r->base64 = false;
        else if (!strcmp(arg, "base64"))
            r->base64 = true;
        else
            return mc_seterr(err, MC_E_INVAL, "--output-format must be hex or base64, not '%s'", arg);
        return MC_OK;
    case MO_OVMF_HASH: {
        size_t n;
        if (mc_hex_decode(arg, r->ovmf_hash, sizeof r->ovmf_hash, &n, &e) != MC_OK || n != 48)
            return mc_seterr(err, MC_E_INVAL, "--snp-ovmf-hash must be 96 hex digits (a SHA-384 digest)");
        r->have_ovmf_hash = true;
        return MC_OK;
    }
    case MO_DUMP_VMSA:
        r->dump_vmsa = true;
        r->dump_dir = arg; /* NULL: the current folder, like the reference */
        return MC_OK;
    case MO_SVSM:
        r->svsm_path = arg;
        return MC_OK;
    case MO_VARS_SIZE:
        r->have_vars_size = true;
        return num("vars-size", arg, &r->vars_size, err);
    case MO_VARS_FILE:
        r->vars_file = arg;
        return MC_OK;
    case MO_VMSA_VARIANT:
        if (mc_vmsa_variant_parse(arg, &r->in.vmsa_variant, &e) != MC_OK)
            return mc_seterr(err, MC_E_INVAL, "--vmsa-variant: %s", e.msg);
        return MC_OK;
    default:
        return mc_seterr(err, MC_E_INVAL, "unknown option");
    }
}

/* Map a firmware image read-only (no copy); falls back to reading it. *mapped tells which. */
static mc_status map_image(const char *what, const char *path, size_t max, uint8_t **buf, size_t *len,
                           bool *mapped, struct mc_error *err)
{
    *mapped = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY); /* a FIFO must not block us */
    struct stat sb;
    if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 && (uint64_t)sb.st_size <= max) {
        void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        close(fd);
        if (p != MAP_FAILED) {
            *buf = p;
            *len = (size_t)sb.st_size;
            *mapped = true;
            return MC_OK;
        }
    } else if (fd >= 0) {
        close(fd);
    }
    struct mc_error e;
    mc_status st = mc_file_read(path, max, buf, len, &e);
    if (st != MC_OK)
        return mc_seterr(err, st, "cannot read the %s '%s': %s", what, path, e.msg);
    return MC_OK;
}

/* Kernel and initrd may also come from a pipe (<(...)) or /dev/null, as the reference accepts;
 * a pipe that stays silent for STREAM_TIMEOUT_MS is an error, other devices are refused. */
static mc_status load(const char *what, const char *path, size_t max, uint8_t **buf, size_t *len,
                      struct mc_error *err)
{
    struct mc_error e;
    mc_status st = mc_file_read_stream(path, max, STREAM_TIMEOUT_MS, buf, len, &e);
    if (st != MC_OK)
        return mc_seterr(err, st, "cannot read the %s '%s': %s", what, path, e.msg);
    return MC_OK;
}

mc_status mc_measure_req_finish(struct mc_measure_req *r, struct mc_error *err)
{
    struct mc_measure_input *in = &r->in;
    if (!r->have_mode)
        return mc_seterr(err, MC_E_INVAL, "the --mode option is required (sev, seves, snp, snp:ovmf-hash, snp:svsm)");
    if (!r->ovmf_path)
        return mc_seterr(err, MC_E_INVAL, "the --ovmf option is required");
    const bool ovmf_hash_mode = in->mode == MC_MEASURE_SNP_OVMF_HASH;
    if (!ovmf_hash_mode) {
        if (r->initrd_path && !r->kernel_path)
            return mc_seterr(err, MC_E_INVAL, "--kernel required when using --initrd");
        if (r->append && !r->kernel_path)
            return mc_seterr(err, MC_E_INVAL, "--kernel required when using --append");
        if (in->mode != MC_MEASURE_SEV && !r->have_vcpus)
            return mc_seterr(err, MC_E_INVAL, "missing --vcpus N in guest mode '%s'", mc_measure_mode_name(in->mode));
        if (in->mode != MC_MEASURE_SEV && r->have_vcpus && (r->vcpus == 0 || r->vcpus > MC_MEASURE_MAX_VCPUS))
            return mc_seterr(err, MC_E_INVAL, "--vcpus must be between 1 and %d", MC_MEASURE_MAX_VCPUS);
        in->vcpus = in->mode == MC_MEASURE_SEV ? 0 : (unsigned)r->vcpus; /* SEV has no VMSAs */
        /* Signature precedence as in the reference: family/model/stepping, then --vcpu-sig, then
         * --vcpu-type; a zero family or signature counts as "not given" there, and here too. */
        if (in->mode != MC_MEASURE_SEV) {
            struct mc_error e;
            if (r->have_family && r->family) {
                if (!r->have_model || !r->have_stepping)
                    return mc_seterr(err, MC_E_INVAL, "--vcpu-family needs --vcpu-model and --vcpu-stepping");
                if (r->family > 0xff || r->model > 0xff || r->stepping > 0xff ||
                    mc_cpu_sig((unsigned)r->family, (unsigned)r->model, (unsigned)r->stepping, &in->vcpu_sig, &e) !=
                        MC_OK)
                    return mc_seterr(err, MC_E_INVAL, "vCPU family/model/stepping %llu/%llu/%llu out of range",
                                     (unsigned long long)r->family, (unsigned long long)r->model,
                                     (unsigned long long)r->stepping);
            } else if (r->vcpu_sig) {
                if (r->vcpu_sig > UINT32_MAX)
                    return mc_seterr(err, MC_E_INVAL, "--vcpu-sig 0x%llx does not fit in 32 bits",
                                     (unsigned long long)r->vcpu_sig);
                in->vcpu_sig = (uint32_t)r->vcpu_sig;
            } else if (r->vcpu_type) {
                if (mc_vcpu_type_sig(r->vcpu_type, &in->vcpu_sig, &e) != MC_OK)
                    return mc_seterr(err, MC_E_INVAL, "--vcpu-type: %s", e.msg);
            } else if (in->vmm == MC_VMM_QEMU) {
                return mc_seterr(err, MC_E_INVAL, "missing --vcpu-type or --vcpu-sig or --vcpu-family in guest mode '%s'",
                                 mc_measure_mode_name(in->mode));
            }
        }
        if (in->mode == MC_MEASURE_SNP) {
            struct mc_error e;
            if (mc_vmsa_snp_features_check(in->guest_features, &e) != MC_OK)
                return mc_seterr(err, MC_E_INVAL, "--guest-features: %s", e.msg);
        }
        if (r->have_ovmf_hash && in->mode != MC_MEASURE_SNP)
            return mc_seterr(err, MC_E_INVAL, "SNP OVMF hash only works with SNP (--mode snp)");
        if (r->dump_vmsa && in->mode == MC_MEASURE_SEV)
            return mc_seterr(err, MC_E_INVAL, "--dump-vmsa is only available in modes seves, snp and snp:svsm");
        if (in->mode == MC_MEASURE_SNP_SVSM) {
            if (!r->svsm_path)
                return mc_seterr(err, MC_E_INVAL, "snp:svsm mode requires --svsm");
            if (r->vars_file && r->have_vars_size)
                return mc_seterr(err, MC_E_INVAL, "--vars-size conflicts with --vars-file");
            if (r->vars_file) {
                struct stat sb;
                if (stat(r->vars_file, &sb) != 0)
                    return mc_seterr(err, MC_E_IO, "cannot read the OVMF_VARS file '%s'", r->vars_file);
                r->vars_size = (uint64_t)sb.st_size;
            } else if (!r->have_vars_size) {
                return mc_seterr(err, MC_E_INVAL, "snp:svsm mode requires --vars-size or --vars-file");
            }
            in->vars_size = r->vars_size;
        } else if (r->svsm_path || r->vars_file || r->have_vars_size) {
            return mc_seterr(err, MC_E_INVAL, "--svsm, --vars-size and --vars-file only apply to --mode snp:svsm");
        }
    }
    mc_status st = map_image("OVMF image", r->ovmf_path, MC_OVMF_MAX_SIZE, &r->ovmf_buf, &r->ovmf_len,
                             &r->ovmf_mapped, err);
    /* Whether the image can take a kernel at all is known before the kernel is read. */
    if (st == MC_OK && !ovmf_hash_mode && r->kernel_path)
        st = mc_measure_kernel_supported(in->mode, r->ovmf_buf, r->ovmf_len, err);
    if (st == MC_OK && !ovmf_hash_mode && r->kernel_path) {
        st = load("kernel", r->kernel_path, MAX_BLOB, &r->kernel_buf, &r->kernel_len, err);
        if (st == MC_OK && r->initrd_path)
            st = load("initrd", r->initrd_path, MAX_BLOB, &r->initrd_buf, &r->initrd_len, err);
        in->has_kernel = true;
        in->kernel = r->kernel_buf;
        in->kernel_len = r->kernel_len;
        in->initrd = r->initrd_buf;
        in->initrd_len = r->initrd_len;
        in->append = r->append;
    }
    if (st == MC_OK && !ovmf_hash_mode && r->svsm_path && in->mode == MC_MEASURE_SNP_SVSM) {
        st = map_image("SVSM image", r->svsm_path, MC_OVMF_MAX_SIZE, &r->svsm_buf, &r->svsm_len, &r->svsm_mapped,
                       err);
        in->svsm = r->svsm_buf;
        in->svsm_len = r->svsm_len;
    }
    if (st != MC_OK)
        return st;
    in->ovmf = r->ovmf_buf;
    in->ovmf_len = r->ovmf_len;
    in->ovmf_hash = r->have_ovmf_hash && in->mode == MC_MEASURE_SNP ? r->ovmf_hash : NULL;
    return MC_OK;
}

void mc_measure_req_free(struct mc_measure_req *r)
{
    if (r->ovmf_mapped)
        munmap(r->ovmf_buf, r->ovmf_len);
    else
        free(r->ovmf_buf);
    if (r->svsm_mapped)
        munmap(r->svsm_buf, r->svsm_len);
    else
        free(r->svsm_buf);
    r->ovmf_mapped = r->svsm_mapped = false;
    free(r->kernel_buf);
    free(r->initrd_buf);
    r->ovmf_buf = r->kernel_buf = r->initrd_buf = r->svsm_buf = NULL;
}
