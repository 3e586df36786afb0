/* memcrypt CLI — memory maps by key domain and side-by-side views, as HTML (see viz.h). */
#include "viz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/fileio.h>

/* ------------------------------------------------------------------ recorder -- */

static uint32_t pack(struct memctl_domain d) { return ((uint32_t)d.kind << 24) | (d.id & 0xFFFFFFu); }
static struct memctl_domain unpack(uint32_t v) { return (struct memctl_domain){(enum memctl_domain_kind)(v >> 24), v & 0xFFFFFFu}; }

static size_t slot_of(uint64_t pfn, size_t cap) { return (size_t)((pfn * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1); }

static struct viz_frame *frame(struct viz_map *m, uint64_t pfn)
{
    if (m->failed)
        return NULL;
    if (2 * (m->n + 1) > m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 1024;
        struct viz_frame *f = malloc(cap * sizeof *f);
        if (!f) {
            m->failed = true;
            return NULL;
        }
        for (size_t i = 0; i < cap; i++)
            f[i].pfn = UINT64_MAX;
        for (size_t i = 0; i < m->cap; i++)
            if (m->f[i].pfn != UINT64_MAX) {
                size_t k = slot_of(m->f[i].pfn, cap);
                while (f[k].pfn != UINT64_MAX)
                    k = (k + 1) & (cap - 1);
                f[k] = m->f[i];
            }
        free(m->f);
        m->f = f;
        m->cap = cap;
    }
    size_t k = slot_of(pfn, m->cap);
    while (m->f[k].pfn != UINT64_MAX && m->f[k].pfn != pfn)
        k = (k + 1) & (m->cap - 1);
    if (m->f[k].pfn == UINT64_MAX) {
        m->f[k].pfn = pfn;
        for (int i = 0; i < 64; i++)
            m->f[k].dom[i] = VIZ_NOT_WRITTEN;
        m->n++;
    }
    return &m->f[k];
}

void viz_map_observe(void *ctx, uint64_t pa, uint64_t len, struct memctl_domain dom)
{
    struct viz_map *m = ctx;
    uint32_t d = pack(dom);
    uint64_t end = pa + len;
    for (uint64_t line = pa & ~63ull; line < end; line += 64) {
        struct viz_frame *f = frame(m, line >> 12);
        if (!f)
            return;
        f->dom[(line >> 6) & 63] = d;
    }
}

void viz_map_free(struct viz_map *m)
{
    free(m->f);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------------- layers -- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

mc_status viz_pages_from_map(const struct viz_map *m, struct viz_pages *out, struct mc_error *err)
{
    memset(out, 0, sizeof *out);
    if (m->failed)
        return mc_seterr(err, MC_E_NOMEM, "out of memory while recording the memory map");
    out->pfn = malloc((m->n ? m->n : 1) * sizeof *out->pfn);
    if (!out->pfn)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    for (size_t i = 0; i < m->cap; i++)
        if (m->f[i].pfn != UINT64_MAX)
            out->pfn[out->n++] = m->f[i].pfn;
    qsort(out->pfn, out->n, sizeof *out->pfn, cmp_u64);
    return MC_OK;
}

void viz_pages_free(struct viz_pages *p)
{
    free(p->pfn);
    memset(p, 0, sizeof *p);
}

void viz_layer_free(struct viz_layer *l)
{
    free(l->cat);
    l->cat = NULL;
}

static const struct viz_frame *find(const struct viz_map *m, uint64_t pfn)
{
    if (!m->cap)
        return NULL;
    size_t k = slot_of(pfn, m->cap);
    while (m->f[k].pfn != UINT64_MAX) {
        if (m->f[k].pfn == pfn)
            return &m->f[k];
        k = (k + 1) & (m->cap - 1);
    }
    return NULL;
}

/* Colour-blind-safe palettes (Paul Tol's), one colour per key. */
static const char *const asid_colours[] = {"#ee6677", "#ccbb44", "#ee8866", "#aa3377", "#bb5566", "#994455"};
static const char *const keyid_colours[] = {"#4477aa", "#66ccee", "#228833", "#ccbb44", "#ee6677",
                                            "#aa3377", "#117733", "#882255"};

static void describe(uint32_t d, struct viz_legend *l)
{
    struct memctl_domain dom = unpack(d);
    switch (dom.kind) {
    case MEMCTL_DOM_PLAIN:
        snprintf(l->label, sizeof l->label, "not encrypted");
        snprintf(l->key, sizeof l->key, "plaintext");
        snprintf(l->colour, sizeof l->colour, "#e3dcb8");
        break;
    case MEMCTL_DOM_HOST:
        snprintf(l->label, sizeof l->label, "host key (SME, C=1)");
        snprintf(l->key, sizeof l->key, "host");
        snprintf(l->colour, sizeof l->colour, "#4477aa");
        break;
    case MEMCTL_DOM_TSME:
        snprintf(l->label, sizeof l->label, "platform key (TSME)");
        snprintf(l->key, sizeof l->key, "tsme");
        snprintf(l->colour, sizeof l->colour, "#44aa99");
        break;
    case MEMCTL_DOM_ASID:
        snprintf(l->label, sizeof l->label, "ASID %u (a guest's key)", dom.id);
        snprintf(l->key, sizeof l->key, "asid-%u", dom.id);
        snprintf(l->colour, sizeof l->colour, "%s", asid_colours[dom.id % 6]);
        break;
    case MEMCTL_DOM_KEYID:
        snprintf(l->label, sizeof l->label, dom.id ? "KeyID %u (MKTME key)" : "KeyID %u (TME key)", dom.id);
        snprintf(l->key, sizeof l->key, "keyid-%u", dom.id);
        snprintf(l->colour, sizeof l->colour, "%s", keyid_colours[dom.id % 8]);
        break;
    }
}

static size_t legend_index(struct viz_layer *l, uint32_t d, bool mixed)
{
    struct viz_legend e;
    memset(&e, 0, sizeof e);
    if (mixed) {
        snprintf(e.label, sizeof e.label, "lines under different keys");
        snprintf(e.key, sizeof e.key, "mixed");
        snprintf(e.colour, sizeof e.colour, "#555555");
    } else {
        describe(d, &e);
    }
    for (size_t i = 0; i < l->nlegend; i++)
        if (!strcmp(l->legend[i].key, e.key))
            return i;
    if (l->nlegend == VIZ_MAX_LEGEND) /* more domains than colours: the last entry takes the rest */
        return VIZ_MAX_LEGEND - 1;
    l->legend[l->nlegend] = e;
    return l->nlegend++;
}

mc_status viz_layer_key_domain(const struct viz_map *m, const struct viz_pages *p, struct viz_layer *out,
                               struct mc_error *err)
{
    memset(out, 0, sizeof *out);
    out->name = "key domain";
    out->about = "the key each page was last written with, through the memory controller";
    out->cat = calloc(p->n ? p->n : 1, 1);
    if (!out->cat)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    for (size_t i = 0; i < p->n; i++) {
        const struct viz_frame *f = find(m, p->pfn[i]);
        uint32_t d = VIZ_NOT_WRITTEN;
        bool mixed = false;
        for (int k = 0; f && k < 64; k++)
            if (f->dom[k] != VIZ_NOT_WRITTEN) {
                if (d != VIZ_NOT_WRITTEN && f->dom[k] != d)
                    mixed = true;
                d = f->dom[k];
            }
        out->cat[i] = (uint8_t)legend_index(out, d, mixed);
    }
    return MC_OK;
}

/* -------------------------------------------------------------------- HTML -- */

static void esc(FILE *o, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '&': fputs("&amp;", o); break;
        case '"': fputs("&quot;", o); break;
        default: fputc(*s, o);
        }
}

#define LABEL_W 96
#define COLS 64
#define GAP 10
#define LEGEND_COLS 3
#define LEGEND_W 256
#define MAX_ROWS 512

struct geom {
    size_t rows, gaps, legend_rows;
    unsigned grid_y, height, width;
};

static void geometry(const struct viz_doc *d, struct geom *g)
{
    memset(g, 0, sizeof *g);
    uint64_t prev = UINT64_MAX;
    for (size_t i = 0; i < d->pages->n; i++) {
        uint64_t row = d->pages->pfn[i] / COLS;
        if (row != prev) {
            if (prev != UINT64_MAX && row != prev + 1)
                g->gaps++;
            g->rows++;
            prev = row;
        }
    }
    for (size_t i = 0; i < d->nlayers; i++) {
        size_t r = (d->layers[i].nlegend + LEGEND_COLS - 1) / LEGEND_COLS;
        if (r > g->legend_rows)
            g->legend_rows = r;
    }
    g->grid_y = 108 + (unsigned)g->legend_rows * 18 + 14;
    size_t rows = g->rows < MAX_ROWS ? g->rows : MAX_ROWS;
    g->height = g->grid_y + (unsigned)(rows * VIZ_CELL + g->gaps * GAP) + 30;
    g->width = LABEL_W + COLS * VIZ_CELL + 24;
}

static const char *mark_of(const struct viz_doc *d, uint64_t pfn)
{
    for (size_t i = 0; i < d->nmarks; i++)
        if (d->marks[i].pfn == pfn)
            return d->marks[i].label;
    return NULL;
}

static void svg_map(FILE *o, const struct viz_doc *d, size_t li, const struct geom *g)
{
    const struct viz_layer *l = &d->layers[li];
    fprintf(o, "<svg id=\"map-%zu\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\" "
               "viewBox=\"0 0 %u %u\">\n", li, g->width, g->height, g->width, g->height);
    fprintf(o, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" fill=\"#ffffff\"/>\n", g->width, g->height);
    if (li == 0) {
        fputs("<text x=\"12\" y=\"26\" class=\"t1\">", o);
        esc(o, d->title);
        fputs("</text>\n<text x=\"12\" y=\"46\" class=\"t3\">", o);
        esc(o, d->subtitle ? d->subtitle : "");
        fputs("</text>\n", o);
    }
    fputs("<text x=\"12\" y=\"76\" class=\"t2\">memory map by ", o);
    esc(o, l->name);
    fputs("</text>\n<text x=\"12\" y=\"94\" class=\"t3\">", o);
    esc(o, l->about ? l->about : "");
    fprintf(o, "; one square per 4 KiB page written, %d pages (256 KiB) per row</text>\n", COLS);
    for (size_t i = 0; i < l->nlegend; i++) {
        unsigned x = 12 + (unsigned)(i % LEGEND_COLS) * LEGEND_W, y = 104 + (unsigned)(i / LEGEND_COLS) * 18;
        fprintf(o, "<rect class=\"legend\" data-key=\"%s\" x=\"%u\" y=\"%u\" width=\"12\" height=\"12\" fill=\"%s\"/>",
                l->legend[i].key, x, y, l->legend[i].colour);
        fprintf(o, "<text x=\"%u\" y=\"%u\" class=\"t3\">", x + 18, y + 11);
        esc(o, l->legend[i].label);
        fputs("</text>\n", o);
    }
    uint64_t prev = UINT64_MAX;
    unsigned y = g->grid_y;
    size_t rows = 0;
    for (size_t i = 0; i < d->pages->n; i++) {
        uint64_t pfn = d->pages->pfn[i], row = pfn / COLS;
        if (row != prev) {
            if (rows == MAX_ROWS) {
                fprintf(o, "<text x=\"12\" y=\"%u\" class=\"t3\">... %zu more rows of pages not drawn</text>\n",
                        y + 14, g->rows - MAX_ROWS);
                break;
            }
            if (prev != UINT64_MAX) {
                y += VIZ_CELL;
                if (row != prev + 1) {
                    fprintf(o, "<text x=\"%d\" y=\"%u\" class=\"gap\">&#8942; %llu KiB not written</text>\n",
                            LABEL_W, y + 8, (unsigned long long)((row - prev - 1) * COLS * 4));
                    y += GAP;
                }
            }
            fprintf(o, "<rect x=\"%d\" y=\"%u\" width=\"%d\" height=\"%d\" fill=\"#f3f3f3\"/>", LABEL_W, y,
                    COLS * VIZ_CELL - 1, VIZ_CELL - 1);
            fprintf(o, "<text x=\"6\" y=\"%u\" class=\"addr\">0x%010llx</text>\n", y + 10,
                    (unsigned long long)(row * COLS * 4096));
            prev = row;
            rows++;
        }
        const struct viz_legend *e = &l->legend[l->cat[i]];
        unsigned x = LABEL_W + (unsigned)(pfn % COLS) * VIZ_CELL;
        const char *mark = mark_of(d, pfn);
        fprintf(o, "<rect class=\"page\" data-pfn=\"0x%llx\" data-key=\"%s\" x=\"%u\" y=\"%u\" width=\"%d\" "
                   "height=\"%d\" fill=\"%s\"%s><title>page 0x%llx: ",
                (unsigned long long)pfn, e->key, x, y, VIZ_CELL - 1, VIZ_CELL - 1, e->colour,
                mark ? " stroke=\"#000000\" stroke-width=\"1.5\"" : "", (unsigned long long)(pfn << 12));
        esc(o, e->label);
        if (mark) {
            fputs(" - ", o);
            esc(o, mark);
        }
        fputs("</title></rect>\n", o);
    }
    fputs("</svg>\n", o);
}

static void bytes_cell(FILE *o, const uint8_t *b, size_t n)
{
    fputs("<pre>", o);
    for (size_t i = 0; i < n; i += 16) {
        for (size_t k = i; k < i + 16 && k < n; k++)
            fprintf(o, "%02x%s", b[k], k + 1 < i + 16 ? " " : "");
        fputs("  ", o);
        for (size_t k = i; k < i + 16 && k < n; k++) {
            char c[2] = {(b[k] >= 0x20 && b[k] < 0x7f) ? (char)b[k] : '.', 0};
            esc(o, c);
        }
        fputc('\n', o);
    }
    fputs("</pre>", o);
}

static void html(FILE *o, const struct viz_doc *d)
{
    struct geom g;
    geometry(d, &g);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", o);
    esc(o, d->title);
    fputs("</title>\n<style>\n"
          "body{margin:0;background:#fff;color:#222;font:13px/1.4 sans-serif}\n"
          ".maps{display:flex;align-items:flex-start;margin:0;padding:0}\n"
          ".maps svg{display:block;flex:none}\n"
          "svg .t1{font:bold 18px sans-serif;fill:#222} svg .t2{font:bold 14px sans-serif;fill:#222}\n"
          "svg .t3{font:12px sans-serif;fill:#444} svg .addr{font:10px monospace;fill:#666}\n"
          "svg .gap{font:9px sans-serif;fill:#888}\n"
          ".text{padding:8px 12px 24px;max-width:1400px}\n"
          "table.views{border-collapse:collapse;margin:6px 0 18px}\n"
          "table.views th,table.views td{border:1px solid #bbb;padding:4px 8px;vertical-align:top;text-align:left}\n"
          "table.views td.plain{background:#e4f2dc} table.views td.cipher{background:#f6e0e0}\n"
          "pre{margin:0;font:11px/1.3 monospace}\n"
          ".note{color:#555;font-size:12px}\n"
          "</style></head>\n<body>\n<div class=\"maps\">\n",
          o);
    for (size_t i = 0; i < d->nlayers; i++)
        svg_map(o, d, i, &g);
    fputs("</div>\n<div class=\"text\">\n", o);
    if (d->nmarks) {
        fputs("<p>Outlined pages: ", o);
        for (size_t i = 0; i < d->nmarks; i++) {
            fprintf(o, "%s0x%llx ", i ? "; " : "", (unsigned long long)(d->marks[i].pfn << 12));
            esc(o, d->marks[i].label);
        }
        fputs(".</p>\n", o);
    }
    if (d->nviews)
        fputs("<h2>The same lines, as each party reads them</h2>\n"
              "<p class=\"note\">Green: the plaintext; red: anything else (ciphertext, or the plaintext decrypted "
              "with the wrong key).</p>\n",
              o);
    for (size_t v = 0; v < d->nviews; v++) {
        const struct viz_view *w = &d->views[v];
        fprintf(o, "<h3 id=\"view-%zu\">", v);
        esc(o, w->title);
        fputs("</h3>\n<table class=\"views\"><tr>", o);
        for (size_t c = 0; c < w->ncols; c++) {
            fputs("<th>", o);
            esc(o, w->col[c].who);
            fputs("</th>", o);
        }
        fputs("</tr>\n<tr>", o);
        for (size_t c = 0; c < w->ncols; c++) {
            fprintf(o, "<td class=\"%s\" data-who=\"", w->col[c].plaintext ? "plain" : "cipher");
            esc(o, w->col[c].who);
            fputs("\">", o);
            bytes_cell(o, w->col[c].bytes, w->col[c].n);
            if (w->col[c].note[0]) {
                fputs("<div class=\"note\">", o);
                esc(o, w->col[c].note);
                fputs("</div>", o);
            }
            fputs("</td>", o);
        }
        fputs("</tr></table>\n", o);
    }
    for (size_t i = 0; i < d->nnotes; i++) {
        fputs("<p>", o);
        esc(o, d->notes[i]);
        fputs("</p>\n", o);
    }
    fputs("<p class=\"note\">Made by memcrypt, a software model of x86 memory encryption. The ciphertext is the "
          "model's (standard XTS with the line address as tweak), not the bytes real chips write.</p>\n"
          "</div>\n</body></html>\n",
          o);
}

mc_status viz_write_html(const char *path, const struct viz_doc *doc, struct mc_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    if (!o)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    html(o, doc);
    if (fclose(o) != 0) {
        free(buf);
        return mc_seterr(err, MC_E_NOMEM, "out of memory while writing the HTML");
    }
    mc_status st = mc_file_write_atomic(path, (const uint8_t *)buf, len, err);
    free(buf);
    return st;
}

/* ------------------------------------------------------------------- stories -- */

void viz_story_note(struct viz_story *s, const char *text)
{
    if (!s->path)
        return;
    while (*text == '\n')
        text++;
    size_t n = strcspn(text, "\n");
    snprintf(s->group, sizeof s->group, "%.*s", (int)(n < sizeof s->group ? n : sizeof s->group - 1), text);
    s->group_used = false;
}

void viz_story_view(struct viz_story *s, const char *who, const uint8_t *b, size_t n, bool plaintext,
                    const char *note)
{
    if (!s->path)
        return;
    struct viz_view *v = s->nviews ? &s->views[s->nviews - 1] : NULL;
    if (!v || !s->group_used || v->ncols == VIZ_MAX_COLS) {
        if (s->nviews == VIZ_STORY_MAX_VIEWS)
            return;
        v = &s->views[s->nviews++];
        memset(v, 0, sizeof *v);
        snprintf(v->title, sizeof v->title, "%.100s%s", s->group[0] ? s->group : "observations",
                 s->group_used ? " (continued)" : "");
        v->pfn = UINT64_MAX;
        s->group_used = true;
    }
    size_t c = v->ncols++;
    snprintf(v->col[c].who, sizeof v->col[c].who, "%s", who);
    v->col[c].n = n < 64 ? n : 64;
    memcpy(v->col[c].bytes, b, v->col[c].n);
    v->col[c].plaintext = plaintext;
    snprintf(v->col[c].note, sizeof v->col[c].note, "%s", note ? note : "");
}

mc_status viz_story_write(struct viz_story *s, const char *title, const char *subtitle, const char *conclusion,
                          struct mc_error *err)
{
    if (!s->path)
        return MC_OK;
    struct viz_pages pages;
    struct viz_layer layer[2];
    memset(layer, 0, sizeof layer);
    mc_status st = viz_pages_from_map(&s->map, &pages, err);
    if (!st)
        st = viz_layer_key_domain(&s->map, &pages, &layer[0], err);
    if (!st && s->extra)
        st = s->extra(s->extra_ctx, &pages, &layer[1], err);
    if (!st) {
        const char *notes[1] = {conclusion};
        struct viz_doc doc = {.title = title, .subtitle = subtitle, .pages = &pages, .layers = layer,
                              .nlayers = s->extra ? 2 : 1, .views = s->views, .nviews = s->nviews, .notes = notes,
                              .nnotes = conclusion ? 1 : 0};
        st = viz_write_html(s->path, &doc, err);
    }
    viz_layer_free(&layer[0]);
    viz_layer_free(&layer[1]);
    viz_pages_free(&pages);
    viz_map_free(&s->map);
    return st;
}

void viz_story_free(struct viz_story *s) { viz_map_free(&s->map); }
