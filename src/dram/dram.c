/* memcrypt — emulated DRAM: physical memory as large sparse mappings.
 *
 * The physical address space is cut into chunks of 1 GiB (the last one may be shorter). A chunk
 * is one mapping, made on the first write into it: anonymous, private, MAP_NORESERVE — or, with
 * a backing file, the chunk's window of the file, MAP_SHARED — so a frame is found by index
 * (chunk = pa >> 30, then an offset), never by search, and a run of frames inside a chunk is
 * one contiguous block of host memory that the engine can transform in one call.
 *
 * Untouched memory costs nothing: the kernel backs a page of a chunk only when it is first
 * written, and the chunk table itself (one pointer per GiB, 32 MiB of address space for 2^52
 * bytes) is calloc'd, so its untouched pages are never backed either. Touched memory costs its
 * size: transparent huge pages are refused for the mappings (MADV_NOHUGEPAGE), so one written
 * frame never drags in 2 MiB. Each chunk keeps a bitmap of written ("touched") frames: they are
 * what mc_dram_frames_touched counts, what a NULL from mc_dram_frame(…, false) means, and what a
 * snapshot copies. A frame that was never written reads as zeros from the mapping as well
 * (anonymous zero page, file hole), so every read may come straight from the chunk.
 *
 * The file-backed mode has the same layout: chunk i maps the file's bytes [i GiB, i GiB + len),
 * so the file holds exactly what the chips hold, byte for byte. On open, the file's data extents
 * (SEEK_DATA/SEEK_HOLE) are registered as touched frames, so a reopened file shows its old
 * contents and frame count. File backing is limited to 2^46 bytes (what file systems take).
 * Host address space is spent per touched chunk (1 GiB each), so a 2^52-byte DRAM works as long
 * as the chunks actually written fit the host's 47-bit user address space.
 */
#define _GNU_SOURCE /* SEEK_DATA / SEEK_HOLE, MADV_* */
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
#define CHUNK_SHIFT 30
#define CHUNK_SIZE (1ull << CHUNK_SHIFT)
#define CHUNK_FRAMES (1u << (CHUNK_SHIFT - FRAME_SHIFT))
#define BM_WORDS (CHUNK_FRAMES / 64)
#define MAX_DRAM_SIZE (1ull << 52)
#define MAX_FILE_SIZE (1ull << 46)
/* Writes that create at least this many bytes of new frames fault them in with one
 * MADV_POPULATE_WRITE instead of one page fault per frame. */
#define POPULATE_MIN (64u * 1024u)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

struct chunk {
    uint8_t *mem; /* len bytes */
    size_t len;
    uint64_t touched[BM_WORDS]; /* frames written: they have host memory (or file data) behind them */
    uint64_t dirty[BM_WORDS];   /* frames written since the baseline snapshot (listed in d->dirty) */
};

struct mc_dram {
    uint64_t size;
    uint64_t touched;
    size_t nchunks;
    struct chunk **chunks; /* nchunks entries, NULL until the chunk's first write */
    int fd;                /* -1 without a backing file */
    /* Snapshots (dram_snap.h): frames written since the baseline snapshot was taken or
     * restored (no duplicates: the chunk's dirty bit says whether a frame is listed). */
    uint64_t baseline; /* id of the baseline snapshot; 0 = none (no tracking) */
    uint64_t next_snap_id;
    uint64_t *dirty;
    size_t ndirty, cap_dirty;
    bool dirty_overflow; /* the list could not grow: the next restore compares every frame */
};

static inline bool bit_get(const uint64_t *bm, size_t i) { return (bm[i >> 6] >> (i & 63)) & 1; }

/* The chunk holding frame pfn (< size >> 12), mapped on demand; NULL when it is not mapped and
 * create is false, or when the mapping fails. */
static struct chunk *chunk_of(struct mc_dram *d, size_t ci, bool create)
{
    struct chunk *c = d->chunks[ci];
    if (c || !create)
        return c;
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    uint64_t base = (uint64_t)ci << CHUNK_SHIFT;
    c->len = (size_t)(d->size - base < CHUNK_SIZE ? d->size - base : CHUNK_SIZE);
    void *m = d->fd >= 0 ? mmap(NULL, c->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, d->fd, (off_t)base)
                         : mmap(NULL, c->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                                -1, 0);
    if (m == MAP_FAILED) {
        free(c);
        return NULL;
    }
    if (d->fd < 0)
        (void)madvise(m, c->len, MADV_NOHUGEPAGE); /* a touched frame costs 4 KiB, not 2 MiB */
    c->mem = m;
    d->chunks[ci] = c;
    return c;
}

/* Record a written frame while a snapshot is the baseline. */
static void note_dirty(struct mc_dram *d, struct chunk *c, size_t i, uint64_t pfn)
{
    if (bit_get(c->dirty, i))
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
    c->dirty[i >> 6] |= 1ull << (i & 63);
    d->dirty[d->ndirty++] = pfn;
}

