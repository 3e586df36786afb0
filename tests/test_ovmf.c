/* Tests of the OVMF footer GUID table / SEV metadata parser: Debian's real images, the reference
 * calculator's AmdSev fixture, and hand-built hostile images (sizes pointing outside the file,
 * bad signatures, overlapping or misaligned sections, duplicated entries, truncations). */
#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/ovmf.h>

#include "check.h"

static uint8_t *load(const char *path, size_t *n)
{
    uint8_t *b = NULL;
    struct mc_error e;
    if (mc_file_read(path, MC_OVMF_MAX_SIZE, &b, n, &e) != MC_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, e.msg);
        return NULL;
    }
    return b;
}

static void test_debian_ovmf(void)
{
    size_t n;
    uint8_t *b = load(MC_OVMF_DIR "/OVMF.fd", &n);
    CHECK(b != NULL);
    if (!b)
        return;
    struct mc_ovmf o;
    struct mc_error e;
    CHECK(mc_ovmf_parse(b, n, MC_OVMF_FOUR_GB, &o, &e) == MC_OK);
    CHECK_EQ_U64(o.gpa, MC_OVMF_FOUR_GB - n);
    CHECK(o.has_table && o.has_reset_block && o.has_metadata);
    /* The AP reset address lies inside the SEC memory OVMF declares (below 16 MiB). */
    CHECK(o.reset_eip > 0x800000 && o.reset_eip < 0x1000000);
    CHECK(o.nsections >= 3);
    CHECK(mc_ovmf_has_section(&o, MC_OVMF_SNP_SECRETS));
    CHECK(mc_ovmf_has_section(&o, MC_OVMF_CPUID));
    CHECK(!mc_ovmf_has_section(&o, MC_OVMF_SNP_KERNEL_HASHES));
    for (size_t i = 0; i < o.nsections; i++) {
        CHECK((o.sections[i].gpa & 0xfff) == 0);
        CHECK(mc_ovmf_section_name(o.sections[i].type) != NULL);
    }
    /* Every truncated tail either parses or fails cleanly; none may crash. */
    for (size_t cut = 1; cut < 4096; cut += 7) {
        struct mc_ovmf t;
        mc_status st = mc_ovmf_parse(b, n - cut, MC_OVMF_FOUR_GB, &t, &e);
        CHECK(st == MC_OK || e.msg[0] != 0);
    }
    free(b);
}

static void test_amdsev_fixture(void)
{
    size_t n;
    uint8_t *b = load(MC_TEST_DATA "/snp-measure/ovmf_AmdSev_suffix.bin", &n);
    CHECK(b != NULL);
    if (!b)
        return;
    struct mc_ovmf o;
    CHECK(mc_ovmf_parse(b, n, MC_OVMF_FOUR_GB, &o, NULL) == MC_OK);
    CHECK(mc_ovmf_has_section(&o, MC_OVMF_SNP_KERNEL_HASHES));
    CHECK(mc_ovmf_has_section(&o, MC_OVMF_SVSM_CAA));
    CHECK(o.has_hashes && o.hashes_gpa != 0 && o.hashes_size >= 0xb0);
    CHECK(o.has_secret);
    free(b);
}

/* ---- hand-built images ---------------------------------------------------------------- */

struct img {
    uint8_t b[16384];
    size_t n;       /* image size */
    size_t tstart;  /* where the next entry goes (entries grow downwards from the footer) */
};

static void img_init(struct img *m)
{
    memset(m, 0, sizeof *m);
    m->n = sizeof m->b;
    m->tstart = m->n - 32 - 18;
}

static void img_entry(struct img *m, const char *guid, const uint8_t *data, size_t dlen)
{
    size_t esz = dlen + 18;
    size_t at = m->tstart - esz;
    memcpy(m->b + at, data, dlen);
    mc_put_le16(m->b + at + dlen, (uint16_t)esz);
    mc_guid_parse(guid, m->b + at + dlen + 2, NULL);
    m->tstart = at;
}

static void img_finish(struct img *m)
{
    size_t footer = m->n - 32 - 18;
    mc_put_le16(m->b + footer, (uint16_t)(footer - m->tstart + 18));
    mc_guid_parse(MC_OVMF_GUID_TABLE_FOOTER, m->b + footer + 2, NULL);
}

