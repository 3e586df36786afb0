/* memcrypt — SEV command handlers (internal). Each gets the command buffer already copied
 * into firmware memory (buf, the spec size), and the guest the dispatcher looked up (or NULL).
 * A handler validates everything before it changes any state and returns the firmware status;
 * on failure err receives a sentence naming the failed check. */
#ifndef MC_FW_PSP_CMDS_H
#define MC_FW_PSP_CMDS_H

#include <stdint.h>

#include <memcrypt/error.h>

struct mc_psp;
struct psp_guest;

typedef uint32_t (*psp_handler_fn)(struct mc_psp *psp, uint8_t *buf, struct psp_guest *g, struct mc_error *err);

#define PSP_HANDLER(name) uint32_t name(struct mc_psp *psp, uint8_t *buf, struct psp_guest *g, struct mc_error *err)
PSP_HANDLER(psp_cmd_init);
PSP_HANDLER(psp_cmd_init_ex);
PSP_HANDLER(psp_cmd_shutdown);
PSP_HANDLER(psp_cmd_platform_reset);
PSP_HANDLER(psp_cmd_platform_status);
PSP_HANDLER(psp_cmd_pek_gen);
PSP_HANDLER(psp_cmd_pek_csr);
PSP_HANDLER(psp_cmd_pek_cert_import);
PSP_HANDLER(psp_cmd_pdh_cert_export);
PSP_HANDLER(psp_cmd_pdh_gen);
PSP_HANDLER(psp_cmd_df_flush);
PSP_HANDLER(psp_cmd_get_id);
PSP_HANDLER(psp_cmd_nop);
PSP_HANDLER(psp_cmd_decommission);
PSP_HANDLER(psp_cmd_activate);
PSP_HANDLER(psp_cmd_activate_ex);
PSP_HANDLER(psp_cmd_deactivate);
PSP_HANDLER(psp_cmd_guest_status);
PSP_HANDLER(psp_cmd_copy);
PSP_HANDLER(psp_cmd_launch_start);
PSP_HANDLER(psp_cmd_launch_update_data);
PSP_HANDLER(psp_cmd_launch_update_vmsa);
PSP_HANDLER(psp_cmd_launch_measure);
PSP_HANDLER(psp_cmd_launch_secret);
PSP_HANDLER(psp_cmd_launch_finish);
PSP_HANDLER(psp_cmd_attestation);
PSP_HANDLER(psp_cmd_dbg_decrypt);
PSP_HANDLER(psp_cmd_dbg_encrypt);
PSP_HANDLER(psp_cmd_send_start);

#endif
