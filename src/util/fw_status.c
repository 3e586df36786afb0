/* Names and descriptions of the SEV/SNP firmware status codes (bounds-checked table). */
#include <memcrypt/fw_status.h>

#include <stddef.h>

static const struct {
    const char *name;
    const char *text;
} fw_status_table[MC_FW_STATUS__LIMIT] = {
    [MC_FW_SUCCESS] = {"SUCCESS", "the command completed successfully"},
    [MC_FW_INVALID_PLATFORM_STATE] = {"INVALID_PLATFORM_STATE", "the platform is in the wrong state for this command"},
    [MC_FW_INVALID_GUEST_STATE] = {"INVALID_GUEST_STATE", "the guest is in the wrong state for this command"},
    [MC_FW_INVALID_CONFIG] = {"INVALID_CONFIG", "the platform configuration is invalid (flags or reserved fields)"},
    [MC_FW_INVALID_LENGTH] = {"INVALID_LENGTH", "a buffer length is wrong or too small"},
    [MC_FW_ALREADY_OWNED] = {"ALREADY_OWNED", "the platform is already owned by an external owner"},
    [MC_FW_INVALID_CERTIFICATE] = {"INVALID_CERTIFICATE", "a certificate is malformed or has the wrong usage or algorithm"},
    [MC_FW_POLICY_FAILURE] = {"POLICY_FAILURE", "the request violates the guest policy"},
    [MC_FW_INACTIVE] = {"INACTIVE", "the guest has no ASID bound"},
    [MC_FW_INVALID_ADDRESS] = {"INVALID_ADDRESS", "an address is misaligned or outside memory"},
    [MC_FW_BAD_SIGNATURE] = {"BAD_SIGNATURE", "a certificate signature does not verify"},
    [MC_FW_BAD_MEASUREMENT] = {"BAD_MEASUREMENT", "a MAC or measurement does not verify"},
    [MC_FW_ASID_OWNED] = {"ASID_OWNED", "the ASID belongs to another guest"},
    [MC_FW_INVALID_ASID] = {"INVALID_ASID", "the ASID is out of range for this guest"},
    [MC_FW_WBINVD_REQUIRED] = {"WBINVD_REQUIRED", "every core must execute WBINVD before DF_FLUSH"},
    [MC_FW_DF_FLUSH_REQUIRED] = {"DF_FLUSH_REQUIRED", "the ASID must be flushed with DF_FLUSH before reuse"},
    [MC_FW_INVALID_GUEST] = {"INVALID_GUEST", "the guest handle does not exist"},
    [MC_FW_INVALID_COMMAND] = {"INVALID_COMMAND", "the command is unknown or not implemented"},
    [MC_FW_ACTIVE] = {"ACTIVE", "the guest already has an ASID bound"},
    [MC_FW_HWERROR_PLATFORM] = {"HWERROR_PLATFORM", "hardware is not ready for this command"},
    [MC_FW_HWERROR_UNSAFE] = {"HWERROR_UNSAFE", "a hardware error left the platform in an unsafe state"},
    [MC_FW_UNSUPPORTED] = {"UNSUPPORTED", "the feature is not supported"},
    [MC_FW_INVALID_PARAM] = {"INVALID_PARAM", "a parameter is invalid"},
    [MC_FW_RESOURCE_LIMIT] = {"RESOURCE_LIMIT", "the firmware ran out of a resource (guest slots)"},
    [MC_FW_SECURE_DATA_INVALID] = {"SECURE_DATA_INVALID", "the persistent data failed its integrity check"},
    [MC_FW_INVALID_PAGE_SIZE] = {"INVALID_PAGE_SIZE", "the page size is invalid for this command"},
    [MC_FW_INVALID_PAGE_STATE] = {"INVALID_PAGE_STATE", "the RMP page state is invalid for this command"},
    [MC_FW_INVALID_MDATA_ENTRY] = {"INVALID_MDATA_ENTRY", "the metadata entry is invalid"},
    [MC_FW_INVALID_PAGE_OWNER] = {"INVALID_PAGE_OWNER", "the page is owned by another guest"},
    [MC_FW_AEAD_OFLOW] = {"AEAD_OFLOW", "the message sequence counter overflowed"},
    [MC_FW_RING_BUFFER_EXIT] = {"RING_BUFFER_EXIT", "the ring buffer mode was exited"},
    [MC_FW_RMP_INIT_REQUIRED] = {"RMP_INIT_REQUIRED", "the RMP must be initialised first"},
    [MC_FW_BAD_SVN] = {"BAD_SVN", "the security version number is invalid"},
    [MC_FW_BAD_VERSION] = {"BAD_VERSION", "the version is invalid"},
    [MC_FW_SHUTDOWN_REQUIRED] = {"SHUTDOWN_REQUIRED", "a shutdown is required first"},
    [MC_FW_UPDATE_FAILED] = {"UPDATE_FAILED", "the firmware update failed"},
    [MC_FW_RESTORE_REQUIRED] = {"RESTORE_REQUIRED", "a restore is required"},
    [MC_FW_RMP_INITIALIZATION_FAILED] = {"RMP_INITIALIZATION_FAILED", "the RMP could not be initialised"},
    [MC_FW_INVALID_KEY] = {"INVALID_KEY", "the key is invalid"},
    [MC_FW_SHUTDOWN_INCOMPLETE] = {"SHUTDOWN_INCOMPLETE", "the shutdown did not complete"},
    [MC_FW_INCORRECT_BUFFER_LENGTH] = {"INCORRECT_BUFFER_LENGTH", "the buffer length is incorrect"},
    [MC_FW_EXPAND_BUFFER_LENGTH_REQUEST] = {"EXPAND_BUFFER_LENGTH_REQUEST", "a larger buffer is required"},
    [MC_FW_SPDM_REQUEST] = {"SPDM_REQUEST", "an SPDM request is pending"},
    [MC_FW_SPDM_ERROR] = {"SPDM_ERROR", "an SPDM error occurred"},
    [MC_FW_IN_USE] = {"IN_USE", "the resource is in use"},
};

int mc_fw_status_known(uint32_t status)
{
    return status < MC_FW_STATUS__LIMIT && fw_status_table[status].name != NULL;
}

const char *mc_fw_status_name(uint32_t status)
{
    return mc_fw_status_known(status) ? fw_status_table[status].name : "UNKNOWN";
}

const char *mc_fw_status_str(uint32_t status)
{
    return mc_fw_status_known(status) ? fw_status_table[status].text : "unknown firmware status";
}
