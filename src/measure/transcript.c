/* Measurement transcripts: recording and finding where two of them part. */
#include <memcrypt/bytes.h>
#include <memcrypt/measure.h>
#include <memcrypt/vmsa.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mc_measure_transcript_step(void *ctx, const struct mc_measure_step *s)
{
    struct mc_measure_transcript *t = ctx;
    if (t->failed)
        return;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        struct mc_measure_record *r = realloc(t->rec, cap * sizeof *r);
        if (!r) {
            t->failed = true;
            return;
        }
        t->rec = r;
        t->cap = cap;
    }
    struct mc_measure_record *r = &t->rec[t->n];
    r->step = *s;
    r->step.data = NULL;
    r->vmsa = NULL;
    if (s->page_type == MC_SNP_PAGE_VMSA && s->data) {
        r->vmsa = malloc(MC_VMSA_SIZE);
        if (!r->vmsa) {
            t->failed = true;
            return;
        }
        memcpy(r->vmsa, s->data, MC_VMSA_SIZE);
    }
    t->n++;
}

void mc_measure_transcript_free(struct mc_measure_transcript *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->rec[i].vmsa);
    free(t->rec);
    memset(t, 0, sizeof *t);
}

static void hexs(const uint8_t *p, size_t n, char *out)
{
    mc_hex_encode(p, n, out);
}

void mc_measure_transcript_diff(const struct mc_measure_transcript *a, const struct mc_measure_transcript *b,
                                struct mc_measure_diff *d)
{
    memset(d, 0, sizeof *d);
    d->index = SIZE_MAX;
    size_t n = a->n < b->n ? a->n : b->n;
    for (size_t i = 0; i < n; i++) {
        const struct mc_measure_step *x = &a->rec[i].step, *y = &b->rec[i].step;
        d->index = i;
        if (x->page_type != y->page_type) {
            snprintf(d->reason, sizeof d->reason, "page type differs: A %s (%s), B %s (%s)",
                     mc_snp_page_type_name(x->page_type), x->what, mc_snp_page_type_name(y->page_type), y->what);
            return;
        }
        if (x->gpa != y->gpa) {
            snprintf(d->reason, sizeof d->reason, "GPA differs: A 0x%" PRIx64 " (%s), B 0x%" PRIx64 " (%s)", x->gpa,
                     x->what, y->gpa, y->what);
            return;
        }
        if (x->length != y->length) {
            snprintf(d->reason, sizeof d->reason, "length differs: A %" PRIu64 ", B %" PRIu64, x->length, y->length);
            return;
        }
        if (memcmp(x->contents, y->contents, x->digest_len) != 0) {
            const uint8_t *va = a->rec[i].vmsa, *vb = b->rec[i].vmsa;
            if (va && vb) {
                size_t nf;
                const struct mc_vmsa_field *f = mc_vmsa_fields(&nf);
                for (size_t k = 0; k < nf; k++) {
                    uint64_t u = mc_vmsa_get(va, &f[k]), v = mc_vmsa_get(vb, &f[k]);
                    if (u != v) {
                        snprintf(d->reason, sizeof d->reason,
                                 "VMSA of vCPU %d differs in %s (offset 0x%x): A 0x%" PRIx64 ", B 0x%" PRIx64,
                                 x->vcpu, f[k].name, f[k].offset, u, v);
                        return;
                    }
                }
                for (size_t off = 0; off < MC_VMSA_SIZE; off++)
                    if (va[off] != vb[off]) {
                        snprintf(d->reason, sizeof d->reason,
                                 "VMSA of vCPU %d differs at offset 0x%zx: A 0x%02x, B 0x%02x", x->vcpu, off,
                                 va[off], vb[off]);
                        return;
                    }
            }
            char ha[2 * MC_MEASURE_MAX_DIGEST + 1], hb[2 * MC_MEASURE_MAX_DIGEST + 1];
            hexs(x->contents, x->digest_len, ha);
            hexs(y->contents, y->digest_len, hb);
            snprintf(d->reason, sizeof d->reason, "contents of the %s page at GPA 0x%" PRIx64 " differ: A %s, B %s",
                     x->what, x->gpa, ha, hb);
            return;
        }
        if (x->digest_len != y->digest_len || memcmp(x->digest, y->digest, x->digest_len) != 0) {
            snprintf(d->reason, sizeof d->reason,
                     "same page, but the running digest already differs (different starting digest, e.g. "
                     "--snp-ovmf-hash)");
            return;
        }
    }
    if (a->n != b->n) {
        d->index = n;
        snprintf(d->reason, sizeof d->reason, "%s has %zu more measured step(s) (%s first)",
                 a->n > b->n ? "A" : "B", a->n > b->n ? a->n - n : b->n - n,
                 a->n > b->n ? a->rec[n].step.what : b->rec[n].step.what);
        return;
    }
    d->identical = true;
    d->index = SIZE_MAX;
    snprintf(d->reason, sizeof d->reason, "the transcripts are identical (%zu steps)", n);
}
