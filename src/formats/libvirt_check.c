/* libvirt domain checks against a platform's facts (see include/memcrypt/libvirt.h).
 *
 * Messages stay close to what QEMU (target/i386/sev.c) and libvirt (src/qemu/qemu_validate.c)
 * print for the same mistake, so a user who knows those tools recognises them:
 *   QEMU:    "cbitpos check failed, host '%d' requested '%d'"
 *            "reduced_phys_bits check failed, it should be in the range of 1 to 63, requested '%d'"
 *   libvirt: "SEV launch security is not supported with this QEMU binary" (and the 'sev-snp' form)
 * Firmware refusals quote the SEV API / SNP ABI status name (POLICY_FAILURE, UNSUPPORTED).
 *
 * Decision (reducedPhysBits): QEMU only range-checks the value (1..63) because it is what the
 * guest sees in CPUID 8000_001F EBX[11:6], not the host's reduction (libvirt's domain
 * capabilities also report 1 on hosts whose real reduction is 5 or 6). We follow QEMU.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <memcrypt/cpu.h>
#include <memcrypt/libvirt.h>
#include <memcrypt/ovmf.h>
#include <memcrypt/snp_report.h>

/* Platform facts come from the CPU profiles (memcrypt/cpu.h: CPUID 8000_001F decoded, firmware API
 * version, build and SNP ABI) — one source of truth shared with the machine and the firmware.
 * Host SMT is taken as enabled on every AMD server profile. */

