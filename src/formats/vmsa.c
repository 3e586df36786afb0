/* Initial VMSA pages for SEV-ES / SEV-SNP launch measurement (see include/memcrypt/vmsa.h).
 *
 * Register values: QEMU/KVM reset state as KVM leaves it for an SEV-ES vCPU (EFER.SVME, CR4.MCE,
 * CR0.ET, DR6/DR7 reset values, PAT reset value), XCR0 = 1, and — QEMU only — MXCSR 0x1F80 and
 * x87 FCW 0x037F (QEMU's x86_cpu_reset values that KVM copies into the VMSA since Linux 6.x).
 * EC2 and GCE deltas and the SVSM entry state follow the reference calculator
 * (virtee/sev-snp-measure vmsa.py). The measured pages were checked byte for byte against the
 * pages that calculator dumped (shared vectors snp-measure/vmsa/).
 */
#include <memcrypt/bytes.h>
#include <memcrypt/vmsa.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The save area, pinned to APM vol. 2 table B-4 offsets. Only used for offsetof/sizeof: the
 * page is written with explicit little-endian stores, never through this struct. */
struct vmcb_seg {
    uint16_t selector;
    uint16_t attrib;
    uint32_t limit;
    uint64_t base;
};
_Static_assert(sizeof(struct vmcb_seg) == 16, "VMCB segment is 16 bytes");

struct vmsa_layout {
    struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 0x000 */
    uint64_t vmpl0_ssp, vmpl1_ssp, vmpl2_ssp, vmpl3_ssp, u_cet;   /* 0x0a0 */
    uint8_t reserved_1[2];
    uint8_t vmpl; /* 0x0ca */
    uint8_t cpl;  /* 0x0cb */
    uint8_t reserved_2[4];
    uint64_t efer; /* 0x0d0 */
    uint8_t reserved_3[104];
    uint64_t xss, cr4, cr3, cr0, dr7, dr6, rflags, rip; /* 0x140 */
    uint64_t dr0, dr1, dr2, dr3, dr0_mask, dr1_mask, dr2_mask, dr3_mask;
    uint8_t reserved_4[24];
    uint64_t rsp, s_cet, ssp, isst_addr, rax, star, lstar, cstar, sfmask, kernel_gs_base;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip, cr2;
    uint8_t reserved_5[32];
    uint64_t g_pat, dbgctl, br_from, br_to, last_excp_from, last_excp_to; /* 0x268 */
    uint8_t reserved_7[80];
    uint32_t pkru;    /* 0x2e8 */
    uint32_t tsc_aux; /* 0x2ec */
    uint64_t guest_tsc_scale, guest_tsc_offset; /* 0x2f0, 0x2f8 */
    uint64_t reg_prot_nonce;                    /* 0x300 */
    uint64_t rcx, rdx, rbx, reserved_10, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15;
    uint8_t reserved_11[16];
    uint64_t guest_exit_info_1, guest_exit_info_2, guest_exit_int_info, guest_nrip;
    uint64_t sev_features, vintr_ctrl, guest_exit_code, virtual_tom, tlb_id, pcpu_id, event_inj;
    uint64_t xcr0; /* 0x3e8 */
    uint8_t reserved_12[16];
    uint64_t x87_dp;  /* 0x400 */
    uint32_t mxcsr;   /* 0x408 */
    uint16_t x87_ftw, x87_fsw, x87_fcw, x87_fop, x87_ds, x87_cs;
    uint64_t x87_rip; /* 0x418 */
    uint8_t fpreg_x87[80], fpreg_xmm[256], fpreg_ymm[256];
    uint8_t unused[MC_VMSA_SIZE - 0x670];
};
#define OFF(f) offsetof(struct vmsa_layout, f)
_Static_assert(sizeof(struct vmsa_layout) == MC_VMSA_SIZE, "VMSA is one page");
_Static_assert(OFF(cs) == 0x10 && OFF(tr) == 0x90, "segments");
_Static_assert(OFF(vmpl) == 0xca && OFF(cpl) == 0xcb, "VMPL/CPL");
_Static_assert(OFF(efer) == 0xd0, "EFER");
_Static_assert(OFF(xss) == 0x140 && OFF(cr4) == 0x148 && OFF(cr3) == 0x150 && OFF(cr0) == 0x158, "CRs");
_Static_assert(OFF(dr7) == 0x160 && OFF(dr6) == 0x168 && OFF(rflags) == 0x170 && OFF(rip) == 0x178, "DR/RIP");
_Static_assert(OFF(rsp) == 0x1d8 && OFF(rax) == 0x1f8 && OFF(cr2) == 0x240, "RSP/RAX/CR2");
_Static_assert(OFF(g_pat) == 0x268, "G_PAT");
_Static_assert(OFF(pkru) == 0x2e8 && OFF(guest_tsc_scale) == 0x2f0 && OFF(guest_tsc_offset) == 0x2f8, "TSC");
_Static_assert(OFF(reg_prot_nonce) == 0x300 && OFF(rcx) == 0x308 && OFF(rdx) == 0x310, "RCX/RDX");
_Static_assert(OFF(rbx) == 0x318 && OFF(rbp) == 0x328 && OFF(r15) == 0x378, "GPRs");
_Static_assert(OFF(guest_exit_info_1) == 0x390 && OFF(sev_features) == 0x3b0, "SEV_FEATURES");
_Static_assert(OFF(virtual_tom) == 0x3c8 && OFF(xcr0) == 0x3e8, "VIRTUAL_TOM/XCR0");
_Static_assert(OFF(x87_dp) == 0x400 && OFF(mxcsr) == 0x408 && OFF(x87_fcw) == 0x410, "x87");
_Static_assert(OFF(x87_rip) == 0x418 && OFF(fpreg_x87) == 0x420 && OFF(unused) == 0x670, "FP regs");

