/* SEV / SEV-ES / SEV-SNP launch digests (see include/memcrypt/measure.h).
 *
 * SNP chain (SNP ABI 56860, LAUNCH_UPDATE, PAGE_INFO):
 *   LD_0 = 48 zero bytes; for every 4 KiB page: LD = SHA-384(PAGE_INFO) where PAGE_INFO =
 *   {DIGEST_CUR = LD, CONTENTS, LENGTH = 0x70, PAGE_TYPE, IMI_PAGE = 0, three VMPL permission
 *   bytes = 0, reserved = 0, GPA}. CONTENTS = SHA-384 of the page for NORMAL and VMSA pages,
 *   zero for ZERO / UNMEASURED / SECRETS / CPUID pages.
 *   UNCONFIRMED in our digest: the order of the three VMPL permission bytes (0x64..0x67). Both the
 *   firmware source and the reference calculator only ever measure zero permissions, and this
 *   code never measures anything else, so the bytes are zero either way; decided: write zeros.
 *
 * Order (QEMU + KVM): OVMF pages ascending from 4 GiB - size; [snp:svsm: SVSM image pages];
 * then the metadata sections in table order — SNP_SEC_MEM: ZERO pages (GCE: UNMEASURED),
 * SNP_SECRETS: one SECRETS page, CPUID: one CPUID page (EC2: all CPUID pages after every other
 * section), SVSM_CAA: ZERO pages, SNP_KERNEL_HASHES: a NORMAL page holding the kernel-hashes
 * table at (hashes GPA & 0xfff) when a kernel is given, else ZERO pages; then one VMSA page per
 * vCPU at GPA 0xFFFFFFFFF000 (KVM's placeholder GPA for VMSAs).
 */
#include <memcrypt/bytes.h>
#include <memcrypt/measure.h>
#include <memcrypt/ovmf.h>
#include <memcrypt/vmsa.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/hashctx.h"

#define PAGE 4096u
#define VMSA_GPA 0xFFFFFFFFF000ull

/* PAGE_INFO (SNP ABI, LAUNCH_UPDATE), pinned; encoded byte by byte below. */
struct snp_page_info {
    uint8_t digest_cur[48];
    uint8_t contents[48];
    uint16_t length;
    uint8_t page_type;
    uint8_t imi_page;
    uint8_t vmpl_perms[3];
    uint8_t reserved;
    uint64_t gpa;
};
_Static_assert(sizeof(struct snp_page_info) == 0x70, "PAGE_INFO is 0x70 bytes");
_Static_assert(offsetof(struct snp_page_info, contents) == 0x30, "CONTENTS at 0x30");
_Static_assert(offsetof(struct snp_page_info, length) == 0x60, "LENGTH at 0x60");
_Static_assert(offsetof(struct snp_page_info, page_type) == 0x62, "PAGE_TYPE at 0x62");
_Static_assert(offsetof(struct snp_page_info, imi_page) == 0x63, "IMI_PAGE at 0x63");
_Static_assert(offsetof(struct snp_page_info, gpa) == 0x68, "GPA at 0x68");

/* Kernel-hashes table (QEMU sev.c, SEV API §12), pinned. */
struct sev_hash_entry {
    uint8_t guid[16];
    uint16_t len;
    uint8_t hash[32];
} __attribute__((packed));
struct sev_hash_table {
    uint8_t guid[16];
    uint16_t len;
    struct sev_hash_entry cmdline, initrd, kernel;
} __attribute__((packed));
_Static_assert(sizeof(struct sev_hash_entry) == 50, "hash entry is 50 bytes");
_Static_assert(sizeof(struct sev_hash_table) == 168, "hash table is 168 bytes");
_Static_assert(offsetof(struct sev_hash_table, cmdline) == 0x12 && offsetof(struct sev_hash_table, initrd) == 0x44 &&
                   offsetof(struct sev_hash_table, kernel) == 0x76,
               "hash table entry offsets");

