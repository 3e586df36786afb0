/* memcrypt — C-level errors.
 *
 * Every fallible library function returns an `mc_status` (MC_OK == 0) and takes an optional
 * `struct mc_error *err` as its last argument; when non-NULL it receives the code and a
 * sentence for a person.  Firmware status codes (the SEV/SNP spec's numbers) are a separate
 * enum (memcrypt/fw_status.h): a command the firmware refused comes back as MC_E_FIRMWARE —
 * never as MC_E_VERIFY, which means a check of the library's own failed — with the spec status
 * in the call's fw_status out-parameter and in mc_error.fw_status.
 * A failing function changes no state unless its header says otherwise.
 */
#ifndef MEMCRYPT_ERROR_H
#define MEMCRYPT_ERROR_H

#include <memcrypt/api.h>

#include <stddef.h>
#include <stdint.h>

MC_BEGIN_DECLS

typedef enum mc_status {
    MC_OK = 0,
    MC_E_INVAL,       /* invalid argument (NULL, bad flag, bad value) */
    MC_E_NOMEM,       /* allocation failed */
    MC_E_IO,          /* file or OS error */
    MC_E_RANGE,       /* address or size out of range, or arithmetic overflow */
    MC_E_ALIGN,       /* misaligned address or size */
    MC_E_STATE,       /* object in the wrong state (destroyed slot, not initialised, ...) */
    MC_E_FULL,        /* table full (key slots, ASIDs, ...) */
    MC_E_NOTFOUND,    /* unknown name, handle or id */
    MC_E_FORMAT,      /* malformed input data (file, structure, certificate, XML) */
    MC_E_CRYPTO,      /* the crypto library failed */
    MC_E_VERIFY,      /* a signature, MAC, digest or policy check failed */
    MC_E_UNSUPPORTED, /* valid request the platform/profile cannot do */
    MC_E_FAULT,       /* an architectural fault was raised (see the fault out-parameter) */
    MC_E_BUSY,        /* a resource (e.g. a locked state file) stayed in use by another process */
    MC_E_FIRMWARE,    /* the firmware refused a command: its status is in mc_error.fw_status (and in the
                         call's fw_status out-parameter) */
    MC_E__COUNT
} mc_status;

#define MC_ERROR_MSG_MAX 320

struct mc_error {
    mc_status code;
    char msg[MC_ERROR_MSG_MAX];
    uint32_t fw_status; /* MC_E_FIRMWARE: the firmware's status (enum mc_fw_status, e.g.
                           MC_FW_INVALID_PLATFORM_STATE); 0 (SUCCESS) for every other code */
};

/* Short stable name of a status ("MC_E_RANGE"); bounds-checked, never NULL. */
MC_API const char *mc_status_name(mc_status s);
/* One sentence describing a status; bounds-checked, never NULL. */
MC_API const char *mc_status_str(mc_status s);

/* Record (code, printf-style message) in err if err != NULL; returns code. With code
 * MC_E_FIRMWARE the firmware status already in err is kept (rewording a firmware refusal);
 * any other code sets err->fw_status to 0. */
MC_API mc_status mc_seterr(struct mc_error *err, mc_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Record MC_E_FIRMWARE with the firmware's status fw_status and a message; returns MC_E_FIRMWARE. */
MC_API mc_status mc_seterr_fw(struct mc_error *err, uint32_t fw_status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reset err to MC_OK / empty message (err may be NULL). */
MC_API void mc_clearerr(struct mc_error *err);

MC_END_DECLS

#endif
