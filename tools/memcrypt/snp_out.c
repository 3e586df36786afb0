/* memcrypt CLI — SEV-SNP outputs several commands print the same way: an attestation report's
 * fields (report show, run) and the steps of a launch transcript (measure --transcript, measure
 * diff, run --launch-log). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/vmsa.h>

#include "snp_out.h"

#define REPORT_FILE_MAX (1u << 20)

mc_status mc_cli_load_report(const char *path, struct mc_snp_report *r, struct mc_snp_container_info *ci,
                             struct mc_error *err)
{
    uint8_t *buf;
    size_t len;
    mc_status st = mc_file_read(path, REPORT_FILE_MAX, &buf, &len, err);
    if (st)
        return st;
    struct mc_error e2;
    struct mc_snp_container_info ci2;
    uint8_t raw[MC_SNP_REPORT_SIZE];
    st = mc_snp_report_unwrap(buf, len, raw, ci ? ci : &ci2, &e2);
    free(buf);
    if (!st)
        st = mc_snp_report_decode(raw, sizeof raw, r, &e2);
    if (st)
        return mc_seterr(err, st, "%s: %s", path, e2.msg);
    return MC_OK;
}

static void print_hex(const char *name, const uint8_t *p, size_t n)
{
    char h[2 * 72 + 1]; /* the longest field printed is a 72-byte signature component */
    if (n > 72)
        n = 72;
    mc_hex_encode(p, n, h);
    printf("%-22s %s\n", name, h);
}

void mc_cli_tcb_text(const char *name, uint64_t raw, enum mc_snp_gen gen)
{
    struct mc_snp_tcb t;
    mc_snp_tcb_decode(raw, gen, &t);
    if (t.has_fmc)
        printf("%-22s 0x%016llx (fmc=%u bl=%u tee=%u snp=%u ucode=%u)\n", name, (unsigned long long)raw, t.fmc,
               t.bootloader, t.tee, t.snp, t.microcode);
    else
        printf("%-22s 0x%016llx (bl=%u tee=%u snp=%u ucode=%u)\n", name, (unsigned long long)raw, t.bootloader, t.tee,
               t.snp, t.microcode);
}

void mc_cli_tcb_json(struct mc_json *j, const char *name, uint64_t raw, enum mc_snp_gen gen)
{
    struct mc_snp_tcb t;
    mc_snp_tcb_decode(raw, gen, &t);
    mc_json_obj(j, name);
    mc_json_hex64(j, "raw", raw);
    if (t.has_fmc)
        mc_json_u64(j, "fmc", t.fmc);
    mc_json_u64(j, "bootloader", t.bootloader);
    mc_json_u64(j, "tee", t.tee);
    mc_json_u64(j, "snp", t.snp);
    mc_json_u64(j, "microcode", t.microcode);
    mc_json_end(j);
}

const char *mc_cli_signer_name(unsigned s)
{
    return s == MC_SNP_SIGNER_VCEK ? "VCEK" : s == MC_SNP_SIGNER_VLEK ? "VLEK" : s == MC_SNP_SIGNER_NONE ? "none" : "reserved";
}

static void bits_text(char *buf, size_t n, uint64_t v, const char *(*namef)(unsigned), unsigned from)
{
    size_t k = 0;
    buf[0] = 0;
    for (unsigned b = from; b < 64; b++) {
        if (!(v >> b & 1))
            continue;
        const char *nm = namef(b);
        char tmp[32];
        if (!nm) {
            snprintf(tmp, sizeof tmp, "bit%u(reserved)", b);
            nm = tmp;
        }
        k += (size_t)snprintf(buf + k, k < n ? n - k : 0, "%s%s", k ? " " : "", nm);
        if (k >= n)
            break;
    }
}

static void bits_json(struct mc_json *j, const char *key, uint64_t v, const char *(*namef)(unsigned), unsigned from)
{
    mc_json_arr(j, key);
    for (unsigned b = from; b < 64; b++) {
        if (!(v >> b & 1))
            continue;
        const char *nm = namef(b);
        char tmp[32];
        if (!nm) {
            snprintf(tmp, sizeof tmp, "bit%u", b);
            nm = tmp;
        }
        mc_json_str(j, NULL, nm);
    }
    mc_json_end(j);
}

/* Generation for the TCB layout: the report's CPUID (v3+), else --generation, else Milan/Genoa. */
enum mc_snp_gen mc_cli_report_layout_gen(const struct mc_snp_report *r, enum mc_snp_gen hint)
{
    enum mc_snp_gen g = mc_snp_report_gen(r);
    return g != MC_SNP_GEN_UNKNOWN ? g : hint;
}

