/* Tests of the emulated DRAM: sparse frames, bounds, 1 TiB and 2^52 sizes, file backing. */
#include <memcrypt/dram.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static struct mc_dram *mk(uint64_t size, const char *file)
{
    struct mc_dram_config cfg = {.size = size, .backing_file = file};
    struct mc_dram *d = NULL;
    struct mc_error e;
    CHECK_MSG(mc_dram_create(&cfg, &d, &e) == MC_OK, "%s", e.msg);
    return d;
}

static void test_sparse_basics(void)
{
    struct mc_dram *d = mk(1 << 20, NULL);
    if (!d)
        return;
    CHECK_EQ_U64(mc_dram_size(d), 1 << 20);
    CHECK_EQ_U64(mc_dram_frames_touched(d), 0);
    uint8_t buf[10000], z[10000] = {0};
    memset(buf, 0xaa, sizeof buf);
    CHECK(mc_dram_read(d, 12345, buf, sizeof buf, NULL) == MC_OK);
    CHECK_MEM(buf, z, sizeof buf);
    CHECK_EQ_U64(mc_dram_frames_touched(d), 0); /* reading allocates nothing */
    CHECK(mc_dram_frame(d, 3, false) == NULL);
    CHECK_EQ_U64(mc_dram_frames_touched(d), 0);
    /* a write across four frames: [4091, 12291) touches frames 0..3 */
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + 1);
    CHECK(mc_dram_write(d, 4096 - 5, buf, 8200, NULL) == MC_OK);
    CHECK_EQ_U64(mc_dram_frames_touched(d), 4);
    uint8_t back[8300];
    CHECK(mc_dram_read(d, 4096 - 55, back, sizeof back, NULL) == MC_OK);
    CHECK_MEM(back, z, 50);
    CHECK_MEM(back + 50, buf, 8200);
    CHECK_MEM(back + 8250, z, 50);
    /* the frame pointer sees the same bytes, and writes through it are visible */
    uint8_t *f = mc_dram_frame(d, 1, false);
    CHECK(f != NULL && f[0] == buf[5]);
    if (f)
        f[100] = 0x42;
    uint8_t one;
    CHECK(mc_dram_read(d, 4096 + 100, &one, 1, NULL) == MC_OK && one == 0x42);
    /* alloc=true creates a zero frame */
    uint8_t *g = mc_dram_frame(d, 200, true);
    CHECK(g != NULL && g[0] == 0 && g[4095] == 0);
    CHECK_EQ_U64(mc_dram_frames_touched(d), 5);
    CHECK(mc_dram_frame(d, 200, true) == g);
    CHECK_EQ_U64(mc_dram_frames_touched(d), 5);
    /* zero-length I/O at the very end is fine */
    CHECK(mc_dram_read(d, 1 << 20, buf, 0, NULL) == MC_OK);
    CHECK(mc_dram_write(d, 1 << 20, buf, 0, NULL) == MC_OK);
    CHECK(mc_dram_sync(d, NULL) == MC_OK);
    mc_dram_destroy(d);
    mc_dram_destroy(NULL);
}

