/* memcrypt CLI — pictures of memory: a map of physical memory page by page, coloured by key
 * domain, and what each party reads of the same lines, as one self-contained HTML file.
 *
 * The map is a set of layers over the same pages, drawn side by side: today one, "key domain"
 * (from the memory controller's write observer: under which key each line was last written).
 * A layer is a name, a legend (label, colour) and a category per page, so another colouring of
 * the same pages (SEV-SNP's RMP state: firmware, hypervisor, guest-assigned, validated, VMSA)
 * is one more struct viz_layer filled from the firmware, drawn next to it with no change here.
 */
#ifndef MC_VIZ_H
#define MC_VIZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/mc.h>

/* ------------------------------------------------------------------ recorder -- */

#define VIZ_NOT_WRITTEN 0xFFFFFFFFu

struct viz_frame {
    uint64_t pfn;
    uint32_t dom[64]; /* packed domain of each 64-byte line's last write, or VIZ_NOT_WRITTEN */
};

/* Every frame written through the memory controller (an open-addressing table by pfn). */
struct viz_map {
    struct viz_frame *f;
    size_t n, cap;
    bool failed; /* out of memory: the map is incomplete */
};

/* memctl_write_observer_fn: give it a struct viz_map * as ctx. */
void viz_map_observe(void *ctx, uint64_t pa, uint64_t len, struct memctl_domain dom);
void viz_map_free(struct viz_map *m);

/* ------------------------------------------------------------------- layers -- */

#define VIZ_MAX_LEGEND 24

struct viz_legend {
    char label[48];  /* "ASID 1 (guest key)" */
    char key[24];    /* machine-readable: "asid-1", "host", "plaintext", "mixed", "none" */
    char colour[8];  /* "#rrggbb" */
};

struct viz_layer {
    const char *name;  /* "key domain" */
    const char *about; /* one sentence under the title */
    struct viz_legend legend[VIZ_MAX_LEGEND];
    size_t nlegend;
    uint8_t *cat; /* per page of the page list: an index into legend */
};

/* The pages to draw: every frame of the map, in address order. */
struct viz_pages {
    uint64_t *pfn;
    size_t n;
};

mc_status viz_pages_from_map(const struct viz_map *m, struct viz_pages *out, struct mc_error *err);
/* The key-domain layer of those pages (a page whose lines differ is "mixed"). */
mc_status viz_layer_key_domain(const struct viz_map *m, const struct viz_pages *p, struct viz_layer *out,
                               struct mc_error *err);
void viz_pages_free(struct viz_pages *p);
void viz_layer_free(struct viz_layer *l);

/* ------------------------------------------------------------------- views -- */

#define VIZ_MAX_COLS 5

/* One line (64 bytes at most) as several parties read it, side by side. */
struct viz_view {
    char title[128];   /* "private page, GPA 0x200000 (C=1), frame 0x1234000" */
    uint64_t pfn;      /* the page it is on (marked on the maps), or UINT64_MAX */
    size_t ncols;
    struct {
        char who[64];  /* "guest", "hypervisor (C=0)", "DRAM bus" */
        uint8_t bytes[64];
        size_t n;
        bool plaintext; /* shows the plaintext (the reference for the colouring) */
        char note[96];  /* e.g. "ciphertext", "garbage: the wrong key" */
    } col[VIZ_MAX_COLS];
};

/* A label on a page of the maps ("private page", "secret"). */
struct viz_mark {
    uint64_t pfn;
    char label[48];
};

struct viz_doc {
    const char *title;    /* "memcrypt run: domain 'sev-guest' on milan" */
    const char *subtitle; /* one line */
    const struct viz_pages *pages;
    const struct viz_layer *layers; /* drawn side by side */
    size_t nlayers;
    const struct viz_view *views;
    size_t nviews;
    const struct viz_mark *marks;
    size_t nmarks;
    const char *const *notes; /* paragraphs after the views */
    size_t nnotes;
};

/* Write doc as one HTML file (no external resources). Layout, for people and for tests: the
 * first layer's map is an <svg id="map-0"> at the page's top-left corner (body margin 0), each page
 * a <rect class="page" data-pfn="0x..." data-key="asid-1"> of VIZ_CELL px; the legend of layer i
 * is in <svg id="map-i"> as <rect class="legend" data-key=".." fill="#..">. */
#define VIZ_CELL 12
mc_status viz_write_html(const char *path, const struct viz_doc *doc, struct mc_error *err);

/* ------------------------------------------------------------------- stories -- */

/* A demo's picture: the map its machines wrote, and its observations grouped under the notes
 * that introduce them. */
#define VIZ_STORY_MAX_VIEWS 32
/* A layer built when the picture is written, over the story's pages (e.g. SEV-SNP's RMP state). */
typedef mc_status (*viz_layer_fn)(void *ctx, const struct viz_pages *p, struct viz_layer *out, struct mc_error *err);
struct viz_story {
    const char *path; /* the HTML file; NULL: no picture (everything below is a no-op) */
    struct viz_map map;
    struct viz_view views[VIZ_STORY_MAX_VIEWS];
    size_t nviews;
    char group[128]; /* the last note: the title of the next view */
    bool group_used;
    viz_layer_fn extra; /* optional: a second layer drawn beside the key-domain map */
    void *extra_ctx;
};

/* A new group of observations, titled by text (its first line). */
void viz_story_note(struct viz_story *s, const char *text);
/* One observation of a line in the current group (a new view when it is full). */
void viz_story_view(struct viz_story *s, const char *who, const uint8_t *b, size_t n, bool plaintext,
                    const char *note);
/* Write the picture (title, subtitle, the conclusion as a note) and free the map. */
mc_status viz_story_write(struct viz_story *s, const char *title, const char *subtitle, const char *conclusion,
                          struct mc_error *err);
void viz_story_free(struct viz_story *s);

#endif
