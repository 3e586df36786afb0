#include <memcrypt/error.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *text;
} status_table[MC_E__COUNT] = {
    [MC_OK] = {"MC_OK", "success"},
    [MC_E_INVAL] = {"MC_E_INVAL", "invalid argument"},
    [MC_E_NOMEM] = {"MC_E_NOMEM", "out of memory"},
    [MC_E_IO] = {"MC_E_IO", "input/output error"},
    [MC_E_RANGE] = {"MC_E_RANGE", "address or size out of range"},
    [MC_E_ALIGN] = {"MC_E_ALIGN", "misaligned address or size"},
    [MC_E_STATE] = {"MC_E_STATE", "object in the wrong state"},
    [MC_E_FULL] = {"MC_E_FULL", "table full"},
    [MC_E_NOTFOUND] = {"MC_E_NOTFOUND", "not found"},
    [MC_E_FORMAT] = {"MC_E_FORMAT", "malformed input"},
    [MC_E_CRYPTO] = {"MC_E_CRYPTO", "cryptographic library failure"},
    [MC_E_VERIFY] = {"MC_E_VERIFY", "verification failed"},
    [MC_E_UNSUPPORTED] = {"MC_E_UNSUPPORTED", "not supported by this platform"},
    [MC_E_FAULT] = {"MC_E_FAULT", "architectural fault"},
    [MC_E_BUSY] = {"MC_E_BUSY", "in use by another process"},
    [MC_E_FIRMWARE] = {"MC_E_FIRMWARE", "the firmware refused the command"},
};

const char *mc_status_name(mc_status s)
{
    if ((unsigned)s >= MC_E__COUNT)
        return "MC_E_UNKNOWN";
    return status_table[s].name;
}

const char *mc_status_str(mc_status s)
{
    if ((unsigned)s >= MC_E__COUNT)
        return "unknown error";
    return status_table[s].text;
}

mc_status mc_seterr(struct mc_error *err, mc_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        if (code != MC_E_FIRMWARE)
            err->fw_status = 0;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

mc_status mc_seterr_fw(struct mc_error *err, uint32_t fw_status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = MC_E_FIRMWARE;
        err->fw_status = fw_status;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return MC_E_FIRMWARE;
}

void mc_clearerr(struct mc_error *err)
{
    if (err) {
        err->code = MC_OK;
        err->fw_status = 0;
        err->msg[0] = '\0';
    }
}
