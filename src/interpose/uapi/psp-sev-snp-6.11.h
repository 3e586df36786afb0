/* The SEV-SNP host commands of /dev/sev as Linux 6.11 added them to <linux/psp-sev.h>
 * (include/uapi/linux/psp-sev.h: SNP_PLATFORM_STATUS, SNP_COMMIT, SNP_SET_CONFIG, SNP_VLEK_LOAD and
 * their structures), for systems whose kernel headers are older (Debian 12 ships Linux 6.1's).
 *
 * Include it after <linux/psp-sev.h>. With headers from Linux 6.11 or later it defines nothing but
 * MC_LINUX_SEV_MAX and the system's own definitions are used; with older headers it supplies the
 * same names, numbers and layouts (the kernel's published ABI: facts, pinned below). Used by the
 * emulated driver (src/interpose/sevdev.c) and by the test clients written against the kernel ABI.
 */
#ifndef MC_LINUX_PSP_SEV_SNP_611_H
#define MC_LINUX_PSP_SEV_SNP_611_H

#include <linux/psp-sev.h>
#include <linux/types.h>
#include <linux/version.h>

/* SEV_MAX of Linux 6.11: the first command number the driver refuses (-EINVAL). */
#define MC_LINUX_SEV_MAX 13

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 11, 0)

enum {
    SNP_PLATFORM_STATUS = 9,
    SNP_COMMIT = 10,
    SNP_SET_CONFIG = 11,
    SNP_VLEK_LOAD = 12,
};

/* SNP_PLATFORM_STATUS: the firmware's 32-byte status page, copied out as is. */
struct sev_user_data_snp_status {
    __u8 api_major;
    __u8 api_minor;
    __u8 state;
    __u8 is_rmp_initialized : 1;
    __u8 rsvd : 7;
    __u32 build_id;
    __u32 mask_chip_id : 1;
    __u32 mask_chip_key : 1;
    __u32 vlek_en : 1;
    __u32 feature_info : 1;
    __u32 rapl_dis : 1;
    __u32 ciphertext_hiding_cap : 1;
    __u32 ciphertext_hiding_en : 1;
    __u32 rsvd1 : 25;
    __u32 guest_count;
    __u64 current_tcb_version;
    __u64 reported_tcb_version;
} __attribute__((packed));

/* SNP_SET_CONFIG: the firmware's SNP_CONFIG buffer. */
struct sev_user_data_snp_config {
    __u64 reported_tcb;
    __u32 mask_chip_id : 1;
    __u32 mask_chip_key : 1;
    __u32 rsvd : 30;
    __u8 rsvd1[52];
} __attribute__((packed));

/* SNP_VLEK_LOAD: the firmware's SNP_VLEK_LOAD buffer, the wrapped key at a user address. */
struct sev_user_data_snp_vlek_load {
    __u32 len;
    __u8 vlek_wrapped_version;
    __u8 rsvd[3];
    __u64 vlek_wrapped_address;
} __attribute__((packed));

struct sev_user_data_snp_wrapped_vlek_hashstick {
    __u8 data[432];
} __attribute__((packed));

#endif /* older headers */

_Static_assert(SNP_PLATFORM_STATUS == 9 && SNP_COMMIT == 10 && SNP_SET_CONFIG == 11 && SNP_VLEK_LOAD == 12,
               "the SNP host command numbers of Linux 6.11");
_Static_assert(sizeof(struct sev_user_data_snp_status) == 0x20, "sev_user_data_snp_status");
_Static_assert(__builtin_offsetof(struct sev_user_data_snp_status, build_id) == 0x04 &&
                   __builtin_offsetof(struct sev_user_data_snp_status, guest_count) == 0x0C &&
                   __builtin_offsetof(struct sev_user_data_snp_status, current_tcb_version) == 0x10 &&
                   __builtin_offsetof(struct sev_user_data_snp_status, reported_tcb_version) == 0x18,
               "sev_user_data_snp_status fields");
_Static_assert(sizeof(struct sev_user_data_snp_config) == 0x40, "sev_user_data_snp_config");
_Static_assert(sizeof(struct sev_user_data_snp_vlek_load) == 0x10 &&
                   __builtin_offsetof(struct sev_user_data_snp_vlek_load, vlek_wrapped_version) == 0x04 &&
                   __builtin_offsetof(struct sev_user_data_snp_vlek_load, vlek_wrapped_address) == 0x08,
               "sev_user_data_snp_vlek_load");
_Static_assert(sizeof(struct sev_user_data_snp_wrapped_vlek_hashstick) == 432, "the wrapped VLEK");

#endif