mc_status mc_libvirt_platform(const char *name, struct mc_lv_platform *out, struct mc_error *err)
{
    if (!name || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_libvirt_platform: NULL argument");
    const struct mc_cpu_profile *prof;
    mc_status st = mc_cpu_profile_find(name, &prof, err);
    if (st)
        return st;
    struct mc_cpu_features f;
    mc_cpu_decode(prof, &f);
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", prof->name);
    out->cbitpos = f.cbit;
    out->phys_addr_reduction = f.reduction;
    out->guest_reduced_phys_bits = 1;
    out->max_sev_asid = f.max_asid;
    out->min_sev_asid = f.min_sev_asid;
    out->sev = f.sev;
    out->sev_es = f.sev_es;
    out->sev_snp = f.sev_snp;
    out->api_major = prof->fw_api_major;
    out->api_minor = prof->fw_api_minor;
    out->smt_enabled = prof->vendor == MC_VENDOR_AMD;
    out->build = prof->fw_build;
    out->snp_api_major = prof->snp_api_major;
    out->snp_api_minor = prof->snp_api_minor;
    out->phys_bits = f.phys_bits;
    out->addr_bits = f.sev || f.sme ? f.phys_bits - f.reduction : f.phys_bits;
    return MC_OK;
}

uint64_t mc_libvirt_host_bytes(uint64_t guest_bytes)
{
    const uint64_t two_mib = 2ull << 20;
    if (guest_bytes > (1ull << 60))
        return UINT64_MAX;
    uint64_t mem = (guest_bytes + two_mib - 1) & ~(two_mib - 1);
    /* NPT with 2 MiB leaves: one PML4, a PDPT per 512 GiB, a PD per 1 GiB. */
    uint64_t npt = 4096 * (1 + ((mem + (1ull << 39) - 1) >> 39) + ((mem + (1ull << 30) - 1) >> 30));
    return MC_LV_HOST_LOW_BYTES + mem + npt + MC_OVMF_MAX_SIZE + (16ull << 20);
}

/* "4 PiB", "256 MiB", "219100 KiB": the largest binary unit that divides the size exactly. */
static void size_text(uint64_t bytes, char *out, size_t cap)
{
    static const char *const unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    unsigned u = 0;
    while (u < 6 && bytes && bytes % 1024 == 0) {
        bytes /= 1024;
        u++;
    }
    snprintf(out, cap, "%llu %s", (unsigned long long)bytes, unit[u]);
}

static mc_status check_memory(const struct mc_lv_domain *d, const struct mc_lv_platform *p, struct mc_error *err)
{
    uint64_t bytes = d->memory_kib * 1024; /* at most 2^52: the parser's limit */
    uint64_t need = mc_libvirt_host_bytes(bytes);
    if (p->addr_bits >= 64 || need <= (1ull << p->addr_bits))
        return MC_OK;
    char have[48], room[48];
    size_text(bytes, have, sizeof have);
    size_text(1ull << p->addr_bits, room, sizeof room);
    return mc_seterr(err, MC_E_RANGE,
                     "<memory> of %s (%llu KiB) does not fit platform '%s': an SEV guest's memory is pinned in host "
                     "RAM, at most %s there (%u physical-address bits: MAXPHYADDR %u less the %u-bit encryption "
                     "reduction), and with its page tables and the firmware this guest needs %llu MiB",
                     have, (unsigned long long)d->memory_kib, p->name, room, p->addr_bits, p->phys_bits,
                     p->phys_bits - p->addr_bits, (unsigned long long)((need + (1ull << 20) - 1) >> 20));
}

uint32_t mc_libvirt_max_guests(const struct mc_lv_platform *p)
{
    /* KVM: SEV ASIDs are [EDX .. ECX]. */
    if (!p->sev || p->max_sev_asid == 0 || p->min_sev_asid > p->max_sev_asid)
        return 0;
    uint32_t lo = p->min_sev_asid ? p->min_sev_asid : 1;
    return p->max_sev_asid - lo + 1;
}

uint32_t mc_libvirt_max_es_guests(const struct mc_lv_platform *p)
{
    /* KVM: SEV-ES / SNP ASIDs are [1 .. EDX-1]. */
    if (!p->sev_es || p->min_sev_asid <= 1)
        return 0;
    uint32_t hi = p->min_sev_asid - 1;
    return hi > p->max_sev_asid ? p->max_sev_asid : hi;
}

static mc_status check_file(const char *path, const char *what, struct mc_error *err)
{
    if (access(path, R_OK) != 0)
        return mc_seterr(err, MC_E_IO, "cannot read %s '%.200s': %s", what, path,
                         access(path, F_OK) ? "no such file" : "permission denied");
    return MC_OK;
}

static mc_status check_blob(const struct mc_lv_blob *b, const char *name, size_t want, unsigned flags,
                            struct mc_error *err)
{
    if (!b->text || !(flags & MC_LV_CHECK_BLOBS))
        return MC_OK;
    if (!b->valid)
        return mc_seterr(err, MC_E_FORMAT, "<%s> is not valid base64 (%zu characters)", name, strlen(b->text));
    if (b->len != want)
        return mc_seterr(err, MC_E_FORMAT, "<%s> decodes to %zu bytes; it must be exactly %zu bytes", name, b->len,
                         want);
    return MC_OK;
}

#define SEV_POLICY_NODBG 0x1u
#define SEV_POLICY_ES 0x4u
#define SEV_POLICY_RESERVED 0xFFC0u /* bits 15:6 */


static mc_status check_sev_policy(uint32_t pol, const struct mc_lv_platform *p, struct mc_error *err)
{
    if (pol & SEV_POLICY_RESERVED)
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "policy 0x%x sets reserved bits 15:6 (0x%x); the firmware refuses it with POLICY_FAILURE",
                         pol, pol & SEV_POLICY_RESERVED);
    if ((pol & SEV_POLICY_ES) && !p->sev_es)
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "policy 0x%x asks for SEV-ES (bit 2) but platform '%s' has no SEV-ES; the firmware refuses "
                         "it with UNSUPPORTED",
                         pol, p->name);
    if ((pol & SEV_POLICY_ES) && mc_libvirt_max_es_guests(p) == 0)
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "policy 0x%x asks for SEV-ES but platform '%s' has no SEV-ES ASIDs (CPUID 8000_001F EDX = %u)",
                         pol, p->name, p->min_sev_asid);
    unsigned maj = (pol >> 16) & 0xff, min = pol >> 24;
    if (maj > p->api_major || (maj == p->api_major && min > p->api_minor))
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "policy 0x%x requires firmware API %u.%u or newer but platform '%s' runs %u.%u; the firmware "
                         "refuses it with POLICY_FAILURE",
                         pol, maj, min, p->name, p->api_major, p->api_minor);
    return MC_OK;
}

static mc_status check_snp_policy(uint64_t pol, const struct mc_lv_platform *p, struct mc_error *err)
{
    struct mc_error e;
    if (mc_snp_policy_check(pol, p->snp_api_major, p->snp_api_minor, p->smt_enabled, &e))
        return mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s': %s", p->name, e.msg);
    return MC_OK;
}

/* ---------------------------------------------------------------- host requirements -- */

static void req_add(struct mc_lv_requirements *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void req_add(struct mc_lv_requirements *r, const char *fmt, ...)
{
    if (r->n >= MC_LV_MAX_REQ)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg[r->n++], sizeof r->msg[0], fmt, ap);
    va_end(ap);
}

/* A Q35 machine: 'q35' or a versioned 'pc-q35-X.Y'. Without a machine QEMU picks 'pc' (i440fx). */
static bool is_q35(const char *m)
{
    return m && (!strcmp(m, "q35") || !strncmp(m, "pc-q35-", 7));
}

