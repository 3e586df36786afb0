/* The SNP guest's CPUID page as QEMU/KVM fill it (memcrypt/snp_cpuid.h).
 *
 * QEMU (target/i386/sev.c) asks KVM for the first vCPU's CPUID (KVM_GET_CPUID2: the leaves QEMU set
 * with KVM_SET_CPUID2) and copies every entry into the page: EAX_IN = function, ECX_IN = index for
 * the leaves KVM flags as indexed, the four registers; for 0xD sub-leaves 0 and 1 it sets EBX =
 * 0x240 and XCR0_IN = 1 (the legacy XSAVE area, which the guest scales itself). More than 64 entries
 * is an error. QEMU lists every standard leaf 0..level and every extended leaf 0x80000000..xlevel
 * (unknown ones read zero), the sub-leaves of 4, 7, 0xB, 0xD and 0x8000001D up to and including
 * the terminating one, then KVM's own leaves 0x40000000/0x40000001.
 *
 * The values are QEMU's for the vCPU model (facts from target/i386/cpu.c, v1 of each model; the
 * -vN versions' extra bits are not modelled), with QEMU's KVM defaults (x2apic on; monitor, svm
 * off; the kvmclock family in 0x40000001) and the bits QEMU masks for SNP (TSC deadline, TSC_ADJUST,
 * the speculation-control MSR bits of 7.0 EDX, VIRT_SSBD), and the SEV leaf 0x8000001F QEMU builds
 * (SEV, SEV-ES, SNP; C-bit position and reducedPhysBits). Topology: libvirt's default for
 * <vcpu>N</vcpu> is N sockets of one core, so every per-package count is 1 and vCPU 0's APIC ID 0.
 * Address sizes: a named model gets QEMU's default 40 physical bits (48 linear, 57 with LA57); host
 * mode (-cpu host, libvirt host-passthrough) the host's. Host mode has no feature list of its own in
 * the profiles, so it takes the named model of the host's generation (Milan: EPYC-Milan; Genoa and
 * Turin: EPYC-Genoa) with the host's signature and brand.
 *
 * One deliberate difference: QEMU's EPYC-Milan v1 cache description sets "complex indexing" on the
 * L3 (0x8000001D EDX bit 2), which the firmware's table holds reserved; memcrypt leaves it clear so
 * the firmware's check accepts the page (docs/snp-platform.md). */
#include <stdio.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/snp_api.h>
#include <memcrypt/snp_cpuid.h>
#include <memcrypt/vmsa.h>

#define B(n) (1u << (n))
#define F(S, f) offsetof(struct S, f)
#define ENT sizeof(struct mc_snp_cpuid_entry)
#define HDR sizeof(struct mc_snp_cpuid_hdr)

/* Fn0000_0001 EDX of every EPYC model: FPU VME DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE MCA
 * CMOV PAT PSE36 CLFLUSH MMX FXSR SSE SSE2 */
#define EPYC_1_EDX                                                                                                    \
    (B(0) | B(1) | B(2) | B(3) | B(4) | B(5) | B(6) | B(7) | B(8) | B(9) | B(11) | B(12) | B(13) | B(14) | B(15) |     \
     B(16) | B(17) | B(19) | B(23) | B(24) | B(25) | B(26))
/* Fn0000_0001 ECX: SSE3 PCLMULQDQ MONITOR SSSE3 FMA CX16 SSE4.1 SSE4.2 MOVBE POPCNT AES XSAVE AVX
 * F16C RDRAND (+ PCID from Milan on) */
#define EPYC_1_ECX                                                                                                    \
    (B(0) | B(1) | B(3) | B(9) | B(12) | B(13) | B(19) | B(20) | B(22) | B(23) | B(25) | B(26) | B(28) | B(29) |      \
     B(30))
