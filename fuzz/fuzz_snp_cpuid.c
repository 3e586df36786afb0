/* Fuzz target: the CPUID page readers (memcrypt/snp_cpuid.h) — the guest's look-up in a page it
 * reads from memory and QEMU's mismatch report between two pages. The input (zero-padded to 4 KiB) is
 * a CPUID page: every leaf / sub-leaf it names is looked up (an entry found must be one of the page's
 * entries), and the report is made against QEMU's table for EPYC-Milan both ways (NUL-terminated
 * within its buffer, at most one line per entry). The table itself must find each of its entries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/cpu.h>
#include <memcrypt/snp_cpuid.h>

static uint8_t table[4096];

static void setup(void)
{
    static int done;
    if (done)
        return;
    const struct mc_cpu_profile *p = NULL;
    struct mc_snp_cpuid_params cp = {.vcpu_type = "EPYC-Milan", .vcpus = 1, .reduced_phys_bits = 1};
    if (mc_cpu_profile_find("milan", &p, NULL) != MC_OK)
        abort();
    cp.host = p;
    if (mc_snp_cpuid_build(&cp, table, NULL) != MC_OK)
        abort();
    uint32_t n = mc_le32(table);
    for (uint32_t i = 0; i < n; i++) { /* the table finds every entry it holds (the first of a leaf) */
        const uint8_t *e = table + 0x10 + 0x30 * (size_t)i;
        struct mc_cpuid_regs r;
        if (!mc_snp_cpuid_find(table, mc_le32(e), mc_le32(e + 4), &r))
            abort();
    }
    done = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    static uint8_t page[4096];
    memset(page, 0, sizeof page);
    memcpy(page, data, size < sizeof page ? size : sizeof page);
    uint32_t n = mc_le32(page);
    for (uint32_t i = 0; i < 64; i++) {
        const uint8_t *e = page + 0x10 + 0x30 * (size_t)i;
        struct mc_cpuid_regs r;
        if (!mc_snp_cpuid_find(page, mc_le32(e), mc_le32(e + 4), &r))
            continue;
        if (n > 64)
            abort(); /* a page with a count out of range finds nothing */
        bool match = false; /* the registers are those of one of the page's entries */
        for (uint32_t k = 0; k < n && !match; k++) {
            const uint8_t *x = page + 0x10 + 0x30 * (size_t)k;
            match = mc_le32(x) == mc_le32(e) && mc_le32(x + 0x18) == r.eax && mc_le32(x + 0x1C) == r.ebx &&
                    mc_le32(x + 0x20) == r.ecx && mc_le32(x + 0x24) == r.edx;
        }
        if (!match)
            abort();
    }
    char out[300];
    unsigned d1 = mc_snp_cpuid_mismatches(page, table, out, sizeof out);
    if (d1 > 64 || strlen(out) >= sizeof out)
        abort();
    unsigned d2 = mc_snp_cpuid_mismatches(table, page, out, sizeof out);
    if (d2 > 64 || strlen(out) >= sizeof out || (d1 == 0) != (d2 == 0))
        abort();
    return 0;
}