const char *mc_snp_page_type_name(unsigned t)
{
    static const char *const n[] = {"DATA", "NORMAL", "VMSA", "ZERO", "UNMEASURED", "SECRETS", "CPUID"};
    return t < sizeof n / sizeof n[0] ? n[t] : "?";
}

static const char *const mode_names[] = {"sev", "seves", "snp", "snp:ovmf-hash", "snp:svsm"};

const char *mc_measure_mode_name(enum mc_measure_mode m)
{
    return (unsigned)m < sizeof mode_names / sizeof mode_names[0] ? mode_names[m] : "?";
}

mc_status mc_measure_mode_parse(const char *s, enum mc_measure_mode *out, struct mc_error *err)
{
    for (unsigned i = 0; s && i < sizeof mode_names / sizeof mode_names[0]; i++)
        if (!strcmp(s, mode_names[i])) {
            *out = (enum mc_measure_mode)i;
            return MC_OK;
        }
    return mc_seterr(err, MC_E_NOTFOUND, "unknown mode '%s' (known: sev, seves, snp, snp:ovmf-hash, snp:svsm)",
                     s ? s : "");
}

mc_status mc_sev_hashes_table(const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd, size_t initrd_len,
                              const char *cmdline, uint8_t out[MC_SEV_HASHES_TABLE_LEN], struct mc_error *err)
{
    uint8_t t[MC_SEV_HASHES_TABLE_LEN];
    memset(t, 0, sizeof t);
    static const char *const guids[4] = {"9438d606-4f22-4cc9-b479-a793d411fd21",  /* table header */
                                         "97d02dd8-bd20-4c94-aa78-e7714d36ab2a",  /* cmdline */
                                         "44baf731-3a2f-4bd7-9af1-41e29169781d",  /* initrd */
                                         "4de79437-abd2-427f-b835-d5b172d2045b"}; /* kernel */
    mc_guid_parse(guids[0], t, NULL);
    mc_put_le16(t + 16, (uint16_t)sizeof(struct sev_hash_table));
    static const size_t at[3] = {offsetof(struct sev_hash_table, cmdline), offsetof(struct sev_hash_table, initrd),
                                 offsetof(struct sev_hash_table, kernel)};
    /* cmdline: the string with its NUL ("\0" alone when absent); initrd: empty when absent. */
    const char *cl = cmdline ? cmdline : "";
    mc_status st = mc_sha256(cl, strlen(cl) + 1, t + at[0] + 18, err);
    if (st == MC_OK)
        st = mc_sha256(initrd ? initrd : (const uint8_t *)"", initrd ? initrd_len : 0, t + at[1] + 18, err);
    if (st == MC_OK)
        st = mc_sha256(kernel ? kernel : (const uint8_t *)"", kernel ? kernel_len : 0, t + at[2] + 18, err);
    if (st != MC_OK)
        return st;
    for (int i = 0; i < 3; i++) {
        mc_guid_parse(guids[i + 1], t + at[i], NULL);
        mc_put_le16(t + at[i] + 16, (uint16_t)sizeof(struct sev_hash_entry));
    }
    memcpy(out, t, sizeof t);
    return MC_OK;
}

mc_status mc_sev_launch_digest(const uint8_t *ovmf, size_t ovmf_len, const uint8_t *table, size_t table_len,
                               uint8_t out[32], struct mc_error *err)
{
    struct mc_hashctx *h;
    mc_status st = mc_hashctx_create("SHA256", &h, err);
    if (st != MC_OK)
        return st;
    st = mc_hashctx_update(h, ovmf, ovmf_len, err);
    if (st == MC_OK && table)
        st = mc_hashctx_update(h, table, table_len, err);
    if (st == MC_OK)
        st = mc_hashctx_final(h, out, err);
    mc_hashctx_destroy(h);
    return st;
}

/* ---------------------------------------------------------------------- memo -- */

#define MEMO_SLOTS 4