static void test_bounds(void)
{
    struct mc_dram *d = mk(64 * 1024, NULL);
    if (!d)
        return;
    struct mc_error e;
    uint8_t buf[64];
    memset(buf, 0x33, sizeof buf);
    CHECK(mc_dram_write(d, 64 * 1024 - 32, buf, 64, &e) == MC_E_RANGE && e.code == MC_E_RANGE);
    CHECK_EQ_U64(mc_dram_frames_touched(d), 0); /* nothing changed */
    CHECK(mc_dram_read(d, 64 * 1024 - 32, buf, 64, NULL) == MC_E_RANGE);
    CHECK(mc_dram_read(d, 64 * 1024 + 1, buf, 0, NULL) == MC_E_RANGE);
    CHECK(mc_dram_write(d, UINT64_MAX - 10, buf, 64, NULL) == MC_E_RANGE);
    CHECK(mc_dram_read(d, 16, buf, SIZE_MAX, NULL) == MC_E_RANGE);
    CHECK(mc_dram_write(d, 0, NULL, 4, NULL) == MC_E_INVAL);
    CHECK(mc_dram_read(d, 0, NULL, 4, NULL) == MC_E_INVAL);
    CHECK(mc_dram_read(NULL, 0, buf, 4, NULL) == MC_E_INVAL);
    CHECK(mc_dram_sync(NULL, NULL) == MC_E_INVAL);
    CHECK(mc_dram_frame(d, 16, true) == NULL); /* pfn 16 is past the end */
    CHECK(mc_dram_frame(d, UINT64_MAX, true) == NULL);
    CHECK(mc_dram_frame(NULL, 0, true) == NULL);
    CHECK_EQ_U64(mc_dram_frames_touched(d), 0);
    CHECK_EQ_U64(mc_dram_size(NULL), 0);
    CHECK_EQ_U64(mc_dram_frames_touched(NULL), 0);
    mc_dram_destroy(d);
    /* bad configurations */
    struct mc_dram *x = NULL;
    struct mc_dram_config cfg = {0};
    CHECK(mc_dram_create(&cfg, &x, NULL) == MC_E_RANGE);
    cfg.size = 4097;
    CHECK(mc_dram_create(&cfg, &x, NULL) == MC_E_RANGE);
    cfg.size = (1ull << 52) + 4096;
    CHECK(mc_dram_create(&cfg, &x, NULL) == MC_E_RANGE);
    cfg.size = UINT64_MAX & ~4095ull;
    CHECK(mc_dram_create(&cfg, &x, NULL) == MC_E_RANGE);
    CHECK(mc_dram_create(NULL, &x, NULL) == MC_E_INVAL);
    cfg.size = 4096;
    CHECK(mc_dram_create(&cfg, NULL, NULL) == MC_E_INVAL);
    CHECK(x == NULL);
}

static void test_huge(void)
{
    static const uint64_t sizes[] = {1ull << 40, 1ull << 52};
    for (size_t i = 0; i < 2; i++) {
        uint64_t sz = sizes[i];
        struct mc_dram *d = mk(sz, NULL);
        if (!d)
            continue;
        uint8_t top[64], bot[64], b[64];
        memset(top, 0x7e, sizeof top);
        memset(bot, 0x81, sizeof bot);
        CHECK(mc_dram_write(d, sz - 64, top, 64, NULL) == MC_OK);
        CHECK(mc_dram_write(d, 0, bot, 64, NULL) == MC_OK);
        CHECK_EQ_U64(mc_dram_frames_touched(d), 2);
        CHECK(mc_dram_read(d, sz - 64, b, 64, NULL) == MC_OK);
        CHECK_MEM(b, top, 64);
        CHECK(mc_dram_read(d, 0, b, 64, NULL) == MC_OK);
        CHECK_MEM(b, bot, 64);
        CHECK(mc_dram_read(d, sz / 2, b, 64, NULL) == MC_OK && b[0] == 0 && b[63] == 0);
        CHECK(mc_dram_write(d, sz - 32, top, 64, NULL) == MC_E_RANGE);
        CHECK(mc_dram_frame(d, (sz >> 12) - 1, false) != NULL);
        CHECK(mc_dram_frame(d, sz >> 12, true) == NULL);
        CHECK_EQ_U64(mc_dram_frames_touched(d), 2);
        mc_dram_destroy(d);
    }
}

static void tmp_path(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "%s/test_dram_%s_%ld.img", MC_BINARY_DIR, tag, (long)getpid());
    unlink(buf);
}

