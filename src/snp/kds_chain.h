/* memcrypt — internal: the cert_chain check of memcrypt/kds_client.h with the time made optional,
 * for a chain that is loaded as trust anchors (report verify --roots FILE) rather than fetched:
 * the verifier checks every certificate's validity at the time of the verification (--at). */
#ifndef MC_SNP_KDS_CHAIN_H
#define MC_SNP_KDS_CHAIN_H
#include <stdbool.h>
#include <time.h>

#include <memcrypt/kds_client.h>

/* mc_kds_check_chain's checks; with check_time false, without the validity at `at`. */
mc_status mc_kds_check_chain_when(const struct mc_kds_query *q, const uint8_t *body, size_t len, time_t at,
                                  bool check_time, struct mc_kds_certs *c, struct mc_error *err);

#endif
