/* Every single-bit change to AMD's real reports fails verification: the second half of the
 * reports (see test_verify_bitflip.c). */
#define BITFLIP_PART 1
#include "test_verify_bitflip.c"