void mc_cli_report_text(const struct mc_snp_report *r, enum mc_snp_gen gen, bool gen_from_cpuid)
{
    char buf[512];
    printf("%-22s %u\n", "version", r->version);
    printf("%-22s %u\n", "guest_svn", r->guest_svn);
    bits_text(buf, sizeof buf, r->policy, mc_snp_policy_bit_name, 16);
    printf("%-22s 0x%llx (abi %u.%u; %s)\n", "policy", (unsigned long long)r->policy, (unsigned)(r->policy >> 8 & 0xff),
           (unsigned)(r->policy & 0xff), buf);
    print_hex("family_id", r->family_id, 16);
    print_hex("image_id", r->image_id, 16);
    printf("%-22s %u\n", "vmpl", r->vmpl);
    printf("%-22s %u (%s)\n", "signature_algo", r->signature_algo,
           r->signature_algo == 1 ? "ECDSA P-384 with SHA-384" : "unknown");
    printf("%-22s %s%s\n", "generation", mc_snp_gen_name(gen),
           gen_from_cpuid ? " (from CPUID)" : gen == MC_SNP_GEN_UNKNOWN ? " (v2: TCB shown in the Milan/Genoa layout)" : " (given)");
    mc_cli_tcb_text("current_tcb", r->current_tcb, gen);
    bits_text(buf, sizeof buf, r->platform_info, mc_snp_platform_bit_name, 0);
    printf("%-22s 0x%llx (%s)\n", "platform_info", (unsigned long long)r->platform_info, buf);
    printf("%-22s 0x%x (signing_key=%s mask_chip_key=%u author_key_en=%u)\n", "key_info", r->key_info,
           mc_cli_signer_name(mc_snp_report_signer(r)), (r->key_info >> 1) & 1, r->key_info & 1);
    print_hex("report_data", r->report_data, 64);
    print_hex("measurement", r->measurement, 48);
    print_hex("host_data", r->host_data, 32);
    print_hex("id_key_digest", r->id_key_digest, 48);
    print_hex("author_key_digest", r->author_key_digest, 48);
    print_hex("report_id", r->report_id, 32);
    print_hex("report_id_ma", r->report_id_ma, 32);
    mc_cli_tcb_text("reported_tcb", r->reported_tcb, gen);
    if (r->version >= 3)
        printf("%-22s family %02Xh model %02Xh stepping %u\n", "cpuid", r->cpuid_fam_id, r->cpuid_mod_id, r->cpuid_step);
    print_hex("chip_id", r->chip_id, 64);
    mc_cli_tcb_text("committed_tcb", r->committed_tcb, gen);
    printf("%-22s %u.%u build %u\n", "current_version", r->current_major, r->current_minor, r->current_build);
    printf("%-22s %u.%u build %u\n", "committed_version", r->committed_major, r->committed_minor, r->committed_build);
    mc_cli_tcb_text("launch_tcb", r->launch_tcb, gen);
    if (r->version >= 5) {
        printf("%-22s 0x%016llx\n", "launch_mit_vector", (unsigned long long)r->launch_mit_vector);
        printf("%-22s 0x%016llx\n", "current_mit_vector", (unsigned long long)r->current_mit_vector);
    }
    print_hex("signature_r", r->sig_r, 72);
    print_hex("signature_s", r->sig_s, 72);
    if (r->reserved_nonzero)
        printf("%-22s %s\n", "warning", "a reserved field is not zero");
}