struct memo_entry {
    uint8_t *img; /* private copy of the image bytes (NULL = free slot) */
    size_t len;
    unsigned long used;
    bool have_snp;
    uint8_t snp[48];         /* SNP chain digest after the image's pages */
    struct mc_hashctx *sev;  /* SHA-256 state after the image's bytes, or NULL */
};

struct mc_measure_memo {
    struct memo_entry e[MEMO_SLOTS];
    unsigned long clock, hits;
};

mc_status mc_measure_memo_create(struct mc_measure_memo **out, struct mc_error *err)
{
    if (!out)
        return mc_seterr(err, MC_E_INVAL, "mc_measure_memo_create: NULL argument");
    *out = calloc(1, sizeof **out);
    return *out ? MC_OK : mc_seterr(err, MC_E_NOMEM, "out of memory for a measurement memo");
}

void mc_measure_memo_destroy(struct mc_measure_memo *m)
{
    if (!m)
        return;
    for (int i = 0; i < MEMO_SLOTS; i++) {
        free(m->e[i].img);
        mc_hashctx_destroy(m->e[i].sev);
    }
    free(m);
}

unsigned long mc_measure_memo_hits(const struct mc_measure_memo *m) { return m ? m->hits : 0; }

/* The entry for these image bytes, made (oldest entry replaced) when absent; NULL when the
 * memo is not to be used (no memo, a transcript, or no memory for the copy). */
static struct memo_entry *memo_find(const struct mc_measure_input *in, const uint8_t *img, size_t len)
{
    struct mc_measure_memo *m = in->memo;
    if (!m || in->on_step)
        return NULL;
    struct memo_entry *old = &m->e[0];
    for (int i = 0; i < MEMO_SLOTS; i++) {
        struct memo_entry *e = &m->e[i];
        if (e->img && e->len == len && !memcmp(e->img, img, len)) {
            e->used = ++m->clock;
            return e;
        }
        if (!e->img || (old->img && e->used < old->used))
            old = e;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return NULL;
    memcpy(copy, img, len);
    free(old->img);
    mc_hashctx_destroy(old->sev);
    *old = (struct memo_entry){.img = copy, .len = len, .used = ++m->clock};
    return old;
}

/* ------------------------------------------------------------------ SNP chain -- */

struct gctx {
    struct mc_hashctx *h;
    uint8_t ld[48];
    size_t n;
    const struct mc_measure_input *in;
};

static mc_status gctx_update(struct gctx *g, unsigned type, uint64_t gpa, const uint8_t contents[48],
                             const uint8_t *data, int vcpu, const char *what, struct mc_error *err)
{
    uint8_t pi[sizeof(struct snp_page_info)];
    memset(pi, 0, sizeof pi);
    memcpy(pi + offsetof(struct snp_page_info, digest_cur), g->ld, 48);
    memcpy(pi + offsetof(struct snp_page_info, contents), contents, 48);
    mc_put_le16(pi + offsetof(struct snp_page_info, length), (uint16_t)sizeof pi);
    pi[offsetof(struct snp_page_info, page_type)] = (uint8_t)type;
    mc_put_le64(pi + offsetof(struct snp_page_info, gpa), gpa);
    mc_status st = mc_hashctx_oneshot(g->h, pi, sizeof pi, g->ld, err);
    if (st != MC_OK)
        return st;
    if (g->in->on_step) {
        struct mc_measure_step s = {.index = g->n, .gpa = gpa, .page_type = type, .length = PAGE,
                                    .digest_len = 48, .data = data, .vcpu = vcpu, .what = what};
        memcpy(s.contents, contents, 48);
        memcpy(s.digest, g->ld, 48);
        g->in->on_step(g->in->cb_ctx, &s);
    }
    g->n++;
    return MC_OK;
}

static mc_status gctx_normal(struct gctx *g, uint64_t gpa, const uint8_t *data, size_t len, const char *what,
                             struct mc_error *err)
{
    size_t npages = len / PAGE;
    uint8_t(*c)[48] = malloc((npages ? npages : 1) * sizeof *c);
    if (!c)
        return mc_seterr(err, MC_E_NOMEM, "out of memory for %zu page hashes", npages);
    /* The contents hashes are independent of each other: compute them first, in parallel;
     * the chain itself is sequential and cheap (one 0x70-byte hash per page). */
    unsigned threads = g->in->threads;
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus < 1 ? 1 : cpus > 4 ? 4 : (unsigned)cpus;
    }
    mc_status st = mc_sha384_pages(data, npages, c, threads, err);
    for (size_t i = 0; st == MC_OK && i < npages; i++)
        st = gctx_update(g, MC_SNP_PAGE_NORMAL, gpa + i * PAGE, c[i], g->in->on_step ? data + i * PAGE : NULL, -1,
                         what, err);
    free(c);
    return st;
}