static void put_seg(uint8_t *p, size_t off, uint16_t sel, uint16_t attr, uint32_t limit, uint64_t base)
{
    mc_put_le16(p + off, sel);
    mc_put_le16(p + off + 2, attr);
    mc_put_le32(p + off + 4, limit);
    mc_put_le64(p + off + 8, base);
}

void mc_vmsa_build(const struct mc_vmsa_params *prm, uint8_t p[MC_VMSA_SIZE])
{
    memset(p, 0, MC_VMSA_SIZE);
    uint64_t g_pat = 0x0007040600070406ull; /* PAT reset value (APM vol. 2 A.3) */
    if (prm->svsm) {
        /* COCONUT-SVSM entry: flat 32-bit protected mode, CR0.PE, full entry point in RIP. */
        put_seg(p, OFF(es), 0x10, 0xc93, 0xffffffff, 0);
        put_seg(p, OFF(cs), 0x08, 0xc9b, 0xffffffff, 0);
        put_seg(p, OFF(ss), 0x10, 0xc93, 0xffffffff, 0);
        put_seg(p, OFF(ds), 0x10, 0xc93, 0xffffffff, 0);
        put_seg(p, OFF(fs), 0x10, 0xc93, 0xffffffff, 0);
        put_seg(p, OFF(gs), 0, 0x93, 0xffff, 0);
        put_seg(p, OFF(gdtr), 0, 0, 0xffff, 0);
        put_seg(p, OFF(ldtr), 0, 0x82, 0xffff, 0);
        put_seg(p, OFF(idtr), 0, 0, 0xffff, 0);
        put_seg(p, OFF(tr), 0, 0x8b, 0xffff, 0);
        mc_put_le64(p + OFF(cr0), 0x11);
        mc_put_le64(p + OFF(rip), prm->eip);
        mc_put_le64(p + OFF(rdx), prm->vcpu_sig);
        /* The reference sets MXCSR for QEMU but leaves x87 FCW at 0 in this state (its
         * upstream vectors, taken from a real QEMU launch, agree). */
        mc_put_le32(p + OFF(mxcsr), prm->vmm == MC_VMM_QEMU ? 0x1f80 : 0);
    } else {
        uint16_t cs_attr = 0x9b, ss_attr = 0x93, tr_attr = 0x8b, fcw = 0x37f;
        uint32_t mxcsr = 0x1f80;
        uint64_t rdx = prm->vcpu_sig;
        if (prm->vmm == MC_VMM_EC2) {
            cs_attr = prm->eip == MC_VMSA_BSP_EIP ? 0x9a : 0x9b;
            ss_attr = 0x92;
            tr_attr = 0x83;
            rdx = (prm->variant & MC_VMSA_VARIANT_EC2_RDX0) ? 0 : 0x600;
            mxcsr = 0;
            fcw = 0;
        } else if (prm->vmm == MC_VMM_GCE) {
            g_pat = 0x0000000000070106ull; /* GCE's hypervisor programs its own PAT */
            rdx = 0x600;
            mxcsr = 0;
            fcw = 0;
        }
        if (prm->variant & MC_VMSA_VARIANT_ZERO_FPU) {
            mxcsr = 0;
            fcw = 0;
        }
        put_seg(p, OFF(es), 0, 0x93, 0xffff, 0);
        put_seg(p, OFF(cs), 0xf000, cs_attr, 0xffff, prm->eip & 0xffff0000u);
        put_seg(p, OFF(ss), 0, ss_attr, 0xffff, 0);
        put_seg(p, OFF(ds), 0, 0x93, 0xffff, 0);
        put_seg(p, OFF(fs), 0, 0x93, 0xffff, 0);
        put_seg(p, OFF(gs), 0, 0x93, 0xffff, 0);
        put_seg(p, OFF(gdtr), 0, 0, 0xffff, 0);
        put_seg(p, OFF(ldtr), 0, 0x82, 0xffff, 0);
        put_seg(p, OFF(idtr), 0, 0, 0xffff, 0);
        put_seg(p, OFF(tr), 0, tr_attr, 0xffff, 0);
        mc_put_le64(p + OFF(cr0), 0x10);
        mc_put_le64(p + OFF(rip), prm->eip & 0xffff);
        mc_put_le64(p + OFF(rdx), rdx);
        mc_put_le32(p + OFF(mxcsr), mxcsr);
        mc_put_le16(p + OFF(x87_fcw), fcw);
    }
    mc_put_le64(p + OFF(efer), 0x1000); /* EFER.SVME */
    mc_put_le64(p + OFF(cr4), 0x40);    /* CR4.MCE */
    mc_put_le64(p + OFF(dr7), 0x400);
    mc_put_le64(p + OFF(dr6), 0xffff0ff0);
    mc_put_le64(p + OFF(rflags), 0x2);
    mc_put_le64(p + OFF(g_pat), g_pat);
    mc_put_le64(p + OFF(sev_features),
                prm->sev_features | ((prm->variant & MC_VMSA_VARIANT_DEBUG_SWAP) ? 1ull << 5 : 0));
    mc_put_le64(p + OFF(xcr0), 0x1);
}

