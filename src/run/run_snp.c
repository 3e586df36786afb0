/* `memcrypt run` for SEV-SNP domains (see memcrypt/run.h): the host brings SNP up as Linux does,
 * the hypervisor launches the domain in QEMU/KVM's order through the SNP VM API (memcrypt/vm.h),
 * the guest asks for an attestation report with the owner's nonce through its message driver
 * (memcrypt/snp_guest.h), and the owner verifies it (memcrypt/snp_verify.h).
 *
 * The launch: SNP_GCTX_CREATE, SNP_LAUNCH_START with the domain's policy and guest-visible
 * workarounds, SNP_ACTIVATE; SNP_LAUNCH_UPDATE of every page QEMU gives the firmware — the OVMF
 * image as NORMAL pages at 4 GiB − size, the SEV metadata sections OVMF names (ZERO, SECRETS, CPUID,
 * UNMEASURED, the kernel hashes with kernelHashes='yes'), one VMSA per vCPU for the vCPU model —
 * in the order of the launch plan (mc_snp_plan_build, the steps `memcrypt measure` measures); then
 * SNP_LAUNCH_FINISH with the ID block, ID authentication, host data and the AUTH_KEY_EN /
 * VCEK_DISABLED flags of the domain. The firmware computes the launch digest itself; the owner
 * computes it again from the same inputs (mc_measure) and compares: the report's MEASUREMENT, and
 * the firmware's page-by-page log against the owner's transcript.
 *
 * Guest memory: QEMU maps the flash at [4 GiB − size, 4 GiB) as private memory; the VM model's
 * guest RAM is one range from GPA 0, so a domain below 4 GiB gets a 4 GiB guest-physical range
 * (sparse DRAM: the gap is never touched and costs nothing).
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/cpu.h>
#include <memcrypt/crypto.h>
#include <memcrypt/fileio.h>
#include <memcrypt/idblock.h>
#include <memcrypt/measure.h>
#include <memcrypt/psp.h>
#include <memcrypt/guest.h>
#include <memcrypt/libvirt.h>
#include <memcrypt/snp_api.h>
#include <memcrypt/snp_cpuid.h>
#include <memcrypt/snp_guest.h>
#include <memcrypt/snp_identity.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/snp_verify.h>
#include <memcrypt/vm.h>
#include <memcrypt/vmsa.h>

#include "crypto/crypto.h"
#include "run/run_internal.h"

#define GIB (1ull << 30)
/* The guest's message pages (shared: never launched): GHCB, request, response, certificates. */
#define MSG_GPA 0x1000000ull
#define MSG_GHCB MSG_GPA
#define MSG_REQ (MSG_GPA + 0x1000)
#define MSG_RSP (MSG_GPA + 0x2000)
#define MSG_CERTS (MSG_GPA + 0x4000)
#define MSG_CERT_PAGES 16u
#define MSG_END (MSG_CERTS + MSG_CERT_PAGES * 0x1000ull)

struct snp_log {
    uint64_t gctx;
    struct mc_measure_transcript *t;
    uint8_t last[48];
    int vmsas; /* VMSA pages so far: the hypervisor launches them in vCPU order */
};

/* The firmware's launch log as a transcript in `measure --transcript`'s form. */
static void fw_log_step(void *ctx, const struct mc_psp_snp_page *p)
{
    struct snp_log *l = ctx;
    if (p->gctx_paddr != l->gctx)
        return;
    memcpy(l->last, p->digest, 48);
    struct mc_measure_step s = {.index = l->t->n, .gpa = p->gpa, .page_type = p->page_type, .length = MC_SNP_PAGE,
                                .digest_len = 48, .data = p->data, .vcpu = -1, .what = "firmware"};
    if (p->page_type == MC_SNP_PT_VMSA)
        s.vcpu = l->vmsas++; /* the firmware does not know the vCPU; the hypervisor issued them in order */
    memcpy(s.contents, p->contents, 48);
    memcpy(s.digest, p->digest, 48);
    mc_measure_transcript_step(l->t, &s);
}

/* SNP_LAUNCH_UPDATE of the CPUID page. When the firmware corrects it, QEMU prints every entry that
 * differs (KVM hands the corrected page back) and the launch fails; so does this. */