static void test_file_backing(void)
{
    char path[512];
    tmp_path(path, sizeof path, "file");
    const uint64_t sz = 1ull << 30;
    struct mc_dram *d = mk(sz, path);
    if (!d)
        return;
    struct stat st;
    CHECK(stat(path, &st) == 0 && (uint64_t)st.st_size == sz);
    CHECK((uint64_t)st.st_blocks * 512 < 1u << 20); /* sparse */
    CHECK_EQ_U64(mc_dram_frames_touched(d), 0);
    uint8_t msg[100];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(0xc0 ^ i);
    CHECK(mc_dram_write(d, 0x12345678, msg, sizeof msg, NULL) == MC_OK);
    CHECK(mc_dram_write(d, sz - 4096, msg, sizeof msg, NULL) == MC_OK);
    CHECK_EQ_U64(mc_dram_frames_touched(d), 2);
    CHECK(mc_dram_sync(d, NULL) == MC_OK);
    /* the file holds exactly what the chips hold */
    int fd = open(path, O_RDONLY);
    uint8_t fb[100];
    CHECK(fd >= 0 && pread(fd, fb, sizeof fb, 0x12345678) == (ssize_t)sizeof fb);
    CHECK_MEM(fb, msg, sizeof msg);
    if (fd >= 0)
        close(fd);
    mc_dram_destroy(d);
    /* reopen: same contents, touched frames found from the file's data extents */
    d = mk(sz, path);
    if (d) {
        uint8_t b[100];
        CHECK(mc_dram_read(d, 0x12345678, b, sizeof b, NULL) == MC_OK);
        CHECK_MEM(b, msg, sizeof msg);
        CHECK(mc_dram_read(d, sz - 4096, b, sizeof b, NULL) == MC_OK);
        CHECK_MEM(b, msg, sizeof msg);
        CHECK(mc_dram_read(d, 0x40000000 - 0x20000000, b, sizeof b, NULL) == MC_OK && b[0] == 0);
        CHECK(mc_dram_frames_touched(d) >= 2);
        printf("  reopened: %llu frames touched\n", (unsigned long long)mc_dram_frames_touched(d));
        mc_dram_destroy(d);
    }
    /* a different size refuses to resize the file */
    struct mc_dram_config cfg = {.size = sz * 2, .backing_file = path};
    struct mc_dram *x = NULL;
    struct mc_error e;
    CHECK(mc_dram_create(&cfg, &x, &e) == MC_E_RANGE && x == NULL);
    CHECK(stat(path, &st) == 0 && (uint64_t)st.st_size == sz);
    unlink(path);
    /* unusable paths */
    cfg.size = 4096;
    cfg.backing_file = "/nonexistent-dir/x.img";
    CHECK(mc_dram_create(&cfg, &x, &e) == MC_E_IO);
    cfg.backing_file = "/tmp";
    CHECK(mc_dram_create(&cfg, &x, &e) == MC_E_IO);
    cfg.size = 1ull << 52;
    tmp_path(path, sizeof path, "huge");
    cfg.backing_file = path;
    CHECK(mc_dram_create(&cfg, &x, &e) == MC_E_UNSUPPORTED);
    unlink(path);
}

static void test_file_backing_1tib(void)
{
    char path[512];
    tmp_path(path, sizeof path, "tib");
    const uint64_t sz = 1ull << 40;
    struct mc_dram *d = mk(sz, path);
    if (!d) {
        unlink(path);
        return;
    }
    uint8_t a[64], b[64];
    memset(a, 0x5c, sizeof a);
    CHECK(mc_dram_write(d, sz - 64, a, 64, NULL) == MC_OK);
    CHECK(mc_dram_write(d, 0, a, 64, NULL) == MC_OK);
    CHECK_EQ_U64(mc_dram_frames_touched(d), 2);
    CHECK(mc_dram_sync(d, NULL) == MC_OK);
    mc_dram_destroy(d);
    d = mk(sz, path);
    if (d) {
        CHECK(mc_dram_read(d, sz - 64, b, 64, NULL) == MC_OK);
        CHECK_MEM(a, b, 64);
        CHECK_EQ_U64(mc_dram_frames_touched(d), 2);
        mc_dram_destroy(d);
    }
    struct stat st;
    CHECK(stat(path, &st) == 0 && (uint64_t)st.st_blocks * 512 < (1u << 22));
    unlink(path);
}

/* Resident set of this process, in bytes (/proc/self/statm). */
static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%llu %llu", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Runs: contiguous host memory up to a 1 GiB boundary; reads of never-written chunks are NULL;
 * a run write counts its frames once; untouched memory costs no resident memory. */