#define F(name, field) {name, (uint16_t)OFF(field), (uint16_t)sizeof(((struct vmsa_layout *)0)->field)}
#define SEG(name, field)                                                                                   \
    {name ".selector", (uint16_t)OFF(field), 2}, {name ".attrib", (uint16_t)(OFF(field) + 2), 2},          \
        {name ".limit", (uint16_t)(OFF(field) + 4), 4}, {name ".base", (uint16_t)(OFF(field) + 8), 8}
static const struct mc_vmsa_field fields[] = {
    SEG("ES", es), SEG("CS", cs), SEG("SS", ss), SEG("DS", ds), SEG("FS", fs), SEG("GS", gs),
    SEG("GDTR", gdtr), SEG("LDTR", ldtr), SEG("IDTR", idtr), SEG("TR", tr),
    F("VMPL", vmpl), F("CPL", cpl), F("EFER", efer), F("XSS", xss), F("CR4", cr4), F("CR3", cr3),
    F("CR0", cr0), F("DR7", dr7), F("DR6", dr6), F("RFLAGS", rflags), F("RIP", rip), F("RSP", rsp),
    F("RAX", rax), F("CR2", cr2), F("G_PAT", g_pat), F("PKRU", pkru), F("GUEST_TSC_SCALE", guest_tsc_scale),
    F("GUEST_TSC_OFFSET", guest_tsc_offset), F("RCX", rcx), F("RDX", rdx), F("RBX", rbx), F("RBP", rbp),
    F("RSI", rsi), F("RDI", rdi), F("SEV_FEATURES", sev_features), F("VIRTUAL_TOM", virtual_tom),
    F("XCR0", xcr0), F("MXCSR", mxcsr), F("X87_FTW", x87_ftw), F("X87_FSW", x87_fsw), F("X87_FCW", x87_fcw),
};

