/* proxy/sha256.h - SHA-256 (FIPS 180-4), for the policy digest shown by
 * /status. Our own small implementation: linking libcrypto for one hash
 * would cost the idle proxy more than 3 MiB of resident memory. */
#ifndef PROXY_SHA256_H
#define PROXY_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_HEX_MAX 65

/* Writes the lower-case hex digest of <len> bytes at <data> into <hex>. */
void sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_MAX]);

#endif /* PROXY_SHA256_H */
