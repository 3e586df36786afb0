/* memcrypt — AES-256-GCM (internal header): the declarations are public, in memcrypt/crypto.h
 * (mc_aes256_gcm_seal/open); this header stays for the library's own includes. */
#ifndef MC_CRYPTO_GCM_H
#define MC_CRYPTO_GCM_H

#include <memcrypt/crypto.h>

#endif