/* Fn8000_0001 EDX: SYSCALL NX MMXEXT FFXSR PDPE1GB RDTSCP LM */
#define EPYC_E1_EDX (B(11) | B(20) | B(22) | B(25) | B(26) | B(27) | B(29))
/* Fn8000_0001 ECX: LAHF_LM SVM CR8LEG ABM SSE4A MISALIGNSSE 3DNOWPREFETCH OSVW TOPOEXT */
#define EPYC_E1_ECX (B(0) | B(2) | B(4) | B(5) | B(6) | B(7) | B(8) | B(9) | B(22))
/* Fn0000_0007 EBX: FSGSBASE BMI1 AVX2 SMEP BMI2 RDSEED ADX SMAP CLFLUSHOPT SHA_NI */
#define EPYC_7_EBX (B(0) | B(3) | B(5) | B(7) | B(8) | B(18) | B(19) | B(20) | B(23) | B(29))

#define XCR0_LEGACY 0x3u /* x87, SSE */
#define XCR0_AVX B(2)
#define XCR0_AVX512 (B(5) | B(6) | B(7))
#define XCR0_PKRU B(9)

struct cache {
    uint8_t type, level;   /* type 1 data, 2 instruction, 3 unified */
    uint32_t size_kib;
    uint16_t ways, sets;
    bool self_init, no_invd, inclusive;
};

struct model {
    const char *name;      /* QEMU's base model */
    const char *brand;     /* model_id */
    uint32_t level, xlevel;
    uint32_t f1_ecx, f1_edx, e1_ecx, e1_edx;
    uint32_t f7_ebx, f7_ecx, f7_edx, f71_eax;
    uint32_t e8_ebx, e21_eax;
    uint32_t xsave;        /* 0xD sub-leaf 1 EAX */
    uint32_t f6_eax;
    struct cache caches[4]; /* L1d, L1i, L2, L3 */
};

static const struct model models[] = {
    {"EPYC", "AMD EPYC Processor", 0xD, 0x8000001E, EPYC_1_ECX, EPYC_1_EDX, EPYC_E1_ECX, EPYC_E1_EDX, EPYC_7_EBX, 0,
     0, 0, 0, 0, 0xF, B(2),
     {{1, 1, 32, 8, 64, true, true, false},
      {2, 1, 64, 4, 256, true, true, false},
      {3, 2, 512, 8, 1024, false, false, false},
      {3, 3, 8192, 16, 8192, true, true, true}}},
    /* Rome: + PERFCORE, CLWB, UMIP RDPID; 8000_0008 EBX CLZERO XSAVEERPTR WBNOINVD IBPB STIBP */
    {"EPYC-Rome", "AMD EPYC-Rome Processor", 0xD, 0x8000001E, EPYC_1_ECX, EPYC_1_EDX, EPYC_E1_ECX | B(23),
     EPYC_E1_EDX, EPYC_7_EBX | B(24), B(2) | B(22), 0, 0, B(0) | B(2) | B(9) | B(12) | B(15), 0, 0xF, B(2),
     {{1, 1, 32, 8, 64, true, true, false},
      {2, 1, 32, 8, 64, true, true, false},
      {3, 2, 512, 8, 1024, false, false, false},
      {3, 3, 16384, 16, 16384, true, true, true}}},
    /* Milan: + PCID, ERMS INVPCID, PKU, FSRM, IBRS AMD_SSBD */
    {"EPYC-Milan", "AMD EPYC-Milan Processor", 0xD, 0x8000001E, EPYC_1_ECX | B(17), EPYC_1_EDX, EPYC_E1_ECX | B(23),
     EPYC_E1_EDX, EPYC_7_EBX | B(24) | B(9) | B(10), B(2) | B(22) | B(3), B(4), 0,
     B(0) | B(2) | B(9) | B(12) | B(14) | B(15) | B(24), 0, 0xF, B(2),
     {{1, 1, 32, 8, 64, true, true, false},
      {2, 1, 32, 8, 64, true, true, false},
      {3, 2, 512, 8, 1024, false, false, false},
      {3, 3, 32768, 16, 32768, true, false, true}}},
    /* Genoa: Milan + AVX-512 (F DQ IFMA CD BW VL; VBMI VBMI2 GFNI VAES VPCLMULQDQ VNNI BITALG
     * VPOPCNTDQ), LA57, AVX512_BF16; STIBP_ALWAYS_ON PSFD; 8000_0021 EAX NO_NESTED_DATA_BP
     * LFENCE_ALWAYS_SERIALIZING NULL_SEL_CLR_BASE AUTO_IBRS */
    {"EPYC-Genoa", "AMD EPYC-Genoa Processor", 0xD, 0x80000022, EPYC_1_ECX | B(17), EPYC_1_EDX, EPYC_E1_ECX | B(23),
     EPYC_E1_EDX, EPYC_7_EBX | B(24) | B(9) | B(10) | B(16) | B(17) | B(21) | B(28) | B(30) | B(31),
     B(1) | B(2) | B(3) | B(6) | B(8) | B(9) | B(10) | B(11) | B(12) | B(14) | B(16) | B(22), B(4), B(5),
     B(0) | B(2) | B(9) | B(12) | B(14) | B(15) | B(17) | B(24) | B(28), B(0) | B(2) | B(6) | B(8), 0xF, B(2),
     {{1, 1, 32, 8, 64, true, true, false},
      {2, 1, 32, 8, 64, true, true, false},
      {3, 2, 1024, 8, 2048, true, false, true},
      {3, 3, 32768, 16, 32768, true, true, false}}},
};