static void test_runs_and_sparse(void)
{
    const uint64_t sz = 1ull << 44; /* 16 TiB */
    uint64_t rss0 = rss_bytes();
    struct mc_dram *d = mk(sz, NULL);
    if (!d)
        return;
    const uint64_t gib = 1ull << 30, pa = 5 * gib - 8192; /* two frames below a chunk boundary */
    size_t n = 6 * 4096;
    CHECK(mc_dram_run(d, pa, &n, false) == NULL && n == 8192); /* never written, shortened at the boundary */
    n = 6 * 4096;
    uint8_t *p = mc_dram_run(d, pa, &n, true);
    CHECK(p != NULL && n == 8192);
    CHECK_EQ_U64(mc_dram_frames_touched(d), 2);
    if (p)
        memset(p, 0x11, n);
    n = 4096;
    uint8_t *q = mc_dram_run(d, 5 * gib, &n, true);
    CHECK(q != NULL && n == 4096);
    if (q)
        memset(q, 0x22, n);
    CHECK_EQ_U64(mc_dram_frames_touched(d), 3);
    /* the raw port sees both chunks as one range */
    uint8_t b[3 * 4096];
    CHECK(mc_dram_read(d, pa, b, sizeof b, NULL) == MC_OK);
    CHECK(b[0] == 0x11 && b[8191] == 0x11 && b[8192] == 0x22 && b[sizeof b - 1] == 0x22);
    /* a read run over written and unwritten frames of a mapped chunk gives zeros for the latter */
    n = 4 * 4096;
    const uint8_t *r = mc_dram_run(d, 5 * gib, &n, false);
    CHECK(r != NULL && n == 4 * 4096 && r[0] == 0x22 && r[4096] == 0 && r[n - 1] == 0);
    CHECK_EQ_U64(mc_dram_frames_touched(d), 3); /* reading touches nothing */
    CHECK(mc_dram_frame(d, (5 * gib >> 12) + 1, false) == NULL);
    /* a write run of 64 MiB costs 64 MiB, the rest of the 16 TiB nothing */
    static uint8_t piece[1u << 20];
    memset(piece, 0x5a, sizeof piece);
    for (uint64_t o = 0; o < (64u << 20); o += sizeof piece)
        CHECK(mc_dram_write(d, sz - (64u << 20) - gib + o, piece, sizeof piece, NULL) == MC_OK);
    CHECK_EQ_U64(mc_dram_frames_touched(d), 3 + (64u << 20) / 4096);
    uint64_t grown = rss_bytes() - rss0;
    printf("  16 TiB DRAM, 64 MiB + 3 frames written: resident set grew by %.1f MiB\n", grown / 1048576.0);
    CHECK(grown < (64u << 20) + (8u << 20)); /* the written frames plus bitmaps and tables */
    mc_dram_destroy(d);
}

/* The file-backed mode keeps the anonymous mode's layout: the same writes give a file whose
 * bytes equal what the anonymous DRAM's raw port reads, over several chunks. */
static void test_file_identity(void)
{
    char path[512];
    tmp_path(path, sizeof path, "ident");
    const uint64_t sz = 3ull << 30;
    struct mc_dram *a = mk(sz, NULL), *f = mk(sz, path);
    if (!a || !f) {
        mc_dram_destroy(a);
        mc_dram_destroy(f);
        unlink(path);
        return;
    }
    uint8_t buf[20000];
    uint64_t seed = 0x1234567;
    uint64_t pas[24];
    for (int k = 0; k < 24; k++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t pa = (seed >> 16) % (sz - sizeof buf);
        if (k < 4) /* across each chunk boundary and at the very end */
            pa = k < 3 ? ((uint64_t)(k + 1) << 30) - 5000 : sz - sizeof buf;
        pas[k] = pa;
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (uint8_t)(seed >> (i % 48) ^ i);
        size_t len = 1 + (size_t)(seed % sizeof buf);
        CHECK(mc_dram_write(a, pa, buf, len, NULL) == MC_OK && mc_dram_write(f, pa, buf, len, NULL) == MC_OK);
    }
    CHECK_EQ_U64(mc_dram_frames_touched(a), mc_dram_frames_touched(f));
    CHECK(mc_dram_sync(f, NULL) == MC_OK);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    uint8_t x[24576], y[24576];
    for (int k = 0; fd >= 0 && k < 24; k++) {
        uint64_t pa = pas[k] & ~4095ull;
        size_t n = sz - pa < sizeof x ? (size_t)(sz - pa) : sizeof x;
        CHECK(mc_dram_read(a, pa, x, n, NULL) == MC_OK);
        CHECK(pread(fd, y, n, (off_t)pa) == (ssize_t)n);
        CHECK_MEM(x, y, n);
    }
    if (fd >= 0)
        close(fd);
    mc_dram_destroy(a);
    mc_dram_destroy(f);
    unlink(path);
}

int main(void)
{
    RUN(test_sparse_basics);
    RUN(test_bounds);
    RUN(test_huge);
    RUN(test_file_backing);
    RUN(test_file_backing_1tib);
    RUN(test_runs_and_sparse);
    RUN(test_file_identity);
    return check_summary();
}