static mc_status gctx_fill(struct gctx *g, unsigned type, uint64_t gpa, uint64_t len, const char *what,
                           struct mc_error *err)
{
    static const uint8_t zero[48];
    for (uint64_t off = 0; off < len; off += PAGE) {
        mc_status st = gctx_update(g, type, gpa + off, zero, NULL, -1, what, err);
        if (st != MC_OK)
            return st;
    }
    return MC_OK;
}

/* The VMSA pages, one per vCPU. CONTENTS is SHA-384 of the page, a function of its bytes only, so
 * a page equal to the one before (every AP after the first: the APs' VMSAs are identical) reuses
 * that page's hash instead of hashing it again; each page is still built and compared in full and
 * still adds its own PAGE_INFO to the chain, so the digest is the one per-vCPU hashing gives. */
struct vmsa_last {
    uint8_t page[MC_VMSA_SIZE];
    uint8_t hash[48];
    bool valid;
};

static mc_status gctx_vmsa(struct gctx *g, const uint8_t *page, struct vmsa_last *last, int vcpu,
                           struct mc_error *err)
{
    if (!last->valid || memcmp(last->page, page, MC_VMSA_SIZE)) {
        last->valid = false;
        mc_status st = mc_hashctx_oneshot(g->h, page, MC_VMSA_SIZE, last->hash, err);
        if (st != MC_OK)
            return st;
        memcpy(last->page, page, MC_VMSA_SIZE);
        last->valid = true;
    }
    return gctx_update(g, MC_SNP_PAGE_VMSA, VMSA_GPA, last->hash, page, vcpu, "vmsa", err);
}

/* Can image o take a kernel, initrd and command line in this mode? (Also asked before the
 * kernel is read: mc_measure_kernel_supported.) */
static mc_status kernel_support(enum mc_measure_mode mode, const struct mc_ovmf *o, struct mc_error *err)
{
    if (mode == MC_MEASURE_SNP_SVSM)
        return mc_seterr(err, MC_E_UNSUPPORTED, "snp:svsm mode does not measure --kernel/--initrd/--append");
    if (mode == MC_MEASURE_SEV || mode == MC_MEASURE_SEV_ES) {
        if (!o->has_hashes || o->hashes_gpa == 0)
            return mc_seterr(err, MC_E_UNSUPPORTED,
                             "Kernel specified but OVMF doesn't support kernel/initrd/cmdline measurement (its "
                             "footer GUID table has no SEV hashes-table entry %s)",
                             MC_OVMF_GUID_SEV_HASH_TABLE);
        return MC_OK;
    }
    if (mode == MC_MEASURE_SNP_OVMF_HASH)
        return MC_OK; /* the kernel is not part of an OVMF-hash measurement */
    if (!mc_ovmf_has_section(o, MC_OVMF_SNP_KERNEL_HASHES))
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "Kernel specified but OVMF metadata doesn't include SNP_KERNEL_HASHES section "
                         "(this OVMF build cannot measure --kernel/--initrd/--append; use an AmdSev build)");
    if (!o->has_hashes)
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "Kernel specified but the OVMF footer GUID table has no SEV hashes-table entry (%s)",
                         MC_OVMF_GUID_SEV_HASH_TABLE);
    return MC_OK;
}

