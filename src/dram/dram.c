/* memcrypt — emulated DRAM: a sparse physical memory of 4 KiB frames.
 *
 * Frames are found through a three-level radix table over the 40-bit frame number
 * (14 + 13 + 13 bits); tables and frames are allocated on first write, so untouched memory
 * costs nothing and reads as zeros.
 *
 * With a backing file the whole file (size bytes, sparse, created with ftruncate) is mapped
 * MAP_SHARED and the radix table points into the mapping, so the file holds exactly what the
 * chips hold. On open, the file's data extents (SEEK_DATA/SEEK_HOLE) are registered as touched
 * frames, so a reopened file shows its old contents and frame count. File backing is limited by
 * the host's virtual address space (47 bits on x86-64 Linux); larger sizes are refused with a
 * clear message.
 */
#define _GNU_SOURCE /* SEEK_DATA / SEEK_HOLE */
#include <memcrypt/dram.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dram/dram_snap.h"

#define FRAME_SHIFT 12
#define L2_BITS 13
#define L1_BITS 13
#define L0_BITS 14
#define MAX_DRAM_SIZE (1ull << 52)
#define MAX_FILE_SIZE (1ull << 46)

/* A leaf: frame pointers, and one bit per frame set when the frame is handed out for writing
 * while a snapshot is the baseline (so a restore visits only what changed). */
typedef struct {
    uint8_t *f[1u << L2_BITS];
    uint64_t dirty[(1u << L2_BITS) / 64];
} leaf_table;
typedef leaf_table *mid_table[1u << L1_BITS];

struct mc_dram {
    uint64_t size;
    uint64_t touched;
    size_t top_len;
    mid_table **top; /* top_len entries */
    int fd;          /* -1 without a backing file */
    uint8_t *map;    /* the whole backing file, or NULL */
    /* Snapshots (dram_snap.h): frames written since the baseline snapshot was taken or
     * restored (no duplicates: the leaf's dirty bit says whether a frame is listed). */
    uint64_t baseline;     /* id of the baseline snapshot; 0 = none (no tracking) */
    uint64_t next_snap_id;
    uint64_t *dirty;
    size_t ndirty, cap_dirty;
    bool dirty_overflow;   /* the list could not grow: the next restore compares every frame */
    uint8_t **spare;       /* zeroed frames a restore took away, handed out again first */
    size_t nspare;
};

#define MAX_SPARE 1024 /* frames (4 MiB) kept for reuse after restores */

static void split(uint64_t pfn, size_t *i0, size_t *i1, size_t *i2)
{
    *i0 = (size_t)(pfn >> (L1_BITS + L2_BITS));
    *i1 = (size_t)((pfn >> L2_BITS) & ((1u << L1_BITS) - 1));
    *i2 = (size_t)(pfn & ((1u << L2_BITS) - 1));
}

/* The leaf holding pfn; NULL when a table on the way is missing and alloc is false. */
static leaf_table *leaf_of(struct mc_dram *d, uint64_t pfn, bool alloc)
{
    size_t i0, i1, i2;
    split(pfn, &i0, &i1, &i2);
    if (!d->top[i0]) {
        if (!alloc || !(d->top[i0] = calloc(1, sizeof(mid_table))))
            return NULL;
    }
    mid_table *m = d->top[i0];
    if (!(*m)[i1]) {
        if (!alloc || !((*m)[i1] = calloc(1, sizeof(leaf_table))))
            return NULL;
    }
    return (*m)[i1];
}

/* Record that pfn (in leaf l at index i2) is about to be written. */
static void mark_dirty(struct mc_dram *d, leaf_table *l, size_t i2, uint64_t pfn)
{
    uint64_t bit = 1ull << (i2 & 63);
    if (l->dirty[i2 >> 6] & bit)
        return;
    if (d->ndirty == d->cap_dirty) {
        size_t cap = d->cap_dirty ? 2 * d->cap_dirty : 256;
        uint64_t *n = realloc(d->dirty, cap * sizeof *n);
        if (!n) {
            d->dirty_overflow = true;
            return;
        }
        d->dirty = n;
        d->cap_dirty = cap;
    }
    l->dirty[i2 >> 6] |= bit;
    d->dirty[d->ndirty++] = pfn;
}