const struct mc_vmsa_field *mc_vmsa_fields(size_t *n)
{
    *n = sizeof fields / sizeof fields[0];
    return fields;
}

uint64_t mc_vmsa_get(const uint8_t page[MC_VMSA_SIZE], const struct mc_vmsa_field *f)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < f->size && i < 8; i++)
        v |= (uint64_t)page[f->offset + i] << (8 * i);
    return v;
}

const struct mc_vmsa_field *mc_vmsa_field_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (!strcmp(fields[i].name, name))
            return &fields[i];
    return NULL;
}

mc_status mc_cpu_sig(unsigned family, unsigned model, unsigned stepping, uint32_t *sig, struct mc_error *err)
{
    if (family > 0xff + 0xf || model > 0xff || stepping > 0xf)
        return mc_seterr(err, MC_E_RANGE,
                         "vCPU family %u / model %u / stepping %u out of range (family <= 270, model <= 255, "
                         "stepping <= 15)",
                         family, model, stepping);
    uint32_t fam_lo = family > 0xf ? 0xf : family;
    uint32_t fam_hi = family > 0xf ? family - 0xf : 0;
    *sig = (fam_hi << 20) | ((model >> 4) << 16) | (fam_lo << 8) | ((model & 0xf) << 4) | (stepping & 0xf);
    return MC_OK;
}

/* QEMU's builtin x86 models (target/i386/cpu.c) with their family/model/stepping, sorted by name
 * (strcmp: the order an unknown name's message lists them in; test_measure checks it). The
 * reference calculator's list is EPYC, EPYC-v1..v4, EPYC-IBPB, EPYC-Rome(-v1..v3), EPYC-Milan
 * (-v1, -v2), EPYC-Genoa(-v1) and EPYC-Turin; newer QEMU releases add EPYC-v5, EPYC-Rome-v4/v5,
 * EPYC-Milan-v3, EPYC-Genoa-v2 and EPYC-Turin-v1. Versioned models (-vN) change CPUID feature
 * bits and the model-id string, not family/model/stepping, so they share their base model's
 * signature. */
static const struct {
    const char *name;
    uint8_t family, model, stepping;
} vcpu_types[] = {
    {"EPYC", 23, 1, 2},           {"EPYC-Genoa", 25, 17, 0},    {"EPYC-Genoa-v1", 25, 17, 0},
    {"EPYC-Genoa-v2", 25, 17, 0}, {"EPYC-IBPB", 23, 1, 2},      {"EPYC-Milan", 25, 1, 1},
    {"EPYC-Milan-v1", 25, 1, 1},  {"EPYC-Milan-v2", 25, 1, 1},  {"EPYC-Milan-v3", 25, 1, 1},
    {"EPYC-Rome", 23, 49, 0},     {"EPYC-Rome-v1", 23, 49, 0},  {"EPYC-Rome-v2", 23, 49, 0},
    {"EPYC-Rome-v3", 23, 49, 0},  {"EPYC-Rome-v4", 23, 49, 0},  {"EPYC-Rome-v5", 23, 49, 0},
    {"EPYC-Turin", 26, 0, 0},     {"EPYC-Turin-v1", 26, 0, 0},  {"EPYC-v1", 23, 1, 2},
    {"EPYC-v2", 23, 1, 2},        {"EPYC-v3", 23, 1, 2},        {"EPYC-v4", 23, 1, 2},
    {"EPYC-v5", 23, 1, 2},
};
#define N_VCPU_TYPES (sizeof vcpu_types / sizeof vcpu_types[0])

const char *mc_vcpu_type_name_at(size_t i)
{
    return i < N_VCPU_TYPES ? vcpu_types[i].name : NULL;
}