void mc_libvirt_requirements(const struct mc_lv_domain *d, struct mc_lv_requirements *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!d || d->sec.type == MC_LV_SEC_NONE)
        return;
    if (!is_q35(d->machine))
        req_add(out,
                "machine type '%.40s' is not Q35: libvirt's SEV guide says the legacy PC machine type is "
                "\"strongly discouraged\" and that OVMF builds with SMM or Secure Boot need Q35; use "
                "machine='pc-q35-...' in <os><type>",
                d->machine ? d->machine : "pc (QEMU's default)");
    bool efi = d->os_firmware && !strcmp(d->os_firmware, "efi");
    if (!d->loader && !efi)
        req_add(out, "no UEFI firmware: \"SEV is only going to work with OVMF (UEFI)\"; add <loader readonly='yes' "
                     "type='pflash'>.../OVMF.fd</loader> or <os firmware='efi'>");
    else if (d->loader_type && !strcmp(d->loader_type, "rom") && !efi)
        req_add(out, "the firmware is loaded as a ROM (type='rom'); SEV needs OVMF loaded as pflash "
                     "(type='pflash')");
    if (d->virtio_no_iommu) {
        char list[320] = "";
        size_t k = 0, listed = 0;
        for (size_t i = 0; i < d->nvirtio && i < MC_LV_MAX_VIRTIO && k < sizeof list; i++)
            if (!d->virtio[i].iommu) {
                k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", k ? ", " : "", d->virtio[i].what);
                listed++;
            }
        if (listed < d->virtio_no_iommu && k < sizeof list)
            snprintf(list + k, sizeof list - k, " and %zu more", d->virtio_no_iommu - listed);
        req_add(out,
                "%zu virtio device%s without <driver iommu='on'/> (%s): \"In order to make virtio devices work, we "
                "need to enable emulated IOMMU on the devices so that virtual DMA can work\"; an SEV guest kernel "
                "refuses such a device (\"device must provide VIRTIO_F_ACCESS_PLATFORM\")",
                d->virtio_no_iommu, d->virtio_no_iommu == 1 ? "" : "s", list);
    }
    if (!d->mem_locked && !d->has_hard_limit)
        req_add(out, "guest memory is not locked: \"the VM memory needs to be pinned in physical RAM\" (KVM pins "
                     "every encrypted page); add <memoryBacking><locked/></memoryBacking> (QEMU then runs with "
                     "-overcommit mem-lock=on), or a <memtune><hard_limit> above the guest's memory");
    else if (!d->mem_locked && d->hard_limit_kib < d->memory_kib)
        req_add(out, "<memtune><hard_limit> of %llu KiB is below the guest's %llu KiB: pinning its memory would "
                     "exceed the limit (libvirt suggests about 256 MiB above the guest memory)",
                (unsigned long long)d->hard_limit_kib, (unsigned long long)d->memory_kib);
    if (d->pci_hostdevs)
        req_add(out, "%u PCI device%s passed through (<hostdev type='pci'>): an assigned device's DMA cannot reach "
                     "the guest's encrypted memory, so SEV guests cannot use PCI passthrough",
                d->pci_hostdevs, d->pci_hostdevs == 1 ? " is" : "s are");
}

mc_status mc_libvirt_validate(struct mc_lv_domain *d, const struct mc_lv_platform *p, unsigned flags,
                              struct mc_error *err)
{
    if (!d || !p)
        return mc_seterr(err, MC_E_INVAL, "mc_libvirt_validate: NULL argument");
    const struct mc_lv_launch_security *s = &d->sec;
    mc_status st;
    if (strcmp(d->type, "kvm") && strcmp(d->type, "qemu"))
        return mc_seterr(err, MC_E_UNSUPPORTED, "domain type '%.20s' is not modelled (use 'kvm')", d->type);
    if (d->os_type && strcmp(d->os_type, "hvm"))
        return mc_seterr(err, MC_E_UNSUPPORTED, "os type '%.20s' is not supported (SEV guests are 'hvm')", d->os_type);
    if (d->arch && strcmp(d->arch, "x86_64"))
        return mc_seterr(err, MC_E_UNSUPPORTED, "architecture '%.20s' cannot use AMD SEV (needs x86_64)", d->arch);

