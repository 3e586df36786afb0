/* memcrypt — AMD Secure Processor firmware status codes (SEV API 55766 and SNP ABI 56860).
 *
 * One enum for the whole 16-bit status space the PSP writes into CmdResp[15:0]. Legacy SEV
 * uses 0x00..0x18 and 0x1F; the SNP ABI extends the same space (0x19..0x1D, 0x20..0x28,
 * 0x30..0x3F); the numbering follows both specifications exactly. 0x1E has no name in any
 * source and stays unnamed. Values are returned through their own out-parameter, never as an
 * mc_status (see memcrypt/error.h).
 */
#ifndef MEMCRYPT_FW_STATUS_H
#define MEMCRYPT_FW_STATUS_H

#include <memcrypt/api.h>

#include <stdint.h>

MC_BEGIN_DECLS

typedef enum mc_fw_status {
    MC_FW_SUCCESS = 0x00,
    MC_FW_INVALID_PLATFORM_STATE = 0x01,
    MC_FW_INVALID_GUEST_STATE = 0x02,
    MC_FW_INVALID_CONFIG = 0x03,
    MC_FW_INVALID_LENGTH = 0x04,
    MC_FW_ALREADY_OWNED = 0x05,
    MC_FW_INVALID_CERTIFICATE = 0x06,
    MC_FW_POLICY_FAILURE = 0x07,
    MC_FW_INACTIVE = 0x08,
    MC_FW_INVALID_ADDRESS = 0x09,
    MC_FW_BAD_SIGNATURE = 0x0A,
    MC_FW_BAD_MEASUREMENT = 0x0B,
    MC_FW_ASID_OWNED = 0x0C,
    MC_FW_INVALID_ASID = 0x0D,
    MC_FW_WBINVD_REQUIRED = 0x0E,
    MC_FW_DF_FLUSH_REQUIRED = 0x0F,
    MC_FW_INVALID_GUEST = 0x10,
    MC_FW_INVALID_COMMAND = 0x11,
    MC_FW_ACTIVE = 0x12,
    MC_FW_HWERROR_PLATFORM = 0x13,
    MC_FW_HWERROR_UNSAFE = 0x14,
    MC_FW_UNSUPPORTED = 0x15,
    MC_FW_INVALID_PARAM = 0x16,
    MC_FW_RESOURCE_LIMIT = 0x17,
    MC_FW_SECURE_DATA_INVALID = 0x18,
    /* SNP ABI additions (same numbering space). */
    MC_FW_INVALID_PAGE_SIZE = 0x19,
    MC_FW_INVALID_PAGE_STATE = 0x1A,
    MC_FW_INVALID_MDATA_ENTRY = 0x1B,
    MC_FW_INVALID_PAGE_OWNER = 0x1C,
    MC_FW_AEAD_OFLOW = 0x1D,
    /* 0x1E: unnamed in every source. */
    MC_FW_RING_BUFFER_EXIT = 0x1F,
    MC_FW_RMP_INIT_REQUIRED = 0x20,
    MC_FW_BAD_SVN = 0x21,
    MC_FW_BAD_VERSION = 0x22,
    MC_FW_SHUTDOWN_REQUIRED = 0x23,
    MC_FW_UPDATE_FAILED = 0x24,
    MC_FW_RESTORE_REQUIRED = 0x25,
    MC_FW_RMP_INITIALIZATION_FAILED = 0x26,
    MC_FW_INVALID_KEY = 0x27,
    MC_FW_SHUTDOWN_INCOMPLETE = 0x28,
    MC_FW_INCORRECT_BUFFER_LENGTH = 0x30,
    MC_FW_EXPAND_BUFFER_LENGTH_REQUEST = 0x31,
    MC_FW_SPDM_REQUEST = 0x32,
    MC_FW_SPDM_ERROR = 0x33,
    MC_FW_IN_USE = 0x3A,
    MC_FW_STATUS__LIMIT = 0x40 /* one past the highest value the table covers */
} mc_fw_status;

/* Spec name without prefix ("INVALID_GUEST_STATE"); unnamed or out-of-range values give
 * "UNKNOWN". Never NULL. */
MC_API const char *mc_fw_status_name(uint32_t status);
/* One sentence for a person; "unknown firmware status" for unnamed values. Never NULL. */
MC_API const char *mc_fw_status_str(uint32_t status);
/* 1 when the value has a name in the table, else 0. */
MC_API int mc_fw_status_known(uint32_t status);

MC_END_DECLS

#endif