void mc_cli_report_json(struct mc_json *j, const struct mc_snp_report *r, enum mc_snp_gen gen)
{
    mc_json_u64(j, "version", r->version);
    mc_json_u64(j, "guest_svn", r->guest_svn);
    mc_json_obj(j, "policy");
    mc_json_hex64(j, "raw", r->policy);
    mc_json_u64(j, "abi_major", r->policy >> 8 & 0xff);
    mc_json_u64(j, "abi_minor", r->policy & 0xff);
    bits_json(j, "flags", r->policy, mc_snp_policy_bit_name, 16);
    mc_json_end(j);
    mc_json_hexbytes(j, "family_id", r->family_id, 16);
    mc_json_hexbytes(j, "image_id", r->image_id, 16);
    mc_json_u64(j, "vmpl", r->vmpl);
    mc_json_u64(j, "signature_algo", r->signature_algo);
    mc_json_str(j, "generation", mc_snp_gen_name(gen));
    mc_cli_tcb_json(j, "current_tcb", r->current_tcb, gen);
    mc_json_obj(j, "platform_info");
    mc_json_hex64(j, "raw", r->platform_info);
    bits_json(j, "flags", r->platform_info, mc_snp_platform_bit_name, 0);
    mc_json_end(j);
    mc_json_obj(j, "key_info");
    mc_json_hex64(j, "raw", r->key_info);
    mc_json_str(j, "signing_key", mc_cli_signer_name(mc_snp_report_signer(r)));
    mc_json_bool(j, "mask_chip_key", (r->key_info >> 1) & 1);
    mc_json_bool(j, "author_key_en", r->key_info & 1);
    mc_json_end(j);
    mc_json_hexbytes(j, "report_data", r->report_data, 64);
    mc_json_hexbytes(j, "measurement", r->measurement, 48);
    mc_json_hexbytes(j, "host_data", r->host_data, 32);
    mc_json_hexbytes(j, "id_key_digest", r->id_key_digest, 48);
    mc_json_hexbytes(j, "author_key_digest", r->author_key_digest, 48);
    mc_json_hexbytes(j, "report_id", r->report_id, 32);
    mc_json_hexbytes(j, "report_id_ma", r->report_id_ma, 32);
    mc_cli_tcb_json(j, "reported_tcb", r->reported_tcb, gen);
    if (r->version >= 3) {
        mc_json_obj(j, "cpuid");
        mc_json_u64(j, "family", r->cpuid_fam_id);
        mc_json_u64(j, "model", r->cpuid_mod_id);
        mc_json_u64(j, "stepping", r->cpuid_step);
        mc_json_end(j);
    }
    mc_json_hexbytes(j, "chip_id", r->chip_id, 64);
    mc_cli_tcb_json(j, "committed_tcb", r->committed_tcb, gen);
    char v[32];
    snprintf(v, sizeof v, "%u.%u.%u", r->current_major, r->current_minor, r->current_build);
    mc_json_str(j, "current_version", v);
    snprintf(v, sizeof v, "%u.%u.%u", r->committed_major, r->committed_minor, r->committed_build);
    mc_json_str(j, "committed_version", v);
    mc_cli_tcb_json(j, "launch_tcb", r->launch_tcb, gen);
    if (r->version >= 5) {
        mc_json_hex64(j, "launch_mit_vector", r->launch_mit_vector);
        mc_json_hex64(j, "current_mit_vector", r->current_mit_vector);
    }
    mc_json_obj(j, "signature");
    mc_json_hexbytes(j, "r", r->sig_r, 72);
    mc_json_hexbytes(j, "s", r->sig_s, 72);
    mc_json_end(j);
    mc_json_bool(j, "reserved_nonzero", r->reserved_nonzero);
}

static void vmsa_keys(const uint8_t *v, uint64_t *rip, uint64_t *csbase, uint64_t *feat, uint64_t *rdx)
{
    *rip = mc_vmsa_get(v, mc_vmsa_field_by_name("RIP"));
    *csbase = mc_vmsa_get(v, mc_vmsa_field_by_name("CS.base"));
    *feat = mc_vmsa_get(v, mc_vmsa_field_by_name("SEV_FEATURES"));
    *rdx = mc_vmsa_get(v, mc_vmsa_field_by_name("RDX"));
}

void mc_cli_step_text(FILE *f, const struct mc_measure_record *r)
{
    const struct mc_measure_step *s = &r->step;
    char c[2 * MC_MEASURE_MAX_DIGEST + 1], d[2 * MC_MEASURE_MAX_DIGEST + 1];
    mc_hex_encode(s->contents, s->digest_len, c);
    mc_hex_encode(s->digest, s->digest_len, d);
    fprintf(f, "%6zu  gpa=0x%012" PRIx64 "  %-10s len=%-8" PRIu64 " %-17s contents=%s digest=%s", s->index, s->gpa,
            mc_snp_page_type_name(s->page_type), s->length, s->what, c, d);
    if (r->vmsa) {
        uint64_t rip, cs, feat, rdx;
        vmsa_keys(r->vmsa, &rip, &cs, &feat, &rdx);
        fprintf(f, " vcpu=%d RIP=0x%" PRIx64 " CS.base=0x%" PRIx64 " SEV_FEATURES=0x%" PRIx64 " RDX=0x%" PRIx64,
                s->vcpu, rip, cs, feat, rdx);
    }
    fputc('\n', f);
}

void mc_cli_step_json(struct mc_json *j, const char *key, const struct mc_measure_record *r)
{
    const struct mc_measure_step *s = &r->step;
    mc_json_obj(j, key);
    mc_json_u64(j, "index", s->index);
    mc_json_hex64(j, "gpa", s->gpa);
    mc_json_str(j, "page_type", mc_snp_page_type_name(s->page_type));
    mc_json_u64(j, "length", s->length);
    mc_json_str(j, "source", s->what);
    mc_json_hexbytes(j, "contents", s->contents, s->digest_len);
    mc_json_hexbytes(j, "digest", s->digest, s->digest_len);
    if (r->vmsa) {
        uint64_t rip, cs, feat, rdx;
        vmsa_keys(r->vmsa, &rip, &cs, &feat, &rdx);
        mc_json_obj(j, "vmsa");
        mc_json_u64(j, "vcpu", (uint64_t)s->vcpu);
        mc_json_hex64(j, "rip", rip);
        mc_json_hex64(j, "cs_base", cs);
        mc_json_hex64(j, "sev_features", feat);
        mc_json_hex64(j, "rdx", rdx);
        mc_json_end(j);
    }
    mc_json_end(j);
}