uint8_t *mc_dram_frame(struct mc_dram *d, uint64_t pfn, bool alloc)
{
    if (!d || pfn >= (d->size >> FRAME_SHIFT))
        return NULL;
    leaf_table *l = leaf_of(d, pfn, alloc);
    if (!l)
        return NULL;
    size_t i2 = (size_t)(pfn & ((1u << L2_BITS) - 1));
    uint8_t **s = &l->f[i2];
    if (alloc && d->baseline)
        mark_dirty(d, l, i2, pfn);
    if (!*s && alloc) {
        if (d->map) {
            *s = d->map + (pfn << FRAME_SHIFT);
        } else if (d->nspare) {
            *s = d->spare[--d->nspare]; /* zeroed when it was taken away */
        } else {
            uint8_t *f = aligned_alloc(MC_FRAME_SIZE, MC_FRAME_SIZE);
            if (!f)
                return NULL;
            memset(f, 0, MC_FRAME_SIZE);
            *s = f;
        }
        d->touched++;
    }
    return *s;
}

static void free_tables(struct mc_dram *d)
{
    if (!d->top)
        return;
    for (size_t i0 = 0; i0 < d->top_len; i0++) {
        mid_table *m = d->top[i0];
        if (!m)
            continue;
        for (size_t i1 = 0; i1 < (1u << L1_BITS); i1++) {
            leaf_table *l = (*m)[i1];
            if (!l)
                continue;
            if (!d->map)
                for (size_t i2 = 0; i2 < (1u << L2_BITS); i2++)
                    free(l->f[i2]);
            free(l);
        }
        free(m);
    }
    free(d->top);
    d->top = NULL;
}

void mc_dram_destroy(struct mc_dram *d)
{
    if (!d)
        return;
    free_tables(d);
    if (d->map)
        munmap(d->map, (size_t)d->size);
    if (d->fd >= 0)
        close(d->fd);
    free(d->dirty);
    for (size_t i = 0; i < d->nspare; i++)
        free(d->spare[i]);
    free(d->spare);
    free(d);
}

/* Register the frames of every data extent of the backing file as touched. */
static mc_status scan_extents(struct mc_dram *d, struct mc_error *err)
{
    off_t pos = 0, end = (off_t)d->size;
    while (pos < end) {
        off_t data = lseek(d->fd, pos, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO)
                break;
            return mc_seterr(err, MC_E_IO, "DRAM: cannot scan the backing file: %s", strerror(errno));
        }
        off_t hole = lseek(d->fd, data, SEEK_HOLE);
        if (hole < 0 || hole > end)
            hole = end;
        for (uint64_t pfn = (uint64_t)data >> FRAME_SHIFT; pfn < ((uint64_t)hole + MC_FRAME_SIZE - 1) >> FRAME_SHIFT;
             pfn++)
            if (!mc_dram_frame(d, pfn, true))
                return mc_seterr(err, MC_E_NOMEM, "DRAM: out of memory for the frame table");
        pos = hole;
    }
    return MC_OK;
}