mc_status mc_measure_kernel_supported(enum mc_measure_mode mode, const uint8_t *ovmf, size_t ovmf_len,
                                      struct mc_error *err)
{
    if (!ovmf)
        return mc_seterr(err, MC_E_INVAL, "no OVMF image");
    struct mc_ovmf o;
    mc_status st = mc_ovmf_parse(ovmf, ovmf_len, MC_OVMF_FOUR_GB, &o, err);
    return st != MC_OK ? st : kernel_support(mode, &o, err);
}

static mc_status check_snp_sections(const struct mc_ovmf *o, bool has_kernel, const char *img,
                                    struct mc_error *err)
{
    for (size_t i = 0; i < o->nsections; i++) {
        const struct mc_ovmf_section *s = &o->sections[i];
        if (!mc_ovmf_section_name(s->type))
            return mc_seterr(err, MC_E_UNSUPPORTED,
                             "the %s image's SEV metadata section %zu has unknown type 0x%x; refusing to guess "
                             "how the VMM measures it",
                             img, i, s->type);
        if (s->type == MC_OVMF_SNP_KERNEL_HASHES && has_kernel && s->size != PAGE)
            return mc_seterr(err, MC_E_FORMAT,
                             "the SNP_KERNEL_HASHES section is 0x%x bytes; the kernel-hashes page is 0x1000",
                             s->size);
    }
    return has_kernel ? kernel_support(MC_MEASURE_SNP, o, err) : MC_OK;
}

static mc_status snp_sections(struct gctx *g, const struct mc_ovmf *o, const uint8_t *hashes_page,
                              struct mc_error *err)
{
    enum mc_vmm_type vmm = g->in->vmm;
    mc_status st = MC_OK;
    for (size_t i = 0; i < o->nsections && st == MC_OK; i++) {
        const struct mc_ovmf_section *s = &o->sections[i];
        const char *name = mc_ovmf_section_name(s->type);
        switch (s->type) {
        case MC_OVMF_SNP_SEC_MEM:
            st = gctx_fill(g, vmm == MC_VMM_GCE ? MC_SNP_PAGE_UNMEASURED : MC_SNP_PAGE_ZERO, s->gpa, s->size, name,
                           err);
            break;
        case MC_OVMF_SNP_SECRETS:
            st = gctx_fill(g, MC_SNP_PAGE_SECRETS, s->gpa, PAGE, name, err);
            break;
        case MC_OVMF_CPUID:
            if (vmm != MC_VMM_EC2)
                st = gctx_fill(g, MC_SNP_PAGE_CPUID, s->gpa, PAGE, name, err);
            break;
        case MC_OVMF_SVSM_CAA:
            st = gctx_fill(g, MC_SNP_PAGE_ZERO, s->gpa, s->size, name, err);
            break;
        case MC_OVMF_SNP_KERNEL_HASHES:
            if (hashes_page)
                st = gctx_normal(g, s->gpa, hashes_page, PAGE, name, err);
            else
                st = gctx_fill(g, MC_SNP_PAGE_ZERO, s->gpa, s->size, name, err);
            break;
        }
    }
    /* EC2 adds the CPUID page(s) last. */
    for (size_t i = 0; vmm == MC_VMM_EC2 && i < o->nsections && st == MC_OK; i++)
        if (o->sections[i].type == MC_OVMF_CPUID)
            st = gctx_fill(g, MC_SNP_PAGE_CPUID, o->sections[i].gpa, PAGE, "CPUID", err);
    return st;
}