/* The base model of a QEMU model name: "EPYC-Milan-v2" -> EPYC-Milan, "EPYC-IBPB" -> EPYC,
 * "EPYC-Turin" -> EPYC-Genoa's features (its own are not modelled). */
static const struct model *model_of(const char *name)
{
    if (!strncmp(name, "EPYC-Genoa", 10) || !strncmp(name, "EPYC-Turin", 10))
        return &models[3];
    if (!strncmp(name, "EPYC-Milan", 10))
        return &models[2];
    if (!strncmp(name, "EPYC-Rome", 9))
        return &models[1];
    return &models[0];
}

/* The host's own model in host mode, by generation. */
static const struct model *model_of_host(uint32_t family, uint32_t model)
{
    if (family >= 0x1A || (family == 0x19 && model >= 0x10))
        return &models[3];
    if (family == 0x19)
        return &models[2];
    if (family == 0x17 && model >= 0x30)
        return &models[1];
    return &models[0];
}

struct table {
    uint8_t *page;
    unsigned n;
    bool full;
};

static void put(struct table *t, uint32_t leaf, uint32_t sub, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    if (t->n >= MC_SNP_CPUID_COUNT_MAX) {
        t->full = true;
        t->n++;
        return;
    }
    uint8_t *e = t->page + HDR + (size_t)t->n++ * ENT;
    memset(e, 0, ENT);
    mc_put_le32(e + F(mc_snp_cpuid_entry, eax_in), leaf);
    mc_put_le32(e + F(mc_snp_cpuid_entry, ecx_in), sub);
    if (leaf == 0xD && sub <= 1) { /* QEMU: the legacy area for XCR0 = 1 */
        b = 0x240;
        mc_put_le64(e + F(mc_snp_cpuid_entry, xcr0_in), 1);
    }
    mc_put_le32(e + F(mc_snp_cpuid_entry, eax), a);
    mc_put_le32(e + F(mc_snp_cpuid_entry, ebx), b);
    mc_put_le32(e + F(mc_snp_cpuid_entry, ecx), c);
    mc_put_le32(e + F(mc_snp_cpuid_entry, edx), d);
}

/* AMD's L2/L3 associativity encoding (Fn8000_0006). */
static uint32_t amd_assoc(unsigned ways)
{
    switch (ways) {
    case 1: return 1;
    case 2: return 2;
    case 4: return 4;
    case 8: return 6;
    case 16: return 8;
    case 32: return 0xA;
    case 48: return 0xB;
    case 64: return 0xC;
    case 96: return 0xD;
    case 128: return 0xE;
    default: return 0xF;
    }
}