/* Frames [first, first + n) of chunk ci are about to be written: count the new ones, fault
 * large runs of new frames in at once, and track them for the baseline snapshot. */
static void mark_written(struct mc_dram *d, struct chunk *c, size_t ci, size_t first, size_t n)
{
    size_t fresh = 0, i = first, end = first + n;
    while (i < end) {
        size_t w = i >> 6, lo = i & 63, hi = (end - (w << 6)) < 64 ? end - (w << 6) : 64;
        uint64_t mask = (hi == 64 ? ~0ull : ((1ull << hi) - 1)) & ~((1ull << lo) - 1);
        fresh += (size_t)__builtin_popcountll(mask & ~c->touched[w]);
        c->touched[w] |= mask;
        i = (w + 1) << 6;
    }
    if (fresh) {
        d->touched += fresh;
        if (d->fd < 0 && (fresh << FRAME_SHIFT) >= POPULATE_MIN)
            (void)madvise(c->mem + (first << FRAME_SHIFT), n << FRAME_SHIFT, MADV_POPULATE_WRITE);
    }
    if (d->baseline)
        for (i = first; i < end; i++)
            note_dirty(d, c, i, ((uint64_t)ci * CHUNK_FRAMES) + i);
}

uint8_t *mc_dram_frame(struct mc_dram *d, uint64_t pfn, bool alloc)
{
    if (!d || pfn >= (d->size >> FRAME_SHIFT))
        return NULL;
    size_t ci = (size_t)(pfn / CHUNK_FRAMES), i = (size_t)(pfn % CHUNK_FRAMES);
    struct chunk *c = chunk_of(d, ci, alloc);
    if (!c)
        return NULL;
    if (alloc)
        mark_written(d, c, ci, i, 1);
    else if (!bit_get(c->touched, i))
        return NULL;
    return c->mem + ((size_t)i << FRAME_SHIFT);
}

uint8_t *mc_dram_run(struct mc_dram *d, uint64_t pa, size_t *len, bool write)
{
    size_t ci = (size_t)(pa >> CHUNK_SHIFT), off = (size_t)(pa & (CHUNK_SIZE - 1));
    struct chunk *c = chunk_of(d, ci, write);
    size_t n = c ? c->len - off : (size_t)(CHUNK_SIZE - off);
    if (n > *len)
        n = *len;
    *len = n;
    if (!c)
        return NULL; /* read of a chunk never written (zeros), or out of memory for a write */
    if (write && n)
        mark_written(d, c, ci, off >> FRAME_SHIFT, ((off + n - 1) >> FRAME_SHIFT) - (off >> FRAME_SHIFT) + 1);
    return c->mem + off;
}

void mc_dram_destroy(struct mc_dram *d)
{
    if (!d)
        return;
    for (size_t i = 0; d->chunks && i < d->nchunks; i++)
        if (d->chunks[i]) {
            munmap(d->chunks[i]->mem, d->chunks[i]->len);
            free(d->chunks[i]);
        }
    free(d->chunks);
    if (d->fd >= 0)
        close(d->fd);
    free(d->dirty);
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
        uint64_t pfn = (uint64_t)data >> FRAME_SHIFT, last = ((uint64_t)hole + MC_FRAME_SIZE - 1) >> FRAME_SHIFT;
        while (pfn < last) {
            size_t ci = (size_t)(pfn / CHUNK_FRAMES), i = (size_t)(pfn % CHUNK_FRAMES);
            size_t n = CHUNK_FRAMES - i < last - pfn ? CHUNK_FRAMES - i : (size_t)(last - pfn);
            struct chunk *c = chunk_of(d, ci, true);
            if (!c)
                return mc_seterr(err, MC_E_NOMEM, "DRAM: cannot map the backing file at 0x%llx: %s",
                                 (unsigned long long)(pfn << FRAME_SHIFT), strerror(errno));
            mark_written(d, c, ci, i, n);
            pfn += n;
        }
        pos = hole;
    }
    return MC_OK;
}