static mc_status check_common(const struct mc_measure_input *in, struct mc_error *err)
{
    if (in->mode == MC_MEASURE_SEV || in->mode == MC_MEASURE_SNP_OVMF_HASH)
        return MC_OK;
    if (in->vcpus == 0)
        return mc_seterr(err, MC_E_RANGE, "--vcpus must be at least 1 in mode %s", mc_measure_mode_name(in->mode));
    if (in->vcpus > MC_MEASURE_MAX_VCPUS)
        return mc_seterr(err, MC_E_RANGE, "--vcpus %u is more than the %d vCPUs a KVM guest can have", in->vcpus,
                         MC_MEASURE_MAX_VCPUS);
    return MC_OK;
}

static mc_status measure_snp(const struct mc_measure_input *in, const struct mc_ovmf *o, uint8_t *out,
                             struct mc_error *err)
{
    if (o->size % PAGE)
        return mc_seterr(err, MC_E_ALIGN, "the OVMF image is %zu bytes, not a multiple of 4 KiB", o->size);
    const bool ovmf_only = in->mode == MC_MEASURE_SNP_OVMF_HASH;
    const bool svsm = in->mode == MC_MEASURE_SNP_SVSM;
    if (in->mode == MC_MEASURE_SNP) {
        mc_status st = mc_vmsa_snp_features_check(in->guest_features, err);
        if (st != MC_OK)
            return st;
    }
    struct mc_ovmf sv;
    const struct mc_ovmf *meta = o; /* image whose metadata drives the sections */
    if (svsm) {
        if (in->vmm != MC_VMM_QEMU)
            return mc_seterr(err, MC_E_UNSUPPORTED, "snp:svsm mode is only defined for the QEMU VMM");
        if (in->has_kernel)
            return kernel_support(in->mode, o, err);
        if (!in->svsm)
            return mc_seterr(err, MC_E_INVAL, "snp:svsm mode needs the SVSM image (--svsm)");
        if (in->vars_size > o->gpa)
            return mc_seterr(err, MC_E_RANGE, "--vars-size 0x%llx does not fit below the OVMF image",
                             (unsigned long long)in->vars_size);
        mc_status st = mc_ovmf_parse(in->svsm, in->svsm_len, o->gpa - in->vars_size, &sv, err);
        if (st != MC_OK)
            return st;
        if (sv.size % PAGE)
            return mc_seterr(err, MC_E_ALIGN, "the SVSM image is %zu bytes, not a multiple of 4 KiB", sv.size);
        if (!sv.has_svsm_info)
            return mc_seterr(err, MC_E_UNSUPPORTED, "the SVSM image has no SVSM info entry (%s) in its GUID table",
                             MC_OVMF_GUID_SVSM_INFO);
        meta = &sv;
    } else if (!ovmf_only && !o->has_reset_block) {
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "the OVMF image has no SEV-ES reset block (GUID %s) in its footer GUID table, so an "
                         "SEV-SNP guest cannot start from it",
                         MC_OVMF_GUID_SEV_ES_RESET_BLOCK);
    }
    if (!ovmf_only) {
        mc_status st = check_snp_sections(meta, in->has_kernel, svsm ? "SVSM" : "OVMF", err);
        if (st != MC_OK)
            return st;
    }
    uint8_t hashes_page[PAGE];
    const uint8_t *hp = NULL;
    if (!ovmf_only && in->has_kernel) {
        memset(hashes_page, 0, sizeof hashes_page);
        uint32_t off = o->hashes_gpa & 0xfff;
        if (off + MC_SEV_HASHES_TABLE_LEN > PAGE)
            return mc_seterr(err, MC_E_RANGE, "the SEV hashes table at gpa 0x%x would cross a page boundary",
                             o->hashes_gpa);
        mc_status st = mc_sev_hashes_table(in->kernel, in->kernel_len, in->initrd, in->initrd_len, in->append,
                                           hashes_page + off, err);
        if (st != MC_OK)
            return st;
        hp = hashes_page;
    }

    struct gctx g = {.in = in};
    mc_status st = mc_hashctx_create("SHA384", &g.h, err);
    if (st != MC_OK)
        return st;
    struct memo_entry *me = in->ovmf_hash && !ovmf_only ? NULL : memo_find(in, o->data, o->size);
    if (in->ovmf_hash && !ovmf_only) {
        memcpy(g.ld, in->ovmf_hash, 48);
    } else if (me && me->have_snp) {
        memcpy(g.ld, me->snp, 48);
        g.n += o->size / PAGE;
        in->memo->hits++;
    } else {
        st = gctx_normal(&g, o->gpa, o->data, o->size, "ovmf", err);
        if (st == MC_OK && me) {
            memcpy(me->snp, g.ld, 48);
            me->have_snp = true;
        }
    }
    if (st == MC_OK && svsm)
        st = gctx_normal(&g, sv.gpa, sv.data, sv.size, "svsm", err);
    if (st == MC_OK && !ovmf_only)
        st = snp_sections(&g, meta, hp, err);
    if (st == MC_OK && !ovmf_only) {
        uint8_t page[MC_VMSA_SIZE];
        struct vmsa_last last = {.valid = false};
        struct mc_vmsa_params bsp = {.eip = MC_VMSA_BSP_EIP, .sev_features = in->guest_features,
                                     .vcpu_sig = in->vcpu_sig, .vmm = in->vmm, .variant = in->vmsa_variant};
        struct mc_vmsa_params ap = bsp;
        ap.eip = o->reset_eip;
        if (svsm) {
            /* Every vCPU starts at the SVSM entry with the fixed SVSM feature set (SNPActive). */
            bsp = (struct mc_vmsa_params){.eip = sv.gpa + sv.svsm_entry_offset, .sev_features = 0x1,
                                          .vcpu_sig = in->vcpu_sig, .vmm = in->vmm, .svsm = true,
                                          .variant = in->vmsa_variant};
            ap = bsp;
        }
        for (unsigned i = 0; i < in->vcpus && st == MC_OK; i++) {
            mc_vmsa_build(i == 0 ? &bsp : &ap, page);
            st = gctx_vmsa(&g, page, &last, (int)i, err);
        }
    }
    if (st == MC_OK)
        memcpy(out, g.ld, 48);
    mc_hashctx_destroy(g.h);
    return st;
}