static mc_status open_backing(struct mc_dram *d, const char *path, struct mc_error *err)
{
    if (d->size > MAX_FILE_SIZE)
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "DRAM: a file-backed DRAM is limited to 2^46 bytes (the host address space); "
                         "%llu bytes requested", (unsigned long long)d->size);
    d->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0600);
    if (d->fd < 0)
        return mc_seterr(err, MC_E_IO, "DRAM: cannot open backing file '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(d->fd, &st) != 0)
        return mc_seterr(err, MC_E_IO, "DRAM: cannot stat '%s': %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return mc_seterr(err, MC_E_IO, "DRAM: backing file '%s' is not a regular file", path);
    if (st.st_size != 0 && (uint64_t)st.st_size != d->size)
        return mc_seterr(err, MC_E_RANGE,
                         "DRAM: backing file '%s' holds %llu bytes but the DRAM is %llu bytes; refusing to resize it",
                         path, (unsigned long long)st.st_size, (unsigned long long)d->size);
    if (st.st_size == 0 && ftruncate(d->fd, (off_t)d->size) != 0)
        return mc_seterr(err, MC_E_IO, "DRAM: cannot size '%s' to %llu bytes: %s", path,
                         (unsigned long long)d->size, strerror(errno));
    void *m = mmap(NULL, (size_t)d->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, d->fd, 0);
    if (m == MAP_FAILED)
        return mc_seterr(err, MC_E_IO, "DRAM: cannot map '%s' (%llu bytes): %s", path,
                         (unsigned long long)d->size, strerror(errno));
    d->map = m;
    return scan_extents(d, err);
}

mc_status mc_dram_create(const struct mc_dram_config *cfg, struct mc_dram **out, struct mc_error *err)
{
    if (!cfg || !out)
        return mc_seterr(err, MC_E_INVAL, "DRAM: NULL argument");
    if (cfg->size == 0 || cfg->size % MC_FRAME_SIZE || cfg->size > MAX_DRAM_SIZE)
        return mc_seterr(err, MC_E_RANGE, "DRAM: size %llu must be a non-zero multiple of 4 KiB up to 2^52",
                         (unsigned long long)cfg->size);
    struct mc_dram *d = calloc(1, sizeof *d);
    if (!d)
        return mc_seterr(err, MC_E_NOMEM, "DRAM: out of memory");
    d->fd = -1;
    d->size = cfg->size;
    uint64_t frames = cfg->size >> FRAME_SHIFT;
    d->top_len = (size_t)(((frames - 1) >> (L1_BITS + L2_BITS)) + 1);
    d->top = calloc(d->top_len, sizeof *d->top);
    if (!d->top) {
        free(d);
        return mc_seterr(err, MC_E_NOMEM, "DRAM: out of memory");
    }
    if (cfg->backing_file) {
        mc_status st = open_backing(d, cfg->backing_file, err);
        if (st != MC_OK) {
            mc_dram_destroy(d);
            return st;
        }
    }
    *out = d;
    return MC_OK;
}

uint64_t mc_dram_size(const struct mc_dram *d) { return d ? d->size : 0; }
uint64_t mc_dram_frames_touched(const struct mc_dram *d) { return d ? d->touched : 0; }

static mc_status check_range(const struct mc_dram *d, uint64_t pa, const void *buf, size_t len, const char *what,
                             struct mc_error *err)
{
    if (!d || (!buf && len))
        return mc_seterr(err, MC_E_INVAL, "DRAM %s: NULL argument", what);
    if (pa > d->size || (uint64_t)len > d->size - pa)
        return mc_seterr(err, MC_E_RANGE, "DRAM %s: [0x%llx, +%zu) lies outside the %llu-byte DRAM", what,
                         (unsigned long long)pa, len, (unsigned long long)d->size);
    return MC_OK;
}

mc_status mc_dram_read(struct mc_dram *d, uint64_t pa, void *buf, size_t len, struct mc_error *err)
{
    mc_status st = check_range(d, pa, buf, len, "read", err);
    if (st != MC_OK)
        return st;
    uint8_t *p = buf;
    while (len) {
        size_t off = (size_t)(pa & (MC_FRAME_SIZE - 1));
        size_t n = MC_FRAME_SIZE - off < len ? MC_FRAME_SIZE - off : len;
        const uint8_t *f = mc_dram_frame(d, pa >> FRAME_SHIFT, false);
        if (f)
            memcpy(p, f + off, n);
        else
            memset(p, 0, n);
        p += n;
        pa += n;
        len -= n;
    }
    return MC_OK;
}

mc_status mc_dram_write(struct mc_dram *d, uint64_t pa, const void *buf, size_t len, struct mc_error *err)
{
    mc_status st = check_range(d, pa, buf, len, "write", err);
    if (st != MC_OK)
        return st;
    /* Allocate every frame first so an out-of-memory failure leaves the contents unchanged
     * (frames that were allocated stay, zero-filled, which reads the same as untouched). */
    if (len) {
        for (uint64_t pfn = pa >> FRAME_SHIFT; pfn <= (pa + len - 1) >> FRAME_SHIFT; pfn++)
            if (!mc_dram_frame(d, pfn, true))
                return mc_seterr(err, MC_E_NOMEM, "DRAM write: out of memory for frame 0x%llx",
                                 (unsigned long long)pfn);
    }
    const uint8_t *p = buf;
    while (len) {
        size_t off = (size_t)(pa & (MC_FRAME_SIZE - 1));
        size_t n = MC_FRAME_SIZE - off < len ? MC_FRAME_SIZE - off : len;
        uint8_t *f = mc_dram_frame(d, pa >> FRAME_SHIFT, false);
        memcpy(f + off, p, n);
        p += n;
        pa += n;
        len -= n;
    }
    return MC_OK;
}

mc_status mc_dram_sync(struct mc_dram *d, struct mc_error *err)
{
    if (!d)
        return mc_seterr(err, MC_E_INVAL, "DRAM sync: NULL argument");
    if (d->map && msync(d->map, (size_t)d->size, MS_SYNC) != 0)
        return mc_seterr(err, MC_E_IO, "DRAM sync: msync failed: %s", strerror(errno));
    return MC_OK;
}

/* ---------------------------------------------------------------- snapshots -- */

struct mc_dram_snap {
    const struct mc_dram *owner;
    uint64_t id;
    uint64_t touched;
    size_t n;
    uint64_t *pfn;  /* ascending */
    uint8_t *data;  /* n frames */
};

typedef void (*frame_fn)(struct mc_dram *d, uint64_t pfn, uint8_t **slot, void *ctx);

/* Call fn for every existing frame, in ascending pfn order. */
static void each_frame(struct mc_dram *d, frame_fn fn, void *ctx)
{
    for (size_t i0 = 0; i0 < d->top_len; i0++) {
        mid_table *m = d->top[i0];
        for (size_t i1 = 0; m && i1 < (1u << L1_BITS); i1++) {
            leaf_table *l = (*m)[i1];
            for (size_t i2 = 0; l && i2 < (1u << L2_BITS); i2++)
                if (l->f[i2])
                    fn(d, ((uint64_t)i0 << (L1_BITS + L2_BITS)) | ((uint64_t)i1 << L2_BITS) | i2, &l->f[i2], ctx);
        }
    }
}

static void count_frame(struct mc_dram *d, uint64_t pfn, uint8_t **slot, void *ctx)
{
    (void)d, (void)pfn, (void)slot;
    (*(size_t *)ctx)++;
}

static void copy_frame(struct mc_dram *d, uint64_t pfn, uint8_t **slot, void *ctx)
{
    (void)d;
    struct mc_dram_snap *s = ctx;
    s->pfn[s->n] = pfn;
    memcpy(s->data + s->n * MC_FRAME_SIZE, *slot, MC_FRAME_SIZE);
    s->n++;
}

/* Forget which frames were written (after a snapshot or a restore). */
static void clear_dirty(struct mc_dram *d)
{
    for (size_t i = 0; i < d->ndirty; i++) {
        leaf_table *l = leaf_of(d, d->dirty[i], false);
        size_t i2 = (size_t)(d->dirty[i] & ((1u << L2_BITS) - 1));
        if (l)
            l->dirty[i2 >> 6] &= ~(1ull << (i2 & 63));
    }
    d->ndirty = 0;
    d->dirty_overflow = false;
}

void mc_dram_snap_free(struct mc_dram_snap *s)
{
    if (!s)
        return;
    free(s->pfn);
    free(s->data);
    free(s);
}

mc_status mc_dram_snap_save(struct mc_dram *d, struct mc_dram_snap **out, struct mc_error *err)
{
    if (!d || !out)
        return mc_seterr(err, MC_E_INVAL, "DRAM snapshot: NULL argument");
    if (d->map)
        return mc_seterr(err, MC_E_UNSUPPORTED, "DRAM snapshot: a file-backed DRAM has none (the file is its state)");
    size_t n = 0;
    each_frame(d, count_frame, &n);
    struct mc_dram_snap *s = calloc(1, sizeof *s);
    if (s && n) {
        s->pfn = malloc(n * sizeof *s->pfn);
        s->data = malloc(n * MC_FRAME_SIZE);
    }
    if (!s || (n && (!s->pfn || !s->data))) {
        mc_dram_snap_free(s);
        return mc_seterr(err, MC_E_NOMEM, "DRAM snapshot: out of memory for %zu frames", n);
    }
    each_frame(d, copy_frame, s);
    s->owner = d;
    s->touched = d->touched;
    s->id = ++d->next_snap_id;
    clear_dirty(d);
    d->baseline = s->id;
    *out = s;
    return MC_OK;
}

/* Put frame pfn back as the snapshot has it: its bytes, or no frame at all. */
static void restore_frame(struct mc_dram *d, uint64_t pfn, uint8_t **slot, void *ctx)
{
    const struct mc_dram_snap *s = ctx;
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->pfn[mid] < pfn)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < s->n && s->pfn[lo] == pfn) {
        memcpy(*slot, s->data + lo * MC_FRAME_SIZE, MC_FRAME_SIZE);
    } else if (*slot) {
        if (d->nspare < MAX_SPARE && (d->spare || (d->spare = malloc(MAX_SPARE * sizeof *d->spare)))) {
            memset(*slot, 0, MC_FRAME_SIZE);
            d->spare[d->nspare++] = *slot;
        } else {
            free(*slot);
        }
        *slot = NULL;
        d->touched--;
    }
}

