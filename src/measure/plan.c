/* SNP launch plans: what a VMM hands SNP_LAUNCH_UPDATE, page by page, in QEMU/KVM's order — the
 * steps of the SNP launch measurement (measure.c) turned into pages, so the owner's calculator
 * and a launch through the firmware follow one description of that order. */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/measure.h>
#include <memcrypt/snp_api.h>

struct collect {
    struct mc_snp_plan *p;
    size_t cap;
    bool failed;
};

static void on_step(void *ctx, const struct mc_measure_step *s)
{
    struct collect *c = ctx;
    if (c->failed)
        return;
    struct mc_snp_plan *p = c->p;
    if (p->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        struct mc_snp_launch_page *np = realloc(p->pages, cap * sizeof *np);
        uint8_t *nd = np ? realloc(p->data, cap * MC_SNP_PAGE) : NULL;
        if (np)
            p->pages = np;
        if (!np || !nd) {
            c->failed = true;
            return;
        }
        p->data = nd;
        c->cap = cap;
    }
    struct mc_snp_launch_page *pg = &p->pages[p->n];
    memset(pg, 0, sizeof *pg);
    pg->gpa = s->gpa;
    pg->page_type = s->page_type;
    pg->vcpu = s->vcpu;
    /* NORMAL and VMSA pages carry their bytes; the firmware makes ZERO, SECRETS pages itself and
     * checks the CPUID page the VMM fills (zero here: the VMM puts its table there, e.g. `memcrypt run`
     * with mc_snp_cpuid_build; its contents are not measured). */
    if (s->data && (s->page_type == MC_SNP_PT_NORMAL || s->page_type == MC_SNP_PT_VMSA))
        memcpy(p->data + p->n * MC_SNP_PAGE, s->data, MC_SNP_PAGE);
    else
        memset(p->data + p->n * MC_SNP_PAGE, 0, MC_SNP_PAGE);
    pg->has_data = s->data != NULL;
    p->n++;
}

mc_status mc_snp_plan_build(const struct mc_measure_input *in, struct mc_snp_plan *out, struct mc_error *err)
{
    if (!in || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_snp_plan_build needs an input and an output");
    if (in->mode != MC_MEASURE_SNP && in->mode != MC_MEASURE_SNP_SVSM)
        return mc_seterr(err, MC_E_INVAL, "an SNP launch plan needs mode snp or snp:svsm, not %s",
                         mc_measure_mode_name(in->mode));
    if (in->ovmf_hash)
        return mc_seterr(err, MC_E_INVAL, "an SNP launch plan needs the OVMF image, not a precomputed OVMF hash");
    memset(out, 0, sizeof *out);
    struct collect c = {.p = out};
    struct mc_measure_input m = *in;
    m.on_step = on_step;
    m.cb_ctx = &c;
    size_t len;
    mc_status st = mc_measure(&m, out->expected_ld, &len, err);
    if (st == MC_OK && c.failed)
        st = mc_seterr(err, MC_E_NOMEM, "out of memory for the launch plan");
    if (st != MC_OK) {
        mc_snp_plan_free(out);
        return st;
    }
    for (size_t i = 0; i < out->n; i++)
        out->pages[i].data = out->data + i * MC_SNP_PAGE;
    return MC_OK;
}

void mc_snp_plan_free(struct mc_snp_plan *p)
{
    if (!p)
        return;
    free(p->pages);
    free(p->data);
    memset(p, 0, sizeof *p);
}