/* SEV / SEV-ES: one running SHA-256; the transcript shows one step per LAUNCH_UPDATE region. */
static void sev_step(const struct mc_measure_input *in, struct mc_hashctx *h, size_t *n, uint64_t gpa,
                     unsigned type, const uint8_t *data, size_t len, int vcpu, const char *what)
{
    if (!in->on_step)
        return;
    struct mc_measure_step s = {.index = (*n)++, .gpa = gpa, .page_type = type, .length = len, .digest_len = 32,
                                .data = type ? data : NULL, .vcpu = vcpu, .what = what};
    if (mc_sha256(data, len, s.contents, NULL) != MC_OK || mc_hashctx_peek(h, s.digest, NULL) != MC_OK)
        return;
    in->on_step(in->cb_ctx, &s);
}

static mc_status measure_sev(const struct mc_measure_input *in, const struct mc_ovmf *o, uint8_t *out,
                             struct mc_error *err)
{
    const bool es = in->mode == MC_MEASURE_SEV_ES;
    if (in->ovmf_hash)
        return mc_seterr(err, MC_E_INVAL, "a precomputed OVMF hash (--snp-ovmf-hash) only works in snp mode");
    if (es && !o->has_reset_block)
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "the OVMF image has no SEV-ES reset block (GUID %s) in its footer GUID table, so an "
                         "SEV-ES guest cannot start from it",
                         MC_OVMF_GUID_SEV_ES_RESET_BLOCK);
    uint8_t table[MC_SEV_HASHES_TABLE_LEN];
    if (in->has_kernel) {
        mc_status st = kernel_support(in->mode, o, err);
        if (st != MC_OK)
            return st;
        st = mc_sev_hashes_table(in->kernel, in->kernel_len, in->initrd, in->initrd_len, in->append,
                                           table, err);
        if (st != MC_OK)
            return st;
    }
    struct mc_hashctx *h = NULL;
    struct memo_entry *me = memo_find(in, o->data, o->size);
    mc_status st;
    if (me && me->sev) {
        st = mc_hashctx_dup(me->sev, &h, err);
        if (st == MC_OK)
            in->memo->hits++;
    } else {
        st = mc_hashctx_create("SHA256", &h, err);
        if (st == MC_OK)
            st = mc_hashctx_update(h, o->data, o->size, err);
        if (st == MC_OK && me)
            (void)mc_hashctx_dup(h, &me->sev, NULL); /* no memory: the memo just misses next time */
    }
    if (!h)
        return st;
    size_t n = 0;
    sev_step(in, h, &n, o->gpa, 0, o->data, o->size, -1, "ovmf");
    if (st == MC_OK && in->has_kernel) {
        st = mc_hashctx_update(h, table, sizeof table, err);
        sev_step(in, h, &n, o->hashes_gpa, 0, table, sizeof table, -1, "kernel-hashes");
    }
    if (es) {
        uint8_t page[MC_VMSA_SIZE];
        /* SEV-ES guests have no SEV_FEATURES: the field stays zero whatever --guest-features says
         * (unless the debug-swap variant: KVM's own DebugSwap bit). */
        struct mc_vmsa_params p = {.eip = MC_VMSA_BSP_EIP, .vcpu_sig = in->vcpu_sig, .vmm = in->vmm,
                                   .variant = in->vmsa_variant};
        for (unsigned i = 0; i < in->vcpus && st == MC_OK; i++) {
            const uint8_t *given = in->vmsa_pages[i == 0 ? 0 : 1];
            p.eip = i == 0 ? MC_VMSA_BSP_EIP : o->reset_eip;
            if (given)
                memcpy(page, given, sizeof page);
            else
                mc_vmsa_build(&p, page);
            st = mc_hashctx_update(h, page, sizeof page, err);
            sev_step(in, h, &n, VMSA_GPA, MC_SNP_PAGE_VMSA, page, sizeof page, (int)i, given ? "vmsa (given)" : "vmsa");
        }
    }
    if (st == MC_OK)
        st = mc_hashctx_final(h, out, err);
    mc_hashctx_destroy(h);
    return st;
}

