/* SEV-SNP guest policy: which bits a firmware of a given SNP ABI version accepts at
 * SNP_LAUNCH_START, and the checks that need no guest context (SNP ABI 56860, "Guest Policy").
 *
 * Decision (per ABI version): bits 0..20 exist on every ABI. Bits 21..25 (CXL_ALLOW,
 * MEM_AES_256_XTS, RAPL_DIS, CIPHERTEXT_HIDING, PAGE_SWAP_DISABLE) were added to the ABI after
 * the 1.55 firmware: AMD's published SEV firmware source (Genoa 1.55.25) treats every bit >= 21
 * as reserved and fails LAUNCH_START with POLICY_FAILURE, and Linux's KVM calls bits 0..20 the
 * policy "the minimum firmware accepts". Real Milan, Genoa and Turin attestation reports in
 * tests/data all show firmware 1.55, so every emulated profile refuses them. Firmware newer
 * than 1.55 accepts bits 21..25; the exact first ABI version is UNCONFIRMED (the public
 * revision history was not found), so "newer than 1.55" is the rule. Bits 63:26 stay reserved.
 */
#include <stdio.h>

#include <memcrypt/snp_report.h>

#define POLICY_SMT (1ull << 16)
#define POLICY_RSVD_MBO (1ull << 17)

uint64_t mc_snp_policy_valid_mask(uint8_t abi_major, uint8_t abi_minor)
{
    bool newer = abi_major > 1 || (abi_major == 1 && abi_minor > 55);
    return newer ? (1ull << 26) - 1 : (1ull << 21) - 1;
}

mc_status mc_snp_policy_check(uint64_t policy, uint8_t abi_major, uint8_t abi_minor, bool host_smt,
                              struct mc_error *err)
{
    unsigned long long p = (unsigned long long)policy;
    if (!(policy & POLICY_RSVD_MBO))
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "SNP policy 0x%llx has bit 17 clear; it is reserved and must be 1 (POLICY_FAILURE)", p);
    uint64_t bad = policy & ~mc_snp_policy_valid_mask(abi_major, abi_minor);
    if (bad) {
        unsigned lo = 0;
        while (!(bad >> lo & 1))
            lo++;
        const char *nm = mc_snp_policy_bit_name(lo);
        if (lo < 26)
            return mc_seterr(err, MC_E_UNSUPPORTED,
                             "SNP policy 0x%llx sets bit %u (%s), which SNP firmware %u.%u treats as reserved; it "
                             "refuses the launch with POLICY_FAILURE (bits 21-25 need firmware newer than 1.55)",
                             p, lo, nm ? nm : "?", abi_major, abi_minor);
        return mc_seterr(err, MC_E_UNSUPPORTED, "SNP policy 0x%llx sets reserved bits 63:26 (POLICY_FAILURE)", p);
    }
    if (host_smt && !(policy & POLICY_SMT))
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "SNP policy 0x%llx does not allow SMT (bit 16) but SMT is enabled on the host "
                         "(POLICY_FAILURE)",
                         p);
    unsigned min = policy & 0xff, maj = (policy >> 8) & 0xff;
    if (maj > abi_major || (maj == abi_major && min > abi_minor))
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "SNP policy 0x%llx requires ABI %u.%u or newer but the firmware is %u.%u (POLICY_FAILURE)", p,
                         maj, min, abi_major, abi_minor);
    return MC_OK;
}