static void brand(struct table *t, const char *s)
{
    char b[48] = {0};
    snprintf(b, sizeof b, "%s", s);
    for (unsigned i = 0; i < 3; i++) {
        uint32_t r[4];
        for (unsigned k = 0; k < 4; k++)
            r[k] = mc_le32((const uint8_t *)b + 16 * i + 4 * k);
        put(t, 0x80000002 + i, 0, r[0], r[1], r[2], r[3]);
    }
}

mc_status mc_snp_cpuid_build(const struct mc_snp_cpuid_params *p, uint8_t page[4096], struct mc_error *err)
{
    if (!p || !p->host || !page)
        return mc_seterr(err, MC_E_INVAL, "mc_snp_cpuid_build needs parameters, a host profile and a page");
    struct mc_cpu_features hf;
    mc_cpu_decode(p->host, &hf);
    if (p->host->vendor != MC_VENDOR_AMD || !hf.sev_snp)
        return mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' has no SEV-SNP: no SNP CPUID page", p->host->name);
    if (p->vcpus == 0 || p->reduced_phys_bits > 63 || p->cbitpos > 63)
        return mc_seterr(err, MC_E_RANGE, "an SNP CPUID page needs at least one vCPU, and cbitpos and "
                         "reducedPhysBits below 64");
    uint32_t sig;
    const struct model *m;
    const char *brand_s;
    uint32_t phys, lin;
    if (p->vcpu_type) {
        mc_status st = mc_vcpu_type_sig(p->vcpu_type, &sig, err);
        if (st)
            return st;
        m = model_of(p->vcpu_type);
        brand_s = m->brand;
        phys = 40;
        lin = m->f7_ecx & B(16) ? 57 : 48;
    } else {
        sig = mc_cpu_fms(p->host);
        m = model_of_host(p->host->family, p->host->model_id);
        brand_s = p->host->model;
        phys = hf.phys_bits;
        lin = hf.lin_bits;
    }
    memset(page, 0, 4096);
    struct table t = {.page = page};

    uint32_t xcr0 = XCR0_LEGACY | XCR0_AVX | (m->f7_ecx & B(3) ? XCR0_PKRU : 0) | (m->f7_ebx & B(16) ? XCR0_AVX512 : 0);
    static const struct {
        unsigned bit;
        uint32_t size, off;
    } comp[] = {{2, 0x100, 0x240}, {5, 0x40, 0x340}, {6, 0x200, 0x380}, {7, 0x400, 0x580}, {9, 8, 0x980}};
    uint32_t xsize = 0x240;
    for (size_t i = 0; i < sizeof comp / sizeof comp[0]; i++)
        if (xcr0 & B(comp[i].bit) && comp[i].off + comp[i].size > xsize)
            xsize = comp[i].off + comp[i].size;

    /* standard leaves */
    put(&t, 0, 0, m->level, 0x68747541u, 0x444D4163u, 0x69746E65u); /* AuthenticAMD */
    uint32_t ecx1 = (m->f1_ecx & ~B(3)) | B(21) | B(31); /* monitor off, x2apic on, hypervisor */
    put(&t, 1, 0, sig, 8u << 8, ecx1, m->f1_edx);
    for (uint32_t leaf = 2; leaf <= m->level; leaf++) {
        switch (leaf) {
        case 6: put(&t, 6, 0, m->f6_eax, 0, 0, 0); break;
        case 7:
            put(&t, 7, 0, m->f71_eax ? 1 : 0, m->f7_ebx, m->f7_ecx, m->f7_edx);
            if (m->f71_eax)
                put(&t, 7, 1, m->f71_eax, 0, 0, 0);
            break;
        case 0xB: /* SMT level, core level, the invalid level (one thread, one core per package) */
            put(&t, 0xB, 0, 0, 1, 0x100, 0);
            put(&t, 0xB, 1, 0, 1, 0x201, 0);
            put(&t, 0xB, 2, 0, 0, 2, 0);
            break;
        case 0xD:
            put(&t, 0xD, 0, xcr0, 0x240, xsize, 0);
            put(&t, 0xD, 1, m->xsave, 0x240, 0, 0);
            for (size_t i = 0; i < sizeof comp / sizeof comp[0]; i++)
                if (xcr0 & B(comp[i].bit))
                    put(&t, 0xD, comp[i].bit, comp[i].size, comp[i].off, 0, 0);
            break;
        default: put(&t, leaf, 0, 0, 0, 0, 0); break; /* 2, 3, 4 (one, empty), 5 (no MONITOR), 8..0xC */
        }
    }
    /* extended leaves; SEV needs 0x8000001F */
    uint32_t xlevel = m->xlevel < 0x8000001F ? 0x8000001F : m->xlevel;
    put(&t, 0x80000000, 0, xlevel, 0x68747541u, 0x444D4163u, 0x69746E65u);
    put(&t, 0x80000001, 0, sig, 0, m->e1_ecx & ~B(2), m->e1_edx | (m->f1_edx & 0x0183F3FFu));
    brand(&t, brand_s);
    const struct cache *c = m->caches;
    put(&t, 0x80000005, 0, 0x01FF01FFu, 0x01FF01FFu, c[0].size_kib << 24 | (uint32_t)c[0].ways << 16 | 1u << 8 | 64,
        c[1].size_kib << 24 | (uint32_t)c[1].ways << 16 | 1u << 8 | 64);
    put(&t, 0x80000006, 0, 0, 0x42004200u, c[2].size_kib << 16 | amd_assoc(c[2].ways) << 12 | 1u << 8 | 64,
        (c[3].size_kib / 512) << 18 | amd_assoc(c[3].ways) << 12 | 1u << 8 | 64);
    for (uint32_t leaf = 0x80000007; leaf <= xlevel; leaf++) {
        switch (leaf) {
        case 0x80000008: put(&t, leaf, 0, lin << 8 | phys, m->e8_ebx, 0, 0); break;
        case 0x8000001D:
            for (unsigned i = 0; i < 4; i++) {
                const struct cache *k = &c[i];
                uint32_t line = 64, parts = 1;
                put(&t, leaf, i, k->type | (uint32_t)k->level << 5 | (k->self_init ? B(8) : 0),
                    (line - 1) | (parts - 1) << 12 | (uint32_t)(k->ways - 1) << 22, (uint32_t)k->sets - 1,
                    (k->no_invd ? B(0) : 0) | (k->inclusive ? B(1) : 0));
            }
            put(&t, leaf, 4, 0, 0, 0, 0);
            break;
        case 0x8000001F: {
            unsigned cbit = p->cbitpos ? p->cbitpos : hf.cbit;
            put(&t, leaf, 0, B(1) | B(3) | B(4), cbit | p->reduced_phys_bits << 6, 0, 0);
            break;
        }
        case 0x80000021: put(&t, leaf, 0, m->e21_eax, 0, 0, 0); break;
        default: put(&t, leaf, 0, 0, 0, 0, 0); break; /* 0x8000001E: APIC 0, core 0, node 0 */
        }
    }
    /* KVM's leaves: the signature and QEMU's default paravirtual features (kvm_default_props:
     * kvmclock and kvmclock2, nopiodelay, async PF and its interrupt delivery, steal time, PV EOI,
     * the clocksource stable bit) */
    put(&t, 0x40000000, 0, 0x40000001, 0x4B4D564Bu, 0x564B4D56u, 0x4Du);
    put(&t, 0x40000001, 0, B(0) | B(1) | B(3) | B(4) | B(5) | B(6) | B(14) | B(24), 0, 0, 0);
    if (t.full) {
        memset(page, 0, 4096);
        return mc_seterr(err, MC_E_RANGE, "the vCPU's CPUID has %u entries, more than the CPUID page's %u", t.n,
                         MC_SNP_CPUID_COUNT_MAX);
    }
    mc_put_le32(page + F(mc_snp_cpuid_hdr, count), t.n);
    return MC_OK;
}