mc_status mc_measure(const struct mc_measure_input *in, uint8_t *out, size_t *out_len, struct mc_error *err)
{
    if (!in || !out || !out_len || !in->ovmf)
        return mc_seterr(err, MC_E_INVAL, "mc_measure needs an input with an OVMF image and an output buffer");
    if ((unsigned)in->mode > MC_MEASURE_SNP_SVSM)
        return mc_seterr(err, MC_E_INVAL, "unknown measurement mode %d", (int)in->mode);
    if ((unsigned)in->vmm > MC_VMM_GCE)
        return mc_seterr(err, MC_E_INVAL, "unknown VMM type %d", (int)in->vmm);
    if (in->has_kernel && !in->kernel)
        return mc_seterr(err, MC_E_INVAL, "has_kernel set without kernel bytes");
    mc_status st = check_common(in, err);
    if (st != MC_OK)
        return st;
    struct mc_ovmf o;
    st = mc_ovmf_parse(in->ovmf, in->ovmf_len, MC_OVMF_FOUR_GB, &o, err);
    if (st != MC_OK)
        return st;
    uint8_t d[MC_MEASURE_MAX_DIGEST];
    if (in->mode == MC_MEASURE_SEV || in->mode == MC_MEASURE_SEV_ES) {
        st = measure_sev(in, &o, d, err);
        if (st == MC_OK) {
            memcpy(out, d, 32);
            *out_len = 32;
        }
    } else {
        st = measure_snp(in, &o, d, err);
        if (st == MC_OK) {
            memcpy(out, d, 48);
            *out_len = 48;
        }
    }
    return st;
}
