/* The SNP firmware's CPUID check (LAUNCH_UPDATE page type CPUID, MSG_CPUID_REQ).
 *
 * The hypervisor proposes the CPUID values an SNP guest will trust; the firmware checks each entry
 * of the standard (Fn0000_xxxx) and extended (Fn8000_xxxx) ranges against what it allows on this
 * processor and corrects the ones that ask for more. Decisions (docs/snp-platform.md):
 *   - The table is AMD's, from its published SEV firmware for Genoa (1.55, cpuid_lookup.c): per
 *     leaf/sub-leaf a rule per register — EX exact value, MK only these bits, LE at most this
 *     value, UN unchecked, NX the leaf does not exist (silently zeroed, not a failure) — and the
 *     reserved bits that must be zero; eight leaves have their own rules (CU, below). memcrypt
 *     applies it on every SNP profile; what the firmware reads from the hardware (family, model and
 *     stepping; the C-bit position) comes from the emulated processor.
 *   - An architectural leaf the table does not list must read all zero.
 *   - A non-zero reserved field in an entry fails the entry (it is not corrected).
 *   - Failures collect: every entry is checked and corrected, then the check fails if any needed
 *     correcting (INVALID_PARAM). Entries outside both ranges are left alone.
 * LAUNCH_UPDATE then writes the corrected page back and fails (psp_snp_guest.c); when the check
 * passes the (possibly silently zeroed) table is what the guest gets. */
#include <string.h>

#include <memcrypt/bytes.h>

#include "fw/psp_snp.h"

#define F(S, f) offsetof(struct S, f)

enum { EX, MK, CU, LE, UN, NX };

struct leaf_rule {
    uint32_t leaf, sub;
    unsigned custom; /* 0: the generic rules; else which custom check */
    uint32_t val[4], rsvd[4];
    uint8_t rule[4];
};