static mc_status launch_cpuid(struct mc_vm *vm, uint64_t gpa, const uint8_t page[MC_SNP_PAGE], struct mc_error *err)
{
    mc_status st = mc_vm_snp_launch_update(vm, gpa, page, MC_SNP_PAGE, MC_SNP_PT_CPUID, 0, err);
    if (st != MC_E_FIRMWARE || mc_vm_last_fw_status(vm) != MC_FW_INVALID_PARAM)
        return st;
    uint8_t back[MC_SNP_PAGE];
    char why[1024];
    struct mc_error e2 = {0};
    if (mc_vm_host_read(vm, gpa, back, sizeof back, &e2) != MC_OK ||
        !mc_snp_cpuid_mismatches(page, back, why, sizeof why))
        return st;
    return mc_seterr(err, MC_E_FIRMWARE, "SNP_LAUNCH_UPDATE refused the CPUID page (INVALID_PARAM); the firmware "
                     "corrected: %s", why);
}

static void add_check(struct mc_run_snp *sn, const char *name, enum mc_check_state state, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add_check(struct mc_run_snp *sn, const char *name, enum mc_check_state state, const char *fmt, ...)
{
    if (sn->nchecks >= MC_RUN_MAX_CHECKS)
        return;
    struct mc_run_check *c = &sn->checks[sn->nchecks++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->state = state;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof c->reason, fmt, ap);
    va_end(ap);
}

static mc_status make_tmpdir(char *buf, size_t n, struct mc_error *err)
{
    const char *t = getenv("TMPDIR");
    snprintf(buf, n, "%s/memcrypt-run.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(buf))
        return mc_seterr(err, MC_E_IO, "cannot make a temporary folder under %s", t && *t ? t : "/tmp");
    return MC_OK;
}

/* Remove the temporary folder and the regular files in it (it holds nothing else). */
static void remove_tmpdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[4096 + 256];
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* The guest owner's verdicts on the report (the emulated chip's roots trusted, as `report verify
 * --roots DIR` does). */
static mc_status owner_verify(struct run *x, struct mc_lv_domain *d, const char *dir, const uint8_t *certs,
                              size_t certs_len, struct mc_error *err)
{
    struct mc_run_snp *sn = &x->r->snp;
    const struct mc_lv_launch_security *s = &d->sec;
    struct mc_snp_report rep;
    mc_status st = mc_snp_report_decode(sn->report, sizeof sn->report, &rep, err);
    if (st)
        return st;
    struct mc_snp_identity *id = mc_psp_snp_identity(mc_board_psp(x->b), err);
    if (!id)
        return err ? err->code : MC_E_STATE;
    if ((st = mc_snp_identity_export(id, dir, rep.reported_tcb, err)))
        return st;
    struct mc_snp_certs c = {0};
    struct mc_snp_certtable t;
    struct mc_error terr = {0};
    bool have_table = certs_len && mc_snp_certtable_parse(certs, certs_len, &t, &terr) == MC_OK;
    if (have_table)
        mc_snp_certtable_certs(&t, certs, mc_snp_report_signer(&rep) == MC_SNP_SIGNER_VLEK, &c);
    if (!c.vcek) {
        add_check(sn, "chain", MC_CHECK_FAIL, "the guest received no %s certificate with its report%s%s",
                  mc_snp_report_signer(&rep) == MC_SNP_SIGNER_VLEK ? "VLEK" : "VCEK", terr.msg[0] ? ": " : "",
                  terr.msg);
        return MC_OK;
    }
    struct mc_snp_policy p = {.has_measurement = true, .has_report_data = true, .has_host_data = true,
                              .has_policy_mask = true, .policy_mask = UINT64_MAX, .policy_value = s->policy,
                              .has_vmpl = true, .vmpl = 0};
    memcpy(p.measurement, sn->expected_measurement, 48);
    memcpy(p.report_data, sn->nonce, 64);
    memcpy(p.host_data, sn->host_data, 32);
    struct mc_id_auth_result idr;
    bool have_id = s->id_block.data && s->id_auth.data;
    bool auth_en = s->author_key == MC_LV_YES;
    struct mc_error ierr = {0};
    bool id_ok = have_id && mc_id_auth_verify(s->id_block.data, s->id_auth.data, auth_en, &idr, &ierr) == MC_OK;
    if (id_ok) {
        p.has_id_key_digest = true;
        memcpy(p.id_key_digest, idr.id_key_digest, 48);
    }
    struct mc_snp_verifier *v = NULL;
    if ((st = mc_snp_verifier_create(dir, &v, err)))
        return st;
    struct mc_snp_result res;
    struct mc_error verr = {0};
    mc_status vs = mc_snp_verify(v, &rep, &c, &p, &res, &verr);
    mc_snp_verifier_destroy(v);
    if (vs != MC_OK && vs != MC_E_VERIFY)
        return mc_seterr(err, vs, "verifying the report: %s", verr.msg);
    for (size_t i = 0; i < res.n; i++)
        add_check(sn, res.checks[i].name, res.checks[i].state, "%s", res.checks[i].reason);
    if (have_id && !id_ok)
        add_check(sn, "id_key_digest", MC_CHECK_FAIL, "the domain's ID authentication does not verify: %s", ierr.msg);
    if (id_ok && auth_en) {
        bool ok = mc_ct_equal(rep.author_key_digest, idr.author_key_digest, 48) && (rep.key_info & 1);
        add_check(sn, "author_key_digest", ok ? MC_CHECK_PASS : MC_CHECK_FAIL, "%s",
                  ok ? "AUTHOR_KEY_DIGEST is the domain's author key and AUTHOR_KEY_EN is set"
                     : "AUTHOR_KEY_DIGEST or AUTHOR_KEY_EN is not what the domain's idAuth says");
    } else {
        add_check(sn, "author_key_digest", MC_CHECK_SKIP, "%s",
                  auth_en ? "no verified ID authentication" : "authorKey is not 'yes'");
    }
    return MC_OK;
}

/* The vCPU model QEMU would run, as libvirt asks for it: --vcpu-type first; else the domain's <cpu>:
 * host-passthrough and maximum are -cpu host, host-model the named model of the host's generation
 * (what libvirt's host-model CPU for that generation names), custom (or no mode) its <model>; without
 * either, the host's processor (memcrypt's default). *out = NULL means -cpu host. */
static mc_status snp_vcpu_model(const struct mc_cpu_profile *prof, const char *opt, const struct mc_lv_domain *d,
                                const char **out, struct mc_run_snp *sn, struct mc_error *err)
{
    *out = NULL;
    if (opt) {
        *out = opt;
        snprintf(sn->vcpu_source, sizeof sn->vcpu_source, "--vcpu-type");
        return MC_OK;
    }
    const char *mode = d->cpu_mode;
    if (mode && (!strcmp(mode, "host-passthrough") || !strcmp(mode, "maximum"))) {
        snprintf(sn->vcpu_source, sizeof sn->vcpu_source, "domain <cpu mode='%s'>", mode);
        return MC_OK;
    }
    if (mode && !strcmp(mode, "host-model")) {
        uint32_t f = prof->family, m = prof->model_id;
        *out = f >= 0x1A ? "EPYC-Turin" : f == 0x19 && m >= 0x10 ? "EPYC-Genoa" : f == 0x19 ? "EPYC-Milan"
             : f == 0x17 && m >= 0x30 ? "EPYC-Rome" : "EPYC";
        snprintf(sn->vcpu_source, sizeof sn->vcpu_source, "domain <cpu mode='host-model'>");
        return MC_OK;
    }
    if (d->cpu_model) {
        uint32_t sig;
        if (mc_vcpu_type_sig(d->cpu_model, &sig, NULL) != MC_OK)
            return mc_seterr(err, MC_E_UNSUPPORTED,
                             "the domain's <cpu><model>%.64s</model> is not a QEMU EPYC model memcrypt knows (EPYC, "
                             "EPYC-Rome, EPYC-Milan, EPYC-Genoa, EPYC-Turin and their -vN versions); give --vcpu-type",
                             d->cpu_model);
        *out = d->cpu_model;
        snprintf(sn->vcpu_source, sizeof sn->vcpu_source, "domain <cpu><model>");
        return MC_OK;
    }
    snprintf(sn->vcpu_source, sizeof sn->vcpu_source, "host");
    return MC_OK;
}

mc_status run_snp(struct run *x, const struct mc_cpu_profile *prof, struct mc_lv_domain *d, const uint8_t *fw,
                  size_t fw_len, struct mc_error *err)
{
    struct mc_run_report *r = x->r;
    const struct mc_run_opts *o = x->o;
    const struct mc_lv_launch_security *s = &d->sec;
    struct mc_run_snp *sn = &r->snp;
    r->is_snp = true;
    if (o->platform_only || o->secret || o->tek || o->tik || o->no_session || o->has_secret_gpa)
        return mc_seterr(err, MC_E_INVAL,
                         "--platform-only, --secret-file, --secret-gpa, --tk/--tek/--tik and --no-session belong to the "
                         "SEV launch (LAUNCH_SECRET); an SEV-SNP guest attests with a report instead");
    sn->policy = s->policy;
    if (s->gosvw.data)
        memcpy(sn->gosvw, s->gosvw.data, 16);
    if (s->host_data.data)
        memcpy(sn->host_data, s->host_data.data, 32);
    sn->guest_features = o->has_guest_features ? o->guest_features : 0x1;
    r->kernel_hashes = s->kernel_hashes == MC_LV_YES;
    mc_status st;
    const char *vcpu_type = NULL; /* NULL: -cpu host */
    if ((st = snp_vcpu_model(prof, o->vcpu_type, d, &vcpu_type, sn, err)))
        return st;
    if (vcpu_type) {
        if ((st = mc_vcpu_type_sig(vcpu_type, &sn->vcpu_sig, err)))
            return st;
        snprintf(sn->vcpu_type, sizeof sn->vcpu_type, "%s", vcpu_type);
    } else {
        sn->vcpu_sig = mc_cpu_fms(prof);
        snprintf(sn->vcpu_type, sizeof sn->vcpu_type, "host (%s)", prof->name);
    }
    /* The CPUID page the hypervisor fills, as QEMU from KVM's CPUID of the first vCPU. */
    uint8_t cpuid_page[MC_SNP_PAGE];
    struct mc_snp_cpuid_params cp = {.host = prof, .vcpu_type = vcpu_type, .vcpus = r->vcpus,
                                     .reduced_phys_bits = s->has_reduced_phys_bits ? s->reduced_phys_bits : 1,
                                     .cbitpos = s->has_cbitpos ? s->cbitpos : 0};
    if ((st = mc_snp_cpuid_build(&cp, cpuid_page, err)))
        return st;
    sn->cpuid_entries = mc_le32(cpuid_page);

    uint8_t *kernel = NULL, *initrd = NULL;
    size_t kernel_len = 0, initrd_len = 0;
    struct mc_snp_plan plan = {0};
    struct mc_measure_transcript owner = {0}, local_log = {0};
    struct mc_measure_transcript *fwlog = o->launch_log ? o->launch_log : &local_log;
    struct snp_log lg = {.t = fwlog};
    struct mc_snp_guest *g = NULL;
    uint8_t *certs = NULL;
    size_t certs_len = 0;
    char dir[4096] = "";
    bool tmp_dir = false;

    if (r->kernel_hashes &&
        ((st = mc_measure_kernel_supported(MC_MEASURE_SNP, fw, fw_len, err)) ||
         (st = run_read_named(d->kernel, "kernel", 1u << 30, &kernel, &kernel_len, err)) ||
         (d->initrd && (st = run_read_named(d->initrd, "initrd", 1u << 30, &initrd, &initrd_len, err)))))
        goto out;
    struct mc_measure_input in = {.mode = MC_MEASURE_SNP, .ovmf = fw, .ovmf_len = fw_len, .vcpus = r->vcpus,
                                  .vcpu_sig = sn->vcpu_sig, .vmm = MC_VMM_QEMU, .guest_features = sn->guest_features,
                                  .has_kernel = r->kernel_hashes, .kernel = kernel, .kernel_len = kernel_len,
                                  .initrd = d->initrd ? initrd : NULL, .initrd_len = initrd_len, .append = d->cmdline};
    /* The hypervisor's launch plan: QEMU's pages in QEMU's order. */
    if ((st = mc_snp_plan_build(&in, &plan, err)))
        goto out;
    uint64_t mem = (r->memory_bytes + (2u << 20) - 1) & ~((uint64_t)(2u << 20) - 1);
    uint64_t vm_mem = mem < 4 * GIB ? 4 * GIB : mem;
    for (size_t i = 0; i < plan.n; i++) {
        const struct mc_snp_launch_page *pg = &plan.pages[i];
        if (pg->page_type == MC_SNP_PT_VMSA)
            continue;
        if (pg->gpa + MC_SNP_PAGE > vm_mem) {
            st = mc_seterr(err, MC_E_RANGE, "the firmware image puts a page at GPA 0x%llx, outside guest memory",
                           (unsigned long long)pg->gpa);
            goto out;
        }
        if (pg->gpa < MSG_END && pg->gpa + MC_SNP_PAGE > MSG_GPA) {
            st = mc_seterr(err, MC_E_UNSUPPORTED,
                           "the firmware image launches GPA 0x%llx, where the guest's message pages go (0x%llx..0x%llx)",
                           (unsigned long long)pg->gpa, (unsigned long long)MSG_GPA, (unsigned long long)MSG_END);
            goto out;
        }
        if (pg->page_type < 7)
            sn->pages_by_type[pg->page_type]++;
        if (pg->page_type == MC_SNP_PT_SECRETS && !sn->secrets_gpa)
            sn->secrets_gpa = pg->gpa;
        if (pg->page_type == MC_SNP_PT_CPUID && !sn->cpuid_gpa)
            sn->cpuid_gpa = pg->gpa;
    }
    sn->pages_by_type[MC_SNP_PT_VMSA] = r->vcpus;
    if (!sn->secrets_gpa) {
        st = mc_seterr(err, MC_E_UNSUPPORTED,
                       "firmware '%.200s' names no SNP secrets page in its SEV metadata: an SNP guest could not "
                       "attest (it is not an SNP-capable OVMF)",
                       r->firmware);
        goto out;
    }
    /* The guest owner's expectation, computed on its own from the same inputs. */
    in.on_step = mc_measure_transcript_step;
    in.cb_ctx = &owner;
    size_t dl = 0;
    if ((st = mc_measure(&in, sn->expected_measurement, &dl, err)))
        goto out;
    if (owner.failed) {
        st = mc_seterr(err, MC_E_NOMEM, "out of memory for the owner's transcript");
        goto out;
    }

    /* The platform: machine, firmware, hypervisor; SNP up as Linux brings it up. */
    double t_start = run_now();
    if (o->progress)
        o->progress(o->cb_ctx, "boot", 0, 0);
    if ((st = run_boot(x, prof, x->facts, mc_libvirt_host_bytes(vm_mem) - RUN_POOL_BASE, true, err)))
        goto out;
    r->boot_seconds = run_now() - t_start;
    double t_init = run_now();
    uint64_t status_page;
    uint8_t ps[0x20];
    if ((st = mc_board_snp_init(x->b, NULL, err)) || (st = mc_vmm_alloc(x->vmm, 4096, &status_page, err)) ||
        (st = mc_board_snp_status(x->b, status_page, ps, NULL, err)))
        goto out;
    r->df_flush = true;
    sn->abi_major = ps[RUN_OFF(mc_snp_platform_status, api_major)];
    sn->abi_minor = ps[RUN_OFF(mc_snp_platform_status, api_minor)];
    sn->fw_build = mc_le32(ps + RUN_OFF(mc_snp_platform_status, build));
    sn->current_tcb = mc_le64(ps + RUN_OFF(mc_snp_platform_status, current_tcb));
    sn->reported_tcb = mc_le64(ps + RUN_OFF(mc_snp_platform_status, reported_tcb));
    r->api_major = sn->abi_major;
    r->api_minor = sn->abi_minor;
    r->build = (uint8_t)sn->fw_build;
    r->init_seconds = run_now() - t_init;

    /* The launch. */
    double t_guest = run_now();
    struct mc_vm_config vc = {.vcpus = r->vcpus, .mem_size = vm_mem, .snp = true, .snp_policy = s->policy};
    memcpy(vc.gosvw, sn->gosvw, 16);
    if ((st = mc_vm_create(x->vmm, &vc, &x->vm, NULL, err)))
        goto out;
    r->handle = 0;
    r->asid = mc_vm_asid(x->vm);
    lg.gctx = mc_vm_snp_gctx(x->vm);
    mc_psp_set_snp_log(mc_board_psp(x->b), fw_log_step, &lg);
    static const uint8_t zero[MC_SNP_PAGE];
    double t0 = run_now();
    for (size_t i = 0; i < plan.n && !st; i++) {
        const struct mc_snp_launch_page *pg = &plan.pages[i];
        if (pg->page_type == MC_SNP_PT_VMSA) {
            st = mc_vm_snp_launch_vmsa(x->vm, (unsigned)pg->vcpu, pg->data, err);
        } else if (pg->page_type == MC_SNP_PT_CPUID) {
            st = launch_cpuid(x->vm, pg->gpa, cpuid_page, err);
        } else {
            /* ZERO and SECRETS pages take no bytes; UNMEASURED pages QEMU gives zeroed */
            bool none = pg->page_type == MC_SNP_PT_ZERO || pg->page_type == MC_SNP_PT_SECRETS;
            st = mc_vm_snp_launch_update(x->vm, pg->gpa, pg->has_data ? pg->data : none ? NULL : zero, MC_SNP_PAGE,
                                         pg->page_type, 0, err);
        }
        sn->launch_pages += st ? 0 : 1;
        if (o->progress && (i % 64 == 63 || i + 1 == plan.n))
            o->progress(o->cb_ctx, "launch-update", (i + 1) * MC_SNP_PAGE, plan.n * MC_SNP_PAGE);
    }
    mc_psp_set_snp_log(mc_board_psp(x->b), NULL, NULL);
    r->update_seconds = run_now() - t0;
    r->launch_bytes = sn->launch_pages * MC_SNP_PAGE;
    if (st)
        goto out;
    if (fwlog->failed) {
        st = mc_seterr(err, MC_E_NOMEM, "out of memory for the firmware's launch log");
        goto out;
    }
    memcpy(sn->firmware_digest, lg.last, 48);
    sn->finish_flags = (s->author_key == MC_LV_YES ? MC_SNP_LF_AUTH_KEY_EN : 0) |
                       (s->vcek == MC_LV_NO ? MC_SNP_LF_VCEK_DIS : 0) |
                       (s->id_block.data ? MC_SNP_LF_ID_BLOCK_EN : 0);
    if ((st = mc_vm_snp_launch_finish(x->vm, s->id_block.data, s->id_auth.data, sn->finish_flags & ~MC_SNP_LF_ID_BLOCK_EN,
                                      sn->host_data, err)))
        goto out;
    sn->guest_state = MC_SNP_GSTATE_RUNNING;
    sn->guest_count = mc_psp_snp_guest_count(mc_board_psp(x->b));
    r->guest_launch_seconds = run_now() - t_guest;
    r->launch_seconds = run_now() - t_start;

    /* The owner's log check: the firmware's pages against `measure --transcript`. */
    sn->log_steps = fwlog->n;
    sn->owner_steps = owner.n;
    struct mc_measure_diff df;
    mc_measure_transcript_diff(&owner, fwlog, &df);
    sn->log_identical = df.identical;
    sn->log_diff_index = df.index;
    snprintf(sn->log_diff, sizeof sn->log_diff, "%s", df.identical ? "" : df.reason);

    /* The guest runs and attests: a fresh nonce from the owner in REPORT_DATA; the host gave the
     * VM the chip's certificate table (the VLEK's when one is loaded), as KVM's per-VM certs. */
    double t_work = run_now();
    if (o->progress)
        o->progress(o->cb_ctx, "workload", 0, 0);
    if ((st = mc_rng_bytes(x->owner_rng, sn->nonce, sizeof sn->nonce, err)))
        goto out;
    struct mc_snp_identity *id = mc_psp_snp_identity(mc_board_psp(x->b), err);
    if (!id) {
        st = err ? err->code : MC_E_STATE;
        goto out;
    }
    uint8_t *table = NULL;
    size_t table_len = 0;
    if ((st = mc_snp_identity_certtable(id, sn->reported_tcb, mc_snp_identity_vlek_loaded(id), &table, &table_len,
                                        err)))
        goto out;
    st = mc_vm_snp_set_certs(x->vm, table, table_len, err);
    free(table);
    if (st)
        goto out;
    if (sn->cpuid_gpa) { /* the guest's view of its CPUID page (a private read at VMPL0) */
        uint8_t gp[MC_SNP_PAGE];
        struct mc_fault f;
        struct mc_cpuid_regs r1, r1f;
        struct mc_error rerr = {0};
        mc_status rs = mc_guest_phys_read(mc_vm_vcpu(x->vm, 0), sn->cpuid_gpa, true, gp, sizeof gp, &f, &rerr);
        if (rs == MC_E_NOMEM) { /* the host's failure, not something the guest saw */
            st = mc_seterr(err, MC_E_NOMEM, "the guest's read of its CPUID page: %s", rerr.msg);
            goto out;
        }
        if (rs == MC_OK && mc_snp_cpuid_find(gp, 1, 0, &r1) && mc_snp_cpuid_find(gp, 0x8000001F, 0, &r1f)) {
            sn->guest_cpuid_read = true;
            sn->guest_cpuid_sig = r1.eax;
            sn->guest_cpuid_cbit = r1f.ebx & 0x3F;
        }
    }
    struct mc_snp_guest_config gc = {.secrets_gpa = sn->secrets_gpa, .ghcb_gpa = MSG_GHCB, .req_gpa = MSG_REQ,
                                     .rsp_gpa = MSG_RSP, .certs_gpa = MSG_CERTS, .certs_pages = MSG_CERT_PAGES};
    if ((st = mc_snp_guest_create(mc_vm_vcpu(x->vm, 0), &gc, &g, err)))
        goto out;
    size_t cap = MSG_CERT_PAGES * 0x1000u;
    if (!(certs = malloc(cap))) {
        st = mc_seterr(err, MC_E_NOMEM, "out of memory");
        goto out;
    }
    unsigned pages_needed = 0;
    struct mc_error gerr = {0};
    mc_status gs = mc_snp_guest_ext_report(g, sn->nonce, 0, 0, sn->report, &sn->report_status, certs, cap, &certs_len,
                                           &pages_needed, &gerr);
    sn->certs_bytes = certs_len;
    if (gs == MC_E_NOMEM) { /* the host ran out of memory: that is no verdict on the guest */
        st = mc_seterr(err, MC_E_NOMEM, "the guest's report request: %s", gerr.msg);
        goto out;
    }
    if (gs == MC_OK && sn->report_status == 0) {
        sn->have_report = true;
    } else {
        add_check(sn, "report", MC_CHECK_FAIL, "the guest got no report: %s",
                  gs != MC_OK ? gerr.msg : mc_fw_status_name(sn->report_status));
    }
    r->workload_seconds = run_now() - t_work;

    /* The owner: the launch log, then the report. */
    if (sn->log_identical)
        add_check(sn, "launch_log", MC_CHECK_PASS,
                  "the firmware's %zu measured pages are the owner's transcript step by step", sn->log_steps);
    else
        add_check(sn, "launch_log", MC_CHECK_FAIL, "the firmware's log (%zu pages) and the owner's transcript (%zu) part "
                  "at step %zu: %s", sn->log_steps, sn->owner_steps, sn->log_diff_index, sn->log_diff);
    if (sn->have_report) {
        if (o->owner_dir) {
            snprintf(dir, sizeof dir, "%s", o->owner_dir);
        } else {
            if ((st = make_tmpdir(dir, sizeof dir, err)))
                goto out;
            tmp_dir = true;
        }
        if ((st = owner_verify(x, d, dir, certs, certs_len, err)))
            goto out;
        if (o->owner_dir) {
            char p[4096 + 32];
            snprintf(p, sizeof p, "%s/report.bin", dir);
            if ((st = mc_file_write_atomic(p, sn->report, sizeof sn->report, err)))
                goto out;
            snprintf(p, sizeof p, "%s/certs.bin", dir);
            if (certs_len && (st = mc_file_write_atomic(p, certs, certs_len, err)))
                goto out;
        }
    }
    sn->verified = sn->have_report;
    for (size_t i = 0; i < sn->nchecks; i++)
        if (sn->checks[i].state == MC_CHECK_FAIL)
            sn->verified = false;
    r->final_state = sn->guest_state;
    r->dram_touched = mc_dram_frames_touched(mc_machine_dram(x->m));
    if (o->save_path) { /* as for SEV: the message pages are the ones it shares */
        static const uint64_t shared[][2] = {{MSG_GPA, MSG_END - MSG_GPA}};
        mc_snp_guest_destroy(g);
        g = NULL;
        if ((st = run_save_guest(x, shared, 1, err)))
            goto out;
    }
out:
    if (x->b)
        mc_psp_set_snp_log(mc_board_psp(x->b), NULL, NULL);
    mc_snp_guest_destroy(g);
    if (tmp_dir)
        remove_tmpdir(dir);
    free(certs);
    free(kernel);
    free(initrd);
    mc_snp_plan_free(&plan);
    mc_measure_transcript_free(&owner);
    mc_measure_transcript_free(&local_log);
    return st;
}