static mc_status open_backing(struct mc_dram *d, const char *path, struct mc_error *err)
{
    if (d->size > MAX_FILE_SIZE)
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "DRAM: a file-backed DRAM is limited to 2^46 bytes (what file systems hold); "
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
    d->nchunks = (size_t)((cfg->size + CHUNK_SIZE - 1) >> CHUNK_SHIFT);
    d->chunks = calloc(d->nchunks, sizeof *d->chunks);
    if (!d->chunks) {
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
        size_t n = len;
        const uint8_t *src = mc_dram_run(d, pa, &n, false);
        if (src)
            memcpy(p, src, n);
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
    /* Map every chunk first so a failure leaves the contents unchanged. */
    for (uint64_t a = pa; a < pa + len; a = ((a >> CHUNK_SHIFT) + 1) << CHUNK_SHIFT)
        if (!chunk_of(d, (size_t)(a >> CHUNK_SHIFT), true))
            return mc_seterr(err, MC_E_NOMEM, "DRAM write: cannot map the memory at 0x%llx: %s",
                             (unsigned long long)a, strerror(errno));
    const uint8_t *p = buf;
    while (len) {
        size_t n = len;
        uint8_t *dst = mc_dram_run(d, pa, &n, true);
        memcpy(dst, p, n);
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
    for (size_t i = 0; d->fd >= 0 && i < d->nchunks; i++)
        if (d->chunks[i] && msync(d->chunks[i]->mem, d->chunks[i]->len, MS_SYNC) != 0)
            return mc_seterr(err, MC_E_IO, "DRAM sync: msync failed: %s", strerror(errno));
    return MC_OK;
}

/* ---------------------------------------------------------------- snapshots -- */

struct mc_dram_snap {
    const struct mc_dram *owner;
    uint64_t id;
    uint64_t touched;
    size_t n;
    uint64_t *pfn; /* ascending */
    uint8_t *data; /* n frames */
};

typedef void (*frame_fn)(struct mc_dram *d, struct chunk *c, size_t i, uint64_t pfn, void *ctx);

/* Call fn for every touched frame, in ascending pfn order. */
static void each_frame(struct mc_dram *d, frame_fn fn, void *ctx)
{
    for (size_t ci = 0; ci < d->nchunks; ci++) {
        struct chunk *c = d->chunks[ci];
        for (size_t w = 0; c && w < BM_WORDS; w++)
            for (uint64_t bits = c->touched[w]; bits; bits &= bits - 1) {
                size_t i = (w << 6) | (size_t)__builtin_ctzll(bits);
                fn(d, c, i, (uint64_t)ci * CHUNK_FRAMES + i, ctx);
            }
    }
}

static void count_frame(struct mc_dram *d, struct chunk *c, size_t i, uint64_t pfn, void *ctx)
{
    (void)d, (void)c, (void)i, (void)pfn;
    (*(size_t *)ctx)++;
}

static void copy_frame(struct mc_dram *d, struct chunk *c, size_t i, uint64_t pfn, void *ctx)
{
    (void)d;
    struct mc_dram_snap *s = ctx;
    s->pfn[s->n] = pfn;
    memcpy(s->data + s->n * MC_FRAME_SIZE, c->mem + ((size_t)i << FRAME_SHIFT), MC_FRAME_SIZE);
    s->n++;
}

/* Forget which frames were written (after a snapshot or a restore). */
static void clear_dirty(struct mc_dram *d)
{
    for (size_t k = 0; k < d->ndirty; k++) {
        struct chunk *c = d->chunks[d->dirty[k] / CHUNK_FRAMES];
        size_t i = (size_t)(d->dirty[k] % CHUNK_FRAMES);
        if (c)
            c->dirty[i >> 6] &= ~(1ull << (i & 63));
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
    if (d->fd >= 0)
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

/* Put frame pfn back as the snapshot has it: its bytes, or an untouched frame of zeros. */
static void restore_frame(struct mc_dram *d, struct chunk *c, size_t i, uint64_t pfn, void *ctx)
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
    uint8_t *f = c->mem + ((size_t)i << FRAME_SHIFT);
    if (lo < s->n && s->pfn[lo] == pfn) {
        memcpy(f, s->data + lo * MC_FRAME_SIZE, MC_FRAME_SIZE);
    } else {
        /* The host page stays (it is reused when the frame is written again); it reads as zeros. */
        memset(f, 0, MC_FRAME_SIZE);
        c->touched[i >> 6] &= ~(1ull << (i & 63));
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
        for (size_t k = 0; k < d->ndirty; k++) {
            struct chunk *c = d->chunks[d->dirty[k] / CHUNK_FRAMES];
            size_t i = (size_t)(d->dirty[k] % CHUNK_FRAMES);
            if (c && bit_get(c->touched, i))
                restore_frame(d, c, i, d->dirty[k], (void *)s);
        }
    } else {
        /* Not the baseline: compare every frame, and bring back the snapshot's frames that a
         * restore of another snapshot cleared in between. */
        each_frame(d, restore_frame, (void *)s);
        for (size_t k = 0; k < s->n; k++) {
            uint8_t *f = mc_dram_frame(d, s->pfn[k], true);
            if (!f)
                return mc_seterr(err, MC_E_NOMEM, "DRAM snapshot: out of memory for frame 0x%llx",
                                 (unsigned long long)s->pfn[k]);
            memcpy(f, s->data + k * MC_FRAME_SIZE, MC_FRAME_SIZE);
        }
    }
    d->touched = s->touched;
    clear_dirty(d);
    d->baseline = s->id;
    return MC_OK;
}