/* Linux's cpuid_function_is_indexed */
static bool indexed(uint32_t leaf)
{
    switch (leaf) {
    case 4: case 7: case 0xB: case 0xD: case 0xF: case 0x10: case 0x12: case 0x14: case 0x17: case 0x18:
    case 0x1D: case 0x1E: case 0x1F: case 0x24: case 0x8000001D: case 0x80000020: case 0x80000026:
        return true;
    default:
        return false;
    }
}

bool mc_snp_cpuid_find(const uint8_t page[4096], uint32_t leaf, uint32_t subleaf, struct mc_cpuid_regs *out)
{
    if (out)
        *out = (struct mc_cpuid_regs){0, 0, 0, 0};
    if (!page || !out)
        return false;
    uint32_t n = mc_le32(page + F(mc_snp_cpuid_hdr, count));
    if (n > MC_SNP_CPUID_COUNT_MAX)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = page + HDR + (size_t)i * ENT;
        if (mc_le32(e + F(mc_snp_cpuid_entry, eax_in)) != leaf)
            continue;
        uint32_t sub = mc_le32(e + F(mc_snp_cpuid_entry, ecx_in));
        if (indexed(leaf) && sub != subleaf)
            continue;
        if (leaf == 0xD && sub <= 1) {
            uint64_t xcr0 = mc_le64(e + F(mc_snp_cpuid_entry, xcr0_in));
            if ((xcr0 != 1 && xcr0 != 3) || mc_le64(e + F(mc_snp_cpuid_entry, xss_in)))
                continue;
        }
        out->eax = mc_le32(e + F(mc_snp_cpuid_entry, eax));
        out->ebx = mc_le32(e + F(mc_snp_cpuid_entry, ebx));
        out->ecx = mc_le32(e + F(mc_snp_cpuid_entry, ecx));
        out->edx = mc_le32(e + F(mc_snp_cpuid_entry, edx));
        return true;
    }
    return false;
}