mc_status mc_dram_snap_restore(struct mc_dram *d, const struct mc_dram_snap *s, struct mc_error *err)
{
    if (!d || !s)
        return mc_seterr(err, MC_E_INVAL, "DRAM snapshot: NULL argument");
    if (s->owner != d)
        return mc_seterr(err, MC_E_INVAL, "DRAM snapshot: it belongs to another DRAM");
    if (d->baseline == s->id && !d->dirty_overflow) {
        for (size_t i = 0; i < d->ndirty; i++) {
            leaf_table *l = leaf_of(d, d->dirty[i], false);
            uint8_t **slot = &l->f[d->dirty[i] & ((1u << L2_BITS) - 1)];
            if (*slot)
                restore_frame(d, d->dirty[i], slot, (void *)s);
        }
    } else {
        /* Not the baseline: compare every frame, and bring back the snapshot's frames that a
         * restore of another snapshot freed in between. */
        each_frame(d, restore_frame, (void *)s);
        for (size_t i = 0; i < s->n; i++) {
            uint8_t *f = mc_dram_frame(d, s->pfn[i], true);
            if (!f)
                return mc_seterr(err, MC_E_NOMEM, "DRAM snapshot: out of memory for frame 0x%llx",
                                 (unsigned long long)s->pfn[i]);
            memcpy(f, s->data + i * MC_FRAME_SIZE, MC_FRAME_SIZE);
        }
    }
    d->touched = s->touched;
    clear_dirty(d);
    d->baseline = s->id;
    return MC_OK;
}