/* Metadata at image offset 0x1000 with the given sections. */
static void img_metadata(struct img *m, const uint32_t (*sec)[3], uint32_t nsec)
{
    uint8_t *h = m->b + 0x1000;
    memcpy(h, "ASEV", 4);
    mc_put_le32(h + 4, 16 + 12 * nsec);
    mc_put_le32(h + 8, 1);
    mc_put_le32(h + 12, nsec);
    for (uint32_t i = 0; i < nsec; i++)
        for (int k = 0; k < 3; k++)
            mc_put_le32(h + 16 + 12 * i + 4 * k, sec[i][k]);
    uint8_t off[4];
    mc_put_le32(off, (uint32_t)(m->n - 0x1000));
    img_entry(m, MC_OVMF_GUID_SEV_METADATA, off, 4);
}

static mc_status parse(struct img *m, struct mc_ovmf *o, struct mc_error *e)
{
    return mc_ovmf_parse(m->b, m->n, MC_OVMF_FOUR_GB, o, e);
}

static void test_built_image(void)
{
    struct img m;
    img_init(&m);
    uint8_t eip[4];
    mc_put_le32(eip, 0x80b004);
    img_entry(&m, MC_OVMF_GUID_SEV_ES_RESET_BLOCK, eip, 4);
    static const uint32_t sec[][3] = {{0x800000, 0x9000, 1}, {0x80d000, 0x1000, 2}, {0x80e000, 0x1000, 3}};
    img_metadata(&m, sec, 3);
    img_finish(&m);
    struct mc_ovmf o;
    struct mc_error e;
    CHECK(parse(&m, &o, &e) == MC_OK);
    CHECK(o.has_reset_block && o.reset_eip == 0x80b004);
    CHECK_EQ_U64(o.nsections, 3);
    CHECK(o.sections[1].type == MC_OVMF_SNP_SECRETS && o.sections[1].gpa == 0x80d000);
    CHECK(!o.has_hashes && !o.has_svsm_info);
}

static void expect_bad(struct img *m, const char *needle)
{
    struct mc_ovmf o;
    memset(&o, 0xA5, sizeof o);
    struct mc_ovmf before = o;
    struct mc_error e = {0};
    mc_status st = parse(m, &o, &e);
    CHECK_MSG(st != MC_OK && strstr(e.msg, needle), "want '%s', got %d '%s'", needle, st, e.msg);
    CHECK(memcmp(&o, &before, sizeof o) == 0); /* untouched on failure */
}

