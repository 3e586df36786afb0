/* memcrypt — the SEV firmware's command table and handlers (internal).
 *
 * PSP_COMMANDS is the one list of the commands this firmware implements. Everything the
 * dispatcher knows about a command comes from its line: the dispatch table (psp.c) and the
 * handler declarations below are generated from it, the name and ID come from the spec's list
 * (MC_SEV_COMMANDS in memcrypt/sev_api.h) through NAME, and the buffer length is sizeof the
 * command's pinned buffer struct.
 *
 *   X(NAME, handler, buffer, guest, platform states, guest states, copy-back, min API, NV, SNP)
 *
 *   NAME        MC_SEV_CMD_<NAME>; its name is "<NAME>"
 *   handler     psp_cmd_<handler>
 *   buffer      BUF(struct tag) — the firmware copies sizeof(struct tag) bytes in — or NOBUF
 *   guest       HANDLE(struct tag): the dispatcher looks the guest up by the struct's `handle`
 *               field and checks the guest states; NOGUEST: it does not (the handler may)
 *   platform    allowed platform states: P_U (UNINIT), P_I (INIT), P_W (WORKING), P_ANY
 *   gstates     allowed guest states G(...) / G_ANY (HANDLE commands only, else 0)
 *   copy-back   CB_NONE: input only; CB_OK: buffer written back on SUCCESS; CB_OK_LEN: also on
 *               INVALID_LENGTH (the length query)
 *   min API     (major << 8) | minor; older firmware answers INVALID_COMMAND
 *   NV          NV: may rewrite the persistent state; NO_NV: never
 *   SNP         LEG: a legacy SEV command; S_U / S_I / S_ANY: an SEV-SNP command (it needs a firmware
 *               with SNP, else INVALID_COMMAND) and the SNP platform states it is allowed in. SNP
 *               commands take no handle and the dispatcher checks no state for them: AMD's
 *               firmware checks the buffer's reserved fields first, so the handler calls
 *               psp_snp_pstate_check (which reads this column) where the firmware checks the state.
 *               SNP buffers are input only; outputs go to pages the buffer names.
 *
 * Platform-state column: what AMD's firmware checks (digest §4 "FW" column). Where the spec's
 * list is narrower (SHUTDOWN in UNINIT, PEK_CSR in WORKING, DF_FLUSH in UNINIT) we follow the
 * firmware, because hosts are written against real firmware behaviour. Guest-state column:
 * digest §5.
 *
 * Each handler gets the command buffer already copied into firmware memory and the guest the
 * dispatcher looked up (or NULL). It validates everything before it changes any state and
 * returns the firmware status; on failure err receives a sentence naming the failed check. */
#ifndef MC_FW_PSP_CMDS_H
#define MC_FW_PSP_CMDS_H

#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/sev_api.h>
#include <memcrypt/snp_api.h>

/* ---- the columns' vocabulary --------------------------------------------------------------- */
#define P_U (1u << MC_SEV_PSTATE_UNINIT)
#define P_I (1u << MC_SEV_PSTATE_INIT)
#define P_W (1u << MC_SEV_PSTATE_WORKING)
#define P_ANY (P_U | P_I | P_W)
#define G(s) (1u << MC_SEV_GSTATE_##s)
#define G_ANY (G(LUPDATE) | G(LSECRET) | G(RUNNING) | G(SUPDATE) | G(RUPDATE) | G(SENT))
#define BUF(tag) sizeof(struct tag)
#define NOBUF 0
#define HANDLE(tag) (int)offsetof(struct tag, handle)
#define NOGUEST (-1)
#define NV true
#define NO_NV false
#define LEG 0u
#define S_U (1u << MC_SNP_PSTATE_UNINIT)
#define S_I (1u << MC_SNP_PSTATE_INIT)
#define S_ANY (S_U | S_I)

enum copy_class {
    CB_NONE = 0, /* input only: nothing written back */
    CB_OK,       /* written back on success */
    CB_OK_LEN,   /* written back on success and on INVALID_LENGTH (length query) */
};