/* AMD Genoa 1.55 (facts: the values of its table). */
static const struct leaf_rule table[] = {
    {0x00000000, 0x0, 0, {0x00000010, 0x68747541, 0x444d4163, 0x69746e65}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {LE, UN, UN, UN}},
    {0x00000001, 0x0, 1, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {CU, CU, CU, CU}},
    {0x00000002, 0x0, 0, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {UN, UN, UN, UN}},
    {0x00000004, 0x0, 0, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {UN, UN, UN, UN}},
    {0x00000005, 0x0, 0, {0x00000040, 0x00000040, 0x00000003, 0x00000011}, {0xffff0000, 0xffff0000, 0xfffffffc, 0xffffff00}, {UN, UN, UN, UN}},
    {0x00000006, 0x0, 0, {0x00000004, 0x00000000, 0x00000001, 0x00000000}, {0xfffffffb, 0xffffffff, 0xfffffffe, 0xffffffff}, {MK, EX, MK, EX}},
    {0x00000007, 0x0, 2, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {CU, CU, CU, CU}},
    {0x00000007, 0x1, 0, {0x00000020, 0x00000000, 0x00000000, 0x00000000}, {0xffffffdf, 0xffffffff, 0xffffffff, 0xffffffff}, {MK, EX, EX, EX}},
    {0x0000000b, 0x0, 0, {0x00000001, 0x00000003, 0x00000100, 0xffffffff}, {0xffffffe0, 0xffff0000, 0xffff0000, 0x00000000}, {UN, UN, UN, UN}},
    {0x0000000b, 0x1, 0, {0x00000007, 0x000000ff, 0x00000201, 0xffffffff}, {0xffffffe0, 0xffff0000, 0xffff0000, 0x00000000}, {UN, UN, UN, UN}},
    {0x0000000b, 0x2, 0, {0x00000000, 0x00000000, 0x00000002, 0xffffffff}, {0xffffffe0, 0xffff0000, 0xffff0000, 0x00000000}, {UN, UN, UN, UN}},
    {0x0000000d, 0x0, 3, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {CU, CU, CU, CU}},
    {0x0000000d, 0x1, 4, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {CU, CU, CU, CU}},
    {0x0000000d, 0x2, 0, {0x00000100, 0x00000240, 0x00000000, 0x00000000}, {0x00000000, 0x00000000, 0xfffffffc, 0xffffffff}, {EX, EX, EX, EX}},
    {0x0000000d, 0x5, 0, {0x00000040, 0x00000340, 0x00000003, 0x00000000}, {0x00000000, 0x00000000, 0xfffffffc, 0xffffffff}, {EX, EX, MK, EX}},
    {0x0000000d, 0x6, 0, {0x00000200, 0x00000380, 0x00000003, 0x00000000}, {0x00000000, 0x00000000, 0xfffffffc, 0xffffffff}, {EX, EX, MK, EX}},
    {0x0000000d, 0x7, 0, {0x00000400, 0x00000580, 0x00000003, 0x00000000}, {0x00000000, 0x00000000, 0xfffffffc, 0xffffffff}, {EX, EX, MK, EX}},
    {0x0000000d, 0x9, 0, {0x00000008, 0x00000980, 0x00000000, 0x00000000}, {0x00000000, 0x00000000, 0xfffffffc, 0xffffffff}, {EX, EX, EX, EX}},
    {0x0000000d, 0xb, 0, {0x00000010, 0x00000000, 0x00000001, 0x00000000}, {0x00000000, 0x00000000, 0xfffffffc, 0xffffffff}, {EX, EX, EX, EX}},
    {0x0000000d, 0xc, 0, {0x00000018, 0x00000000, 0x00000001, 0x00000000}, {0x00000000, 0x00000000, 0xfffffffc, 0xffffffff}, {EX, EX, EX, EX}},
    {0x0000000f, 0x0, 0, {0x00000000, 0x000000ff, 0x00000000, 0x00000002}, {0xffffffff, 0x00000000, 0xffffffff, 0xfffffffd}, {EX, UN, EX, UN}},
    {0x0000000f, 0x1, 0, {0x00000000, 0x00000040, 0x000000ff, 0x00000007}, {0xfffffe00, 0x00000000, 0x00000000, 0xfffffff8}, {UN, UN, UN, UN}},
    {0x00000010, 0x0, 0, {0x00000000, 0x00000002, 0x00000000, 0x00000000}, {0xffffffff, 0xfffffff9, 0xffffffff, 0xffffffff}, {EX, UN, EX, EX}},
    {0x00000010, 0x1, 0, {0x0000000f, 0x00000000, 0x00000004, 0x0000000f}, {0xffffffe0, 0x00000000, 0xfffffffb, 0xffff0000}, {UN, UN, UN, UN}},
    {0x80000000, 0x0, 0, {0x80000028, 0x68747541, 0x444d4163, 0x69746e65}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {LE, UN, UN, UN}},
    {0x80000001, 0x0, 5, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {CU, CU, CU, CU}},
    {0x80000002, 0x0, 0, {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {UN, UN, UN, UN}},
    {0x80000003, 0x0, 0, {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {UN, UN, UN, UN}},
    {0x80000004, 0x0, 0, {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {UN, UN, UN, UN}},
    {0x80000005, 0x0, 0, {0xff40ff40, 0xff40ff40, 0x20080140, 0x20080140}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {UN, UN, UN, UN}},
    {0x80000006, 0x0, 0, {0x48002200, 0x68004200, 0x02006140, 0xffffffff}, {0x00000000, 0x00000000, 0x00000000, 0x00030000}, {UN, UN, UN, UN}},
    {0x80000007, 0x0, 0, {0x00000000, 0x0000003b, 0x00000000, 0x00006799}, {0xffffffff, 0xffffffc0, 0x00000000, 0xffff8026}, {EX, MK, UN, MK}},
    {0x80000008, 0x0, 6, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {CU, CU, CU, CU}},
    {0x8000000a, 0x0, 0, {0x00000001, 0x0000ffff, 0x00000000, 0x1fbfbcff}, {0xffffff00, 0x00000000, 0xffffffff, 0xe0404300}, {UN, UN, EX, MK}},
    {0x80000019, 0x0, 0, {0xf040f040, 0xf0400000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000, 0xffffffff, 0xffffffff}, {UN, UN, EX, EX}},
    {0x8000001a, 0x0, 0, {0x00000006, 0x00000000, 0x00000000, 0x00000000}, {0xfffffff8, 0xffffffff, 0xffffffff, 0xffffffff}, {UN, EX, EX, EX}},
    {0x8000001b, 0x0, 0, {0x00000bff, 0x00000000, 0x00000000, 0x00000000}, {0xfffff000, 0xffffffff, 0xffffffff, 0xffffffff}, {MK, EX, EX, EX}},
    {0x8000001d, 0x0, 0, {0x03ffc121, 0x01c0003f, 0x0000003f, 0x00000000}, {0xfc003c00, 0x00000000, 0x00000000, 0xfffffffc}, {UN, UN, UN, UN}},
    {0x8000001d, 0x1, 0, {0x03ffc122, 0x01c0003f, 0x0000003f, 0x00000000}, {0xfc003c00, 0x00000000, 0x00000000, 0xfffffffc}, {UN, UN, UN, UN}},
    {0x8000001d, 0x2, 0, {0x03ffc143, 0x01c0003f, 0x000003ff, 0x00000002}, {0xfc003c00, 0x00000000, 0x00000000, 0xfffffffc}, {UN, UN, UN, UN}},
    {0x8000001d, 0x3, 0, {0x03ffc163, 0x03c0003f, 0x0000ffff, 0x00000001}, {0xfc003c00, 0x00000000, 0x00000000, 0xfffffffc}, {UN, UN, UN, UN}},
    {0x8000001d, 0x4, 0, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0xfffffff0, 0xffffffff, 0x00000000, 0xffffffff}, {UN, EX, UN, EX}},
    {0x8000001e, 0x0, 0, {0xffffffff, 0x0000ffff, 0x000000ff, 0x00000000}, {0x00000000, 0xffff0000, 0xfffff800, 0xffffffff}, {UN, UN, UN, UN}},
    {0x8000001f, 0x0, 7, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {CU, CU, CU, CU}},
    {0x80000020, 0x0, 0, {0x00000000, 0x0000001e, 0x00000000, 0x00000000}, {0xffffffff, 0xffffffe1, 0xffffffff, 0xffffffff}, {EX, UN, EX, EX}},
    {0x80000020, 0x1, 0, {0x0000000b, 0x00000000, 0x00000000, 0x0000000f}, {0x00000000, 0xffffffff, 0xffffffff, 0x00000000}, {UN, EX, EX, UN}},
    {0x80000020, 0x2, 0, {0x0000000b, 0x00000000, 0x00000000, 0x0000000f}, {0x00000000, 0xffffffff, 0xffffffff, 0x00000000}, {UN, EX, EX, UN}},
    {0x80000020, 0x3, 0, {0x00000000, 0x00000002, 0x0000007f, 0x00000000}, {0x00000000, 0x00000000, 0xffffff80, 0x00000000}, {EX, UN, MK, EX}},
    {0x80000021, 0x0, 0, {0x18062fcf, 0x00000000, 0x00000000, 0x00000000}, {0xe7f9d020, 0xfffff000, 0xffffffff, 0xffffffff}, {MK, UN, EX, EX}},
    {0x80000022, 0x0, 8, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {CU, CU, CU, CU}},
    {0x80000023, 0x0, 0, {0x00000001, 0x00000063, 0x00000000, 0x00000000}, {0xfffffffe, 0x00000000, 0xffffffff, 0xffffffff}, {MK, UN, EX, EX}},
    {0x80000024, 0x0, 0, {0x00000001, 0x00000001, 0x00000001, 0x00000000}, {0x00000000, 0xfffffffe, 0xfffffffc, 0xffffffff}, {LE, MK, MK, EX}},
    {0x80000024, 0x1, 0, {0x00000107, 0x00000000, 0x00000000, 0x00000000}, {0xfffffe00, 0xffffffff, 0xffffffff, 0xffffffff}, {MK, EX, EX, EX}},
    {0x80000026, 0x0, 0, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {UN, UN, UN, UN}},
    {0x80000026, 0x1, 0, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {UN, UN, UN, UN}},
    {0x80000026, 0x2, 0, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {UN, UN, UN, UN}},
    {0x80000026, 0x3, 0, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000, 0x00000000, 0x00000000}, {UN, UN, UN, UN}},
};
/* Fn8000_0024 is SNP_FEATURE_INFO seen by the guest: ECX and EAX of sub-function 1 are this
 * firmware's (no X86_SNP_SHUTDOWN; CPUID, KEY, REPORT and TSC_INFO messages), not AMD's. */

/* One register check: v is checked and corrected in place; true when it needed correcting. */
static bool mask(uint32_t *v, uint32_t allowed, uint32_t dynamic)
{
    uint32_t chk = *v & ~dynamic;
    if ((chk & allowed) == chk)
        return false;
    *v &= allowed | dynamic;
    return true;
}
static bool rsvd(uint32_t *v, uint32_t r)
{
    if (!(*v & r))
        return false;
    *v &= ~r;
    return true;
}
static bool exact(uint32_t *v, uint32_t want)
{
    if (*v == want)
        return false;
    *v = want;
    return true;
}
static bool field_le(uint32_t *v, uint32_t fmask, unsigned shift, uint32_t max)
{
    if (((*v & fmask) >> shift) <= max)
        return false;
    *v = (*v & ~fmask) | (max << shift);
    return true;
}

static unsigned fms_family(uint32_t e) { return ((e >> 20) & 0xFF) + ((e >> 8) & 0xF); }
static unsigned fms_model(uint32_t e) { return (((e >> 16) & 0xF) << 4) + ((e >> 4) & 0xF); }

/* The guest may claim an older processor, never a newer one. */
static bool fms_le(uint32_t *v, uint32_t actual)
{
    unsigned fa = fms_family(actual), fb = fms_family(*v), ma = fms_model(actual), mb = fms_model(*v);
    if (fb < fa || (fb == fa && mb < ma) || (fb == fa && mb == ma && (*v & 0xF) <= (actual & 0xF)))
        return false;
    *v = actual;
    return true;
}

#define XCR0_AVX (1ull << 2)
#define XCR0_KREGS (1ull << 5)
#define XCR0_ZMMHI (1ull << 6)
#define XCR0_HIZMM (1ull << 7)
#define XCR0_MPK (1ull << 9)
#define XSS_CET_U (1ull << 11)
#define XSS_CET_S (1ull << 12)

/* The leaves with their own rules (AMD's custom checks), r = {eax, ebx, ecx, edx}. */
static bool custom(const struct mc_psp *psp, unsigned which, uint64_t xcr0, uint64_t xss, uint32_t r[4])
{
    bool f = false;
    switch (which) {
    case 1: /* Fn0000_0001 */
        f |= fms_le(&r[0], psp->snp.fms);
        f |= rsvd(&r[0], 0xF000F000u);
        if (((r[1] >> 8) & 0xFF) != 8) { /* CLFLUSH line size: exactly 8 (64 bytes) */
            r[1] = (r[1] & ~0xFF00u) | 0x800u;
            f = true;
        }
        f |= rsvd(&r[1], 0x000000FFu);
        f |= mask(&r[2], 0x76FA320Bu, 0x08000000u | 0x80000000u); /* OSXSAVE, RESHV are the OS's */
        f |= rsvd(&r[2], 0x0105CDF4u);
        f |= mask(&r[3], 0x178BFBFFu, 0);
        f |= rsvd(&r[3], 0xE8740400u);
        break;
    case 2: /* Fn0000_0007 sub-leaf 0 */
        if (r[0] > 1) {
            r[0] = 1;
            f = true;
        }
        f |= mask(&r[1], 0xF1BF97A9u, 0);
        f |= rsvd(&r[1], 0x0E006846u);
        f |= mask(&r[2], 0x00415FCEu, 0x00000010u); /* OSPKE is the OS's */
        f |= rsvd(&r[2], 0xFFBEA021u);
        f |= mask(&r[3], 0x10000010u, 0);
        f |= rsvd(&r[3], 0xEFFFFFEFu);
        break;
    case 3: { /* Fn0000_000D sub-leaf 0: XSAVE area size from XCR0 */
        if ((r[0] & 3u) != 3u) {
            r[0] |= 3u; /* x87 and SSE are always there */
            f = true;
        }
        f |= mask(&r[0], 0x000002E7u, 0);
        f |= rsvd(&r[0], 0xFFFFFD18u);
        uint32_t want = xcr0 & XCR0_MPK ? 0x988 : xcr0 & XCR0_HIZMM ? 0x980 : xcr0 & XCR0_ZMMHI ? 0x580
                      : xcr0 & XCR0_KREGS ? 0x380 : xcr0 & XCR0_AVX ? 0x340 : 0x240;
        f |= exact(&r[1], want);
        f |= exact(&r[3], 0);
        break;
    }
    case 4: { /* Fn0000_000D sub-leaf 1: compacted size from XCR0 | XSS */
        f |= mask(&r[0], 0xFu, 0);
        uint32_t want = 0x240 + (xcr0 & XCR0_MPK ? 0x8 : 0) + (xcr0 & XCR0_HIZMM ? 0x400 : 0) +
                        (xcr0 & XCR0_ZMMHI ? 0x200 : 0) + (xcr0 & XCR0_KREGS ? 0x40 : 0) + (xcr0 & XCR0_AVX ? 0x100 : 0) +
                        (xss & XSS_CET_U ? 0x10 : 0) + (xss & XSS_CET_S ? 0x18 : 0);
        f |= exact(&r[1], want);
        f |= mask(&r[2], 0x1800u, 0);
        f |= mask(&r[3], 0, 0);
        break;
    }
    case 5: /* Fn8000_0001 */
        f |= fms_le(&r[0], psp->snp.fms);
        f |= rsvd(&r[0], 0xF000F000u);
        f |= rsvd(&r[1], 0x0FFFFFFFu);
        f |= mask(&r[2], 0x75C237FFu, 0);
        f |= rsvd(&r[2], 0x803C4000u);
        f |= mask(&r[3], 0x2FD3FBFFu, 0);
        f |= rsvd(&r[3], 0x102C0400u);
        break;
    case 6: /* Fn8000_0008: address sizes, INVLPGB and RDPRU limits */
        f |= field_le(&r[0], 0xFFu, 0, 0x34);
        f |= field_le(&r[0], 0xFF00u, 8, 0x39);
        f |= field_le(&r[0], 0xFF0000u, 16, 0xFF);
        f |= rsvd(&r[0], 0xFF000000u);
        f |= mask(&r[1], 0x79BEF35Fu, 0);
        f |= rsvd(&r[1], 0x060008A0u);
        f |= rsvd(&r[2], 0xFFFC0F00u);
        f |= field_le(&r[3], 0xFFFFu, 0, 7);
        f |= field_le(&r[3], 0xFF0000u, 16, 1);
        f |= rsvd(&r[3], 0xFF000000u);
        break;
    case 7: { /* Fn8000_001F: the C-bit position is this processor's, at most 4 VMPLs */
        f |= mask(&r[0], 0x030FFFFFu, 0);
        f |= rsvd(&r[0], 0xFCF00000u);
        uint32_t checked = ~(0x00000FC0u | 0x0000F000u) & 0xFFFFu, want = psp->mem.cbit_pos & 0x3F;
        if ((r[1] & checked) != want) {
            r[1] = (r[1] & ~checked) | want;
            f = true;
        }
        f |= field_le(&r[1], 0xF000u, 12, 4);
        f |= rsvd(&r[1], 0xFFFF0000u);
        break;
    }
    case 8: /* Fn8000_0022 */
        f |= mask(&r[0], 0x7u, 0);
        f |= rsvd(&r[0], 0xFFFFFFF8u);
        f |= field_le(&r[1], 0xFu, 0, 6);
        f |= field_le(&r[1], 0x3F0u, 4, 0x10);
        f |= exact(&r[3], 0);
        break;
    }
    return f;
}

static bool generic(const struct leaf_rule *t, uint32_t r[4])
{
    bool f = false;
    for (int i = 0; i < 4; i++) {
        switch (t->rule[i]) {
        case EX: f |= exact(&r[i], t->val[i]); break;
        case MK: f |= mask(&r[i], t->val[i], 0); break;
        case LE:
            if (r[i] > t->val[i]) {
                r[i] = t->val[i];
                f = true;
            }
            break;
        case UN: break;
        default: r[i] = 0; break; /* NX: zeroed, not a failure */
        }
        f |= rsvd(&r[i], t->rsvd[i]);
    }
    return f;
}

static bool in_ranges(uint32_t leaf) { return leaf <= 0x0000FFFFu || (leaf >= 0x80000000u && leaf <= 0x8000FFFFu); }

uint32_t psp_snp_cpuid_check_list(struct mc_psp *psp, uint8_t *entries, uint32_t count, uint32_t *checked,
                                  bool *corrected, struct mc_error *err)
{
    bool failed = false;
    *checked = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint8_t *e = entries + (size_t)i * sizeof(struct mc_snp_cpuid_entry);
        uint32_t leaf = mc_le32(e + F(mc_snp_cpuid_entry, eax_in)), sub = mc_le32(e + F(mc_snp_cpuid_entry, ecx_in));
        if (!in_ranges(leaf))
            continue;
        (*checked)++;
        if (mc_le64(e + F(mc_snp_cpuid_entry, rsvd)))
            failed = true;
        uint32_t r[4];
        for (int k = 0; k < 4; k++)
            r[k] = mc_le32(e + F(mc_snp_cpuid_entry, eax) + 4 * k);
        const struct leaf_rule *t = NULL;
        for (size_t k = 0; k < sizeof table / sizeof table[0] && !t; k++)
            if (table[k].leaf == leaf && table[k].sub == sub)
                t = &table[k];
        bool f;
        if (!t) { /* an architectural leaf the firmware does not know reads as zero */
            f = r[0] || r[1] || r[2] || r[3];
            memset(r, 0, sizeof r);
        } else if (t->custom) {
            f = custom(psp, t->custom, mc_le64(e + F(mc_snp_cpuid_entry, xcr0_in)),
                       mc_le64(e + F(mc_snp_cpuid_entry, xss_in)), r);
        } else {
            f = generic(t, r);
        }
        failed |= f;
        for (int k = 0; k < 4; k++)
            mc_put_le32(e + F(mc_snp_cpuid_entry, eax) + 4 * k, r[k]);
    }
    *corrected = failed;
    if (failed)
        return psp_fail(err, MC_FW_INVALID_PARAM, "the CPUID table asks for values this processor does not allow "
                        "(corrected values written back)");
    return MC_FW_SUCCESS;
}

uint32_t psp_snp_cpuid_check(struct mc_psp *psp, uint8_t page[MC_SNP_PAGE], bool *corrected, struct mc_error *err)
{
    *corrected = false;
    uint32_t count = mc_le32(page + F(mc_snp_cpuid_hdr, count));
    if (mc_le32(page + F(mc_snp_cpuid_hdr, rsvd)) || mc_le64(page + F(mc_snp_cpuid_hdr, rsvd2)))
        return psp_fail(err, MC_FW_INVALID_PARAM, "the CPUID page's reserved header fields are not zero");
    if (count > MC_SNP_CPUID_COUNT_MAX)
        return psp_fail(err, MC_FW_INVALID_PARAM, "the CPUID page lists %u functions (at most %u)", count,
                        MC_SNP_CPUID_COUNT_MAX);
    uint32_t checked;
    return psp_snp_cpuid_check_list(psp, page + sizeof(struct mc_snp_cpuid_hdr), count, &checked, corrected, err);
}