unsigned mc_snp_cpuid_mismatches(const uint8_t sent[4096], const uint8_t corrected[4096], char *out, size_t cap)
{
    size_t used = 0;
    if (out && cap)
        out[0] = 0;
#define EMIT(...)                                                                                                     \
    do {                                                                                                              \
        if (out && used < cap) {                                                                                      \
            int k_ = snprintf(out + used, cap - used, __VA_ARGS__);                                                   \
            used += k_ > 0 ? (size_t)k_ : 0;                                                                          \
            if (used >= cap && cap > 4)                                                                               \
                memcpy(out + cap - 4, "...", 4);                                                                      \
        }                                                                                                             \
    } while (0)
    uint32_t a = mc_le32(sent), b = mc_le32(corrected);
    if (a != b || a > MC_SNP_CPUID_COUNT_MAX) {
        EMIT("CPUID count provided %u, expected %u", a, b);
        return 1;
    }
    unsigned n = 0;
    for (uint32_t i = 0; i < a; i++) {
        const uint8_t *x = sent + HDR + (size_t)i * ENT, *y = corrected + HDR + (size_t)i * ENT;
        if (!memcmp(x, y, ENT))
            continue;
        EMIT("%sfunction 0x%x, index 0x%x: provided eax 0x%08x ebx 0x%08x ecx 0x%08x edx 0x%08x, expected eax 0x%08x "
             "ebx 0x%08x ecx 0x%08x edx 0x%08x",
             n ? "; " : "", mc_le32(x), mc_le32(x + 4), mc_le32(x + 0x18), mc_le32(x + 0x1C), mc_le32(x + 0x20),
             mc_le32(x + 0x24), mc_le32(y + 0x18), mc_le32(y + 0x1C), mc_le32(y + 0x20), mc_le32(y + 0x24));
        n++;
    }
#undef EMIT
    return n;
}