static void test_hostile_images(void)
{
    struct img m;
    static const uint32_t ok1[][3] = {{0x800000, 0x2000, 1}};

    /* Table size pointing before the start of the file. */
    img_init(&m);
    img_finish(&m);
    mc_put_le16(m.b + m.n - 50, 0xffff);
    m.n = 4096; /* shrink: keep the footer at the end */
    memmove(m.b, m.b + sizeof m.b - 4096, 4096);
    mc_put_le16(m.b + m.n - 50, 0xffff);
    expect_bad(&m, "points before the start");

    /* Table size smaller than the footer itself. */
    img_init(&m);
    img_finish(&m);
    mc_put_le16(m.b + m.n - 50, 5);
    expect_bad(&m, "smaller than its own");

    /* An entry whose size runs beyond the table. */
    img_init(&m);
    uint8_t eip[4] = {4, 0xb0, 0x80, 0};
    img_entry(&m, MC_OVMF_GUID_SEV_ES_RESET_BLOCK, eip, 4);
    img_finish(&m);
    mc_put_le16(m.b + m.n - 50 - 18, 0x400);
    expect_bad(&m, "beyond the table");

    /* An entry size below 18. */
    img_init(&m);
    img_entry(&m, MC_OVMF_GUID_SEV_ES_RESET_BLOCK, eip, 4);
    img_finish(&m);
    mc_put_le16(m.b + m.n - 50 - 18, 3);
    expect_bad(&m, "less than 18");

    /* A reset block too short to hold its address. */
    img_init(&m);
    img_entry(&m, MC_OVMF_GUID_SEV_ES_RESET_BLOCK, eip, 2);
    img_finish(&m);
    expect_bad(&m, "needs 4");

    /* The same entry twice. */
    img_init(&m);
    img_entry(&m, MC_OVMF_GUID_SEV_ES_RESET_BLOCK, eip, 4);
    img_entry(&m, MC_OVMF_GUID_SEV_ES_RESET_BLOCK, eip, 4);
    img_finish(&m);
    expect_bad(&m, "twice");

    /* Metadata offset outside the image. */
    img_init(&m);
    uint8_t off[4];
    mc_put_le32(off, 0x100000);
    img_entry(&m, MC_OVMF_GUID_SEV_METADATA, off, 4);
    img_finish(&m);
    expect_bad(&m, "outside");

    /* Bad signature, bad version, too many sections, length too short. */
    img_init(&m);
    img_metadata(&m, ok1, 1);
    img_finish(&m);
    m.b[0x1000] = 'X';
    expect_bad(&m, "ASEV");
    m.b[0x1000] = 'A';
    mc_put_le32(m.b + 0x1008, 2);
    expect_bad(&m, "version 2");
    mc_put_le32(m.b + 0x1008, 1);
    mc_put_le32(m.b + 0x100c, 1000);
    expect_bad(&m, "at most");
    mc_put_le32(m.b + 0x100c, 1);
    mc_put_le32(m.b + 0x1004, 20);
    expect_bad(&m, "does not fit");
    mc_put_le32(m.b + 0x1004, 0xfffffff0);
    expect_bad(&m, "does not fit");

    /* Misaligned, wrapping and overlapping sections. */
    static const uint32_t mis[][3] = {{0x800800, 0x1000, 1}};
    img_init(&m);
    img_metadata(&m, mis, 1);
    img_finish(&m);
    expect_bad(&m, "not 4 KiB aligned");
    static const uint32_t wrap[][3] = {{0xfffff000, 0x2000, 1}};
    img_init(&m);
    img_metadata(&m, wrap, 1);
    img_finish(&m);
    expect_bad(&m, "wraps");
    static const uint32_t ovl[][3] = {{0x800000, 0x3000, 1}, {0x802000, 0x1000, 2}};
    img_init(&m);
    img_metadata(&m, ovl, 2);
    img_finish(&m);
    expect_bad(&m, "overlap");

    /* Sizes: empty, oversized, and an image that cannot end at 4 GiB. */
    struct mc_ovmf o;
    struct mc_error e;
    CHECK(mc_ovmf_parse(m.b, 0, MC_OVMF_FOUR_GB, &o, &e) == MC_E_FORMAT);
    CHECK(mc_ovmf_parse(m.b, (size_t)MC_OVMF_MAX_SIZE + 1, MC_OVMF_FOUR_GB, &o, &e) == MC_E_RANGE);
    CHECK(mc_ovmf_parse(m.b, 8192, 4096, &o, &e) == MC_E_RANGE);
    CHECK(mc_ovmf_parse(NULL, 10, MC_OVMF_FOUR_GB, &o, &e) == MC_E_INVAL);

    /* A file with no table at all parses (no entries) — callers then refuse what they need. */
    uint8_t plain[8192] = {0};
    CHECK(mc_ovmf_parse(plain, sizeof plain, MC_OVMF_FOUR_GB, &o, &e) == MC_OK && !o.has_table &&
          !o.has_reset_block && o.nsections == 0);
    CHECK(mc_ovmf_parse(plain, 10, MC_OVMF_FOUR_GB, &o, &e) == MC_OK && !o.has_table);
}

static void test_guid(void)
{
    uint8_t g[16];
    /* EFI byte order of the table footer GUID, as stored in real images. */
    static const uint8_t want[16] = {0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
                                     0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d};
    CHECK(mc_guid_parse(MC_OVMF_GUID_TABLE_FOOTER, g, NULL) == MC_OK && !memcmp(g, want, 16));
    CHECK(mc_guid_parse("96b582de-1fb2-45f7-baea-a366c55a082", g, NULL) != MC_OK);
    CHECK(mc_guid_parse("96b582de+1fb2-45f7-baea-a366c55a082d", g, NULL) != MC_OK);
    CHECK(mc_guid_parse("96b582dg-1fb2-45f7-baea-a366c55a082d", g, NULL) != MC_OK);
}

int main(void)
{
    RUN(test_debian_ovmf);
    RUN(test_amdsev_fixture);
    RUN(test_built_image);
    RUN(test_hostile_images);
    RUN(test_guid);
    return check_summary();
}