mc_status mc_vcpu_type_sig(const char *name, uint32_t *sig, struct mc_error *err)
{
    for (size_t i = 0; name && i < N_VCPU_TYPES; i++)
        if (!strcmp(name, vcpu_types[i].name))
            return mc_cpu_sig(vcpu_types[i].family, vcpu_types[i].model, vcpu_types[i].stepping, sig, err);
    char list[400];
    size_t used = 0;
    list[0] = 0;
    for (size_t i = 0; i < N_VCPU_TYPES && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", vcpu_types[i].name);
    return mc_seterr(err, MC_E_NOTFOUND, "unknown vCPU type '%s' (known: %s)", name ? name : "", list);
}

mc_status mc_vmm_type_parse(const char *s, enum mc_vmm_type *out, struct mc_error *err)
{
    if (s && !strcasecmp(s, "QEMU"))
        *out = MC_VMM_QEMU;
    else if (s && !strcasecmp(s, "ec2"))
        *out = MC_VMM_EC2;
    else if (s && !strcasecmp(s, "gce"))
        *out = MC_VMM_GCE;
    else
        return mc_seterr(err, MC_E_NOTFOUND, "unknown VMM type '%s' (known: QEMU, ec2, gce)", s ? s : "");
    return MC_OK;
}

const char *mc_vmm_type_name(enum mc_vmm_type t)
{
    return t == MC_VMM_EC2 ? "ec2" : t == MC_VMM_GCE ? "gce" : "QEMU";
}

mc_status mc_vmsa_snp_features_check(uint64_t f, struct mc_error *err)
{
    if (f & ~MC_SEV_FEATURES_DEFINED)
        return mc_seterr(err, MC_E_INVAL,
                         "guest features 0x%llx set reserved SEV_FEATURES bits 0x%llx (bits 11, 13, 17-20 and 22-63 "
                         "are reserved; a VMM cannot start a guest with them)",
                         (unsigned long long)f, (unsigned long long)(f & ~MC_SEV_FEATURES_DEFINED));
    if (!(f & MC_SEV_FEATURES_SNP_ACTIVE))
        return mc_seterr(err, MC_E_INVAL,
                         "guest features 0x%llx lack SNPActive (bit 0): every SEV-SNP guest's VMSA has it "
                         "(0x1 is the reference's default, 0x21 adds DebugSwap as Linux >= 6.6 KVM does)",
                         (unsigned long long)f);
    return MC_OK;
}

static const struct {
    const char *name;
    unsigned bits;
} variants[] = {
    {"qemu", 0},
    {"zero-fpu", MC_VMSA_VARIANT_ZERO_FPU},
    {"sevctl", MC_VMSA_VARIANT_ZERO_FPU},
    {"debug-swap", MC_VMSA_VARIANT_DEBUG_SWAP},
    {"ec2-rdx0", MC_VMSA_VARIANT_EC2_RDX0},
};

mc_status mc_vmsa_variant_parse(const char *s, unsigned *out, struct mc_error *err)
{
    if (!s || !out)
        return mc_seterr(err, MC_E_INVAL, "VMSA variant: NULL argument");
    unsigned v = 0;
    const char *p = s;
    do {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        size_t i;
        for (i = 0; i < sizeof variants / sizeof variants[0]; i++)
            if (strlen(variants[i].name) == n && !strncmp(variants[i].name, p, n))
                break;
        if (i == sizeof variants / sizeof variants[0])
            return mc_seterr(err, MC_E_NOTFOUND,
                             "unknown VMSA variant '%.*s' (known: qemu, zero-fpu (= sevctl), debug-swap, ec2-rdx0; "
                             "combine with ',')",
                             (int)(n > 40 ? 40 : n), p);
        v |= variants[i].bits;
        p = e ? e + 1 : NULL;
    } while (p);
    *out = v;
    return MC_OK;
}

void mc_vmsa_variant_name(unsigned v, char *buf, size_t n)
{
    static const char *const names[] = {"zero-fpu", "debug-swap", "ec2-rdx0"};
    size_t k = 0;
    if (n)
        buf[0] = 0;
    for (unsigned b = 0; b < 3 && n; b++)
        if (v >> b & 1)
            k += (size_t)snprintf(buf + k, k < n ? n - k : 0, "%s%s", k ? "," : "", names[b]);
    if (n && !buf[0])
        snprintf(buf, n, "qemu");
}