/* clang-format off */
#define PSP_COMMANDS(X) \
    X(INIT,               init,               BUF(mc_sev_init),            NOGUEST,                     P_U,       0,                      CB_NONE,   0,      NV, LEG)    \
    X(SHUTDOWN,           shutdown,           NOBUF,                       NOGUEST,                     P_ANY,     0,                      CB_NONE,   0,      NO_NV, LEG) \
    X(PLATFORM_RESET,     platform_reset,     NOBUF,                       NOGUEST,                     P_U,       0,                      CB_NONE,   0,      NV, LEG)    \
    X(PLATFORM_STATUS,    platform_status,    BUF(mc_sev_platform_status), NOGUEST,                     P_ANY,     0,                      CB_OK,     0,      NO_NV, LEG) \
    X(PEK_GEN,            pek_gen,            NOBUF,                       NOGUEST,                     P_I,       0,                      CB_NONE,   0,      NV, LEG)    \
    X(PEK_CSR,            pek_csr,            BUF(mc_sev_addr_len),        NOGUEST,                     P_I | P_W, 0,                      CB_OK_LEN, 0,      NO_NV, LEG) \
    X(PEK_CERT_IMPORT,    pek_cert_import,    BUF(mc_sev_pek_cert_import), NOGUEST,                     P_I,       0,                      CB_NONE,   0,      NV, LEG)    \
    X(PDH_CERT_EXPORT,    pdh_cert_export,    BUF(mc_sev_pdh_cert_export), NOGUEST,                     P_I | P_W, 0,                      CB_OK_LEN, 0,      NO_NV, LEG) \
    X(PDH_GEN,            pdh_gen,            NOBUF,                       NOGUEST,                     P_I | P_W, 0,                      CB_NONE,   0,      NV, LEG)    \
    X(DF_FLUSH,           df_flush,           NOBUF,                       NOGUEST,                     P_ANY,     0,                      CB_NONE,   0,      NO_NV, LEG) \
    X(GET_ID,             get_id,             BUF(mc_sev_addr_len),        NOGUEST,                     P_ANY,     0,                      CB_OK_LEN, 0x0010, NO_NV, LEG) \
    X(INIT_EX,            init_ex,            BUF(mc_sev_init_ex),         NOGUEST,                     P_U,       0,                      CB_NONE,   0,      NV, LEG)    \
    X(NOP,                nop,                NOBUF,                       NOGUEST,                     P_ANY,     0,                      CB_NONE,   0,      NO_NV, LEG) \
    X(DECOMMISSION,       decommission,       BUF(mc_sev_handle),          HANDLE(mc_sev_handle),       P_W,       G_ANY,                  CB_NONE,   0,      NO_NV, LEG) \
    X(ACTIVATE,           activate,           BUF(mc_sev_activate),        HANDLE(mc_sev_activate),     P_W,       G_ANY & ~G(SENT),       CB_NONE,   0,      NO_NV, LEG) \
    X(DEACTIVATE,         deactivate,         BUF(mc_sev_handle),          HANDLE(mc_sev_handle),       P_W,       G_ANY,                  CB_NONE,   0,      NO_NV, LEG) \
    X(GUEST_STATUS,       guest_status,       BUF(mc_sev_guest_status),    NOGUEST,                     P_I | P_W, 0,                      CB_OK,     0,      NO_NV, LEG) \
    X(COPY,               copy,               BUF(mc_sev_copy),            HANDLE(mc_sev_copy),         P_W,       G_ANY,                  CB_NONE,   0,      NO_NV, LEG) \
    X(ACTIVATE_EX,        activate_ex,        BUF(mc_sev_activate_ex),     HANDLE(mc_sev_activate_ex),  P_W,       G_ANY & ~G(SENT),       CB_NONE,   0,      NO_NV, LEG) \
    X(LAUNCH_START,       launch_start,       BUF(mc_sev_launch_start),    NOGUEST,                     P_I | P_W, 0,                      CB_OK,     0,      NO_NV, LEG) \
    X(LAUNCH_UPDATE_DATA, launch_update_data, BUF(mc_sev_launch_update),   HANDLE(mc_sev_launch_update), P_W,      G(LUPDATE),             CB_NONE,   0,      NO_NV, LEG) \
    X(LAUNCH_UPDATE_VMSA, launch_update_vmsa, BUF(mc_sev_launch_update),   HANDLE(mc_sev_launch_update), P_W,      G(LUPDATE),             CB_NONE,   0,      NO_NV, LEG) \
    X(LAUNCH_MEASURE,     launch_measure,     BUF(mc_sev_launch_measure),  HANDLE(mc_sev_launch_measure), P_W,     G(LUPDATE),             CB_OK_LEN, 0,      NO_NV, LEG) \
    X(LAUNCH_SECRET,      launch_secret,      BUF(mc_sev_transport),       HANDLE(mc_sev_transport),    P_W,       G(LSECRET),             CB_NONE,   0,      NO_NV, LEG) \
    X(LAUNCH_FINISH,      launch_finish,      BUF(mc_sev_handle),          HANDLE(mc_sev_handle),       P_W,       G(LSECRET),             CB_NONE,   0,      NO_NV, LEG) \
    X(ATTESTATION,        attestation,        BUF(mc_sev_attestation),     HANDLE(mc_sev_attestation),  P_W,       G(LSECRET) | G(RUNNING) | G(SUPDATE) | G(SENT), CB_OK_LEN, 0x0017, NO_NV, LEG) \
    X(SEND_START,         send_start,         BUF(mc_sev_send_start),      HANDLE(mc_sev_send_start),   P_W,       G(RUNNING),             CB_OK_LEN, 0,      NO_NV, LEG) \
    X(SEND_UPDATE_DATA,   send_update_data,   BUF(mc_sev_transport),       HANDLE(mc_sev_transport),    P_W,       G(SUPDATE),             CB_OK_LEN, 0,      NO_NV, LEG) \
    X(SEND_UPDATE_VMSA,   send_update_vmsa,   BUF(mc_sev_transport),       HANDLE(mc_sev_transport),    P_W,       G(SUPDATE),             CB_OK_LEN, 0,      NO_NV, LEG) \
    X(SEND_FINISH,        send_finish,        BUF(mc_sev_handle),          HANDLE(mc_sev_handle),       P_W,       G(SUPDATE),             CB_NONE,   0,      NO_NV, LEG) \
    X(SEND_CANCEL,        send_cancel,        BUF(mc_sev_handle),          HANDLE(mc_sev_handle),       P_W,       G(SUPDATE),             CB_NONE,   0,      NO_NV, LEG) \
    X(RECEIVE_START,      receive_start,      BUF(mc_sev_launch_start),    NOGUEST,                     P_I | P_W, 0,                      CB_OK,     0,      NO_NV, LEG) \
    X(RECEIVE_UPDATE_DATA, receive_update_data, BUF(mc_sev_transport),     HANDLE(mc_sev_transport),    P_W,       G(RUPDATE),             CB_NONE,   0,      NO_NV, LEG) \
    X(RECEIVE_UPDATE_VMSA, receive_update_vmsa, BUF(mc_sev_transport),     HANDLE(mc_sev_transport),    P_W,       G(RUPDATE),             CB_NONE,   0,      NO_NV, LEG) \
    X(RECEIVE_FINISH,     receive_finish,     BUF(mc_sev_handle),          HANDLE(mc_sev_handle),       P_W,       G(RUPDATE),             CB_NONE,   0,      NO_NV, LEG) \
    X(DBG_DECRYPT,        dbg_decrypt,        BUF(mc_sev_dbg),             HANDLE(mc_sev_dbg),          P_W,       G_ANY,                  CB_NONE,   0,      NO_NV, LEG) \
    X(DBG_ENCRYPT,        dbg_encrypt,        BUF(mc_sev_dbg),             HANDLE(mc_sev_dbg),          P_W,       G_ANY,                  CB_NONE,   0,      NO_NV, LEG) \
    X(SNP_INIT,           snp_init,           NOBUF,                        NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_U)   \
    X(SNP_SHUTDOWN,       snp_shutdown,       NOBUF,                        NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NV,    S_ANY) \
    X(SNP_PLATFORM_STATUS, snp_platform_status, BUF(mc_snp_paddr),          NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_ANY) \
    X(SNP_DF_FLUSH,       df_flush,           NOBUF,                        NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_ANY) \
    X(SNP_INIT_EX,        snp_init_ex,        BUF(mc_snp_init_ex),          NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_U)   \
    X(SNP_SHUTDOWN_EX,    snp_shutdown_ex,    BUF(mc_snp_shutdown_ex),      NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NV,    S_ANY) \
    X(SNP_DECOMMISSION,   snp_decommission,   BUF(mc_snp_paddr),            NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_I)   \
    X(SNP_ACTIVATE,       snp_activate,       BUF(mc_snp_activate),         NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_I)   \
    X(SNP_GUEST_STATUS,   snp_guest_status,   BUF(mc_snp_guest_status_cmd), NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_I)   \
    X(SNP_GCTX_CREATE,    snp_gctx_create,    BUF(mc_snp_paddr),            NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_I)   \
    X(SNP_GUEST_REQUEST,  snp_guest_request,  BUF(mc_snp_guest_request),    NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NV,    S_I)   \
    X(SNP_ACTIVATE_EX,    snp_activate_ex,    BUF(mc_snp_activate_ex),      NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_I)   \
    X(SNP_LAUNCH_START,   snp_launch_start,   BUF(mc_snp_launch_start),     NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_I)   \
    X(SNP_LAUNCH_UPDATE,  snp_launch_update,  BUF(mc_snp_launch_update),    NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_I)   \
    X(SNP_LAUNCH_FINISH,  snp_launch_finish,  BUF(mc_snp_launch_finish),    NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_I)   \
    X(SNP_DBG_DECRYPT,    snp_dbg_decrypt,    BUF(mc_snp_dbg),              NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_I)   \
    X(SNP_DBG_ENCRYPT,    snp_dbg_encrypt,    BUF(mc_snp_dbg),              NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_I)   \
    X(SNP_PAGE_MOVE,      snp_page_move,      BUF(mc_snp_page_move),        NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_I)   \
    X(SNP_PAGE_MD_INIT,   snp_page_md_init,   BUF(mc_snp_md_init),          NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_I)   \
    X(SNP_PAGE_SET_STATE, snp_page_set_state, BUF(mc_snp_page_set_state),   NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_I)   \
    X(SNP_PAGE_RECLAIM,   snp_page_reclaim,   BUF(mc_snp_paddr),            NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_I)   \
    X(SNP_PAGE_UNSMASH,   snp_page_unsmash,   BUF(mc_snp_paddr),            NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_I)   \
    X(SNP_CONFIG,         snp_config,         BUF(mc_snp_config),           NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NV,    S_ANY) \
    X(SNP_COMMIT,         snp_commit,         BUF(mc_snp_commit),           NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NV,    S_ANY) \
    X(SNP_VLEK_LOAD,      snp_vlek_load,      BUF(mc_snp_vlek_load),        NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NV,    S_ANY) \
    X(SNP_FEATURE_INFO,   snp_feature_info,   BUF(mc_snp_feature_info_cmd), NOGUEST,                    P_ANY,     0,                      CB_NONE,   0,      NO_NV, S_ANY)
/* clang-format on */

struct mc_psp;
struct psp_guest;

typedef uint32_t (*psp_handler_fn)(struct mc_psp *psp, uint8_t *buf, struct psp_guest *g, struct mc_error *err);

#define PSP_HANDLER(name) uint32_t name(struct mc_psp *psp, uint8_t *buf, struct psp_guest *g, struct mc_error *err)
#define PSP_DECLARE_(name, handler, ...) PSP_HANDLER(psp_cmd_##handler);
PSP_COMMANDS(PSP_DECLARE_)
#undef PSP_DECLARE_

#endif