    if (s->type == MC_LV_SEC_SEV && !p->sev)
        return mc_seterr(err, MC_E_UNSUPPORTED, "SEV launch security is not supported on platform '%s'", p->name);
    if (s->type == MC_LV_SEC_SEV_SNP && !p->sev_snp)
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "'sev-snp' launch security is not supported on platform '%s' (no SEV-SNP in CPUID "
                         "8000_001F EAX[4])",
                         p->name);
    if (s->type != MC_LV_SEC_NONE) {
        if (s->has_cbitpos && s->cbitpos != p->cbitpos)
            return mc_seterr(err, MC_E_UNSUPPORTED,
                             "cbitpos check failed, host '%u' requested '%u' (platform '%s' encrypts with C-bit %u)",
                             p->cbitpos, s->cbitpos, p->name, p->cbitpos);
        if ((st = check_memory(d, p, err)))
            return st;
        if (s->has_reduced_phys_bits && (s->reduced_phys_bits < 1 || s->reduced_phys_bits > 63))
            return mc_seterr(err, MC_E_UNSUPPORTED,
                             "reduced_phys_bits check failed, it should be in the range of 1 to 63, requested '%u'",
                             s->reduced_phys_bits);
        if (s->type == MC_LV_SEC_SEV) {
            if ((st = check_sev_policy(s->has_policy ? (uint32_t)s->policy : 0x1u, p, err)))
                return st;
            if ((st = check_blob(&s->dh_cert, "dhCert", MC_LV_DH_CERT_LEN, flags, err)) ||
                (st = check_blob(&s->session, "session", MC_LV_SESSION_LEN, flags, err)))
                return st;
            if (!!s->session.text != !!s->dh_cert.text)
                return mc_seterr(err, MC_E_FORMAT, "<%s> is given without <%s>; LAUNCH_START takes both or neither",
                                 s->session.text ? "session" : "dhCert", s->session.text ? "dhCert" : "session");
            if (mc_libvirt_max_guests(p) == 0 && !((s->has_policy ? s->policy : 1) & SEV_POLICY_ES))
                return mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' has no ASIDs for SEV guests", p->name);
        } else {
            if ((st = check_snp_policy(s->has_policy ? s->policy : 0x30000u, p, err)))
                return st;
            if ((st = check_blob(&s->gosvw, "guestVisibleWorkarounds", MC_LV_GOSVW_LEN, flags, err)) ||
                (st = check_blob(&s->id_block, "idBlock", MC_LV_ID_BLOCK_LEN, flags, err)) ||
                (st = check_blob(&s->id_auth, "idAuth", MC_LV_ID_AUTH_LEN, flags, err)) ||
                (st = check_blob(&s->host_data, "hostData", MC_LV_HOST_DATA_LEN, flags, err)))
                return st;
            if (s->id_auth.text && !s->id_block.text)
                return mc_seterr(err, MC_E_FORMAT, "<idAuth> is given without <idBlock>");
            if (s->author_key == MC_LV_YES && !s->id_auth.text)
                return mc_seterr(err, MC_E_FORMAT, "authorKey='yes' needs an <idAuth> holding the author key");
        }
        if (s->kernel_hashes == MC_LV_YES && !d->kernel)
            return mc_seterr(err, MC_E_FORMAT,
                             "kernelHashes='yes' needs direct kernel boot: add <kernel> (and optionally <initrd>, "
                             "<cmdline>) to <os>");
        /* A kernel without kernelHashes is allowed: it is then not covered by the measurement. */
    }
    if (flags & MC_LV_CHECK_FILES) {
        /* <os firmware='efi'> without a loader path asks for autoselection; the runner picks
         * Debian's OVMF image then. */
        bool autoselect = d->os_firmware && !strcmp(d->os_firmware, "efi");
        if (s->type != MC_LV_SEC_NONE && !d->loader && !autoselect)
            return mc_seterr(err, MC_E_FORMAT,
                             "an SEV guest needs OVMF: add <loader readonly='yes' type='pflash'>/usr/share/ovmf/"
                             "OVMF.fd</loader> to <os>");
        if (d->loader && (st = check_file(d->loader, "firmware file", err)))
            return st;
        if (d->kernel && (st = check_file(d->kernel, "kernel", err)))
            return st;
        if (d->initrd && (st = check_file(d->initrd, "initrd", err)))
            return st;
    }
    if (flags & MC_LV_CHECK_HOST) {
        struct mc_lv_requirements req;
        mc_libvirt_requirements(d, &req);
        if (req.n)
            return mc_seterr(err, MC_E_UNSUPPORTED, "%s%s", req.msg[0],
                             req.n > 1 ? " (and more: see the host requirements)" : "");
    }
    /* All checks passed: fill what libvirt / QEMU fill at start. */
    struct mc_lv_launch_security *w = &d->sec;
    if (w->type != MC_LV_SEC_NONE) {
        if (!w->has_cbitpos) {
            w->cbitpos = p->cbitpos;
            w->has_cbitpos = true;
        }
        if (!w->has_reduced_phys_bits) {
            w->reduced_phys_bits = p->guest_reduced_phys_bits;
            w->has_reduced_phys_bits = true;
        }
        if (!w->has_policy) {
            w->policy = w->type == MC_LV_SEC_SEV ? 0x1u : 0x30000u;
            w->has_policy = true;
        }
    }
    return MC_OK;
}
